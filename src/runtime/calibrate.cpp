// The calibration behind the automatic path choice (dispatch.cpp): each candidate path runs each kind of
// work on private buffers, single-threaded, in alternating rounds; the best round of each counts.
#include "runtime/calibrate.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

#include "fused.hpp"
#include "runtime/dispatch.hpp"

namespace simdrop::detail {
namespace {

using Clock = std::chrono::steady_clock;

// Buffers of one size class: n elements of fp32 input and output and their mask bits. The output is
// aligned to 64 bytes so that the streaming stores of the memory class run as they do for users.
struct Buffers {
  std::size_t n = 0;
  std::unique_ptr<float[]> x, y_storage;
  float* y = nullptr;
  std::vector<std::uint64_t> mask;

  bool allocate(std::size_t elements) {
    n = elements;
    x.reset(new (std::nothrow) float[n]);
    y_storage.reset(new (std::nothrow) float[n + 16]);
    if (!x || !y_storage) return false;
    y = y_storage.get() + (16 - reinterpret_cast<std::uintptr_t>(y_storage.get()) / sizeof(float) % 16) % 16;
    for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<float>(i % 251) - 125.0f, y[i] = 0.0f;  // pages touched
    mask.assign(mask_words(n), 0x5A5A5A5A5A5A5A5Aull);
    return true;
  }
};

constexpr double kP = 0.3;  // the drop probability calibrated at (the report's headline p)
constexpr Stream kStream{0x5EED, 0, Generator::philox4x32_10};

// Runs `work` once on table k over the buffers; stream: streaming stores (the memory class).
void run_once(const KernelTable& k, Work work, Buffers& b, bool stream) {
  const std::uint64_t t = drop_threshold(kP);
  const float scale = scale_of<float>(kP);
  switch (work) {
    case Work::mask:
      k.mask(b.mask.data(), b.n, kStream.seed, kStream.offset, t, kStream.generator);
      break;
    case Work::fused:  // one block of the dropout pass, on this thread
      run_fused_block(FusedPass{&k, b.n, kStream, t, nullptr, stream, use_prefetch(b.n * sizeof(float))},
                      dropout_step(k, b.x.get(), b.y, scale, stream), dropout_pipelined(k, b.x.get(), b.y, scale));
      break;
    case Work::apply:
      k.of<float>().apply(b.x.get(), b.y, b.mask.data(), b.n, scale, stream);
      break;
    case Work::gaussian:
      k.of<float>().gaussian(b.x.get(), b.y, b.n,
                             Pass{kStream.seed, kStream.offset, t, kStream.generator, nullptr, false}, 0.5f);
      break;
  }
}

// Seconds of the fastest of `rounds` runs per path, the paths alternating within each round; each run
// repeats the work `repeat` times.
std::vector<double> best_seconds(const std::vector<Isa>& paths, Work work, Buffers& b, bool stream, int rounds,
                                 int repeat) {
  std::vector<double> best(paths.size(), 1e30);
  for (std::size_t i = 0; i < paths.size(); ++i) run_once(table_of(paths[i]), work, b, stream);  // warm up
  for (int r = 0; r < rounds; ++r)
    for (std::size_t i = 0; i < paths.size(); ++i) {
      const KernelTable& k = table_of(paths[i]);
      const auto t0 = Clock::now();
      for (int k_rep = 0; k_rep < repeat; ++k_rep) run_once(k, work, b, stream);
      best[i] = std::min(best[i], std::chrono::duration<double>(Clock::now() - t0).count() / repeat);
    }
  return best;
}

void add_entries(std::vector<CalibrationEntry>& out, const std::vector<Isa>& paths, Work work, SizeClass c,
                 std::size_t elements, const std::vector<double>& seconds) {
  for (std::size_t i = 0; i < paths.size(); ++i)
    out.push_back({work, c, paths[i], static_cast<double>(elements) / seconds[i] * 1e-9});
}

}  // namespace

std::vector<CalibrationEntry> measure_class(SizeClass size_class, const std::vector<Isa>& paths) {
  std::vector<CalibrationEntry> out;
  Buffers b;
  if (size_class == SizeClass::cache) {
    // Input and output together in half of L2 (16 KiB .. 128 KiB per array): about 1 ms in all.
    const std::size_t l2 = cache_sizes().l2 != 0 ? cache_sizes().l2 : (std::size_t{512} << 10);
    const std::size_t n = std::clamp<std::size_t>(l2 / 4 / sizeof(float) / 4096 * 4096, 4096, 32768);
    if (!b.allocate(n)) return out;
    for (Work w : {Work::mask, Work::fused, Work::apply})
      add_entries(out, paths, w, size_class, n, best_seconds(paths, w, b, /*stream=*/false, 7, 4));
    Buffers g;  // Gaussian noise costs ~1 ns per element: a quarter of the elements
    if (!g.allocate(n / 4)) return out;
    add_entries(out, paths, Work::gaussian, size_class, n / 4, best_seconds(paths, Work::gaussian, g, false, 7, 2));
    return out;
  }
  // The memory class: arrays twice the streaming threshold (the smallest memory-class output beyond the
  // threshold's own size), 8 .. 64 MiB each; fused and apply only, with streaming stores.
  const std::size_t bytes =
      std::clamp<std::size_t>(2 * std::min<std::size_t>(stream_threshold(), std::size_t{32} << 20),
                              std::size_t{8} << 20, std::size_t{64} << 20);
  const std::size_t n = bytes / sizeof(float) / 4096 * 4096;
  if (!b.allocate(n)) return out;
  for (Work w : {Work::fused, Work::apply})
    add_entries(out, paths, w, size_class, n, best_seconds(paths, w, b, /*stream=*/true, 3, 1));
  return out;
}

}  // namespace simdrop::detail
