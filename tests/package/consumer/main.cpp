// Uses the installed simdrop: forward with a stored mask, then backward from it, and one call of the dropout
// family's header and one of the 16-bit types; exits non-zero on a wrong result.
#include <simdrop/simdrop.hpp>

#include <cstdio>
#include <vector>

int main() {
  const std::size_t n = 10000;
  std::vector<float> x(n, 1.0f), y(n), dx(n);
  std::vector<std::uint64_t> mask(simdrop::mask_words(n));
  simdrop::dropout_forward(x, y, 0.25, {42, 0}, mask);
  simdrop::dropout_backward(y, mask, dx, 0.25);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const bool k = (mask[i / 64] >> (i % 64)) & 1u;
    kept += k;
    if (y[i] != (k ? 1.0f / 0.75f : 0.0f)) return 1;
  }
  // Channel dropout: 4 images x 25 channels of 100 elements; each plane is all kept or all dropped.
  std::vector<float> planes_out(n);
  std::vector<std::uint64_t> planes(simdrop::mask_words(100));
  simdrop::channel_dropout_forward(x, planes_out, 4, 25, 100, simdrop::Layout::nchw, 0.5, {7, 0}, planes);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = i / 100;
    if (planes_out[i] != (((planes[k / 64] >> (k % 64)) & 1u) ? 2.0f : 0.0f)) return 1;
  }
  // bfloat16 (simdrop/half.hpp): the same keep bits as fp32; 1.0 * 4/3 rounds to bfloat16 0x3FAB.
  std::vector<simdrop::bfloat16> xb(n, simdrop::to_bfloat16(1.0f)), yb(n);
  simdrop::dropout_forward(std::span<const simdrop::bfloat16>(xb), std::span<simdrop::bfloat16>(yb), 0.25, {42, 0});
  for (std::size_t i = 0; i < n; ++i) {
    const bool k = (mask[i / 64] >> (i % 64)) & 1u;
    if (yb[i].bits != (k ? simdrop::to_bfloat16(1.0f / 0.75f).bits : 0)) return 1;
  }
  std::printf("simdrop %s (%s): kept %zu of %zu\n", simdrop::version().data(),
              simdrop::isa_name(simdrop::active_isa()).data(), kept, n);
  return kept > 7000 && kept < 8000 ? 0 : 1;
}
