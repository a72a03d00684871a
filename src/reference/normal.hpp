// The standard normals of Gaussian dropout: Box-Muller on two 32-bit words in single precision, with
// simdrop's own log, sine and cosine. Written once over an operations type Ops: Ops::F is a "float" type
// (float, or an xsimd batch of floats), Ops::U its 32-bit unsigned integer type, and Ops gives bit casts,
// a select, sqrt and division (Ops' own: xsimd 8.1's are approximations on neon64). The code uses only +,
// -, *, / and sqrt (all correctly rounded in IEEE 754), exact integer and bit operations and selects,
// always in the same order, so the scalar reference and every SIMD path compute the same bits, as long as
// nothing fuses a multiply and an add: the library is built with -ffp-contract=off.
//
// Single precision is a choice of speed (twice the lanes of double, shorter polynomials): the noise of
// dropout needs no more. Accuracy: log to ~2 ulp, sine and cosine to ~1e-9 absolute (Taylor on
// [-pi/4, pi/4]), so z is within ~1e-6 of the exact Box-Muller value of the same words.
//
// Everything here has internal linkage (an anonymous namespace), so that every translation unit, each
// built with its own ISA flags, has its own copy.
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace simdrop::detail {
namespace {
namespace normal_math {

// The scalar operations (the reference); kernel_impl.hpp gives the same over xsimd batches.
struct ScalarOps {
  using F = float;
  using U = std::uint32_t;
  static float as_float(std::uint32_t bits) noexcept { return std::bit_cast<float>(bits); }
  static std::uint32_t as_bits(float f) noexcept { return std::bit_cast<std::uint32_t>(f); }
  static float select(bool c, float a, float b) noexcept { return c ? a : b; }
  static float sqrt(float f) noexcept { return std::sqrt(f); }
  static float div(float a, float b) noexcept { return a / b; }
};

// The exact float value of v < 2^23 (an integer below float's 24-bit significand).
template <class Ops>
inline typename Ops::F small_to_float(typename Ops::U v) noexcept {
  using F = typename Ops::F;
  using U = typename Ops::U;
  return Ops::as_float(v | U(0x4B000000u)) - F(0x1p23f);
}

// w as a float, correctly rounded: the high and low 16 bits exactly, then one rounding in the add.
template <class Ops>
inline typename Ops::F word_to_float(typename Ops::U w) noexcept {
  using F = typename Ops::F;
  using U = typename Ops::U;
  return small_to_float<Ops>(w >> 16) * F(65536.0f) + small_to_float<Ops>(w & U(0xFFFFu));
}

// log(u) for a normal float u in (0, 1]: u = m 2^k with m in [sqrt(1/2), sqrt(2)),
// log(m) = 2 atanh(s) = 2 (s + s^3/3 + ... + s^9/9), s = (m - 1) / (m + 1), |s| <= 0.1716
// (truncation < 1e-10 relative); k ln 2 in two parts (Cody-Waite) to keep it exact enough.
template <class Ops>
inline typename Ops::F log_unit(typename Ops::F u) noexcept {
  using F = typename Ops::F;
  using U = typename Ops::U;
  const U bits = Ops::as_bits(u);
  F k = small_to_float<Ops>(bits >> 23) - F(127.0f);
  F m = Ops::as_float((bits & U(0x007FFFFFu)) | U(0x3F800000u));  // [1, 2)
  const auto big = m > F(1.41421356f);
  m = Ops::select(big, m * F(0.5f), m);
  k = Ops::select(big, k + F(1.0f), k);
  const F s = Ops::div(m - F(1.0f), m + F(1.0f));
  const F s2 = s * s;
  F poly(static_cast<float>(1.0 / 9));
  poly = poly * s2 + F(static_cast<float>(1.0 / 7));
  poly = poly * s2 + F(static_cast<float>(1.0 / 5));
  poly = poly * s2 + F(static_cast<float>(1.0 / 3));
  const F log_m = F(2.0f) * (s + s * (s2 * poly));
  return k * F(0.693145751953125f) + (k * F(1.428606765330187e-06f) + log_m);
}

// Taylor coefficients, signed as in the sine and cosine series: (+-) 1 / n!.
constexpr float series_term(int n) {
  double f = 1;
  for (int i = 2; i <= n; ++i) f *= i;
  return static_cast<float>((n % 4 == 0 || n % 4 == 1 ? 1.0 : -1.0) / f);
}

// sin(x) and cos(x) for |x| <= pi/4: Taylor to x^9 and x^10 (truncation < 2e-9), by Horner.
template <class Ops>
inline void sincos_octant(typename Ops::F x, typename Ops::F& s, typename Ops::F& c) noexcept {
  using F = typename Ops::F;
  const F x2 = x * x;
  F ps(series_term(9));
  ps = ps * x2 + F(series_term(7));
  ps = ps * x2 + F(series_term(5));
  ps = ps * x2 + F(series_term(3));
  s = x + x * (x2 * ps);
  F pc(series_term(10));
  pc = pc * x2 + F(series_term(8));
  pc = pc * x2 + F(series_term(6));
  pc = pc * x2 + F(series_term(4));
  pc = pc * x2 + F(series_term(2));
  c = F(1.0f) + x2 * pc;
}

// The Box-Muller pair of two 32-bit words: r = sqrt(-2 log u1) with u1 = (wa + 1/2) / 2^32 (wa as a
// correctly rounded float; u1 in (0, 1]), and angle = 2 pi wb / 2^32, split exactly into a quadrant
// q = round(4 wb / 2^32) mod 4 and an offset x in [-pi/4, pi/4) from wb's next 23 bits.
// Returns r cos(angle) in z_cos and r sin(angle) in z_sin.
template <class Ops>
inline void box_muller(typename Ops::U wa, typename Ops::U wb, typename Ops::F& z_cos,
                       typename Ops::F& z_sin) noexcept {
  using F = typename Ops::F;
  using U = typename Ops::U;
  const F u1 = (word_to_float<Ops>(wa) + F(0.5f)) * F(0x1p-32f);
  const F r = Ops::sqrt(F(-2.0f) * log_unit<Ops>(u1));
  const U turned = wb + U(0x20000000u);  // + 1/8 turn, so that quadrant q is centred on q pi/2
  const F q = small_to_float<Ops>(turned >> 30);
  const F x =
      (small_to_float<Ops>((turned & U(0x3FFFFFFFu)) >> 7) - F(0x1p22f)) * F(0x1p-23f) * F(1.57079632679489662f);
  F s, c;
  sincos_octant<Ops>(x, s, c);
  // angle = q pi/2 + x: cos = c, -s, -c, s and sin = s, c, -s, -c for q = 0, 1, 2, 3.
  const auto swap = (q == F(1.0f)) | (q == F(3.0f));
  const F a = Ops::select(swap, s, c), b = Ops::select(swap, c, s);
  z_cos = r * Ops::select((q == F(1.0f)) | (q == F(2.0f)), -a, a);
  z_sin = r * Ops::select(q >= F(2.0f), -b, b);
}

}  // namespace normal_math
}  // namespace
}  // namespace simdrop::detail
