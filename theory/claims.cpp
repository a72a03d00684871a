// The theory lab's bookkeeping: checks, verdicts, running every claim, JSON and the table.
#include "claims.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>

#include <tbb/parallel_for.h>

#include <simdrop/runtime.hpp>

#include "lab.hpp"

namespace simdrop::theory {

bool Check::pass() const {
  const double diff = measured - predicted;
  if (!std::isfinite(diff) || !std::isfinite(tolerance)) return false;
  switch (relation) {
    case Relation::equal: return std::abs(diff) <= tolerance;
    case Relation::differs: return std::abs(diff) > tolerance;
    case Relation::at_most: return diff <= tolerance;
    case Relation::at_least: return diff >= -tolerance;
    case Relation::below: return diff < -tolerance;
    case Relation::above: return diff > tolerance;
  }
  return false;
}

std::string ClaimResult::verdict() const {
  bool seed_ok = true;
  for (const Check& k : checks) {
    if (k.role == Role::seed) {
      seed_ok = seed_ok && k.pass();
    } else if (!k.pass()) {
      return "fails";
    }
  }
  return seed_ok ? "holds" : "corrected";
}

const char* relation_name(Relation r) {
  switch (r) {
    case Relation::equal: return "equal";
    case Relation::differs: return "differs";
    case Relation::at_most: return "at_most";
    case Relation::at_least: return "at_least";
    case Relation::below: return "below";
    case Relation::above: return "above";
  }
  return "?";
}
const char* role_name(Role r) {
  switch (r) {
    case Role::supports: return "supports";
    case Role::seed: return "seed";
    case Role::control: return "control";
  }
  return "?";
}

namespace lab {
std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}
std::string fmt_list(const double* v, std::size_t n) {
  std::string o = "[";
  for (std::size_t i = 0; i < n; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", v[i]);
    o += (i ? ", " : "") + std::string(buf);
  }
  return o + "]";
}

// Numerical Recipes' betacf (modified Lentz) on the side where the fraction converges fast.
double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double lbeta = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b);
  const double front = std::exp(lbeta + a * std::log(x) + b * std::log1p(-x));
  if (x > (a + 1) / (a + b + 2)) return 1 - incomplete_beta(b, a, 1 - x);
  constexpr double tiny = 1e-300;
  double C = 1, D = 1 - (a + b) * x / (a + 1);
  D = 1 / (std::abs(D) < tiny ? tiny : D);
  double f = D;
  for (int m = 1; m <= 10000; ++m) {
    for (int half = 0; half < 2; ++half) {
      const double num = half == 0 ? m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
                                   : -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
      D = 1 + num * D;
      D = 1 / (std::abs(D) < tiny ? tiny : D);
      C = 1 + num / C;
      if (std::abs(C) < tiny) C = tiny;
      f *= C * D;
      if (half == 1 && std::abs(C * D - 1) < 1e-15) return front * f / a;
    }
  }
  return front * f / a;
}

double f_quantile_upper(double alpha, double d1, double d2) {
  double lo = std::log(1e-6), hi = std::log(1e12);  // P(F > e^lo) > alpha > P(F > e^hi) for any alpha used here
  for (int i = 0; i < 200 && hi - lo > 1e-12; ++i) {
    const double mid = 0.5 * (lo + hi);
    (f_upper_tail(std::exp(mid), d1, d2) > alpha ? lo : hi) = mid;
  }
  return std::exp(0.5 * (lo + hi));
}
}  // namespace lab

std::vector<ClaimResult> run_all(const Config& c) {
  using Fn = ClaimResult (*)(const Config&);
  static constexpr Fn kClaims[] = {bias_variance,  expectation,   ridge_loss,     ridge_minimizer, ensemble_identity,
                                   jensen_gap,     path_survival, weight_scaling, subnetworks};
  std::vector<ClaimResult> out(std::size(kClaims));
  // Each claim writes its own slot and draws from its own seed: the same numbers for any thread count.
  tbb::parallel_for(std::size_t(0), std::size(kClaims), [&](std::size_t i) {
    const auto t0 = std::chrono::steady_clock::now();
    out[i] = kClaims[i](c);
    out[i].seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  });
  return out;
}

namespace {
std::string jstr(const std::string& s) {
  std::string o = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      o += '\\';
      o += char(ch);
    } else if (ch < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      o += buf;
    } else {
      o += char(ch);
    }
  }
  return o + "\"";
}
std::string jnum(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
std::string jarr(const std::vector<double>& v) {
  std::string o = "[";
  for (std::size_t i = 0; i < v.size(); ++i) o += (i ? ", " : "") + jnum(v[i]);
  return o + "]";
}
const char* jbool(bool b) { return b ? "true" : "false"; }
std::string basis(const Check& k, const Config& c) {
  if (!k.basis.empty()) return k.basis;
  return k.stderr_ > 0 ? lab::fmt(c.sigmas) + " standard errors" : "rounding bound";
}
}  // namespace

std::string to_json(const std::vector<ClaimResult>& claims, const Config& c) {
  std::ostringstream o;
  o << "{\n  \"tool\": \"simdrop_theory\",\n  \"simdrop_version\": " << jstr(std::string(simdrop::version()))
    << ",\n  \"source\": \"the seed text: chapter 1 (principles and mechanisms) of a Chinese text on dropout\",\n  \"sigmas\": " << jnum(c.sigmas)
    << ",\n  \"size\": " << jnum(c.size) << ",\n  \"seed\": " << c.seed << ",\n  \"claims\": [";
  for (std::size_t i = 0; i < claims.size(); ++i) {
    const ClaimResult& r = claims[i];
    const Check& h = r.checks.at(r.headline);
    const std::string verdict = r.verdict();
    o << (i ? "," : "") << "\n    {\"id\": " << jstr(r.id) << ", \"statement\": " << jstr(r.statement)
      << ",\n     \"formula\": " << jstr(r.formula) << ",\n     \"conditions\": " << jstr(r.conditions)
      << ",\n     \"quantity\": " << jstr(h.what) << ", \"predicted\": " << jnum(h.predicted)
      << ", \"measured\": " << jnum(h.measured) << ", \"stderr\": " << jnum(h.stderr_)
      << ", \"tolerance\": " << jnum(h.tolerance) << ", \"relation\": " << jstr(relation_name(h.relation))
      << ", \"tolerance_basis\": " << jstr(basis(h, c))
      << ",\n     \"verdict\": " << jstr(verdict);
    if (verdict == "corrected" || !r.seed_formula.empty())
      o << ",\n     \"seed_formula\": " << jstr(r.seed_formula) << ",\n     \"corrected_formula\": "
        << jstr(r.corrected_formula);
    o << ",\n     \"notes\": " << jstr(r.notes) << ", \"seconds\": " << jnum(r.seconds) << ",\n     \"checks\": [";
    for (std::size_t j = 0; j < r.checks.size(); ++j) {
      const Check& k = r.checks[j];
      o << (j ? "," : "") << "\n       {\"what\": " << jstr(k.what) << ", \"role\": " << jstr(role_name(k.role))
        << ", \"relation\": " << jstr(relation_name(k.relation)) << ", \"predicted\": " << jnum(k.predicted)
        << ", \"measured\": " << jnum(k.measured) << ", \"stderr\": " << jnum(k.stderr_)
        << ", \"tolerance\": " << jnum(k.tolerance) << ", \"tolerance_basis\": " << jstr(basis(k, c))
        << ", \"pass\": " << jbool(k.pass()) << "}";
    }
    o << "],\n     \"plots\": [";
    for (std::size_t j = 0; j < r.plots.size(); ++j) {
      const Plot& p = r.plots[j];
      o << (j ? "," : "") << "\n       {\"title\": " << jstr(p.title) << ", \"xlabel\": " << jstr(p.xlabel)
        << ", \"ylabel\": " << jstr(p.ylabel) << ", \"logx\": " << jbool(p.logx) << ", \"logy\": " << jbool(p.logy)
        << ", \"diagonal\": " << jbool(p.diagonal) << ", \"series\": [";
      for (std::size_t s = 0; s < p.series.size(); ++s) {
        const Series& se = p.series[s];
        o << (s ? "," : "") << "\n         {\"label\": " << jstr(se.label) << ", \"line\": " << jbool(se.line)
          << ", \"x\": " << jarr(se.x) << ", \"y\": " << jarr(se.y) << ", \"yerr\": " << jarr(se.yerr) << "}";
      }
      o << "]}";
    }
    o << "]}";
  }
  o << "\n  ]\n}\n";
  return o.str();
}

std::string to_table(const std::vector<ClaimResult>& claims) {
  std::ostringstream o;
  char buf[512];
  std::snprintf(buf, sizeof buf, "%-18s %-10s %13s %13s %11s %11s %7s  %s\n", "claim", "verdict", "predicted",
                "measured", "stderr", "tolerance", "checks", "headline quantity");
  o << buf;
  for (const ClaimResult& r : claims) {
    const Check& h = r.checks.at(r.headline);
    std::size_t passed = 0;
    for (const Check& k : r.checks) passed += k.pass();
    const std::string checks = std::to_string(passed) + "/" + std::to_string(r.checks.size());
    std::snprintf(buf, sizeof buf, "%-18s %-10s %13.6g %13.6g %11.3g %11.3g %7s  %s\n", r.id.c_str(),
                  r.verdict().c_str(), h.predicted, h.measured, h.stderr_, h.tolerance, checks.c_str(), h.what.c_str());
    o << buf;
  }
  return o.str();
}

}  // namespace simdrop::theory
