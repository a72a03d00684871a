// The tests' main: Catch2's, then the count of float16 elements accepted as an emulator's rounding of exact
// ties (float16_ties.hpp), where there were any, so that a run under such an emulator says so.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdio>

#include "float16_ties.hpp"

int main(int argc, char** argv) {
  const int status = Catch::Session().run(argc, argv);
  if (const std::size_t ties = simdrop::test::float16_ties_accepted(); ties != 0)
    std::printf("float16: %zu elements of the F16C paths differed from the definition only at exact ties, which this "
                "CPU's vcvtps2ph rounds away from zero (an emulator's defect): accepted\n",
                ties);
  return status;
}
