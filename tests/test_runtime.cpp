// ISA selection: every supported path can be forced and is then really the one running.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support.hpp"

using namespace simdrop;
using namespace simdrop::test;

namespace {
constexpr Work kAllWork[] = {Work::mask, Work::fused, Work::apply, Work::gaussian};
}  // namespace

TEST_CASE("supported paths start with scalar and set_isa makes each active", "[runtime]") {
  const auto isas = supported_isas();
  REQUIRE(!isas.empty());
  CHECK(isas.front() == Isa::scalar);
  for (Isa isa : isas) {
    IsaScope scope(isa);
    CHECK(active_isa() == isa);
    CHECK(parse_isa(isa_name(isa)) == isa);
  }
}

TEST_CASE("SIMDROP_ISA picks the path at first use", "[runtime][env]") {
  // ctest runs this case once per supported path with SIMDROP_ISA set (see tests/CMakeLists.txt); the
  // variable is read before any other call has chosen a path.
  const char* forced = std::getenv("SIMDROP_ISA");
  const auto isas = supported_isas();
  if (forced == nullptr) {
    // Without the variable nothing is forced and the calibrated choice is a supported path.
    CHECK_FALSE(forced_isa().has_value());
    CHECK(std::find(isas.begin(), isas.end(), active_isa()) != isas.end());
    return;
  }
  std::optional<Isa> wanted;
  try {
    wanted = parse_isa(forced);
  } catch (const std::invalid_argument&) {
  }
  // SIMDROP_TEST_MUST_RUN=1: the forced path is one every CPU of this architecture has (scalar and sse2 on
  // x86-64, scalar and neon on aarch64), so a refusal is a failure, not the expected answer.
  if (const char* must = std::getenv("SIMDROP_TEST_MUST_RUN"); must != nullptr && std::string(must) == "1") {
    REQUIRE(wanted.has_value());
    REQUIRE(std::find(isas.begin(), isas.end(), *wanted) != isas.end());
  }
  if (wanted && std::find(isas.begin(), isas.end(), *wanted) != isas.end()) {
    CHECK(active_isa() == *wanted);
    CHECK(forced_isa() == wanted);
    for (Work w : kAllWork)
      for (SizeClass c : {SizeClass::cache, SizeClass::memory}) CHECK(chosen_isa(w, c) == *wanted);
  } else {
    // An unknown name, or a path this CPU lacks, is refused by name rather than silently replaced.
    CHECK_THROWS_WITH(active_isa(), Catch::Matchers::Contains("SIMDROP_ISA"));
  }
}

TEST_CASE("calibration measures every SIMD path for every work kind and chooses the fastest", "[runtime]") {
  if (forced_isa()) set_isa_automatic();  // under SIMDROP_ISA: calibrate anyway
  const auto isas = supported_isas();
  std::vector<Isa> simd(isas.begin() + 1, isas.end());
  const std::vector<CalibrationEntry> entries = calibrate();
  if (simd.size() < 2) {
    CHECK(entries.empty());  // one path (or none but scalar): nothing to compare
    return;
  }
  // cache class: every kind; memory class: the memory-bound kinds (fused, apply); one entry per SIMD path.
  const std::vector<std::pair<Work, SizeClass>> measured = {
      {Work::mask, SizeClass::cache},  {Work::fused, SizeClass::cache},   {Work::apply, SizeClass::cache},
      {Work::gaussian, SizeClass::cache}, {Work::fused, SizeClass::memory}, {Work::apply, SizeClass::memory}};
  CHECK(entries.size() == measured.size() * simd.size());
  for (const auto& [work, size_class] : measured) {
    double best = 0, widest = 0;
    for (const auto& e : entries)
      if (e.work == work && e.size_class == size_class) {
        CHECK(e.g_elements_per_second > 0);
        best = std::max(best, e.g_elements_per_second);
        if (e.isa == simd.back()) widest = e.g_elements_per_second;
      }
    // The chosen path is within 3% of the fastest measured (a wider path keeps ties).
    double chosen_rate = 0;
    for (const auto& e : entries)
      if (e.work == work && e.size_class == size_class && e.isa == chosen_isa(work, size_class))
        chosen_rate = e.g_elements_per_second;
    INFO(work_name(work) << "/" << size_class_name(size_class) << ": chosen " << isa_name(chosen_isa(work, size_class)));
    CHECK(chosen_rate * 1.03 >= best);
    CHECK(widest > 0);
  }
  CHECK(calibration().size() == entries.size());
  // Generation and Gaussian noise are compute-bound: the memory class keeps the cache class's choice.
  CHECK(chosen_isa(Work::mask, SizeClass::memory) == chosen_isa(Work::mask, SizeClass::cache));
  CHECK(chosen_isa(Work::gaussian, SizeClass::memory) == chosen_isa(Work::gaussian, SizeClass::cache));
}

TEST_CASE("SIMDROP_CALIBRATE=0 skips the measurement and runs the widest path", "[runtime][env]") {
  // ctest runs this case with SIMDROP_CALIBRATE=0 (tests/CMakeLists.txt); without it there is nothing to check.
  const char* v = std::getenv("SIMDROP_CALIBRATE");
  if (v == nullptr || std::string(v) != "0" || std::getenv("SIMDROP_ISA") != nullptr) return;
  for (Work w : kAllWork)
    for (SizeClass c : {SizeClass::cache, SizeClass::memory}) CHECK(chosen_isa(w, c) == supported_isas().back());
  CHECK(calibration().empty());
  CHECK(calibrate().empty());
}

TEST_CASE("set_isa forces every kind of work and set_isa_automatic ends it", "[runtime]") {
  for (Isa isa : supported_isas()) {
    {
      IsaScope scope(isa);
      CHECK(forced_isa() == isa);
      for (Work w : kAllWork)
        for (SizeClass c : {SizeClass::cache, SizeClass::memory}) CHECK(chosen_isa(w, c) == isa);
    }
    if (std::getenv("SIMDROP_ISA") == nullptr) CHECK_FALSE(forced_isa().has_value());
  }
  CHECK(work_name(Work::apply) == "apply");
  CHECK(size_class_name(SizeClass::memory) == "memory");
}

TEST_CASE("cache sizes come from the CPU and set the streaming threshold", "[runtime]") {
  const CacheSizes& c = cache_sizes();
#if defined(__x86_64__)
  // Every x86-64 CPU this project targets reports its caches by CPUID leaf 4 or 0x8000001D.
  CHECK(c.source == "cpuid");
#else
  // Elsewhere (aarch64) /sys, sysconf or else the stated default (runtime.hpp): some size is always known.
  CHECK((c.source == "sysfs" || c.source == "sysconf" || c.source == "default"));
#endif
  if (c.source != "none") {
    CHECK(c.l1d >= 4096);
    CHECK(c.l2 >= c.l1d);
    if (c.l3 != 0) CHECK(c.l3 >= c.l2);
  }
  // The default threshold is half the last-level cache, at most 32 MiB (16 MiB where no size is known).
  const std::size_t llc = c.l3 != 0 ? c.l3 : c.l2;
  const std::size_t expected =
      llc != 0 ? std::min<std::size_t>(llc / 2, std::size_t{32} << 20) : std::size_t{16} << 20;
  CHECK(stream_threshold() == expected);
  {
    StreamScope scope(12345);
    CHECK(stream_threshold() == 12345);
  }
  CHECK(stream_threshold() == expected);
}

TEST_CASE("the version is the project's", "[runtime]") { CHECK(version() == SIMDROP_TEST_VERSION); }
