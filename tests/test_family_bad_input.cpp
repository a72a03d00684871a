// Every bad argument of the dropout family throws std::invalid_argument naming it, and nothing is
// written: outputs, masks and dbias keep their sentinels.
#include <catch2/catch.hpp>

#include <limits>
#include <stdexcept>

#include "support.hpp"

using namespace simdrop;
using namespace simdrop::test;
using Catch::Matchers::Contains;

namespace {

constexpr float kSentinel = -123.5f;
constexpr std::uint64_t kMaskSentinel = 0x5555AAAA5555AAAAull;
constexpr std::size_t kN = 2 * 3 * 20;  // batch 2, channels 3, spatial 20; or rows 6 of cols 20

struct Buffers {
  std::vector<float> x = test_values<float>(kN, 9);
  std::vector<float> r = test_values<float>(kN, 10);
  std::vector<float> bias = test_values<float>(20, 11);
  std::vector<float> y = std::vector<float>(kN, kSentinel);
  std::vector<float> dbias = std::vector<float>(20, kSentinel);
  std::vector<std::uint64_t> mask = std::vector<std::uint64_t>(mask_words(kN), kMaskSentinel);
  std::span<const float> cx() const { return x; }
  std::span<const float> cr() const { return r; }
  std::span<const float> cb() const { return bias; }
  bool untouched() const {
    for (float v : y)
      if (v != kSentinel) return false;
    for (float v : dbias)
      if (v != kSentinel) return false;
    for (auto w : mask)
      if (w != kMaskSentinel) return false;
    return true;
  }
};

// Runs f on fresh buffers and checks that it throws std::invalid_argument whose message contains
// `name:` and that nothing was written.
template <class F>
void rejects(const char* name, F f) {
  Buffers b;
  CHECK_THROWS_AS(f(b), std::invalid_argument);
  CHECK_THROWS_WITH(f(b), Contains(std::string(name) + ":"));
  CHECK(b.untouched());
}

}  // namespace

TEST_CASE("the family rejects a bad p by name", "[family][bad-input]") {
  for (double p : {std::numeric_limits<double>::quiet_NaN(), -0.5, 1.5}) {
    INFO("p " << p);
    rejects("p", [p](Buffers& b) { channel_dropout_forward(b.cx(), b.y, 2, 3, 20, Layout::nchw, p, {}, b.mask); });
    rejects("p", [p](Buffers& b) { channel_dropout_backward(b.cx(), b.mask, b.y, 2, 3, 20, Layout::nhwc, p); });
    rejects("p", [p](Buffers& b) { shared_dropout_forward(b.cx(), b.y, 6, 20, p, {}, b.mask); });
    rejects("p", [p](Buffers& b) { shared_dropout_backward(b.cx(), b.y, 6, 20, p, {}); });
    rejects("p", [p](Buffers& b) { alpha_dropout_forward(b.cx(), b.y, p, {}, b.mask); });
    rejects("p", [p](Buffers& b) { alpha_dropout_backward(b.cx(), b.mask, b.y, p); });
    rejects("p", [p](Buffers& b) { gaussian_dropout_forward(b.cx(), b.y, p, {}); });
    rejects("p", [p](Buffers& b) { bias_dropout_add_forward(b.cx(), b.cb(), b.cr(), b.y, p, {}, b.mask); });
    rejects("p", [p](Buffers& b) { bias_dropout_add_backward(b.cx(), b.mask, b.y, b.dbias, p); });
    CHECK_THROWS_WITH(alpha_dropout_coefficients(p), Contains("p:"));
  }
  // Alpha and Gaussian dropout have no value at p = 1 (a and the noise variance are infinite).
  rejects("p", [](Buffers& b) { alpha_dropout_forward(b.cx(), b.y, 1.0, {}, b.mask); });
  rejects("p", [](Buffers& b) { alpha_dropout_backward(b.cx(), b.y, 1.0, {}); });
  rejects("p", [](Buffers& b) { gaussian_dropout_forward(b.cx(), b.y, 1.0, {}); });
  rejects("p", [](Buffers& b) { gaussian_dropout_backward(b.cx(), b.y, 1.0, {}); });
  CHECK_THROWS_WITH(alpha_dropout_coefficients(1.0), Contains("p < 1"));
}

TEST_CASE("shapes that do not multiply to the buffer sizes are rejected", "[family][bad-input]") {
  rejects("x", [](Buffers& b) { channel_dropout_forward(b.cx(), b.y, 2, 3, 19, Layout::nchw, 0.5, {}); });
  rejects("x", [](Buffers& b) { channel_dropout_forward(b.cx(), b.y, 2, 4, 20, Layout::nhwc, 0.5, {}); });
  rejects("dy", [](Buffers& b) { channel_dropout_backward(b.cx(), b.y, 3, 3, 20, Layout::nchw, 0.5, {}); });
  rejects("dy", [](Buffers& b) { channel_dropout_backward(b.cx(), b.mask, b.y, 1, 3, 20, Layout::nchw, 0.5); });
  const std::size_t huge = std::size_t{1} << 40;
  rejects("x", [huge](Buffers& b) { channel_dropout_forward(b.cx(), b.y, huge, huge, 0, Layout::nchw, 0.5, {}); });
  CHECK_THROWS_WITH(
      [] {
        Buffers b;
        channel_dropout_forward(b.cx(), b.y, std::size_t{1} << 40, std::size_t{1} << 40, 0, Layout::nchw, 0.5, {});
      }(),
      Contains("overflows"));
  rejects("layout", [](Buffers& b) { channel_dropout_forward(b.cx(), b.y, 2, 3, 20, static_cast<Layout>(7), 0.5, {}); });
  rejects("x", [](Buffers& b) { shared_dropout_forward(b.cx(), b.y, 7, 20, 0.5, {}); });
  rejects("dy", [](Buffers& b) { shared_dropout_backward(b.cx(), b.mask, b.y, 6, 21, 0.5); });
  // Bias-dropout-residual: bias must divide x into whole rows; residual must match x.
  rejects("x", [](Buffers& b) { bias_dropout_add_forward(b.cx(), b.cb().first(7), b.cr(), b.y, 0.5, {}); });
  rejects("bias", [](Buffers& b) { bias_dropout_add_forward(b.cx(), b.cb().first(0), b.cr(), b.y, 0.5, {}); });
  rejects("residual", [](Buffers& b) { bias_dropout_add_forward(b.cx(), b.cb(), b.cr().first(kN - 1), b.y, 0.5, {}); });
  rejects("dy", [](Buffers& b) {
    bias_dropout_add_backward(b.cx(), b.mask, b.y, std::span<float>(b.dbias).first(7), 0.5);
  });
  rejects("dbias", [](Buffers& b) {
    bias_dropout_add_backward(b.cx(), b.y, std::span<float>(b.dbias).first(0), 0.5, {});
  });
}

TEST_CASE("the family rejects wrong output sizes, short masks, overlaps and streams past the end", "[family][bad-input]") {
  rejects("y", [](Buffers& b) { channel_dropout_forward(b.cx(), std::span<float>(b.y).first(kN - 1), 2, 3, 20, Layout::nchw, 0.5, {}); });
  rejects("dx", [](Buffers& b) { alpha_dropout_backward(b.cx(), b.mask, std::span<float>(b.y).first(5), 0.5); });
  rejects("y", [](Buffers& b) { gaussian_dropout_forward(b.cx(), std::span<float>(b.y).first(5), 0.5, {}); });
  rejects("y", [](Buffers& b) { bias_dropout_add_forward(b.cx(), b.cb(), b.cr(), std::span<float>(b.y).first(5), 0.5, {}); });
  rejects("dx", [](Buffers& b) { bias_dropout_add_backward(b.cx(), std::span<float>(b.y).first(5), b.dbias, 0.5, {}); });
  // Masks: channel needs batch * channels bits, shared `row` bits, the others n bits.
  rejects("mask", [](Buffers& b) {  // 120 planes need 2 words (an empty mask means "no mask")
    channel_dropout_forward(b.cx(), b.y, 6, 20, 1, Layout::nchw, 0.5, {}, std::span<std::uint64_t>(b.mask).first(1));
  });
  rejects("mask", [](Buffers& b) {
    shared_dropout_backward(b.cx(), std::span<const std::uint64_t>(b.mask).first(1), b.y, 1, kN, 0.5);
  });
  rejects("mask", [](Buffers& b) {
    alpha_dropout_forward(b.cx(), b.y, 0.5, {}, std::span<std::uint64_t>(b.mask).first(1));
  });
  rejects("mask", [](Buffers& b) {
    bias_dropout_add_backward(b.cx(), std::span<const std::uint64_t>(b.mask).first(1), b.y, b.dbias, 0.5);
  });
  // Overlaps: y partly over x, y over bias, dbias over dx, a mask over the output.
  rejects("y", [](Buffers& b) {
    std::vector<float> both(2 * kN, 1.0f);
    gaussian_dropout_forward(std::span<const float>(both).first(kN), std::span<float>(both).subspan(1, kN), 0.5, {});
  });
  rejects("y", [](Buffers& b) {
    std::vector<float> both(kN + 20, 1.0f);
    bias_dropout_add_forward(b.cx(), std::span<const float>(both).first(20), b.cr(), std::span<float>(both).subspan(10, kN), 0.5, {});
  });
  rejects("dbias", [](Buffers& b) {
    std::vector<float> dx(kN, 0.0f);
    bias_dropout_add_backward(b.cx(), std::span<float>(dx), std::span<float>(dx).first(20), 0.5, {});
  });
  rejects("mask", [](Buffers& b) {
    std::vector<float> y(kN + 64, 0.0f);
    auto* words = reinterpret_cast<std::uint64_t*>(y.data());
    alpha_dropout_forward(b.cx(), std::span<float>(y).first(kN), 0.5, {}, std::span<std::uint64_t>(words, 2));
  });
  // Streams: positions past 2^64, and an unknown generator.
  const Stream end{1, ~std::uint64_t{0} - 10};
  rejects("s", [end](Buffers& b) { alpha_dropout_forward(b.cx(), b.y, 0.5, end); });
  rejects("s", [end](Buffers& b) { gaussian_dropout_forward(b.cx(), b.y, 0.5, end); });
  rejects("s", [end](Buffers& b) { bias_dropout_add_forward(b.cx(), b.cb(), b.cr(), b.y, 0.5, end); });
  rejects("s", [](Buffers& b) {
    channel_dropout_forward(b.cx(), b.y, 2, 3, 20, Layout::nchw, 0.5, {1, ~std::uint64_t{0} - 3});
  });
  rejects("s", [](Buffers& b) { gaussian_dropout_forward(b.cx(), b.y, 0.5, {1, 0, static_cast<Generator>(9)}); });
}
