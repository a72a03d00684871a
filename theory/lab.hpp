// Helpers shared by the claims' experiments (internal to the theory lab).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include <simdrop/dropout.hpp>

#include "claims.hpp"

namespace simdrop::theory::lab {

// Unit roundoff of double: every identity's rounding bound is a multiple of it.
inline constexpr double kU = std::numeric_limits<double>::epsilon() / 2;

// A keep-mask drawn by simdrop: kept(i) is bit i of make_mask(n, p, {seed, offset}).
class Mask {
 public:
  Mask(std::size_t n, double p, std::uint64_t seed, std::uint64_t offset) : words_(simdrop::mask_words(n)) {
    simdrop::make_mask(words_, n, p, simdrop::Stream{seed, offset});
  }
  bool kept(std::size_t i) const { return (words_[i >> 6] >> (i & 63)) & 1u; }
  // Bits [i, i + k) as an integer, bit i lowest (k <= 32).
  std::uint32_t bits(std::size_t i, unsigned k) const {
    const unsigned sh = i & 63;
    std::uint64_t v = words_[i >> 6] >> sh;
    if (sh + k > 64) v |= words_[(i >> 6) + 1] << (64 - sh);
    return std::uint32_t(v & ((std::uint64_t(1) << k) - 1));
  }

 private:
  std::vector<std::uint64_t> words_;
};

// Sample statistics of a list of independent draws.
struct Sample {
  std::vector<double> v;
  void add(double x) { v.push_back(x); }
  std::size_t n() const { return v.size(); }
  double mean() const {
    double s = 0;
    for (double x : v) s += x;
    return s / double(v.size());
  }
  // Central moment of order k about the sample mean.
  double central(int k) const {
    const double m = mean();
    double s = 0;
    for (double x : v) s += std::pow(x - m, k);
    return s / double(v.size());
  }
  double var() const { return central(2) * double(n()) / double(n() - 1); }
  // Standard error of the mean: sqrt(s^2 / n).
  double se_mean() const { return std::sqrt(var() / double(n())); }
  // Standard error of the sample variance (large n): sqrt((mu4 - sigma^4) / n), moments estimated.
  double se_var() const {
    const double m2 = central(2), m4 = central(4);
    return std::sqrt(std::max(m4 - m2 * m2, 0.0) / double(n()));
  }
};

// n scaled by the configuration's size, at least lo.
inline std::size_t scaled(const Config& c, double n, std::size_t lo) {
  return std::max<std::size_t>(lo, std::size_t(std::llround(n * c.size)));
}

// A statistical check: tolerance = k standard errors.
inline Check stat_check(std::string what, double predicted, double measured, double se, const Config& c,
                        Relation rel = Relation::equal, Role role = Role::supports) {
  return Check{std::move(what), predicted, measured, se, c.sigmas * se, rel, role, {}};
}
// An identity's check: tolerance from a rounding bound, no standard error.
inline Check exact_check(std::string what, double predicted, double measured, double tolerance,
                         Relation rel = Relation::equal, Role role = Role::supports) {
  return Check{std::move(what), predicted, measured, 0.0, tolerance, rel, role, {}};
}

// The drop probability simdrop really uses for p (p rounded to a multiple of 2^-32).
inline double eff(double p) { return simdrop::effective_drop_probability(p); }

std::string fmt(double v);  // short decimal form for statements
std::string fmt_list(const double* v, std::size_t n);  // "[a, b, c]", 3 decimals, for statements

// One-sided upper normal tail P(Z > k) (k = 6: 9.87e-10): the false-alarm rate every one-sided test uses.
inline double normal_upper_tail(double k) { return 0.5 * std::erfc(k / std::sqrt(2.0)); }
// Regularized incomplete beta function I_x(a, b) (continued fraction, Lentz; relative accuracy ~1e-14).
double incomplete_beta(double a, double b, double x);
// Upper tail of Snedecor's F(d1, d2) at f: P(F > f) = I_{d2/(d2 + d1 f)}(d2/2, d1/2).
inline double f_upper_tail(double f, double d1, double d2) {
  return f <= 0 ? 1.0 : incomplete_beta(d2 / 2, d1 / 2, d2 / (d2 + d1 * f));
}
// The f with P(F(d1, d2) > f) = alpha (bisection on log f, to a relative 1e-12).
double f_quantile_upper(double alpha, double d1, double d2);

// Fixed data (weights, inputs, targets): splitmix64, so the data are the same with every compiler and
// standard library (std::*_distribution are not). Only the data; every dropout decision is simdrop's.
inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
// n values uniform in [lo, hi).
inline std::vector<double> uniform_data(std::size_t n, std::uint64_t seed, double lo, double hi) {
  std::vector<double> v(n);
  for (auto& x : v) x = lo + (hi - lo) * double(splitmix64(seed) >> 11) * 0x1p-53;
  return v;
}
// n standard normals (Box-Muller on splitmix64's uniforms).
inline std::vector<double> normal_data(std::size_t n, std::uint64_t seed) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; i += 2) {
    const double u1 = (double(splitmix64(seed) >> 11) + 0.5) * 0x1p-53, u2 = double(splitmix64(seed) >> 11) * 0x1p-53;
    const double r = std::sqrt(-2.0 * std::log(u1)), t = 6.283185307179586 * u2;
    v[i] = r * std::cos(t);
    if (i + 1 < n) v[i + 1] = r * std::sin(t);
  }
  return v;
}

}  // namespace simdrop::theory::lab
