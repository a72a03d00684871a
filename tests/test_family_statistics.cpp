// Statistical properties of the dropout family. As in test_statistics.cpp, every threshold is about 6
// standard deviations of its statistic under a correct kernel (two-sided tail ~2e-9), derived beside
// the check, with fixed seeds: deterministic, and a broken kernel cannot pass by luck. Expectations use
// the effective drop probability t / 2^32.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "support.hpp"

using namespace simdrop;
using namespace simdrop::test;

namespace {

constexpr double kSigmas = 6.0;

#define FOR_EACH_GENERATOR                                                                \
  const Generator generator =                                                             \
      GENERATE(Generator::philox4x32_10, Generator::philox4x32_7, Generator::ars5);       \
  INFO("generator " << static_cast<int>(generator))

// Per element across seeds: y is 0 or c = x * scale, so its mean over S seeds has sd |c| sqrt(q p / S)
// around c q (= x up to the rounding of scale).
void check_mean_across_seeds(const std::vector<double>& sum, const std::vector<float>& x, float scale, double p,
                             double seeds) {
  const double q = 1 - p;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double c = double(x[i] * scale);
    INFO("element " << i);
    CHECK(std::abs(sum[i] / seeds - c * q) <= kSigmas * std::abs(c) * std::sqrt(q * p / seeds));
  }
}

std::vector<double> standard_normals(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal;
  std::vector<double> v(n);
  for (auto& e : v) e = normal(gen);
  return v;
}

}  // namespace

TEST_CASE("channel dropout: E[y] = x per element, and each plane is kept or dropped whole", "[family][statistics]") {
  FOR_EACH_GENERATOR;
  const std::size_t batch = 2, channels = 3, spatial = 37, n = batch * channels * spatial, seeds = 20000;
  const auto x = test_values<float>(n, 21);
  for (Layout layout : {Layout::nchw, Layout::nhwc})
    for (double p : {0.2, 0.5}) {
      const double pe = effective_drop_probability(p);
      const float scale = static_cast<float>(1 / (1 - p));
      std::vector<double> sum(n, 0);
      std::vector<float> y(n);
      std::size_t kept_planes = 0;
      for (std::uint64_t seed = 0; seed < seeds; ++seed) {
        channel_dropout_forward(std::span<const float>(x), std::span<float>(y), batch, channels, spatial, layout, p,
                                {test_seed(seed), 0, generator});
        for (std::size_t b = 0; b < batch; ++b)
          for (std::size_t c = 0; c < channels; ++c) {
            auto at = [&](std::size_t h) {
              return layout == Layout::nchw ? (b * channels + c) * spatial + h : (b * spatial + h) * channels + c;
            };
            const bool kept = y[at(0)] != 0.0f;
            kept_planes += kept;
            bool whole = true;
            for (std::size_t h = 0; h < spatial; ++h) whole = whole && y[at(h)] == (kept ? x[at(h)] * scale : 0.0f);
            REQUIRE(whole);
          }
        for (std::size_t i = 0; i < n; ++i) sum[i] += y[i];
      }
      check_mean_across_seeds(sum, x, scale, pe, seeds);
      // Kept planes ~ Binomial(P, q), P = seeds * batch * channels: sd sqrt(P p q).
      const double planes = double(seeds * batch * channels), q = 1 - pe;
      CHECK(std::abs(double(kept_planes) - planes * q) <= kSigmas * std::sqrt(planes * pe * q));
    }
}

TEST_CASE("time-shared dropout: E[y] = x per element, and each column is kept or dropped at every step",
          "[family][statistics]") {
  FOR_EACH_GENERATOR;
  const std::size_t steps = 9, row = 70, n = steps * row, seeds = 20000;
  const auto x = test_values<float>(n, 22);
  const double p = 0.3, pe = effective_drop_probability(p);
  const float scale = static_cast<float>(1 / (1 - p));
  std::vector<double> sum(n, 0);
  std::vector<float> y(n);
  for (std::uint64_t seed = 0; seed < seeds; ++seed) {
    shared_dropout_forward(std::span<const float>(x), std::span<float>(y), steps, row, p, {test_seed(seed), 0, generator});
    for (std::size_t j = 0; j < row; ++j) {
      const bool kept = y[j] != 0.0f;
      bool whole = true;
      for (std::size_t t = 0; t < steps; ++t) whole = whole && y[t * row + j] == (kept ? x[t * row + j] * scale : 0.0f);
      REQUIRE(whole);
    }
    for (std::size_t i = 0; i < n; ++i) sum[i] += y[i];
  }
  check_mean_across_seeds(sum, x, scale, pe, seeds);
}

TEST_CASE("alpha dropout keeps mean 0 and variance 1 of standard-normal input", "[family][statistics]") {
  FOR_EACH_GENERATOR;
  const std::size_t n = std::size_t{1} << 20;
  const auto xd = standard_normals(n, 31);
  const std::vector<float> x(xd.begin(), xd.end());
  for (double p : {0.05, 0.1, 0.3, 0.5, 0.9}) {
    INFO("p " << p);
    std::vector<float> y(n);
    std::vector<double> yd(n);
    alpha_dropout_forward(std::span<const float>(x), std::span<float>(y), p, {test_seed(7), 0, generator});
    alpha_dropout_forward(std::span<const double>(xd), std::span<double>(yd), p, {test_seed(7), 0, generator});
    for (const auto* out : {static_cast<const void*>(&y), static_cast<const void*>(&yd)}) {
      double m1 = 0, m2 = 0, m4 = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const double v = out == &y ? double(y[i]) : yd[i];
        m1 += v, m2 += v * v, m4 += v * v * v * v;
      }
      m1 /= n, m2 /= n, m4 /= n;
      // The y_i are independent with mean 0 and variance 1: the sample mean has sd 1 / sqrt(n), and the
      // mean of y^2 (expectation 1) has sd sqrt((E[y^4] - 1) / n), E[y^4] estimated by the sample's.
      CHECK(std::abs(m1) <= kSigmas / std::sqrt(double(n)));
      CHECK(std::abs(m2 - 1) <= kSigmas * std::sqrt((m4 - 1) / n));
    }
  }
}

TEST_CASE("gaussian dropout: E[y] = x, Var[y] = p/(1-p) x^2, and the noise is standard normal",
          "[family][statistics]") {
  FOR_EACH_GENERATOR;
  const std::size_t n = std::size_t{1} << 20;
  const double dn = double(n);
  for (double p : {0.1, 0.5, 0.8}) {
    INFO("p " << p);
    const double sigma2 = p / (1 - p), sigma = std::sqrt(sigma2);
    // Noise alone: y = e for x = 1 (float(e) exactly), standardised as z = (e - 1) / sigma.
    std::vector<double> e(n);
    {
      const std::vector<double> ones(n, 1.0);
      gaussian_dropout_forward(std::span<const double>(ones), std::span<double>(e), p, {test_seed(0xA1FA), 3, generator});
    }
    std::vector<double> z(n);
    double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
    for (std::size_t i = 0; i < n; ++i) {
      z[i] = (e[i] - 1) / sigma;
      m1 += z[i], m2 += z[i] * z[i], m3 += z[i] * z[i] * z[i], m4 += z[i] * z[i] * z[i] * z[i];
    }
    m1 /= dn, m2 /= dn, m3 /= dn, m4 /= dn;
    // Moments of n independent standard normals: the mean has sd 1/sqrt(n); the mean square sd sqrt(2/n);
    // the third moment sd sqrt(15/n); the fourth (expectation 3) sd sqrt(96/n).
    CHECK(std::abs(m1) <= kSigmas / std::sqrt(dn));
    CHECK(std::abs(m2 - 1) <= kSigmas * std::sqrt(2 / dn));
    CHECK(std::abs(m3) <= kSigmas * std::sqrt(15 / dn));
    CHECK(std::abs(m4 - 3) <= kSigmas * std::sqrt(96 / dn));
    // Normality: 64 bins of equal probability under N(0, 1); the chi-square statistic has 63 degrees of
    // freedom, and its 1 - 1e-9 quantile is ~156 (Wilson-Hilferty: 63 (1 - 2/567 + 6 sqrt(2/567))^3).
    std::vector<double> bins(64, 0);
    for (double v : z) bins[std::min<std::size_t>(63, static_cast<std::size_t>(64 * 0.5 * std::erfc(-v / std::sqrt(2.0))))]++;
    double chi2 = 0;
    for (double b : bins) chi2 += (b - dn / 64) * (b - dn / 64) / (dn / 64);
    INFO("chi-square " << chi2);
    CHECK(chi2 <= 156);
    // The tails: P(|z| > 4) = 6.334e-5; the count is binomial with sd sqrt(n P (1 - P)).
    const double tail_p = std::erfc(4 / std::sqrt(2.0));
    double tail = 0;
    for (double v : z) tail += std::abs(v) > 4;
    CHECK(std::abs(tail - dn * tail_p) <= kSigmas * std::sqrt(dn * tail_p * (1 - tail_p)));
    // Independence of neighbours (the cosine/sine pair of one Box-Muller draw at lag 1, neighbouring
    // blocks further out): sum z_i z_{i+k} / sqrt(n - k) is ~ N(0, 1) for independent normals.
    for (std::size_t lag : {1, 2, 3, 4, 5, 8, 64}) {
      double c = 0;
      for (std::size_t i = 0; i + lag < n; ++i) c += z[i] * z[i + lag];
      INFO("lag " << lag);
      CHECK(std::abs(c / std::sqrt(dn - lag)) <= kSigmas);
    }
    // y = x * e for varied x: sum(y - x) has sd sigma sqrt(sum x^2); sum (y - x)^2 has expectation
    // sigma^2 sum x^2 and sd sigma^2 sqrt(2 sum x^4).
    const auto x = test_values<float>(n, 23);
    std::vector<float> y(n);
    gaussian_dropout_forward(std::span<const float>(x), std::span<float>(y), p, {test_seed(0xB0B), 0, generator});
    double d1 = 0, d2 = 0, x2 = 0, x4 = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double d = double(y[i]) - x[i], xx = double(x[i]) * x[i];
      d1 += d, d2 += d * d, x2 += xx, x4 += xx * xx;
    }
    CHECK(std::abs(d1) <= kSigmas * sigma * std::sqrt(x2));
    CHECK(std::abs(d2 - sigma2 * x2) <= kSigmas * sigma2 * std::sqrt(2 * x4));
  }
}

TEST_CASE("bias-dropout-residual: E[y] = residual + x + bias, and E[dbias] = column sums of dy", "[family][statistics]") {
  FOR_EACH_GENERATOR;
  const std::size_t rows = 512, cols = 768, n = rows * cols;
  const auto x = test_values<float>(n, 24), residual = test_values<float>(n, 25), bias = test_values<float>(cols, 26);
  for (double p : {0.1, 0.5}) {
    INFO("p " << p);
    const double pe = effective_drop_probability(p), q = 1 - pe;
    std::vector<float> y(n);
    bias_dropout_add_forward(std::span<const float>(x), std::span<const float>(bias), std::span<const float>(residual),
                             std::span<float>(y), p, {test_seed(5), 0, generator});
    // y - residual is c = (x + bias) scale with probability q, else 0: sum of (y - residual) - (x + bias)
    // has mean ~0 and sd sqrt(sum c^2 q p).
    double dev = 0, var = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double c = double((x[i] + bias[i % cols]) * static_cast<float>(1 / (1 - p)));
      dev += (double(y[i]) - residual[i]) - double(x[i] + bias[i % cols]);
      var += c * c * q * pe;
    }
    CHECK(std::abs(dev) <= kSigmas * std::sqrt(var));
    // Backward: the sum of dbias is the sum of dx, whose expectation is the sum of dy, sd sqrt(sum (dy scale)^2 q p).
    std::vector<float> dx(n), dbias(cols);
    bias_dropout_add_backward(std::span<const float>(x), std::span<float>(dx), std::span<float>(dbias), p,
                              {test_seed(5), 0, generator});
    double total = 0, expected = 0, var_b = 0;
    for (float v : dbias) total += v;
    for (std::size_t i = 0; i < n; ++i) {
      const double c = double(x[i] * static_cast<float>(1 / (1 - p)));
      expected += x[i], var_b += c * c * q * pe;
    }
    CHECK(std::abs(total - expected) <= kSigmas * std::sqrt(var_b) + 1e-3);  // + float rounding of dbias
  }
}
