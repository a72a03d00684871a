// Claims about the structure dropout samples: paths through L layers (7) and the 2^N sub-networks (9).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include <simdrop/dropout.hpp>
#include <simdrop/family.hpp>

#include "claims.hpp"
#include "lab.hpp"

namespace simdrop::theory {
using namespace lab;

// ---- 7. path survival ---------------------------------------------------------------------------------------
// A path uses one unit in each of L hidden layers; each layer's mask is drawn independently, each unit kept
// with probability 1 - p, so the path survives (all its units kept) with probability (1 - p)^L. The count of
// surviving paths among R independent networks is Binomial(R, q), q = (1-p)^L: SE = sqrt(q (1-q) / R).
//  * element dropout: layer l's mask is make_mask(R H, p, {seed, l 2^40}); replicate r's unit j_l is bit r H + j_l;
//  * channel dropout of a whole unit (a channel, Dropout2d): layer l runs channel_dropout_forward on a
//    [R, C, S] tensor of ones; the path's unit c_l is kept iff its plane's output is non-zero. Every plane is
//    also checked to be all kept or all dropped (the channel mask covers the whole unit).
ClaimResult path_survival(const Config& c) {
  ClaimResult res;
  res.id = "path_survival";
  res.statement = "A path through L hidden layers survives dropout with probability (1-p)^L, falling exponentially";
  res.formula = "P(path kept) = (1-p)^L";
  const std::uint64_t seed = c.seed + 7;
  const std::size_t R = scaled(c, 1 << 17, 1 << 13), H = 16, C = 8, S = 4, Lmax = 8;
  res.conditions = std::to_string(R) + " networks, L = 1 .. 8, element dropout (16 units per layer) and channel "
                   "dropout (8 channels of 4 elements, channel_dropout_forward fp32), p = 0.3 and 0.5, seed " +
                   std::to_string(seed);
  Plot plot{"Path survival against depth", "hidden layers L", "P(path survives)", false, true};
  std::vector<float> ones(R * C * S, 1.0f), out(R * C * S);
  std::size_t torn_planes = 0;
  const double ps[] = {0.3, 0.5};
  for (std::size_t k = 0; k < std::size(ps); ++k) {
    const double p = eff(ps[k]);
    std::vector<char> alive_e(R, 1), alive_c(R, 1);
    Series se{"element, p = " + fmt(ps[k])}, sc{"channel, p = " + fmt(ps[k])},
        f{"(1-p)^L, p = " + fmt(ps[k]), true};
    for (std::size_t L = 1; L <= Lmax; ++L) {
      Mask m(R * H, ps[k], seed, (std::uint64_t(k) << 48) + (std::uint64_t(L) << 40));
      simdrop::channel_dropout_forward(std::span<const float>(ones), std::span<float>(out), R, C, S,
                                       simdrop::Layout::nchw, ps[k],
                                       simdrop::Stream{seed + 1000, (std::uint64_t(k) << 48) + (std::uint64_t(L) << 40)});
      const std::size_t unit = L % H, chan = L % C;
      std::size_t ne = 0, nc = 0;
      for (std::size_t r = 0; r < R; ++r) {
        alive_e[r] &= m.kept(r * H + unit);
        const float* plane = &out[(r * C + chan) * S];
        alive_c[r] &= plane[0] != 0.0f;
        ne += alive_e[r], nc += alive_c[r];
      }
      for (std::size_t pl = 0; pl < R * C; ++pl)
        torn_planes += !std::all_of(&out[pl * S], &out[pl * S] + S, [&](float v) { return v == out[pl * S]; });
      const double q = std::pow(1 - p, double(L)), se_q = std::sqrt(q * (1 - q) / double(R));
      const double qe = double(ne) / double(R), qc = double(nc) / double(R);
      if (ps[k] == 0.5 && L == Lmax) res.headline = res.checks.size();
      res.checks.push_back(stat_check("element, p = " + fmt(ps[k]) + ", L = " + std::to_string(L) + ": (1-p)^L", q, qe,
                                      se_q, c));
      res.checks.push_back(stat_check("channel, p = " + fmt(ps[k]) + ", L = " + std::to_string(L) + ": (1-p)^L", q, qc,
                                      se_q, c));
      se.x.push_back(double(L)), se.y.push_back(qe), se.yerr.push_back(se_q);
      sc.x.push_back(double(L)), sc.y.push_back(qc), sc.yerr.push_back(se_q);
      f.x.push_back(double(L)), f.y.push_back(q);
    }
    plot.series.push_back(se), plot.series.push_back(sc), plot.series.push_back(f);
  }
  res.checks.push_back(exact_check("channel planes partly dropped (a unit is dropped whole)", 0.0, double(torn_planes),
                                   0.0));
  res.plots.push_back(plot);
  return res;
}

// ---- 9. the 2^N sub-networks -------------------------------------------------------------------------------
// N = 10 units: the 1024 keep patterns of a 10-bit word of simdrop's mask (bits 10 w .. 10 w + 9) should appear
// with probability (1-p)^k p^(10-k), k = the pattern's kept units. Pearson's chi-square over M words, cells
// with expected count below 5 pooled into one (then nu = cells - 1, nothing fitted). Under the claim X^2 has
// mean nu and sd sqrt(2 nu); the threshold is the chi-square quantile at a one-sided normal tail of k sigma,
// by Wilson-Hilferty: nu (1 - 2/(9 nu) + k sqrt(2/(9 nu)))^3. Control: the same words against p + 0.05 must
// exceed it (the test has power).
namespace {
struct ChiSquare {
  double stat = 0;
  std::size_t nu = 0;
};
ChiSquare chi_square(const std::vector<std::size_t>& counts, std::size_t M, double p) {
  std::vector<std::pair<double, std::size_t>> cells;  // (expected, observed)
  for (std::uint32_t pat = 0; pat < counts.size(); ++pat) {
    const int kept = std::popcount(pat);
    cells.emplace_back(double(M) * std::pow(1 - p, kept) * std::pow(p, 10 - kept), counts[pat]);
  }
  std::sort(cells.begin(), cells.end());
  // Pool the smallest cells while the pool's expectation or the next cell's is below 5.
  double pe = 0, po = 0;
  std::size_t first = 0;
  if (cells.front().first < 5)
    while (first < cells.size() && (pe < 5 || cells[first].first < 5)) {
      pe += cells[first].first;
      po += double(cells[first].second);
      ++first;
    }
  ChiSquare x;
  std::size_t ncells = 0;
  if (first > 0) x.stat += (po - pe) * (po - pe) / pe, ++ncells;
  for (std::size_t i = first; i < cells.size(); ++i, ++ncells)
    x.stat += (double(cells[i].second) - cells[i].first) * (double(cells[i].second) - cells[i].first) / cells[i].first;
  x.nu = ncells - 1;
  return x;
}
double wilson_hilferty(double nu, double k) {
  const double a = 2 / (9 * nu);
  return nu * std::pow(1 - a + k * std::sqrt(a), 3);
}
}  // namespace

ClaimResult subnetworks(const Config& c) {
  ClaimResult res;
  res.id = "subnetworks";
  res.statement = "N droppable units give 2^N sub-networks; dropout samples each keep pattern with probability "
                  "(1-p)^k p^(N-k)";
  res.formula = "P(pattern with k of N kept) = (1-p)^k p^(N-k), chi-square over the 1024 patterns of 10 bits";
  const std::uint64_t seed = c.seed + 9;
  const std::size_t M = scaled(c, 1 << 22, 1 << 16);
  res.conditions = std::to_string(M) + " 10-bit words of make_mask per p, p = 0.3 and 0.5; threshold at " +
                   fmt(c.sigmas) + " sigma (Wilson-Hilferty), seed " + std::to_string(seed);
  Plot plot{"Keep-pattern frequencies by number of kept units (N = 10)", "kept units k",
            "frequency of one pattern with k kept", false, true};
  const double ps[] = {0.3, 0.5};
  for (std::size_t k = 0; k < std::size(ps); ++k) {
    const double p = eff(ps[k]);
    Mask m(M * 10, ps[k], seed, std::uint64_t(k) << 40);
    std::vector<std::size_t> counts(1024, 0);
    for (std::size_t w = 0; w < M; ++w) ++counts[m.bits(w * 10, 10)];
    const ChiSquare x = chi_square(counts, M, p);
    const double nu = double(x.nu), thr = wilson_hilferty(nu, c.sigmas);
    if (ps[k] == 0.3) res.headline = res.checks.size();
    const std::string basis = "chi-square quantile at a " + fmt(c.sigmas) + "-sigma tail (Wilson-Hilferty)";
    res.checks.push_back(Check{"chi-square, p = " + fmt(ps[k]) + ", " + std::to_string(x.nu) + " dof", nu, x.stat,
                               std::sqrt(2 * nu), thr - nu, Relation::at_most, Role::supports, basis});
    const ChiSquare wrong = chi_square(counts, M, p + 0.05);
    const double thr_w = wilson_hilferty(double(wrong.nu), c.sigmas);
    res.checks.push_back(Check{"control: the same words against p = " + fmt(ps[k] + 0.05), double(wrong.nu),
                               wrong.stat, std::sqrt(2 * double(wrong.nu)), thr_w - double(wrong.nu),
                               Relation::above, Role::control, basis});
    // Mean frequency of one pattern with k kept, against (1-p)^k p^(10-k).
    Series meas{"measured, p = " + fmt(ps[k])}, form{"(1-p)^k p^(10-k), p = " + fmt(ps[k]), true};
    for (int kept = 0; kept <= 10; ++kept) {
      double total = 0, n_pat = 0;
      for (std::uint32_t pat = 0; pat < 1024; ++pat)
        if (std::popcount(pat) == kept) total += double(counts[pat]), ++n_pat;
      const double q = std::pow(1 - p, kept) * std::pow(p, 10 - kept);
      meas.x.push_back(kept), meas.y.push_back(total / n_pat / double(M));
      meas.yerr.push_back(std::sqrt(q * (1 - q) / double(M) / n_pat));
      form.x.push_back(kept), form.y.push_back(q);
    }
    plot.series.push_back(meas), plot.series.push_back(form);
  }
  res.plots.push_back(plot);
  return res;
}

}  // namespace simdrop::theory
