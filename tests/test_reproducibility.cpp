// Results do not depend on threads, grain, split calls or dtype: the mask is a function of
// (seed, offset + i, p) alone.
#include <catch2/catch.hpp>

#include <tbb/global_control.h>
#include <tbb/task_arena.h>

#include "support.hpp"

using namespace simdrop;
using namespace simdrop::test;

namespace {

const std::size_t kN = (std::size_t{1} << 20) + 77;
const Stream kStream{0xABCDEF, 999};

struct Result {
  std::vector<float> y;
  std::vector<std::uint64_t> mask;
  bool operator==(const Result& o) const { return same_bits<float>(y, o.y) && mask == o.mask; }
};

Result run_forward(const std::vector<float>& x, double p) {
  Result r{std::vector<float>(x.size()), std::vector<std::uint64_t>(mask_words(x.size()))};
  dropout_forward(std::span<const float>(x), std::span<float>(r.y), p, kStream, r.mask);
  return r;
}

Result under_threads(int threads, const std::vector<float>& x, double p) {
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
  tbb::task_arena arena(threads);
  Result r;
  arena.execute([&] { r = run_forward(x, p); });
  return r;
}

}  // namespace

TEST_CASE("identical results under 1, 2 and 4 threads and any grain size", "[reproducibility]") {
  const auto x = test_values<float>(kN, 3);
  for (double p : {0.3, 0.5}) {
    const Result one = under_threads(1, x, p);
    REQUIRE(count_kept(one.mask) > 0);
    CHECK(under_threads(2, x, p) == one);
    CHECK(under_threads(4, x, p) == one);
    for (std::size_t grain : {64, 4096, 10048, 65536, 1 << 20}) {
      GrainScope scope(grain);
      INFO("grain " << grain);
      CHECK(under_threads(4, x, p) == one);
    }
  }
}

TEST_CASE("split calls with matching offsets equal one call", "[reproducibility]") {
  const std::size_t n = 300000;
  const auto x = test_values<float>(n, 4);
  const double p = 0.3;
  std::vector<float> whole(n);
  std::vector<std::uint64_t> whole_mask(mask_words(n));
  dropout_forward(std::span<const float>(x), std::span<float>(whole), p, kStream, whole_mask);
  for (std::size_t a : {std::size_t{1}, std::size_t{63}, std::size_t{64}, std::size_t{127}, std::size_t{4097},
                        n / 2, n - 1}) {
    INFO("split at " << a);
    std::vector<float> parts(n);
    std::vector<std::uint64_t> m1(mask_words(a)), m2(mask_words(n - a));
    const std::span<const float> xs(x);
    dropout_forward(xs.first(a), std::span<float>(parts).first(a), p, kStream, m1);
    dropout_forward(xs.subspan(a), std::span<float>(parts).subspan(a), p, {kStream.seed, kStream.offset + a}, m2);
    REQUIRE(same_bits<float>(parts, whole));
    for (std::size_t i = 0; i < n; ++i) REQUIRE(bit(whole_mask, i) == (i < a ? bit(m1, i) : bit(m2, i - a)));
  }
}

TEST_CASE("fp32 and fp64 calls make identical masks, and make_mask makes the same", "[reproducibility]") {
  const std::size_t n = 100003;
  const auto xf = test_values<float>(n, 5);
  const auto xd = test_values<double>(n, 5);
  std::vector<float> yf(n);
  std::vector<double> yd(n);
  std::vector<std::uint64_t> mf(mask_words(n)), md(mask_words(n));
  dropout_forward(std::span<const float>(xf), std::span<float>(yf), 0.7, kStream, mf);
  dropout_forward(std::span<const double>(xd), std::span<double>(yd), 0.7, kStream, md);
  CHECK(mf == md);
  CHECK(mf == mask_of(n, 0.7, kStream));
}

TEST_CASE("the backward pass from a stored mask equals the regenerating one", "[reproducibility]") {
  const std::size_t n = 200001;
  const auto dy = test_values<double>(n, 6);
  const auto mask = mask_of(n, 0.4, kStream);
  std::vector<double> a(n), b(n);
  dropout_backward(std::span<const double>(dy), std::span<const std::uint64_t>(mask), std::span<double>(a), 0.4);
  dropout_backward(std::span<const double>(dy), std::span<double>(b), 0.4, kStream);
  CHECK(same_bits<double>(a, b));
}
