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
void scalar_apply_f32(const float* x, float* y, const std::uint64_t* mask, std::size_t n, float scale,
                      bool /*stream*/) noexcept {
  reference_apply(x, y, mask, n, scale);
}
void scalar_apply_f64(const double* x, double* y, const std::uint64_t* mask, std::size_t n, double scale,
                      bool /*stream*/) noexcept {
  reference_apply(x, y, mask, n, scale);
}
template <class T>
std::size_t scalar_forward(const T*, T*, std::size_t, std::uint64_t, std::uint64_t, std::uint64_t, T, Generator,
                           std::uint64_t*, bool) noexcept {
  return 0;  // the scalar path has no pipelined form
}
template <class T>
std::size_t scalar_affine_pipelined(const T*, T*, std::size_t, std::uint64_t, std::uint64_t, std::uint64_t, Generator,
                                    std::uint64_t*, bool, T, T, T) noexcept {
  return 0;
}
template <class T>
std::size_t scalar_bias_add_pipelined(const T*, const T*, std::size_t, std::size_t, const T*, T*, std::size_t,
                                      std::uint64_t, std::uint64_t, std::uint64_t, Generator, std::uint64_t*, bool,
                                      T) noexcept {
  return 0;
}
template <class T>
void scalar_run_uniform(const T* x, T* y, std::size_t n, T scale, bool keep, bool /*stream*/) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] = keep ? x[i] * scale : T(0);
}
template <class T>
void scalar_affine(const T* x, T* y, const std::uint64_t* mask, std::size_t n, T a, T b, T c,
                   bool /*stream*/) noexcept {
  reference_affine(x, y, mask, n, a, b, c);
}
template <class T>
void scalar_bias_add(const T* x, const T* bias, std::size_t cols, std::size_t col0, const T* residual, T* y,
                     const std::uint64_t* mask, std::size_t n, T scale, bool /*stream*/) noexcept {
  reference_bias_add(x, bias, cols, col0, residual, y, mask, n, scale);
}
}  // namespace

const KernelTable& scalar_kernels() noexcept {
  static constexpr KernelTable table{Isa::scalar,
                                     scalar_mask,
                                     scalar_apply_f32,
                                     scalar_apply_f64,
                                     scalar_forward<float>,
                                     scalar_forward<double>,
                                     scalar_run_uniform<float>,
                                     scalar_run_uniform<double>,
                                     scalar_affine<float>,
                                     scalar_affine<double>,
                                     scalar_affine_pipelined<float>,
                                     scalar_affine_pipelined<double>,
                                     scalar_bias_add<float>,
                                     scalar_bias_add<double>,
                                     scalar_bias_add_pipelined<float>,
                                     scalar_bias_add_pipelined<double>,
                                     reference_accumulate,
                                     reference_accumulate,
                                     reference_gaussian,
                                     reference_gaussian};
  return table;
}

}  // namespace simdrop::detail
