// The standard normals of Gaussian dropout: Box-Muller on two 32-bit words, with simdrop's own log,
// sine and cosine. Written once over a "double" type D (double, or an xsimd batch of doubles) and its
// 64-bit integer type U, using only +, -, *, /, sqrt (all correctly rounded in IEEE 754), exact bit
// operations and selects, always in the same order. So the scalar reference and every SIMD path compute
// the same bits, as long as nothing fuses a multiply and an add: the library is built with
// -ffp-contract=off.
//
// Accuracy (not exactness) is what the polynomials trade: log to ~1e-15 relative and sine/cosine to
// ~5e-14 absolute, far below anything a statistical test or a network can see.
//
// Everything here has internal linkage (an anonymous namespace), so that every translation unit, each
// built with its own ISA flags, has its own copy.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace simdrop::detail {
namespace {
namespace normal_math {

// The scalar operations (the reference); kernel_impl.hpp gives the same over xsimd batches.
struct ScalarOps {
  using D = double;
  using U = std::uint64_t;
  static double as_double(std::uint64_t bits) noexcept { return std::bit_cast<double>(bits); }
  static std::uint64_t as_bits(double d) noexcept { return std::bit_cast<std::uint64_t>(d); }
  static double select(bool c, double a, double b) noexcept { return c ? a : b; }
  static double sqrt(double d) noexcept { return std::sqrt(d); }
};

// The exact double value of the low 32 bits of w (the high bits are ignored).
template <class Ops>
inline typename Ops::D low32_to_double(typename Ops::U w) noexcept {
  using D = typename Ops::D;
  using U = typename Ops::U;
  return Ops::as_double((w & U(0xFFFFFFFFull)) | U(0x4330000000000000ull)) - D(0x1p52);
}

// log(u) for u in (0, 1] (a normal double): u = m * 2^k with m in [sqrt(1/2), sqrt(2)),
// log(m) = 2 atanh(s) = 2 (s + s^3/3 + ... + s^19/19), s = (m - 1) / (m + 1), |s| <= 0.1716.
template <class Ops>
inline typename Ops::D log_unit(typename Ops::D u) noexcept {
  using D = typename Ops::D;
  using U = typename Ops::U;
  const U bits = Ops::as_bits(u);
  D k = low32_to_double<Ops>(bits >> 52) - D(1023.0);
  D m = Ops::as_double((bits & U(0x000FFFFFFFFFFFFFull)) | U(0x3FF0000000000000ull));  // [1, 2)
  const auto big = m > D(1.4142135623730951);
  m = Ops::select(big, m * D(0.5), m);
  k = Ops::select(big, k + D(1.0), k);
  const D s = (m - D(1.0)) / (m + D(1.0));
  const D s2 = s * s;
  D poly(1.0 / 19);
  poly = poly * s2 + D(1.0 / 17);
  poly = poly * s2 + D(1.0 / 15);
  poly = poly * s2 + D(1.0 / 13);
  poly = poly * s2 + D(1.0 / 11);
  poly = poly * s2 + D(1.0 / 9);
  poly = poly * s2 + D(1.0 / 7);
  poly = poly * s2 + D(1.0 / 5);
  poly = poly * s2 + D(1.0 / 3);
  const D log_m = D(2.0) * (s + s * (s2 * poly));
  return k * D(0.6931471805599453) + log_m;
}

// Taylor coefficients 1 / n!.
constexpr double inv_factorial(int n) {
  double f = 1;
  for (int i = 2; i <= n; ++i) f *= i;
  return 1.0 / f;
}

// sin(phi) and cos(phi) for phi in [0, pi/2), Taylor series to x^19 and x^20 (error < 5e-14).
template <class D>
inline void sincos_quarter(D phi, D& s, D& c) noexcept {
  const D x2 = phi * phi;
  D ps(-inv_factorial(19));
  for (int n = 17; n >= 3; n -= 2) ps = ps * x2 + D((n % 4 == 1 ? 1.0 : -1.0) * inv_factorial(n));
  s = phi + phi * (x2 * ps);
  D pc(inv_factorial(20));
  for (int n = 18; n >= 2; n -= 2) pc = pc * x2 + D((n % 4 == 0 ? 1.0 : -1.0) * inv_factorial(n));
  c = D(1.0) + x2 * pc;
}

// The Box-Muller pair of two 32-bit words (low halves of wa, wb): r = sqrt(-2 log u1) with
// u1 = (wa + 1/2) / 2^32 in (0, 1), angle 2 pi wb / 2^32 (quadrant from wb's top two bits, exact);
// returns r cos(angle) in z_cos and r sin(angle) in z_sin.
// (The types come from Ops, never from the arguments: a 32-bit word must widen to Ops::U.)
template <class Ops>
inline void box_muller(typename Ops::U wa, typename Ops::U wb, typename Ops::D& z_cos,
                       typename Ops::D& z_sin) noexcept {
  using D = typename Ops::D;
  using U = typename Ops::U;
  const D u1 = (low32_to_double<Ops>(wa) + D(0.5)) * D(0x1p-32);
  const D r = Ops::sqrt(D(-2.0) * log_unit<Ops>(u1));
  const D q = low32_to_double<Ops>((wb & U(0xFFFFFFFFull)) >> 30);  // quadrant 0..3
  const D phi = low32_to_double<Ops>(wb & U(0x3FFFFFFFull)) * D(0x1p-30) * D(1.5707963267948966);
  D s, c;
  sincos_quarter(phi, s, c);
  // angle = q pi/2 + phi: cos = c, -s, -c, s and sin = s, c, -s, -c for q = 0, 1, 2, 3.
  const auto swap = (q == D(1.0)) | (q == D(3.0));
  const D a = Ops::select(swap, s, c), b = Ops::select(swap, c, s);
  z_cos = r * Ops::select((q == D(1.0)) | (q == D(2.0)), -a, a);
  z_sin = r * Ops::select(q >= D(2.0), -b, b);
}

}  // namespace normal_math
}  // namespace
}  // namespace simdrop::detail
