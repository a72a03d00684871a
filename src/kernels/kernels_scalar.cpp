// The scalar path: the reference itself, for CPUs without a SIMD path (and as the tests' oracle).
#include "kernels/kernels.hpp"
#include "reference/family_reference.hpp"
#include "reference/reference.hpp"

namespace simdrop::detail {

namespace {
void scalar_mask(std::uint64_t* out, std::size_t n, std::uint64_t seed, std::uint64_t start, std::uint64_t t,
                 Generator gen) noexcept {
  if (!constant_mask(out, n, t)) reference_mask(out, n, seed, start, t, gen);
}

template <class T>
struct Scalar {
  using C = compute_t<T>;
  static void apply(const T* x, T* y, const std::uint64_t* mask, std::size_t n, C scale, bool /*stream*/) noexcept {
    reference_apply(x, y, mask, n, scale);
  }
  // The scalar path has no pipelined forms: the fused passes then run step by step.
  static std::size_t forward(const T*, T*, std::size_t, const Pass&, C) noexcept { return 0; }
  static std::size_t affine_pipelined(const T*, T*, std::size_t, const Pass&, const Affine<C>&) noexcept { return 0; }
  static std::size_t bias_add_pipelined(const T*, const T*, std::size_t, std::size_t, const T*, T*, std::size_t,
                                        const Pass&, C) noexcept {
    return 0;
  }
  static void run_uniform(const T* x, T* y, std::size_t n, C scale, bool keep, bool /*stream*/) noexcept {
    for (std::size_t i = 0; i < n; ++i) y[i] = narrow<T>(keep ? widen(x[i]) * scale : C(0));
  }
  static void affine(const T* x, T* y, const std::uint64_t* mask, std::size_t n, const Affine<C>& k,
                     bool /*stream*/) noexcept {
    reference_affine(x, y, mask, n, k.a, k.b, k.c);
  }
  static void bias_add(const T* x, const T* bias, std::size_t cols, std::size_t col0, const T* residual, T* y,
                       const std::uint64_t* mask, std::size_t n, C scale, bool /*stream*/) noexcept {
    reference_bias_add(x, bias, cols, col0, residual, y, mask, n, scale);
  }
  static void gaussian(const T* x, T* y, std::size_t n, const Pass& pass, float sigma) noexcept {
    reference_gaussian(x, y, n, pass.seed, pass.start, sigma, pass.gen);
  }
  static constexpr TypedKernels<T> table() noexcept {
    return {.apply = apply,
            .forward = forward,
            .run_uniform = run_uniform,
            .affine = affine,
            .affine_pipelined = affine_pipelined,
            .bias_add = bias_add,
            .bias_add_pipelined = bias_add_pipelined,
            .accumulate = reference_accumulate<T>,
            .gaussian = gaussian};
  }
};

template <class... T>
constexpr KernelTable make_table(TypeList<T...>) noexcept {
  return {.isa = Isa::scalar, .mask = scalar_mask, .typed = {Scalar<T>::table()...}};
}
}  // namespace

const KernelTable& scalar_kernels() noexcept {
  static constexpr KernelTable table = make_table(ElementTypes{});
  return table;
}

}  // namespace simdrop::detail
