// Claims about linear regression with inverted dropout on the inputs: the expected loss is a ridge loss
// (3) and dropout-SGD converges to the ridge minimizer (4).
#include <cmath>
#include <cstdint>
#include <vector>

#include <Eigen/Dense>
#include <tbb/parallel_for.h>

#include <simdrop/dropout.hpp>

#include "claims.hpp"
#include "lab.hpp"

namespace simdrop::theory {
using namespace lab;

namespace {

// A regression problem: X is n x d (row-major, standard normal entries), y = X w_true + 0.3 noise.
struct Problem {
  std::size_t n, d;
  std::vector<double> X, y;
};
Problem make_problem(std::size_t n, std::size_t d, std::uint64_t seed) {
  Problem pr{n, d, normal_data(n * d, seed), {}};
  const auto wt = uniform_data(d, seed + 1, -2, 2), e = normal_data(n, seed + 2);
  pr.y.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    double s = 0;
    for (std::size_t j = 0; j < d; ++j) s += pr.X[i * d + j] * wt[j];
    pr.y[i] = s + 0.3 * e[i];
  }
  return pr;
}

// 1/(2n) sum_i (y_i - w^T a_i)^2 over the rows a_i of A (n x d, row-major).
double half_mse(const Problem& pr, const std::vector<double>& A, const std::vector<double>& w) {
  double L = 0;
  for (std::size_t i = 0; i < pr.n; ++i) {
    double r = pr.y[i];
    for (std::size_t j = 0; j < pr.d; ++j) r -= A[i * pr.d + j] * w[j];
    L += r * r;
  }
  return L / (2.0 * double(pr.n));
}

}  // namespace

// ---- 3. the expected dropout loss is a ridge loss ---------------------------------------------------------
// With x~_ij = x_ij m_ij / (1 - p) (simdrop's inverted dropout of the whole design matrix), for each row
// z_i = w^T x~_i has E[z_i] = w^T x_i and Var[z_i] = p/(1-p) sum_j w_j^2 x_ij^2 (independent m_ij), so
//   E[(y_i - z_i)^2] = (y_i - w^T x_i)^2 + p/(1-p) sum_j w_j^2 x_ij^2
// and E[L_drop(w)] = 1/(2n) sum_i (y_i - w^T x_i)^2 + p/(2n(1-p)) sum_i sum_j w_j^2 x_ij^2: the text's formula.
// Measured: the mean of L_drop(w) over R independent dropouts of X at a fixed w; SE = sd / sqrt(R).
ClaimResult ridge_loss(const Config& c) {
  ClaimResult res;
  res.id = "ridge_loss";
  res.statement = "Linear regression with inverted dropout on the inputs: the expected loss at any w is the "
                  "squared loss plus an L2 (Tikhonov) penalty";
  res.formula = "E[L_drop(w)] = 1/(2n) sum_i (y_i - w^T x_i)^2 + p/(2n(1-p)) sum_i sum_j w_j^2 x_ij^2";
  const std::uint64_t seed = c.seed + 3;
  const std::size_t n = 64, d = 8, R = scaled(c, 1 << 14, 1024);
  const Problem pr = make_problem(n, d, seed);
  const auto w = uniform_data(d, seed + 7, -1.5, 1.5);
  res.conditions = "n = 64, d = 8, fixed w, " + std::to_string(R) + " dropouts of X (dropout_forward fp64) per p, "
                   "p = 0.2, 0.5, 0.8, seed " + std::to_string(seed);
  double penalty_sum = 0;  // sum_i sum_j w_j^2 x_ij^2
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) penalty_sum += w[j] * w[j] * pr.X[i * d + j] * pr.X[i * d + j];
  const double plain = half_mse(pr, pr.X, w);
  std::vector<double> Xd(n * d);
  const double ps[] = {0.2, 0.5, 0.8};
  for (std::size_t k = 0; k < std::size(ps); ++k) {
    const double p = eff(ps[k]);
    Sample L;
    for (std::size_t r = 0; r < R; ++r) {
      simdrop::dropout_forward(std::span<const double>(pr.X), std::span<double>(Xd), ps[k],
                               simdrop::Stream{seed, (std::uint64_t(k) << 40) + r * n * d});
      L.add(half_mse(pr, Xd, w));
    }
    const double pred = plain + p / (2.0 * double(n) * (1 - p)) * penalty_sum;
    if (ps[k] == 0.5) res.headline = res.checks.size();
    res.checks.push_back(stat_check("E[L_drop] at p = " + fmt(ps[k]) + " = loss + ridge term", pred, L.mean(),
                                    L.se_mean(), c));
    if (ps[k] == 0.5)
      res.checks.push_back(stat_check("control: E[L_drop] at p = 0.5 differs from the plain loss", plain, L.mean(),
                                      L.se_mean(), c, Relation::differs, Role::control));
  }
  return res;
}

// ---- 4. dropout-SGD converges to the ridge minimizer -----------------------------------------------------
// Setting the gradient of claim 3's expectation to zero, with lambda = p / (1 - p):
//   -(1/n) X^T (y - X w) + (lambda/n) diag(X^T X) w = 0   =>   w* = (X^T X + lambda diag(X^T X))^-1 X^T y.
// The experiment: gradient descent on the dropped loss, g_t = -(1/n) X~_t^T (y - X~_t w_t) with a fresh
// inverted dropout X~_t of X (simdrop's mask) at every step (a full batch: the masks are the only noise). g is linear in w with
// E[X~^T X~] = X^T X + lambda diag(X^T X) (off the diagonal E[m m'] / (1-p)^2 = 1, on it E[m] / (1-p)^2 =
// 1/(1-p)) and E[X~^T y] = X^T y, and the step's noise is independent of w_t. So at stationarity of a
// constant-step chain E[w_{t+1}] = E[w_t] - eta (E[A] E[w_t] - b) forces E[w_t] = w* exactly (no O(eta) bias
// for linear gradients, Bach & Moulines 2013): the average of w_t after a burn-in is an unbiased estimate.
// K independent chains give the standard error of that average per coordinate, sd_j / sqrt(K). Burn-in: the
// slowest mode contracts by about 1 - eta lambda_min(E[A]) ~ 0.975 per step (X^T X / n has its smallest
// eigenvalue near (1 - sqrt(d/n))^2 ~ 0.42), so 600 steps leave ~1e-7 of the start: far below the SE.
// The test, per component and with the components' correlations: the K chain averages a_c (c = 1..K) are
// independent draws of one d-variate law (a chain averages T steps: near normal), mean abar, sample covariance
// S. Hotelling's T^2 = K (abar - w)^T S^-1 (abar - w) has, under E[a] = w, (K - d)/(d (K - 1)) T^2 ~ F(d, K - d)
// exactly for normal a. Threshold: the F quantile at the one-sided normal tail Phi(-k) (9.9e-10 at k = 6), by
// bisection on the regularized incomplete beta function; with K = 32, d = 8: F(8, 24) > 24.39, T^2 > 252.0
// (chi-square(8) at the same tail: 58.3; the heavier tail is the price of a covariance estimated from 32 chains).
// Why not sum_j (delta_j / SE_j)^2 against chi-square(8) (the natural first form): the w_j of one chain are
// correlated (the sum is then a weighted sum of chi-square(1)s with a heavier tail than chi-square(8)), and
// SE_j is estimated from 32 chains (each term a t(31)^2: P(|t(31)| > 6) ~ 1e-6, not 2e-9); at the 1e-9 level
// both matter. T^2 accounts for both. (The diagonal sum is reported in the notes beside it.)
// Controls: the same statistic against w_OLS (no penalty) and against isotropic ridge with the same total
// penalty, (X^T X + lambda tr(X^T X)/d I)^-1 X^T y (what the per-feature penalty must be told apart from)
// must exceed the threshold.
ClaimResult ridge_minimizer(const Config& c) {
  ClaimResult res;
  res.id = "ridge_minimizer";
  res.statement = "Training linear regression with dropout converges to the ridge solution with a per-feature "
                  "penalty p/(1-p) diag(X^T X)";
  res.formula = "w* = (X^T X + p/(1-p) diag(X^T X))^-1 X^T y (not OLS, not isotropic ridge)";
  const std::uint64_t seed = c.seed + 4;
  const std::size_t n = 64, d = 8, K = 32, burn = 600, T = scaled(c, 4000, 500);
  const double eta = 0.05;
  const Problem pr = make_problem(n, d, seed);
  res.conditions = "n = 64, d = 8, full-batch dropout-SGD (step 0.05, a fresh simdrop mask of X each step), " +
                   std::to_string(K) + " chains x (" + std::to_string(burn) + " burn-in + " + std::to_string(T) +
                   " averaged steps) per p, p = 0.2, 0.4, 0.6, 0.8, seed " + std::to_string(seed);
  Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> X(pr.X.data(), n, d);
  Eigen::Map<const Eigen::VectorXd> y(pr.y.data(), n);
  const Eigen::MatrixXd G = X.transpose() * X;
  const Eigen::VectorXd Xty = X.transpose() * y;
  const Eigen::VectorXd w_ols = G.ldlt().solve(Xty);

  Plot plot{"Dropout-SGD weights against the closed-form ridge weights", "closed-form w*_j",
            "dropout-SGD average w_j", false, false, true};
  const double ps[] = {0.2, 0.4, 0.6, 0.8};
  for (std::size_t k = 0; k < std::size(ps); ++k) {
    const double lambda = eff(ps[k]) / (1 - eff(ps[k]));
    Eigen::MatrixXd A = G;
    A.diagonal() *= 1 + lambda;
    const Eigen::VectorXd w_star = A.ldlt().solve(Xty);
    // Each chain's average, chain by chain in parallel (each writes its own row: the result is the same
    // for any thread count).
    Eigen::MatrixXd avg(K, d);
    const double factor[2] = {0.0, 1 / (1 - eff(ps[k]))};  // dropped, kept
    tbb::parallel_for(std::size_t(0), K, [&](std::size_t chain) {
      // The chain's masks in one make_mask call: step t uses bits [t n d, (t + 1) n d), the very bits
      // dropout_forward would draw at offset base + t n d (one call per step costs more than the step).
      const Mask m((burn + T) * n * d, ps[k], seed, (std::uint64_t(k) << 52) + (std::uint64_t(chain) << 40));
      std::vector<double> Xd(n * d), w(d, 0.0), sum(d, 0.0), r(n);
      for (std::size_t t = 0; t < burn + T; ++t) {
        for (std::size_t e = 0; e < n * d; ++e) Xd[e] = pr.X[e] * factor[m.kept(t * n * d + e)];  // no branch
        for (std::size_t i = 0; i < n; ++i) {
          double ri = pr.y[i];
          for (std::size_t j = 0; j < d; ++j) ri -= Xd[i * d + j] * w[j];
          r[i] = ri;
        }
        for (std::size_t j = 0; j < d; ++j) {
          double g = 0;
          for (std::size_t i = 0; i < n; ++i) g -= Xd[i * d + j] * r[i];
          w[j] -= eta * g / double(n);
        }
        if (t >= burn)
          for (std::size_t j = 0; j < d; ++j) sum[j] += w[j];
      }
      for (std::size_t j = 0; j < d; ++j) avg(chain, j) = sum[j] / double(T);
    });
    const Eigen::VectorXd mean = avg.colwise().mean().transpose();
    const Eigen::MatrixXd centred = avg.rowwise() - mean.transpose();
    const Eigen::MatrixXd S = centred.transpose() * centred / double(K - 1);
    const auto S_ldlt = S.ldlt();
    // Hotelling's T^2 of the chains' averages against a candidate w.
    auto t2 = [&](const Eigen::VectorXd& w) {
      const Eigen::VectorXd dlt = mean - w;
      return double(K) * dlt.dot(S_ldlt.solve(dlt));
    };
    Eigen::MatrixXd A_iso = G;
    A_iso.diagonal().array() += lambda * G.trace() / double(d);
    const Eigen::VectorXd w_iso = A_iso.ldlt().solve(Xty);
    double diag = 0;  // sum_j (delta_j / SE_j)^2, for the notes
    Series pts{"p = " + fmt(ps[k])};
    for (std::size_t j = 0; j < d; ++j) {
      const double se_j = std::sqrt(S(j, j) / double(K));
      diag += (mean(j) - w_star(j)) * (mean(j) - w_star(j)) / (se_j * se_j);
      pts.x.push_back(w_star(j)), pts.y.push_back(mean(j)), pts.yerr.push_back(se_j);
    }
    plot.series.push_back(pts);
    // The checks carry T^2: predicted its null mean d (K - 1)/(K - d - 2), tolerance threshold - that mean,
    // stderr the null standard deviation (from the F law's variance).
    const double d1 = double(d), d2 = double(K - d), scale = d1 * double(K - 1) / d2;
    const double mean_t2 = scale * d2 / (d2 - 2);
    const double sd_t2 = scale * std::sqrt(2 * d2 * d2 * (d1 + d2 - 2) / (d1 * (d2 - 2) * (d2 - 2) * (d2 - 4)));
    const double thr = scale * f_quantile_upper(normal_upper_tail(c.sigmas), d1, d2);
    const std::string basis = "Hotelling T^2: (K-d)/(d(K-1)) T^2 ~ F(" + std::to_string(d) + ", " +
                              std::to_string(K - d) + ") quantile at the one-sided " + fmt(c.sigmas) +
                              "-sigma tail (T^2 <= " + fmt(thr) + ")";
    if (ps[k] == 0.4) res.headline = res.checks.size();
    res.checks.push_back(Check{"T^2 of w_SGD - w* at p = " + fmt(ps[k]) + " (per component, " + std::to_string(K) +
                                   " chains)",
                               mean_t2, t2(w_star), sd_t2, thr - mean_t2, Relation::at_most, Role::supports, basis});
    res.checks.push_back(Check{"control: T^2 of w_SGD - w_OLS at p = " + fmt(ps[k]) + " (||w* - w_OLS|| = " +
                                   fmt((w_star - w_ols).norm()) + ")",
                               mean_t2, t2(w_ols), sd_t2, thr - mean_t2, Relation::above, Role::control, basis});
    res.checks.push_back(Check{"control: T^2 of w_SGD - w_isotropic ridge at p = " + fmt(ps[k]) +
                                   " (||w* - w_iso|| = " + fmt((w_star - w_iso).norm()) + ")",
                               mean_t2, t2(w_iso), sd_t2, thr - mean_t2, Relation::above, Role::control, basis});
    res.notes += std::string(res.notes.empty() ? "" : "; ") + "p = " + fmt(ps[k]) + ": T^2 = " + fmt(t2(w_star)) +
                 ", diagonal sum (delta_j/SE_j)^2 = " + fmt(diag) + ", ||w_SGD - w*|| = " +
                 fmt((mean - w_star).norm());
  }
  res.plots.push_back(plot);
  return res;
}

}  // namespace simdrop::theory
