// Uses the installed simdrop: forward with a stored mask, then backward from it; exits non-zero on a wrong result.
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
  std::printf("simdrop %s (%s): kept %zu of %zu\n", simdrop::version().data(),
              simdrop::isa_name(simdrop::active_isa()).data(), kept, n);
  return kept > 7000 && kept < 8000 ? 0 : 1;
}
