// src/ops.hpp, the one list of operations: its entries are consistent with each other and with what the bench,
// the fuzzer and the report rely on (names unique, one forward per variant, backward forms paired).
#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "ops.hpp"

using namespace simdrop::detail;

TEST_CASE("the op table names every operation once, in both spellings") {
  std::set<std::string_view> names, corpus, bench;
  for (const OpInfo& op : kOps) {
    CHECK(names.insert(op.name).second);
    CHECK(corpus.insert(op.corpus).second);
    if (!op.bench.empty()) CHECK(bench.insert(op.bench).second);
    CHECK(op_index(op.name) == op_index(op.corpus));
  }
  CHECK(kOps.size() == 18);  // make_mask + 3 dropout passes + 3 x 4 variants with both backward forms + 2 Gaussian
  CHECK(!op_index("no_such_op").has_value());
  // The benchmark times make_mask, the core's three passes and each variant's forward pass.
  CHECK(bench.size() == 9);
}

TEST_CASE("every variant has one forward pass; backward forms pair up") {
  for (Variant v : {Variant::dropout, Variant::channel, Variant::shared, Variant::alpha, Variant::gaussian,
                    Variant::bias_dropout_add}) {
    int forwards = 0;
    for (const OpInfo& op : kOps) forwards += op.variant == v && op.direction == Direction::forward;
    CHECK(forwards == 1);
  }
  for (std::size_t i = 0; i < kOps.size(); ++i) {
    const auto other = counterpart(i);
    if (kOps[i].direction == Direction::backward_stored) REQUIRE(other.has_value());
    if (other) {
      CHECK(counterpart(*other) == i);
      CHECK(kOps[*other].variant == kOps[i].variant);
    }
    // A backward pass from a stored mask takes the mask and no stream; every other op takes a stream.
    CHECK(takes_stream(kOps[i]) == (kOps[i].direction != Direction::backward_stored));
  }
  CHECK(!counterpart(*op_index("gaussian_dropout_backward")).has_value());
  CHECK(p_below_one(Variant::alpha));
  CHECK(!p_below_one(Variant::channel));
}
