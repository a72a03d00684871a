// Statistical properties a user relies on. Every threshold is about 6 standard deviations of the
// statistic under a correct kernel (two-sided tail ~2e-9 per check), derived beside the test; seeds are
// fixed, so the suite is deterministic and a pass is not luck. Expectations use the effective drop
// probability t / 2^32, which is what the kernels implement exactly.
#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

#include "support.hpp"

using namespace simdrop;
using namespace simdrop::test;

namespace {

constexpr double kSigmas = 6.0;

// Pearson statistic of two aligned bit strings of n bits each with keep probability q:
// z = sum_i (a_i - q)(b_i - q) / (sqrt(n) q (1 - q)). The products are uncorrelated with variance
// (q(1-q))^2 when a and b are independent, so z is approximately standard normal.
double bit_correlation_z(std::span<const std::uint64_t> a, std::size_t a_pos, std::span<const std::uint64_t> b,
                         std::size_t b_pos, std::size_t n, double q) {
  std::uint64_t both = 0, ones_a = 0, ones_b = 0;
  for (std::size_t k = 0; k < n / 64; ++k) {
    const std::uint64_t wa = bits_at(a, a_pos + 64 * k), wb = bits_at(b, b_pos + 64 * k);
    both += static_cast<std::uint64_t>(std::popcount(wa & wb));
    ones_a += static_cast<std::uint64_t>(std::popcount(wa));
    ones_b += static_cast<std::uint64_t>(std::popcount(wb));
  }
  const double m = static_cast<double>(n / 64 * 64);
  const double sum = static_cast<double>(both) - q * static_cast<double>(ones_a + ones_b) + m * q * q;
  return sum / (std::sqrt(m) * q * (1 - q));
}

}  // namespace

// Every test runs for each generator a Stream offers.
#define FOR_EACH_GENERATOR                                                                         \
  const Generator generator =                                                                \
      GENERATE(Generator::philox4x32_10, Generator::philox4x32_7, Generator::ars5);          \
  INFO("generator " << static_cast<int>(generator))

TEST_CASE("per element, E[y] = x and Var[y] = p/(1-p) x^2 across seeds", "[statistics]") {
  FOR_EACH_GENERATOR;
  const std::size_t n = 256, seeds = 20000;
  const auto x = test_values<float>(n, 11);
  for (double p : {0.1, 0.5, 0.8}) {
    const double pe = effective_drop_probability(p), q = 1 - pe;
    const float scale = static_cast<float>(1.0 / (1.0 - p));
    std::vector<double> sum(n, 0), sum_sq(n, 0);
    std::vector<float> y(n);
    for (std::uint64_t seed = 0; seed < seeds; ++seed) {
      dropout_forward(std::span<const float>(x), std::span<float>(y), p, {test_seed(seed), 0, generator});
      for (std::size_t i = 0; i < n; ++i) {
        // y is 0 or the kept value exactly: the moments below are then those of c * Bernoulli(q).
        REQUIRE((y[i] == 0.0f || y[i] == x[i] * scale));
        sum[i] += y[i];
        sum_sq[i] += double(y[i]) * y[i];
      }
    }
    const double S = static_cast<double>(seeds);
    for (std::size_t i = 0; i < n; ++i) {
      const double c = double(x[i] * scale);  // the kept value
      // Inverted scaling preserves the expectation up to float rounding of scale and of x * scale.
      REQUIRE(std::abs(c * q - x[i]) <= 1e-6 * std::abs(x[i]));
      INFO("p " << p << " element " << i << " x " << x[i]);
      // Mean: sd = |c| sqrt(qp / S).
      const double mean = sum[i] / S;
      CHECK(std::abs(mean - c * q) <= kSigmas * std::abs(c) * std::sqrt(q * pe / S));
      // Variance: with K kept of S, the unbiased sample variance is c^2 S/(S-1) k(1-k), k = K/S = q + d.
      // Its error is c^2 [qp/(S-1) + S/(S-1) (d (p - q) - d^2)], and |d| <= 6 sqrt(qp/S) at 6 sigma.
      const double var = (sum_sq[i] - S * mean * mean) / (S - 1);
      const double d = kSigmas * std::sqrt(q * pe / S);
      const double bound = c * c * (q * pe / (S - 1) + S / (S - 1) * (d * std::abs(pe - q) + d * d));
      CHECK(std::abs(var - c * c * q * pe) <= bound);
      // Var[y] = p/(1-p) x^2 up to the same rounding as the mean.
      REQUIRE(std::abs(c * c * q * pe - pe / q * double(x[i]) * x[i]) <= 1e-5 * double(x[i]) * x[i]);
    }
  }
}

TEST_CASE("the keep fraction matches 1 - p for p from 0.01 to 0.99", "[statistics]") {
  FOR_EACH_GENERATOR;
  const std::size_t n = std::size_t{1} << 22;
  for (double p : {0.01, 0.05, 0.1, 0.2, 0.25, 0.3, 1.0 / 3, 0.5, 0.6, 0.7, 0.75, 0.9, 0.95, 0.99}) {
    for (Isa isa : supported_isas()) {
      if (isa == Isa::scalar) continue;  // the reference is slow at this size; it is the oracle elsewhere
      IsaScope scope(isa);
      const double pe = effective_drop_probability(p), q = 1 - pe;
      const double kept = static_cast<double>(count_kept(mask_of(n, p, {test_seed(0xC0FFEE), 12345, generator})));
      // Binomial(n, q): sd = sqrt(n q p).
      INFO("isa " << isa_name(isa) << " p " << p << " kept " << kept);
      CHECK(std::abs(kept - n * q) <= kSigmas * std::sqrt(n * q * pe));
    }
  }
}

TEST_CASE("the keep count varies across seeds and across blocks as a binomial does", "[statistics]") {
  // A kernel that reuses random numbers across blocks or calls passes the mean test but not this one.
  // With S samples of Binomial(m, q), the sample variance V has sd ~ m q p sqrt(2 / (S - 1)) (the
  // binomial's excess kurtosis (1 - 6qp)/(mqp) adds under 0.1% here), so |V / mqp - 1| <= 6 sqrt(2/(S-1)).
  FOR_EACH_GENERATOR;
  const std::size_t m = 4096, samples = 2000;
  const double bound = kSigmas * std::sqrt(2.0 / (samples - 1));
  for (double p : {0.3, 0.5}) {
    const double pe = effective_drop_probability(p), q = 1 - pe, binomial_var = m * q * pe;
    auto relative_variance = [&](const std::vector<double>& counts) {
      const double mean = std::accumulate(counts.begin(), counts.end(), 0.0) / counts.size();
      double ss = 0;
      for (double c : counts) ss += (c - mean) * (c - mean);
      return ss / (counts.size() - 1) / binomial_var;
    };
    std::vector<double> across_seeds, across_blocks;
    for (std::uint64_t seed = 0; seed < samples; ++seed)
      across_seeds.push_back(static_cast<double>(count_kept(mask_of(m, p, {test_seed(seed), 0, generator}))));
    const auto big = mask_of(m * samples, p, {test_seed(77), 0, generator});
    for (std::size_t b = 0; b < samples; ++b)
      across_blocks.push_back(static_cast<double>(
          count_kept(std::span<const std::uint64_t>(big).subspan(b * m / 64, m / 64))));
    INFO("p " << p);
    CHECK(std::abs(relative_variance(across_seeds) - 1) <= bound);
    CHECK(std::abs(relative_variance(across_blocks) - 1) <= bound);
  }
}

TEST_CASE("no position bias inside a SIMD word, a 128-lane group or a batch of groups", "[statistics]") {
  // Keep counts by position modulo 2048 (a multiple of every word, group and batch width): chi-square
  // with 2048 degrees of freedom (q known) has mean 2048 and sd 64, so the bound is 2048 + 6 * 64.
  FOR_EACH_GENERATOR;
  const std::size_t classes = 2048, n = std::size_t{1} << 24;
  for (double p : {0.3, 0.9}) {
    for (std::uint64_t offset : {0ull, 37ull}) {
      const double pe = effective_drop_probability(p), q = 1 - pe;
      const auto mask = mask_of(n, p, {test_seed(2718), offset, generator});
      std::vector<double> counts(classes, 0);
      for (std::size_t i = 0; i < n; ++i) counts[i % classes] += bit(mask, i);
      const double trials = static_cast<double>(n / classes);
      double chi2 = 0;
      for (double c : counts) chi2 += (c - trials * q) * (c - trials * q) / (trials * q * pe);
      INFO("p " << p << " offset " << offset << " chi2 " << chi2);
      CHECK(chi2 <= classes + kSigmas * std::sqrt(2.0 * classes));
      CHECK(chi2 >= classes - kSigmas * std::sqrt(2.0 * classes));  // too even is as wrong as too uneven
    }
  }
}

TEST_CASE("no lag correlation at lags 1 to 4096", "[statistics]") {
  // For each lag L, z_L of bits i and i + L over n - 4096 positions is ~N(0, 1): |z_L| <= 6.
  FOR_EACH_GENERATOR;
  const std::size_t n = std::size_t{1} << 21, span = n - 4096;
  for (double p : {0.3, 0.5, 0.9}) {
    const double q = 1 - effective_drop_probability(p);
    const auto mask = mask_of(n, p, {test_seed(31337), 0, generator});
    double worst = 0;
    std::size_t worst_lag = 0;
    for (std::size_t lag = 1; lag <= 4096; ++lag) {
      const double z = std::abs(bit_correlation_z(mask, 0, mask, lag, span, q));
      if (z > worst) worst = z, worst_lag = lag;
    }
    INFO("p " << p << " worst |z| " << worst << " at lag " << worst_lag);
    CHECK(worst <= kSigmas);
  }
}

TEST_CASE("neighbouring seeds and distant offsets give independent masks", "[statistics]") {
  FOR_EACH_GENERATOR;
  const std::size_t n = std::size_t{1} << 22;
  const double p = 0.3, q = 1 - effective_drop_probability(p);
  const std::uint64_t s = test_seed(0x1234);
  const Generator g = generator, other = generator == Generator::philox4x32_10 ? Generator::ars5
                                                                                : Generator::philox4x32_10;
  const std::pair<Stream, Stream> pairs[] = {
      {{s, 0, g}, {s + 1, 0, g}},             // neighbouring seeds
      {{s, 0, g}, {s ^ (1ull << 32), 0, g}},  // seeds differing in the high key word only
      {{s, 0, g}, {s ^ (1ull << 63), 0, g}},  // and in its top bit
      {{s, 0, g}, {s, 1ull << 39, g}},        // groups 2^32 apart: counter words equal but the high one
      {{s, 0, g}, {s, 128ull << 20, g}},      // far in the same low counter word
      {{test_seed(0), 0, g}, {test_seed(1), 0, g}},
      {{s, 0, g}, {s, 0, other}}};            // the same stream under the other generator
  for (const auto& [a, b] : pairs) {
    const auto ma = mask_of(n, p, a), mb = mask_of(n, p, b);
    INFO("seeds " << a.seed << ", " << b.seed << " offsets " << a.offset << ", " << b.offset);
    // Independent bit strings: z ~ N(0, 1).
    CHECK(std::abs(bit_correlation_z(ma, 0, mb, 0, n, q)) <= kSigmas);
  }
}

TEST_CASE("extreme p drop the expected number out of 2^26", "[statistics]") {
  // t = round(1e-6 * 2^32) = 4295, so lambda = 2^26 * 4295 / 2^32 = 67.1 drops (or keeps); the count is
  // Binomial ~ Poisson(lambda) with sd sqrt(lambda) = 8.2, so it must lie within lambda +- 6 sqrt(lambda).
  FOR_EACH_GENERATOR;
  const std::size_t n = std::size_t{1} << 26;
  REQUIRE(drop_threshold(1e-6) == 4295);
  const double lambda = n * effective_drop_probability(1e-6);
  const double dropped = static_cast<double>(n - count_kept(mask_of(n, 1e-6, {test_seed(5), 0, generator})));
  const double kept = static_cast<double>(count_kept(mask_of(n, 1 - 1e-6, {test_seed(5), 0, generator})));
  INFO("lambda " << lambda << " dropped " << dropped << " kept " << kept);
  CHECK(std::abs(dropped - lambda) <= kSigmas * std::sqrt(lambda));
  CHECK(std::abs(kept - lambda) <= kSigmas * std::sqrt(lambda));
}
