// ISA selection: every supported path can be forced and is then really the one running.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>

#include "support.hpp"

using namespace simdrop;
using namespace simdrop::test;

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
    // Without the variable the fastest supported path is chosen.
    CHECK(active_isa() == isas.back());
    return;
  }
  std::optional<Isa> wanted;
  try {
    wanted = parse_isa(forced);
  } catch (const std::invalid_argument&) {
  }
  if (wanted && std::find(isas.begin(), isas.end(), *wanted) != isas.end()) {
    CHECK(active_isa() == *wanted);
  } else {
    // An unknown name, or a path this CPU lacks, is refused by name rather than silently replaced.
    CHECK_THROWS_WITH(active_isa(), Catch::Matchers::Contains("SIMDROP_ISA"));
  }
}

TEST_CASE("the version is the project's", "[runtime]") { CHECK(version() == SIMDROP_TEST_VERSION); }
