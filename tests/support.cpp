// support.hpp's out-of-line helpers: the float16 narrowing probe and tie check, and tested_isas. The one
// function that executes F16C lives in support_f16c.cpp (built with -mf16c on x86); this file is built with
// the ordinary flags, so nothing here runs an instruction the CPU may lack.
#include "support.hpp"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#if defined(__x86_64__) || defined(__i386__)
#define SIMDROP_TEST_X86 1
#include <cpuid.h>
#else
#define SIMDROP_TEST_X86 0
#endif

namespace simdrop::test {

#if SIMDROP_TEST_X86
std::uint16_t f16c_narrow(float f);  // support_f16c.cpp: _mm_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT)

namespace {
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

std::vector<Isa> tested_isas() {
  const std::vector<Isa> supported = supported_isas();
  const char* env = std::getenv("SIMDROP_TEST_ISAS");
  if (env == nullptr || *env == '\0') return supported;
  std::vector<Isa> named;
  std::string_view rest(env);
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    named.push_back(parse_isa(rest.substr(0, comma), "SIMDROP_TEST_ISAS"));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }
  std::vector<Isa> out;
  for (Isa isa : supported)
    if (std::find(named.begin(), named.end(), isa) != named.end()) out.push_back(isa);
  return out;
}

}  // namespace simdrop::test
