// Every bad argument throws std::invalid_argument naming it, and nothing is written.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <limits>
#include <stdexcept>

#include "support.hpp"

using namespace simdrop;
using namespace simdrop::test;
using Catch::Matchers::Contains;

namespace {

constexpr float kSentinel = -123.5f;
constexpr std::uint64_t kMaskSentinel = 0x5555AAAA5555AAAAull;

struct Buffers {
  std::vector<float> x = test_values<float>(1000, 9);
  std::vector<float> y = std::vector<float>(1000, kSentinel);
  std::vector<std::uint64_t> mask = std::vector<std::uint64_t>(mask_words(1000), kMaskSentinel);
  bool untouched() const {
    for (float v : y)
      if (v != kSentinel) return false;
    for (auto w : mask)
      if (w != kMaskSentinel) return false;
    return true;
  }
};

}  // namespace

TEST_CASE("p that is NaN or outside [0, 1] is rejected by name", "[bad-input]") {
  for (double p : {std::numeric_limits<double>::quiet_NaN(), -0.1, 1.0000001, -std::numeric_limits<double>::infinity(),
                   std::numeric_limits<double>::infinity()}) {
    Buffers b;
    INFO("p " << p);
    CHECK_THROWS_WITH(dropout_forward(std::span<const float>(b.x), std::span<float>(b.y), p, {}, b.mask),
                      Contains("p:"));
    CHECK_THROWS_AS(make_mask(b.mask, 1000, p, {}), std::invalid_argument);
    CHECK_THROWS_WITH(dropout_backward(std::span<const float>(b.x), std::span<const std::uint64_t>(b.mask),
                                       std::span<float>(b.y), p),
                      Contains("p:"));
    CHECK_THROWS_WITH(dropout_backward(std::span<const float>(b.x), std::span<float>(b.y), p, {}), Contains("p:"));
    CHECK_THROWS_WITH(drop_threshold(p), Contains("p:"));
    CHECK(b.untouched());
  }
}

TEST_CASE("sizes that differ are rejected by name", "[bad-input]") {
  Buffers b;
  const std::span<const float> x(b.x);
  CHECK_THROWS_WITH(dropout_forward(x, std::span<float>(b.y).first(999), 0.5, {}), Contains("y:"));
  CHECK_THROWS_WITH(dropout_backward(x.first(10), std::span<const std::uint64_t>(b.mask), std::span<float>(b.y), 0.5),
                    Contains("dx:"));
  CHECK_THROWS_WITH(dropout_backward(x, std::span<float>(b.y).first(5), 0.5, {}), Contains("dx:"));
  std::vector<double> xd(10), yd(11, 1.0);
  CHECK_THROWS_AS(dropout_forward(std::span<const double>(xd), std::span<double>(yd), 0.5, {}), std::invalid_argument);
  CHECK(yd == std::vector<double>(11, 1.0));
  CHECK(b.untouched());
}

TEST_CASE("a mask with too few words is rejected by name", "[bad-input]") {
  Buffers b;
  const std::span<std::uint64_t> short_mask = std::span<std::uint64_t>(b.mask).first(mask_words(1000) - 1);
  CHECK_THROWS_WITH(dropout_forward(std::span<const float>(b.x), std::span<float>(b.y), 0.5, {}, short_mask),
                    Contains("mask:"));
  CHECK_THROWS_WITH(make_mask(short_mask, 1000, 0.5, {}), Contains("mask:"));
  CHECK_THROWS_WITH(dropout_backward(std::span<const float>(b.x), std::span<const std::uint64_t>(short_mask),
                                     std::span<float>(b.y), 0.5),
                    Contains("mask:"));
  CHECK(b.untouched());
}

TEST_CASE("x and y that overlap without being the same buffer are rejected", "[bad-input]") {
  std::vector<float> buf(2000, kSentinel);
  const std::vector<float> before = buf;
  const std::span<float> all(buf);
  CHECK_THROWS_WITH(dropout_forward(std::span<const float>(all.first(1000)), all.subspan(1, 1000), 0.5, {}),
                    Contains("y:"));
  CHECK_THROWS_WITH(dropout_forward(std::span<const float>(all.subspan(500, 1000)), all.first(1000), 0.5, {}),
                    Contains("y:"));
  CHECK_THROWS_WITH(dropout_backward(std::span<const float>(all.first(1000)), all.subspan(999, 1000), 0.5, {}),
                    Contains("dx:"));
  CHECK(buf == before);
  // The same buffer (in place) is allowed.
  CHECK_NOTHROW(dropout_forward(std::span<const float>(all), all, 0.5, {}));
}

TEST_CASE("a mask overlapping the output is rejected", "[bad-input]") {
  std::vector<std::uint64_t> storage(1000, kMaskSentinel);
  const auto before = storage;
  auto* as_float = reinterpret_cast<float*>(storage.data());
  std::vector<float> x(100, 1.0f);
  CHECK_THROWS_WITH(dropout_forward(std::span<const float>(x), std::span<float>(as_float, 100), 0.5, {},
                                    std::span<std::uint64_t>(storage).first(2)),
                    Contains("mask:"));
  CHECK(storage == before);
}

TEST_CASE("offset + n past 2^64 is rejected and exactly 2^64 is allowed", "[bad-input]") {
  Buffers b;
  const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  CHECK_THROWS_WITH(dropout_forward(std::span<const float>(b.x), std::span<float>(b.y), 0.5, {1, max - 998}, b.mask),
                    Contains("s:"));
  CHECK_THROWS_WITH(make_mask(b.mask, 1000, 0.5, {1, max}), Contains("s:"));
  CHECK_THROWS_WITH(dropout_backward(std::span<const float>(b.x), std::span<float>(b.y), 0.5, {1, max - 500}),
                    Contains("s:"));
  CHECK(b.untouched());
  CHECK_NOTHROW(make_mask(b.mask, 1000, 0.5, {1, max - 999}));
  CHECK_NOTHROW(make_mask({}, 0, 0.5, {1, max}));  // no elements: no position needed
}

TEST_CASE("a generator simdrop does not have is rejected by name", "[bad-input]") {
  Buffers b;
  const Stream s{1, 0, static_cast<Generator>(9)};
  CHECK_THROWS_WITH(dropout_forward(std::span<const float>(b.x), std::span<float>(b.y), 0.5, s, b.mask),
                    Contains("s: unknown generator"));
  CHECK_THROWS_WITH(make_mask(b.mask, 1000, 0.5, s), Contains("s:"));
  CHECK_THROWS_WITH(dropout_backward(std::span<const float>(b.x), std::span<float>(b.y), 0.5, s), Contains("s:"));
  CHECK(b.untouched());
}

TEST_CASE("runtime controls reject bad values by name", "[bad-input]") {
  const std::size_t grain = grain_size();
  CHECK_THROWS_WITH(set_grain_size(0), Contains("elements:"));
  CHECK_THROWS_WITH(set_grain_size(100), Contains("elements:"));
  CHECK(grain_size() == grain);
  CHECK_THROWS_WITH(parse_isa("avx9000"), Contains("isa:"));
  CHECK_THROWS_WITH(parse_isa("AVX2", "SIMDROP_ISA"), Contains("SIMDROP_ISA:"));
}
