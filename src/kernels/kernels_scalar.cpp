// The scalar path: the reference itself, for CPUs without a SIMD path (and as the tests' oracle).
#include <algorithm>

#include "kernels/kernels.hpp"
#include "reference/reference.hpp"

namespace simdrop::detail {

bool constant_mask(std::uint64_t* out, std::size_t n, std::uint64_t t) noexcept {
  if (t != 0 && t < (std::uint64_t{1} << 32)) return false;
  const std::size_t words = (n + 63) / 64;
  std::fill(out, out + words, t == 0 ? ~std::uint64_t{0} : std::uint64_t{0});
  if (t == 0 && n % 64 != 0) out[words - 1] = (std::uint64_t{1} << (n % 64)) - 1;
  return true;
}

namespace {
void scalar_mask(std::uint64_t* out, std::size_t n, std::uint64_t seed, std::uint64_t start, std::uint64_t t,
                 int rounds) noexcept {
  if (!constant_mask(out, n, t)) reference_mask(out, n, seed, start, t, rounds);
}
void scalar_apply_f32(const float* x, float* y, const std::uint64_t* mask, std::size_t n, float scale,
                      bool /*stream*/) noexcept {
  reference_apply(x, y, mask, n, scale);
}
void scalar_apply_f64(const double* x, double* y, const std::uint64_t* mask, std::size_t n, double scale,
                      bool /*stream*/) noexcept {
  reference_apply(x, y, mask, n, scale);
}
}  // namespace

const KernelTable& scalar_kernels() noexcept {
  static constexpr KernelTable table{Isa::scalar, scalar_mask, scalar_apply_f32, scalar_apply_f64};
  return table;
}

}  // namespace simdrop::detail
