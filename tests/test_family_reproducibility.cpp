// The dropout family gives the same bits under any thread count and grain, and a tensor split into
// calls (with the stream offsets the whole call would have used) gives the whole call's result.
#include <catch2/catch.hpp>

#include <tbb/global_control.h>
#include <tbb/task_arena.h>

#include <functional>

#include "support.hpp"

using namespace simdrop;
using namespace simdrop::test;

namespace {

// Every variant's forward and backward outputs for one input, concatenated.
struct Outputs {
  std::vector<float> values;
  std::vector<std::uint64_t> masks;
  bool operator==(const Outputs& o) const { return same_bits<float>(values, o.values) && masks == o.masks; }
};

const std::size_t kBatch = 16, kChannels = 48, kSpatial = 1500;  // 1.15 M elements, many oneTBB blocks
const std::size_t kN = kBatch * kChannels * kSpatial, kCols = 768;
const Stream kStream{0xF00D, 12345};

Outputs run_all(const std::vector<float>& x, const std::vector<float>& r, const std::vector<float>& bias) {
  Outputs out;
  auto add = [&](const std::vector<float>& v) { out.values.insert(out.values.end(), v.begin(), v.end()); };
  std::vector<float> y(kN), dx(kN), dbias(kCols);
  std::vector<std::uint64_t> planes(mask_words(kBatch * kChannels)), mask(mask_words(kN));
  for (Layout layout : {Layout::nchw, Layout::nhwc}) {
    channel_dropout_forward(std::span<const float>(x), std::span<float>(y), kBatch, kChannels, kSpatial, layout, 0.3,
                            kStream, planes);
    add(y);
    out.masks.insert(out.masks.end(), planes.begin(), planes.end());
  }
  shared_dropout_forward(std::span<const float>(x), std::span<float>(y), kN / 1000, 1000, 0.3, kStream);
  add(y);
  alpha_dropout_forward(std::span<const float>(x), std::span<float>(y), 0.1, kStream, mask);
  add(y);
  out.masks.insert(out.masks.end(), mask.begin(), mask.end());
  gaussian_dropout_forward(std::span<const float>(x), std::span<float>(y), 0.2, kStream);
  add(y);
  bias_dropout_add_forward(std::span<const float>(x), std::span<const float>(bias), std::span<const float>(r),
                           std::span<float>(y), 0.1, kStream, mask);
  add(y);
  out.masks.insert(out.masks.end(), mask.begin(), mask.end());
  bias_dropout_add_backward(std::span<const float>(x), std::span<float>(dx), std::span<float>(dbias), 0.1, kStream);
  add(dx);
  add(dbias);
  return out;
}

Outputs under_threads(int threads, const std::function<Outputs()>& f) {
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
  tbb::task_arena arena(threads);
  Outputs o;
  arena.execute([&] { o = f(); });
  return o;
}

}  // namespace

TEST_CASE("the family's results are identical under 1, 2 and 4 threads and any grain size", "[family][reproducibility]") {
  const auto x = test_values<float>(kN, 41), r = test_values<float>(kN, 42), bias = test_values<float>(kCols, 43);
  auto f = [&] { return run_all(x, r, bias); };
  const Outputs one = under_threads(1, f);
  REQUIRE(one.values.size() == 7 * kN + kCols);
  CHECK(under_threads(2, f) == one);
  CHECK(under_threads(4, f) == one);
  for (std::size_t grain : {64, 4160, 65536, 1 << 20}) {
    GrainScope scope(grain);
    INFO("grain " << grain);
    CHECK(under_threads(4, f) == one);
  }
}

TEST_CASE("the family split into calls with matching offsets equals one call", "[family][reproducibility]") {
  const std::size_t batch = 6, channels = 10, spatial = 333, n = batch * channels * spatial;
  const auto x = test_values<float>(n, 44);
  const Stream s{321, 1001};
  auto sub = [](std::span<const float> v, std::size_t from, std::size_t count) { return v.subspan(from, count); };
  for (Layout layout : {Layout::nchw, Layout::nhwc}) {
    // Channel: images [0, 2) and [2, 6); the second call's planes start 2 * channels further on.
    std::vector<float> whole(n), parts(n);
    channel_dropout_forward(std::span<const float>(x), std::span<float>(whole), batch, channels, spatial, layout, 0.4, s);
    const std::size_t split = 2 * channels * spatial;
    channel_dropout_forward(sub(x, 0, split), std::span<float>(parts).first(split), 2, channels, spatial, layout, 0.4, s);
    channel_dropout_forward(sub(x, split, n - split), std::span<float>(parts).subspan(split), 4, channels, spatial,
                            layout, 0.4, {s.seed, s.offset + 2 * channels, s.generator});
    CHECK(same_bits<float>(whole, parts));
  }
  {  // Time-shared: steps split anywhere use the same stream (the same row mask).
    const std::size_t row = 90, steps = n / row, first = 17;
    std::vector<float> whole(n), parts(n);
    shared_dropout_forward(std::span<const float>(x), std::span<float>(whole), steps, row, 0.4, s);
    shared_dropout_forward(sub(x, 0, first * row), std::span<float>(parts).first(first * row), first, row, 0.4, s);
    shared_dropout_forward(sub(x, first * row, n - first * row), std::span<float>(parts).subspan(first * row),
                           steps - first, row, 0.4, s);
    CHECK(same_bits<float>(whole, parts));
  }
  for (std::size_t cut : {1, 3, 4, 63, 64, 4097, 9999}) {  // element-wise variants: any cut, offsets shifted
    INFO("cut " << cut);
    const Stream rest{s.seed, s.offset + cut, s.generator};
    std::vector<float> whole(n), parts(n);
    alpha_dropout_forward(std::span<const float>(x), std::span<float>(whole), 0.2, s);
    alpha_dropout_forward(sub(x, 0, cut), std::span<float>(parts).first(cut), 0.2, s);
    alpha_dropout_forward(sub(x, cut, n - cut), std::span<float>(parts).subspan(cut), 0.2, rest);
    CHECK(same_bits<float>(whole, parts));
    gaussian_dropout_forward(std::span<const float>(x), std::span<float>(whole), 0.3, s);
    gaussian_dropout_forward(sub(x, 0, cut), std::span<float>(parts).first(cut), 0.3, s);
    gaussian_dropout_forward(sub(x, cut, n - cut), std::span<float>(parts).subspan(cut), 0.3, rest);
    CHECK(same_bits<float>(whole, parts));
  }
  {  // Bias-dropout-residual: rows [0, 7) and [7, rows).
    const std::size_t cols = 111, rows = n / cols, first = 7 * cols;
    const auto r = test_values<float>(n, 45), bias = test_values<float>(cols, 46);
    std::vector<float> whole(n), parts(n);
    bias_dropout_add_forward(std::span<const float>(x), std::span<const float>(bias), std::span<const float>(r),
                             std::span<float>(whole), 0.25, s);
    bias_dropout_add_forward(sub(x, 0, first), std::span<const float>(bias), sub(r, 0, first),
                             std::span<float>(parts).first(first), 0.25, s);
    bias_dropout_add_forward(sub(x, first, n - first), std::span<const float>(bias), sub(r, first, n - first),
                             std::span<float>(parts).subspan(first), 0.25, {s.seed, s.offset + first, s.generator});
    CHECK(same_bits<float>(whole, parts));
    CHECK(rows > 7);
  }
}
