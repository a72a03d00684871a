// simdrop_theory: the seed text's claims about dropout, each measured with simdrop's masks.
//
//   simdrop_theory [--out FILE.json] [--size X] [--seed N] [--sigmas K] [--verbose]
//
// Prints one row per claim (and every check with --verbose); --out writes the JSON the report reads.
// The exit status is 0 whatever the verdicts (a wrong statement of the text is a finding, not an error);
// 2 on a bad argument or an unwritable file.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "claims.hpp"

namespace th = simdrop::theory;

int main(int argc, char** argv) {
  th::Config cfg;
  std::string out;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* name) -> std::string {
      const std::string eq = std::string(name) + "=";
      if (a.rfind(eq, 0) == 0) return a.substr(eq.size());
      if (i + 1 >= argc) {
        std::cerr << "simdrop_theory: " << name << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    auto is = [&](const char* name) { return a == name || a.rfind(std::string(name) + "=", 0) == 0; };
    try {
      if (is("--out")) {
        out = value("--out");
      } else if (is("--size")) {
        cfg.size = std::stod(value("--size"));
      } else if (is("--seed")) {
        cfg.seed = std::stoull(value("--seed"));
      } else if (is("--sigmas")) {
        cfg.sigmas = std::stod(value("--sigmas"));
      } else if (a == "--verbose" || a == "-v") {
        verbose = true;
      } else if (a == "--help" || a == "-h") {
        std::cout << "usage: simdrop_theory [--out FILE.json] [--size X] [--seed N] [--sigmas K] [--verbose]\n";
        return 0;
      } else {
        std::cerr << "simdrop_theory: unknown argument '" << a << "'\n";
        return 2;
      }
    } catch (const std::exception&) {
      std::cerr << "simdrop_theory: bad value in '" << a << "'\n";
      return 2;
    }
  }
  if (!(cfg.size > 0) || !(cfg.sigmas > 0)) {
    std::cerr << "simdrop_theory: --size and --sigmas must be positive\n";
    return 2;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const auto claims = th::run_all(cfg);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "The seed's claims, measured (tolerances: " << cfg.sigmas
            << " standard errors, or a rounding bound for identities)\n\n"
            << th::to_table(claims);
  if (verbose)
    for (const auto& r : claims) {
      std::cout << "\n" << r.id << " (" << r.verdict() << ", " << r.seconds << " s): " << r.conditions << "\n";
      for (const auto& k : r.checks)
        std::printf("  %-4s %-8s %-9s pred %-12.6g meas %-12.6g se %-10.3g tol %-10.3g %s\n", k.pass() ? "ok" : "FAIL",
                    th::role_name(k.role), th::relation_name(k.relation), k.predicted, k.measured, k.stderr_,
                    k.tolerance, k.what.c_str());
      if (!r.notes.empty()) std::cout << "  note: " << r.notes << "\n";
    }
  std::printf("\n%zu claims in %.2f s\n", claims.size(), secs);
  if (!out.empty()) {
    std::ofstream f(out);
    f << th::to_json(claims, cfg);
    if (!f.flush()) {
      std::cerr << "simdrop_theory: cannot write " << out << "\n";
      return 2;
    }
    std::cout << "wrote " << out << "\n";
  }
  return 0;
}
