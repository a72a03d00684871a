// The one function of the tests that executes an F16C instruction: built with -mf16c on x86 (so nothing
// else belongs in this file: the flag lets the compiler use AVX anywhere in it), and called only where
// support.cpp found F16C. Empty elsewhere.
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

namespace simdrop::test {

// The CPU's float -> float16 narrowing of f (vcvtps2ph), rounding to nearest as the immediate says.
__attribute__((target("f16c"))) std::uint16_t f16c_narrow(float f) {
  const __m128i h = _mm_cvtps_ph(_mm_set_ss(f), _MM_FROUND_TO_NEAREST_INT);
  return static_cast<std::uint16_t>(_mm_cvtsi128_si32(h) & 0xFFFF);
}

}  // namespace simdrop::test
#endif
