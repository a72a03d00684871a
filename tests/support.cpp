// support.hpp's out-of-line helpers.
#include "support.hpp"

#include <algorithm>
#include <cstdlib>
#include <string_view>

namespace simdrop::test {

std::vector<Isa> tested_isas() {
  const std::vector<Isa> supported = supported_isas();
  const char* env = std::getenv("SIMDROP_TEST_ISAS");
  if (env == nullptr || *env == '\0') return supported;
  std::vector<Isa> named;
  std::string_view rest(env);
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    named.push_back(parse_isa(rest.substr(0, comma), "SIMDROP_TEST_ISAS"));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }
  std::vector<Isa> out;
  for (Isa isa : supported)
    if (std::find(named.begin(), named.end(), isa) != named.end()) out.push_back(isa);
  return out;
}

}  // namespace simdrop::test
