// 16-bit element types: bfloat16 and IEEE 754 binary16, as bits, with exact conversions to and from float.
//
// Both are trivially copyable, standard-layout, 2-byte structs, so a span over the storage of
// c10::BFloat16 / c10::Half / Eigen::bfloat16 / Eigen::half (all the same 16 bits) can be reinterpreted as
// a span of these. simdrop computes in float and rounds once to the 16-bit type (simdrop/dropout.hpp).
#pragma once

#include <bit>
#include <cstdint>
#include <type_traits>

namespace simdrop {

struct bfloat16 {
  std::uint16_t bits;  // the upper 16 bits of an IEEE 754 binary32
};
struct float16 {
  std::uint16_t bits;  // IEEE 754 binary16: sign, 5 exponent bits (bias 15), 10 fraction bits
};
static_assert(sizeof(bfloat16) == 2 && std::is_trivially_copyable_v<bfloat16> && std::is_standard_layout_v<bfloat16>);
static_assert(sizeof(float16) == 2 && std::is_trivially_copyable_v<float16> && std::is_standard_layout_v<float16>);

// Widening: exact for every number. A bfloat16 NaN keeps its bits; a float16 NaN keeps its payload and is made
// quiet, as F16C's vcvtph2ps does (so that every path widens alike).
constexpr float to_float(bfloat16 v) noexcept { return std::bit_cast<float>(std::uint32_t{v.bits} << 16); }

constexpr float to_float(float16 v) noexcept {
  const std::uint32_t sign = std::uint32_t{v.bits & 0x8000u} << 16;
  const std::uint32_t exponent = (v.bits >> 10) & 0x1Fu, fraction = v.bits & 0x3FFu;
  if (exponent == 0x1F)  // infinity, or NaN: quiet, the payload at the top of float's fraction
    return std::bit_cast<float>(sign | 0x7F800000u | (fraction != 0 ? 0x400000u : 0u) | (fraction << 13));
  if (exponent == 0) {  // zero or subnormal: fraction * 2^-24, exact in float
    const float magnitude = static_cast<float>(fraction) * 0x1p-24f;
    return sign != 0 ? -magnitude : magnitude;
  }
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (fraction << 13));
}

// Narrowing: round to nearest, ties to even; subnormal results are kept (not flushed), a value too large for
// the type becomes +-infinity, and a NaN stays a NaN: its quiet bit is set and the top of its payload kept
// (what the x86 conversion instructions do).
constexpr bfloat16 to_bfloat16(float f) noexcept {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return {static_cast<std::uint16_t>((u >> 16) | 0x0040u)};
  // Adding 0x7FFF plus the lowest kept bit rounds the discarded half to nearest-even; a carry into the
  // exponent is the right result too (up to infinity). Subnormals need no special case: same exponent field.
  return {static_cast<std::uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16)};
}

constexpr float16 to_float16(float f) noexcept {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  const std::uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u)  // NaN: quiet, top 9 payload bits kept
    return {static_cast<std::uint16_t>(sign | 0x7E00u | ((a >> 13) & 0x3FFu))};
  if (a >= 0x477FF000u) return {static_cast<std::uint16_t>(sign | 0x7C00u)};  // >= 65520: rounds to infinity
  if (a >= 0x38800000u) {  // a normal result (>= 2^-14): rebias the exponent by 127 - 15, round 13 bits away
    const std::uint32_t r = a - (112u << 23);
    return {static_cast<std::uint16_t>(sign | ((r + 0xFFFu + ((r >> 13) & 1u)) >> 13))};
  }
  const std::uint32_t exponent = a >> 23;
  if (exponent < 102) return {sign};  // below 2^-25: rounds to zero (2^-25 itself is a tie, to even: zero)
  // A subnormal result: the significand m (with its leading 1) times 2^(exponent - 150), in units of 2^-24.
  const std::uint32_t m = (a & 0x7FFFFFu) | 0x800000u, shift = 126 - exponent;  // 14 .. 24
  std::uint32_t q = m >> shift;
  const std::uint32_t rest = m & ((1u << shift) - 1), half = 1u << (shift - 1);
  if (rest > half || (rest == half && (q & 1u))) ++q;  // may carry into the smallest normal: still right
  return {static_cast<std::uint16_t>(sign | q)};
}

}  // namespace simdrop
