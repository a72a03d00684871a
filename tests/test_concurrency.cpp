// Concurrency: kernels running on several threads at once, while another thread flips every runtime control
// (the forced ISA, the grain, the streaming threshold, a recalibration). No control changes a result, so every
// output must stay bit-identical to a single-threaded run made before. Run by the ThreadSanitizer build too
// (tests/tsan.supp), which checks that the controls and the kernels' shared state are free of data races.
#include <catch2/catch.hpp>

#include <tbb/task_arena.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace simdrop;
using namespace simdrop::test;

namespace {

using Bytes = std::vector<unsigned char>;

template <class T>
void append(Bytes& out, std::span<const T> v) {
  const std::size_t at = out.size();
  out.resize(at + v.size_bytes());
  if (!v.empty()) std::memcpy(out.data() + at, v.data(), v.size_bytes());
}
template <class T>
void append(Bytes& out, const std::vector<T>& v) {
  append(out, std::span<const T>(v));
}

// Three 64 Ki-element grains and a tail: several oneTBB tasks at the default grain, many at small grains.
const std::size_t kN = 3 * 65536 + 77;

template <class T>
std::vector<T> values(std::uint32_t seed) {
  const auto f = test_values<float>(kN, seed);
  return std::vector<T>(f.begin(), f.end());
}

struct Case {
  std::string name;
  std::function<Bytes()> run;  // the op on fresh output buffers; returns every byte it wrote
};

std::vector<Case> cases() {
  const auto xf = values<float>(11), dyf = values<float>(12), res = values<float>(13);
  const auto xd = values<double>(14);
  const auto xb = values<bfloat16>(15);
  const auto xh = values<float16>(16);
  const auto bias = values<float>(17);
  const std::size_t rows_n = (kN / 77) * 77;  // bias-dropout-residual: 2554 rows of 77 columns
  const Stream philox{0x5EED, 1234}, philox7{77, 1ull << 40, Generator::philox4x32_7}, ars{9, 5, Generator::ars5};
  std::vector<Case> c;
  c.push_back({"make_mask", [=] {
                 std::vector<std::uint64_t> m(mask_words(kN));
                 make_mask(m, kN, 0.3, ars);
                 Bytes out;
                 append(out, m);
                 return out;
               }});
  c.push_back({"forward fp32 with mask", [=] {
                 std::vector<float> y(kN);
                 std::vector<std::uint64_t> m(mask_words(kN));
                 dropout_forward(std::span<const float>(xf), std::span<float>(y), 0.3, philox, m);
                 Bytes out;
                 append(out, y);
                 append(out, m);
                 return out;
               }});
  c.push_back({"backward fp32 from a mask and regenerated", [=] {
                 const auto m = mask_of(kN, 0.1, philox7);
                 std::vector<float> a(kN), b(kN);
                 dropout_backward(std::span<const float>(dyf), std::span<const std::uint64_t>(m), std::span<float>(a), 0.1);
                 dropout_backward(std::span<const float>(dyf), std::span<float>(b), 0.1, philox7);
                 Bytes out;
                 append(out, a);
                 append(out, b);
                 return out;
               }});
  c.push_back({"forward fp64 in place", [=] {
                 std::vector<double> y = xd;
                 dropout_forward(std::span<const double>(y), std::span<double>(y), 0.5, ars);
                 Bytes out;
                 append(out, y);
                 return out;
               }});
  c.push_back({"forward bfloat16 and float16", [=] {
                 std::vector<bfloat16> yb(kN);
                 std::vector<float16> yh(kN);
                 dropout_forward(std::span<const bfloat16>(xb), std::span<bfloat16>(yb), 0.25, philox);
                 dropout_forward(std::span<const float16>(xh), std::span<float16>(yh), 0.25, philox7);
                 Bytes out;
                 append(out, yb);
                 append(out, yh);
                 return out;
               }});
  c.push_back({"channel (nhwc) and time-shared forward", [=] {
                 // kN - 77 = 196608 elements: 4 x 48 channels x 1024 positions, and 768 steps x 256.
                 std::vector<float> a(kN - 77), b(kN - 77);
                 std::vector<std::uint64_t> m(mask_words(4 * 48));
                 const std::span<const float> x(xf.data(), kN - 77);
                 channel_dropout_forward(x, std::span<float>(a), 4, 48, 1024, Layout::nhwc, 0.2, philox, m);
                 shared_dropout_forward(x, std::span<float>(b), 768, 256, 0.2, ars);
                 Bytes out;
                 append(out, a);
                 append(out, b);
                 append(out, m);
                 return out;
               }});
  c.push_back({"alpha and Gaussian forward", [=] {
                 std::vector<float> a(kN), g(kN);
                 std::vector<std::uint64_t> m(mask_words(kN));
                 alpha_dropout_forward(std::span<const float>(xf), std::span<float>(a), 0.1, philox, m);
                 gaussian_dropout_forward(std::span<const float>(xf), std::span<float>(g), 0.3, philox7);
                 Bytes out;
                 append(out, a);
                 append(out, g);
                 append(out, m);
                 return out;
               }});
  c.push_back({"bias-dropout-residual forward and backward", [=] {
                 const std::span<const float> x(xf.data(), rows_n), r(res.data(), rows_n), dy(dyf.data(), rows_n);
                 const std::span<const float> b(bias.data(), 77);
                 std::vector<float> y(rows_n), dx(rows_n), dbias(77);
                 bias_dropout_add_forward(x, b, r, std::span<float>(y), 0.1, ars);
                 bias_dropout_add_backward(dy, std::span<float>(dx), std::span<float>(dbias), 0.1, ars);
                 Bytes out;
                 append(out, y);
                 append(out, dx);
                 append(out, dbias);
                 return out;
               }});
  return c;
}

}  // namespace

TEST_CASE("kernels on several threads give single-threaded bits while the runtime controls change", "[concurrency]") {
  const std::optional<Isa> forced_before = forced_isa();
  const std::size_t grain_before = grain_size(), threshold_before = stream_threshold();
  const auto all = cases();

  std::vector<Bytes> expected;
  {
    tbb::task_arena one(1);
    one.execute([&] {
      for (const auto& c : all) expected.push_back(c.run());
    });
  }

  constexpr int kWorkers = 3, kRounds = 4;
  std::atomic<int> running{kWorkers};
  std::atomic<std::size_t> flips{0};
  std::vector<std::vector<int>> mismatches(kWorkers, std::vector<int>(all.size(), 0));
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w)
    workers.emplace_back([&, w] {
      while (flips.load() == 0) std::this_thread::yield();  // start once the controls are moving
      for (int round = 0; round < kRounds; ++round)
        for (std::size_t i = 0; i < all.size(); ++i) {
          // Each worker starts at a different op, so different kinds of work overlap.
          const std::size_t k = (i + static_cast<std::size_t>(w) * 3) % all.size();
          if (all[k].run() != expected[k]) ++mismatches[w][k];
        }
      running.fetch_sub(1);
    });

  // This thread flips every control, over and over, until the workers are done; once it recalibrates
  // (0.1-0.3 s of measurement on this thread while the workers run on the choice being replaced).
  const auto isas = supported_isas();
  const std::size_t grains[] = {64, 4096, 65536, 1 << 20, 128};
  const std::size_t thresholds[] = {0, std::numeric_limits<std::size_t>::max(), 4096, threshold_before};
  while (running.load() > 0) {
    const std::size_t f = flips.load();
    set_isa(isas[f % isas.size()]);
    set_grain_size(grains[f % std::size(grains)]);
    set_stream_threshold(thresholds[f % std::size(thresholds)]);
    if (f % 3 == 2) set_isa_automatic();
    if (f == 5) calibrate();
    (void)chosen_isa(Work::fused, SizeClass::memory);
    (void)calibration();
    flips.fetch_add(1);
    std::this_thread::yield();
  }
  for (auto& t : workers) t.join();

  if (forced_before)
    set_isa(*forced_before);
  else
    set_isa_automatic();
  set_grain_size(grain_before);
  set_stream_threshold(threshold_before);

  INFO("control changes made while the workers ran: " << flips.load());
  CHECK(flips.load() > 5);  // the recalibration among them
  for (std::size_t k = 0; k < all.size(); ++k) {
    int total = 0;
    for (const auto& per_worker : mismatches) total += per_worker[k];
    INFO(all[k].name);
    CHECK(total == 0);
  }
}
