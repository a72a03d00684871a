// Philox4x32-10: the published known-answer vectors (Random123's kat_vectors) and Random123 as an oracle.
#include <catch2/catch.hpp>

#include <Random123/philox.h>

#include <random>

#include "reference/philox.hpp"

using simdrop::detail::philox_4x32;
using simdrop::detail::PhiloxCounter;

TEST_CASE("Philox4x32-10 matches the published known-answer vectors", "[philox]") {
  CHECK(philox_4x32({0, 0, 0, 0}, {0, 0}) == PhiloxCounter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  CHECK(philox_4x32({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}) ==
        PhiloxCounter{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
  CHECK(philox_4x32({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}) ==
        PhiloxCounter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
}

namespace {
// Philox4x32-Rounds against Random123's Philox4x32_R<Rounds> on random counters and keys.
template <int Rounds>
void check_against_random123(std::uint32_t seed) {
  std::mt19937 gen(seed);
  auto next = [&] { return static_cast<std::uint32_t>(gen()); };
  r123::Philox4x32_R<Rounds> oracle;
  for (int trial = 0; trial < 10000; ++trial) {
    const PhiloxCounter c{next(), next(), next(), next()};
    const simdrop::detail::PhiloxKey k{next(), next()};
    const typename r123::Philox4x32_R<Rounds>::ctr_type oc = {{c[0], c[1], c[2], c[3]}};
    const typename r123::Philox4x32_R<Rounds>::key_type ok = {{k[0], k[1]}};
    const auto expected = oracle(oc, ok);
    const auto got = philox_4x32<Rounds>(c, k);
    for (int w = 0; w < 4; ++w) REQUIRE(got[w] == expected.v[w]);
  }
}
}  // namespace

TEST_CASE("Philox4x32-10 agrees with Random123 on random counters and keys", "[philox]") {
  check_against_random123<10>(2024);
}

TEST_CASE("Philox4x32-7 agrees with Random123 on random counters and keys", "[philox]") {
  check_against_random123<7>(7);
}

TEST_CASE("the stream key is the seed's two words, low first", "[philox]") {
  CHECK(simdrop::detail::philox_key(0x0123456789abcdefull) == simdrop::detail::PhiloxKey{0x89abcdef, 0x01234567});
}
