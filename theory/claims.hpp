// The theory lab: the statements of the seed text (chapter 1, "principles and mechanisms", of a Chinese text on
// dropout from which the project started; each claim is restated in the project's own words) about why
// dropout works, each turned into an experiment that draws its randomness from simdrop's own masks.
//
// Every claim returns a ClaimResult: a headline quantity (predicted, measured, standard error, tolerance)
// and the checks behind it. A check compares one measured number with one predicted number under a stated
// tolerance: k standard errors of the estimate (k = Config::sigmas) or a floating-point rounding bound for
// identities. The verdict is computed from the checks, never written in:
//   * "fails"     some check of role Supports or Control fails;
//   * "corrected" all of them pass but a check of role Seed (the text's statement as written) fails;
//   * "holds"     everything passes.
// Seeds are fixed, so a run is reproducible bit for bit (simdrop's masks do not depend on threads or ISA).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace simdrop::theory {

struct Config {
  // Multiplies every sample count (1 = the program's sizes; the tests run about 1/16 of that).
  double size = 1.0;
  // Half-width of every statistical tolerance in standard errors. 6: a two-sided normal tail of 2e-9 per
  // check, so over the ~100 checks of a run a false alarm has probability below 1e-6 (and, seeds being fixed,
  // a run that passes once passes always).
  double sigmas = 6.0;
  // Base of every seed (claim c uses seed + c); changing it gives a fresh, independent run.
  std::uint64_t seed = 0x5eed2026;
};

// How a check's measured value must relate to its predicted value.
enum class Relation {
  equal,     // |measured - predicted| <= tolerance
  differs,   // |measured - predicted| >  tolerance (a wrong formula, or a non-identity, is rejected)
  at_most,   // measured <= predicted + tolerance
  at_least,  // measured >= predicted - tolerance
  below,     // measured <  predicted - tolerance (significantly below)
  above,     // measured >  predicted + tolerance (significantly above)
};
// What a check is evidence for.
enum class Role {
  supports,  // the claim as it holds (the text's form, or the corrected form)
  seed,      // the text's statement exactly as written
  control,   // a negative control: shows the experiment can tell a wrong answer from a right one
};

struct Check {
  std::string what;
  double predicted = 0, measured = 0, stderr_ = 0, tolerance = 0;
  Relation relation = Relation::equal;
  Role role = Role::supports;
  std::string basis;  // where the tolerance comes from, when not k standard errors or a rounding bound
  bool pass() const;
};

// Numbers for a picture: one curve or set of points.
struct Series {
  std::string label;
  std::vector<double> x, y, yerr;  // yerr empty or one per point
  bool line = false;               // drawn as a line (a formula) rather than as measured points
  Series() = default;
  explicit Series(std::string l, bool as_line = false) : label(std::move(l)), line(as_line) {}
};
struct Plot {
  std::string title, xlabel, ylabel;
  bool logx = false, logy = false;
  bool diagonal = false;  // draw y = x
  std::vector<Series> series;
  Plot() = default;
  Plot(std::string t, std::string xl, std::string yl, bool lx = false, bool ly = false, bool diag = false)
      : title(std::move(t)), xlabel(std::move(xl)), ylabel(std::move(yl)), logx(lx), logy(ly), diagonal(diag) {}
};

struct ClaimResult {
  std::string id;          // e.g. "bias_variance"
  std::string statement;   // the claim, in the text's sense
  std::string formula;     // the formula checked (the corrected one where the text's is wrong)
  std::string conditions;  // sizes, p, seeds
  std::string seed_formula, corrected_formula;  // filled where the text is wrong as written
  std::string notes;
  std::size_t headline = 0;  // index of the check shown in the table
  std::vector<Check> checks;
  std::vector<Plot> plots;
  double seconds = 0;
  std::string verdict() const;  // "holds", "fails" or "corrected", from the checks
};

// The nine claims, in the order.
ClaimResult bias_variance(const Config& c);
ClaimResult expectation(const Config& c);
ClaimResult ridge_loss(const Config& c);
ClaimResult ridge_minimizer(const Config& c);
ClaimResult ensemble_identity(const Config& c);
ClaimResult jensen_gap(const Config& c);
ClaimResult path_survival(const Config& c);
ClaimResult weight_scaling(const Config& c);
ClaimResult subnetworks(const Config& c);

// Claim 2's checks at one p, given the inputs x and the outputs y of an inverted dropout at p (exposed so that
// the tests can hand it outputs of wrong masks: all kept, all dropped, another p).
std::vector<Check> expectation_checks(std::span<const double> x, std::span<const double> y, double p_nominal,
                                      const Config& c);

// All nine (in parallel over oneTBB; each claim's numbers do not depend on that), in the order.
std::vector<ClaimResult> run_all(const Config& c);

// {"claims": [...]} as documented in README.md's Theory lab section.
std::string to_json(const std::vector<ClaimResult>& claims, const Config& c);
// A fixed-width table, one row per claim.
std::string to_table(const std::vector<ClaimResult>& claims);

const char* relation_name(Relation r);
const char* role_name(Role r);

}  // namespace simdrop::theory
