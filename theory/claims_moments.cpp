// Claims about the moments of a dropped linear unit: bias and variance (1), inverted dropout's expectation
// (2) and the Jensen gap of the test-time rule (6).
#include <cmath>
#include <cstdint>
#include <vector>

#include <simdrop/dropout.hpp>
#include <simdrop/family.hpp>

#include "claims.hpp"
#include "lab.hpp"

namespace simdrop::theory {
using namespace lab;

namespace {

constexpr double kPs[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};

// R draws of u = sum_i w_i m_i x_i (no scaling), m = keep bits of simdrop's mask: draw r uses bits
// [r d, (r + 1) d) of one mask of R d bits.
std::vector<double> dropped_sums(const std::vector<double>& w, const std::vector<double>& x, double p, std::size_t R,
                                 std::uint64_t seed, std::uint64_t offset) {
  const std::size_t d = w.size();
  Mask m(R * d, p, seed, offset);
  std::vector<double> u(R);
  for (std::size_t r = 0; r < R; ++r) {
    double s = 0;
    for (std::size_t i = 0; i < d; ++i)
      if (m.kept(r * d + i)) s += w[i] * x[i];
    u[r] = s;
  }
  return u;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}
double sum_sq_products(const std::vector<double>& w, const std::vector<double>& x) {
  double s = 0;
  for (std::size_t i = 0; i < w.size(); ++i) s += w[i] * w[i] * x[i] * x[i];
  return s;
}

}  // namespace

// ---- 1. bias and variance of non-inverted dropout on a linear predictor ---------------------------------
// y_hat = w^T (m * x), m_i ~ Bernoulli(1 - p) independent (1 = kept). Then
//   E[y_hat]   = (1 - p) w^T x                  -> bias   = E[y_hat] - w^T x = -p w^T x, bias^2 = p^2 (w^T x)^2
//   Var[y_hat] = sum_i w_i^2 x_i^2 Var[m_i]     =  p (1 - p) sum_i w_i^2 x_i^2
// and against a target t = w^T x + e, e ~ N(0, s_e^2) independent of m:
//   E[(y_hat - t)^2] = bias^2 + Var[y_hat] + s_e^2.
// p (1 - p) has its maximum at p = 1/2, so the variance falls for p > 1/2 (Var(0.9) / Var(0.5) = 0.09 / 0.25
// = 0.36), against the text's "both grow as p grows". Inverted dropout (y_hat / (1 - p)) has variance
// p / (1 - p) sum w^2 x^2, which does grow for every p.
ClaimResult bias_variance(const Config& c) {
  ClaimResult res;
  res.id = "bias_variance";
  res.statement = "Non-inverted dropout on y = w^T(m*x): MSE = bias^2 (~p^2) + variance (~p(1-p)) + noise; "
                  "the text adds that both grow as p grows";
  res.formula = "bias = -p w^T x; Var = p(1-p) sum w_i^2 x_i^2; MSE = p^2 (w^T x)^2 + p(1-p) sum w_i^2 x_i^2 + s_e^2";
  res.seed_formula = "bias^2 ~ p^2 and variance ~ p(1-p), and both increase as p increases";
  res.corrected_formula = "bias^2 = p^2 (w^T x)^2 grows with p; variance p(1-p) sum w_i^2 x_i^2 peaks at p = 1/2 "
                          "and falls for p > 1/2 (Var(0.9)/Var(0.5) = 0.36); only inverted dropout's variance "
                          "p/(1-p) sum w_i^2 x_i^2 grows for all p";
  const std::uint64_t seed = c.seed + 1;
  const std::size_t d = 16, R = scaled(c, 1 << 17, 2048);
  const auto w = uniform_data(d, seed, -1, 1), x = uniform_data(d, seed + 100, -1, 2);
  const double s = dot(w, x), S2 = sum_sq_products(w, x), se_noise = 0.5;
  res.conditions = "d = 16 inputs, " + std::to_string(R) + " masks per p, p = 0.1 .. 0.9, noise sd 0.5, seed " +
                   std::to_string(seed);

  Plot plot{"Variance of a dropped linear unit against p", "p (drop probability)", "Var[y_hat]", false, true};
  Series meas{"measured, non-inverted"}, form{"p(1-p) sum w^2 x^2", true};
  Series meas_inv{"measured, inverted"}, form_inv{"p/(1-p) sum w^2 x^2", true};
  double var_at[2] = {0, 0}, se_at[2] = {0, 0}, var_inv_at[2] = {0, 0}, se_inv_at[2] = {0, 0};
  for (std::size_t k = 0; k < std::size(kPs); ++k) {
    const double p = eff(kPs[k]);
    const auto u = dropped_sums(w, x, kPs[k], R, seed, std::uint64_t(k) << 40);
    Sample y, yinv;
    for (double v : u) {
      y.add(v);
      yinv.add(v / (1 - p));
    }
    const double pv = p * (1 - p) * S2;
    res.checks.push_back(stat_check("Var[y_hat] at p = " + fmt(kPs[k]) + " = p(1-p) sum w^2 x^2", pv, y.var(),
                                    y.se_var(), c));
    meas.x.push_back(p), meas.y.push_back(y.var()), meas.yerr.push_back(y.se_var());
    meas_inv.x.push_back(p), meas_inv.y.push_back(yinv.var()), meas_inv.yerr.push_back(yinv.se_var());
    if (kPs[k] == 0.5 || kPs[k] == 0.9) {
      const int j = kPs[k] == 0.9;
      var_at[j] = y.var(), se_at[j] = y.se_var(), var_inv_at[j] = yinv.var(), se_inv_at[j] = yinv.se_var();
    }
    if (kPs[k] == 0.3) {
      // Noise from simdrop's Gaussian dropout: with x = s_e and p = 1/2, y = s_e (1 + z), z ~ N(0, 1).
      std::vector<double> ones(R, se_noise), noisy(R);
      simdrop::gaussian_dropout_forward(ones, noisy, 0.5, simdrop::Stream{seed, std::uint64_t(99) << 40});
      Sample sq;
      for (std::size_t r = 0; r < R; ++r) {
        const double t = s + (noisy[r] - se_noise);
        sq.add((u[r] - t) * (u[r] - t));
      }
      res.checks.push_back(stat_check("bias E[y_hat] - w^T x at p = 0.3 = -p w^T x", -p * s, y.mean() - s,
                                      y.se_mean(), c));
      res.checks.push_back(stat_check("MSE at p = 0.3 = p^2 (w^T x)^2 + p(1-p) sum w^2 x^2 + s_e^2",
                                      p * p * s * s + pv + se_noise * se_noise, sq.mean(), sq.se_mean(), c));
    }
  }
  for (double p = 0.02; p < 0.985; p += 0.01) {
    form.x.push_back(p), form.y.push_back(p * (1 - p) * S2);
    form_inv.x.push_back(p), form_inv.y.push_back(p / (1 - p) * S2);
  }
  plot.series = {meas, form, meas_inv, form_inv};
  res.plots.push_back(plot);

  // Var(0.9) / Var(0.5) = 0.09 / 0.25; its standard error by the delta method (independent masks).
  const double ratio = var_at[1] / var_at[0];
  const double se_ratio = ratio * std::hypot(se_at[1] / var_at[1], se_at[0] / var_at[0]);
  const double pr = eff(0.9) * (1 - eff(0.9)) / (eff(0.5) * (1 - eff(0.5)));
  res.headline = res.checks.size();
  res.checks.push_back(stat_check("Var(p = 0.9) / Var(p = 0.5) = 0.09 / 0.25", pr, ratio, se_ratio, c));
  // The text: the variance grows with p, so Var(0.9) - Var(0.5) >= 0.
  res.checks.push_back(stat_check("text: variance grows with p, Var(0.9) - Var(0.5) >= 0", 0, var_at[1] - var_at[0],
                                  std::hypot(se_at[0], se_at[1]), c, Relation::at_least, Role::seed));
  // Control: inverted dropout's variance does grow (9 / 1 between the two p).
  res.checks.push_back(stat_check("control: inverted Var(0.9) - Var(0.5) > 0", 0, var_inv_at[1] - var_inv_at[0],
                                  std::hypot(se_inv_at[0], se_inv_at[1]), c, Relation::above, Role::control));
  return res;
}

// ---- 2. inverted dropout keeps the expectation ----------------------------------------------------------
// y_i = x_i m_i / (1 - p): E[y_i] = x_i (1 - p) / (1 - p) = x_i and Var[y_i] = x_i^2 (1 - p) p / (1 - p)^2 =
// p / (1 - p) x_i^2. Measured with dropout_forward itself on n inputs, through r_i = y_i / x_i, which has
// E = 1 and Var = p / (1 - p) whatever x_i is (so every element is a draw of the same law). Three checks per p:
//   * the kept fraction (y_i != 0) against 1 - p, standard error sqrt(p (1 - p) / n) (the binomial's, known);
//   * the mean of r against 1, standard error s_r / sqrt(n);
//   * the sample variance s_r^2 of r (about its own mean) against p / (1 - p), standard error
//     sqrt((mu4 - s^4) / n) with the moments estimated.
// r takes two values, 0 and 1/(1-p), so its law is its kept fraction: the variance is not an independent
// quantity, and a statistic that ignores the kept fraction cannot tell a wrong mask. The mean of (r - 1)^2
// (the variance about the claimed mean, used before) is such a statistic at p = 1/2: |r - 1| = 1 for both
// outcomes, so it is exactly 1 for any mask, all kept or all dropped included. The sample variance about the
// sample mean is not: with b = the kept fraction, s_r^2 = 4 n/(n-1) b (1 - b) (0 for an all-kept or all-dropped
// mask). At p = 1/2 its error is second order, so the standard-error formula degenerates (mu4 = s^4): there
// b = 1/2 + Z / (2 sqrt(n)), Z ~ N(0, 1) to O(1/n), and s_r^2 - 1 = (1 - Z^2) / (n - 1) exactly in terms of Z.
// The tolerance is then (k^2 - 1) / (n - 1): exceeded only when Z^2 > k^2, the same two-sided normal tail
// 2 Phi(-k) as every k-sigma check (s_r^2 - 1 <= 1/(n-1) always, so the upper side never fails).
std::vector<Check> expectation_checks(std::span<const double> x, std::span<const double> y, double p_nominal,
                                      const Config& c) {
  const std::size_t n = x.size();
  const double p = eff(p_nominal);
  Sample r;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < n; ++i) {
    r.add(y[i] / x[i]);
    kept += y[i] != 0;
  }
  std::vector<Check> out;
  out.push_back(stat_check("kept fraction at p = " + fmt(p_nominal) + " = 1 - p", 1 - p, double(kept) / double(n),
                           std::sqrt(p * (1 - p) / double(n)), c));
  out.push_back(stat_check("E[y/x] at p = " + fmt(p_nominal) + " = 1", 1.0, r.mean(), r.se_mean(), c));
  const std::string var_what = "Var[y/x] (sample variance) at p = " + fmt(p_nominal) + " = p/(1-p)";
  if (p == 0.5) {
    const double k = c.sigmas, m = double(n - 1);
    out.push_back(Check{var_what, 1.0, r.var(), std::sqrt(2.0) / m, (k * k - 1) / m, Relation::equal,
                        Role::supports,
                        "p = 1/2: s^2 - 1 = (1 - Z^2)/(n - 1); tolerance (k^2 - 1)/(n - 1), k = " + fmt(k) +
                            " (the two-sided " + fmt(k) + "-sigma tail of Z)"});
  } else {
    out.push_back(stat_check(var_what, p / (1 - p), r.var(), r.se_var(), c));
  }
  return out;
}

ClaimResult expectation(const Config& c) {
  ClaimResult res;
  res.id = "expectation";
  res.statement = "Inverted dropout (kept values scaled by 1/(1-p)) keeps E[y] = x; it leaves variance p/(1-p) x^2";
  res.formula = "E[y] = x, Var[y] = p/(1-p) x^2 (kept fraction 1 - p)";
  const std::uint64_t seed = c.seed + 2;
  const std::size_t n = scaled(c, 1 << 20, 1 << 14);
  const auto x = uniform_data(n, seed, 0.5, 1.5);
  res.conditions = "dropout_forward (fp64) on " + std::to_string(n) + " inputs in [0.5, 1.5), p = 0.1 .. 0.9, seed " +
                   std::to_string(seed);
  std::vector<double> y(n);
  const double ps[] = {0.1, 0.3, 0.5, 0.7, 0.9};
  for (std::size_t k = 0; k < std::size(ps); ++k) {
    simdrop::dropout_forward(std::span<const double>(x), std::span<double>(y), ps[k],
                             simdrop::Stream{seed, std::uint64_t(k) << 40});
    const auto checks = expectation_checks(x, y, ps[k], c);
    if (ps[k] == 0.3) res.headline = res.checks.size() + 2;  // the variance at p = 0.3
    res.checks.insert(res.checks.end(), checks.begin(), checks.end());
  }
  return res;
}

// ---- 6. the Jensen gap of the test-time rule --------------------------------------------------------------
// f(z) = z^2 and z = w^T (dropped x). The test-time network computes f(E[z]), the ensemble E[f(z)]; for
// f = z^2 the gap E[z^2] - E[z]^2 is Var[z]:
//   inverted (z = w^T(m*x) / (1 - p), full network at test):          gap = p / (1 - p) sum w_i^2 x_i^2
//   standard (z = w^T(m*x), weights scaled by (1 - p) at test):        gap = p (1 - p) sum w_i^2 x_i^2
// The text states p(1-p) sum w^2 x^2 while describing inverted dropout's test-time rule: that number is the
// standard convention's. Measured: mean of z_r^2 over R masks minus the test-time f(E[z]) (known exactly),
// standard error sd(z^2) / sqrt(R). The two conventions are two experiments, each with its own masks:
// inverted dropout scales its kept sum by 1/(1-p) and is compared with the full network's s^2; standard
// dropout keeps the sum unscaled and is compared with the weight-scaled network's ((1-p) s)^2. (From the same
// masks the standard gap would be the inverted one times (1-p)^2 exactly: no evidence of its own.)
// ReLU is convex, so E[relu(z)] >= relu(E[z]); the sigmoid is not (concave for z > 0): with E[z] = 1.5 the
// gap is negative, against the text's "f convex (as many activation functions are)" read as covering it.
ClaimResult jensen_gap(const Config& c) {
  ClaimResult res;
  res.id = "jensen_gap";
  res.statement = "Test-time rule vs ensemble: E[f(z)] - f(E[z]) for f(z) = z^2 is p(1-p) sum w^2 x^2 (text, "
                  "about inverted dropout); E[f(z)] >= f(E[z]) for convex f, 'as many activations are'";
  res.formula = "inverted: p/(1-p) sum w_i^2 x_i^2; standard (weight scaling): p(1-p) sum w_i^2 x_i^2";
  res.seed_formula = "gap = p(1-p) sum w_i^2 x_i^2 for inverted dropout's test-time rule; E[f(z)] >= f(E z) "
                     "since many activation functions (the text names ReLU and sigmoid just before) are convex";
  res.corrected_formula = "inverted dropout: gap = p/(1-p) sum w_i^2 x_i^2; p(1-p) sum w_i^2 x_i^2 is the gap of "
                          "standard dropout with weight scaling at test; ReLU is convex (gap >= 0) but the sigmoid "
                          "is not (gap < 0 where z > 0)";
  const std::uint64_t seed = c.seed + 6;
  const std::size_t d = 16, R = scaled(c, 1 << 17, 4096);
  const auto w = uniform_data(d, seed, -1, 1), x = uniform_data(d, seed + 100, -1, 2);
  const double s = dot(w, x), S2 = sum_sq_products(w, x);
  res.conditions = "d = 16, " + std::to_string(R) + " masks per p, p = 0.1 .. 0.9; activations at p = 0.5 with "
                   "bias so that E[z] = 1.5; seed " + std::to_string(seed);
  Plot plot{"Jensen gap E[z^2] - f(E z) against p", "p (drop probability)", "gap", false, true};
  Series inv{"measured, inverted"}, stdc{"measured, standard + weight scaling (own masks)"};
  Series f_inv{"p/(1-p) sum w^2 x^2", true}, f_std{"p(1-p) sum w^2 x^2 (the text's)", true};
  for (std::size_t k = 0; k < std::size(kPs); ++k) {
    const double p = eff(kPs[k]);
    // Inverted dropout's masks at offsets k 2^40, standard dropout's own at (k + 16) 2^40 (disjoint streams).
    const auto u = dropped_sums(w, x, kPs[k], R, seed, std::uint64_t(k) << 40);
    const auto us = dropped_sums(w, x, kPs[k], R, seed, std::uint64_t(k + 16) << 40);
    Sample zi2, zs2;
    for (double v : u) {
      const double zi = v / (1 - p);
      zi2.add(zi * zi);
    }
    for (double v : us) zs2.add(v * v);
    const double gi = zi2.mean() - s * s, gs = zs2.mean() - (1 - p) * s * (1 - p) * s;
    if (kPs[k] == 0.5) res.headline = res.checks.size();
    res.checks.push_back(stat_check("inverted gap at p = " + fmt(kPs[k]) + " = p/(1-p) sum w^2 x^2",
                                    p / (1 - p) * S2, gi, zi2.se_mean(), c));
    res.checks.push_back(stat_check("standard gap (own masks) at p = " + fmt(kPs[k]) + " = p(1-p) sum w^2 x^2",
                                    p * (1 - p) * S2, gs, zs2.se_mean(), c));
    // The text's number for inverted dropout: 4x too small at p = 1/2, 25x at p = 0.8.
    if (kPs[k] == 0.5 || kPs[k] == 0.8)
      res.checks.push_back(stat_check("text: inverted gap at p = " + fmt(kPs[k]) + " = p(1-p) sum w^2 x^2",
                                      p * (1 - p) * S2, gi, zi2.se_mean(), c, Relation::equal, Role::seed));
    inv.x.push_back(p), inv.y.push_back(gi), inv.yerr.push_back(zi2.se_mean());
    stdc.x.push_back(p), stdc.y.push_back(gs), stdc.yerr.push_back(zs2.se_mean());
  }
  for (double p = 0.02; p < 0.985; p += 0.01) {
    f_inv.x.push_back(p), f_inv.y.push_back(p / (1 - p) * S2);
    f_std.x.push_back(p), f_std.y.push_back(p * (1 - p) * S2);
  }
  plot.series = {inv, f_inv, stdc, f_std};
  res.plots.push_back(plot);

  // Activations, inverted dropout at p = 1/2, pre-activation z = w^T(m*x)/(1-p) + b with b = 1.5 - w^T x.
  const double p = eff(0.5), b = 1.5 - s;
  const auto u = dropped_sums(w, x, 0.5, R, seed, std::uint64_t(50) << 40);
  Sample relu, sig;
  for (double v : u) {
    const double z = v / (1 - p) + b;
    relu.add(std::max(z, 0.0));
    sig.add(1 / (1 + std::exp(-z)));
  }
  const double ez = 1.5;
  res.checks.push_back(stat_check("ReLU (convex): E[relu(z)] - relu(E z) >= 0", 0, relu.mean() - ez, relu.se_mean(),
                                  c, Relation::at_least));
  res.checks.push_back(stat_check("sigmoid, E z = 1.5: E[sig(z)] - sig(E z) < 0 (not convex)", 0,
                                  sig.mean() - 1 / (1 + std::exp(-ez)), sig.se_mean(), c, Relation::below));
  res.checks.push_back(stat_check("text: sigmoid convex, E[sig(z)] - sig(E z) >= 0", 0,
                                  sig.mean() - 1 / (1 + std::exp(-ez)), sig.se_mean(), c, Relation::at_least,
                                  Role::seed));
  return res;
}

}  // namespace simdrop::theory
