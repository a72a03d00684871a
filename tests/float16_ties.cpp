// float16_ties.hpp's probe and tie check.
#include "float16_ties.hpp"

#include <atomic>

#if defined(__x86_64__) || defined(__i386__)
#define SIMDROP_TEST_X86 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define SIMDROP_TEST_X86 0
#endif

namespace simdrop::test {

#if SIMDROP_TEST_X86
namespace {
// The CPU's float -> float16 narrowing of f (vcvtps2ph), rounding to nearest as the immediate says. The
// target attribute allows F16C in this function alone; it is called only where cpu_can_f16c() said so.
__attribute__((target("f16c"))) std::uint16_t f16c_narrow(float f) {
  const __m128i h = _mm_cvtps_ph(_mm_set_ss(f), _MM_FROUND_TO_NEAREST_INT);
  return static_cast<std::uint16_t>(_mm_cvtsi128_si32(h) & 0xFFFF);
}

// F16C (CPUID.1:ECX bit 29) and AVX state enabled by the OS (OSXSAVE, bit 27; XCR0 bits 1 and 2): F16C's
// instructions are VEX-encoded and fault without that state.
bool cpu_can_f16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  if (((ecx >> 29) & 1u) == 0 || ((ecx >> 27) & 1u) == 0) return false;
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  return (xcr0_lo & 6u) == 6u;
}
}  // namespace
#endif

std::optional<std::uint16_t> cpu_float16_bits(float f) {
#if SIMDROP_TEST_X86
  static const bool usable = cpu_can_f16c();
  if (usable) return f16c_narrow(f);
#else
  (void)f;
#endif
  return std::nullopt;
}

bool cpu_float16_ties_away() {
  static const bool ties_away = [] {
    const std::optional<std::uint16_t> h = cpu_float16_bits(0x1p-25f);
    return h.has_value() && *h == 0x0001u;
  }();
  return ties_away;
}

bool is_cpu_float16_tie(float16 a, float16 b) {
  if (a.bits == b.bits) return false;
  const auto is_nan = [](float16 v) { return (v.bits & 0x7C00u) == 0x7C00u && (v.bits & 0x03FFu) != 0; };
  if (is_nan(a) || is_nan(b) || (a.bits & 0x8000u) != (b.bits & 0x8000u)) return false;
  const unsigned lo = a.bits < b.bits ? a.bits : b.bits, hi = a.bits < b.bits ? b.bits : a.bits;
  if (hi - lo != 1) return false;
  const float m = (to_float(a) + to_float(b)) * 0.5f;  // exact: both have 11 significant bits
  const std::optional<std::uint16_t> cpu = cpu_float16_bits(m);
  return cpu.has_value() && *cpu == a.bits && to_float16(m).bits == b.bits;
}

namespace {
std::atomic<std::size_t> g_ties_accepted{0};
}  // namespace

bool accept_float16_tie(float16 a, float16 b) {
  if (!cpu_float16_ties_away() || !is_cpu_float16_tie(a, b)) return false;
  g_ties_accepted.fetch_add(1, std::memory_order_relaxed);
  return true;
}

std::size_t float16_ties_accepted() { return g_ties_accepted.load(std::memory_order_relaxed); }

}  // namespace simdrop::test
