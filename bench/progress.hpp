// Console output with progress: after each benchmark, "[done/total] name" on stderr.
#pragma once

#include <benchmark/benchmark.h>

#include <iostream>
#include <regex>
#include <string>
#include <vector>

namespace simdrop::bench {

// How many of `names` Google Benchmark's --benchmark_filter selects (a leading '-' negates it).
inline std::size_t count_selected(const std::vector<std::string>& names, std::string filter) {
  if (filter.empty() || filter == "all" || filter == ".") return names.size();
  const bool negate = filter[0] == '-';
  if (negate) filter.erase(0, 1);
  const std::regex re(filter);
  std::size_t n = 0;
  for (const auto& name : names) n += std::regex_search(name + "/real_time", re) != negate;
  return n;
}

class ProgressReporter : public benchmark::ConsoleReporter {
 public:
  explicit ProgressReporter(std::size_t total) : total_(total) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    // Called once per repetition and once for the aggregates: count each benchmark once.
    if (!runs.empty() && runs.front().run_name.str() != last_) {
      last_ = runs.front().run_name.str();
      ++done_;
      std::cerr << "[" << done_ << "/" << total_ << "] " << last_ << std::endl;
    }
    ConsoleReporter::ReportRuns(runs);
  }

 private:
  std::size_t total_, done_ = 0;
  std::string last_;
};

}  // namespace simdrop::bench
