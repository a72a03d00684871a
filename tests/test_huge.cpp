// One call over more than 2^31 elements (an 8 GiB fp32 buffer, in place): every 32-bit index or count would
// wrap here. The outputs are sampled in slices against make_mask of the same slice (offset + start), at the
// 2^31 boundary, at the ends and at pseudo-random places; the stream's offset also makes the generator's
// counter cross 2^32 inside the call. Needs about 8.1 GiB free: main() skips (exit code 77, which ctest
// reports as skipped, with the reason) where the memory is not available.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "support.hpp"

using namespace simdrop;
using namespace simdrop::test;

namespace {

// 6 * 358000001 = 2^31 + 516358 elements (many grains past 2^31): 6 planes of an odd length for channel
// dropout, so that planes start inside mask words.
constexpr std::size_t kPlanes = 6, kSpatial = 358000001, kN = kPlanes * kSpatial;
static_assert(kN > (std::size_t{1} << 31));
constexpr std::size_t kSlice = 4096;
const Stream kStream{0xB16, (std::uint64_t{1} << 32) - (std::uint64_t{1} << 30) + 3};  // counter passes 2^32

// The input: a value that names its position (mod 1021), so a write to the wrong place shows.
float input_at(std::size_t i) { return static_cast<float>(i % 1021) * 0.25f + 1.0f; }

struct Buffer {
  std::unique_ptr<float[]> data{new float[kN]};
  std::span<float> view() { return {data.get(), kN}; }
  void fill() {
    float* d = data.get();
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, kN, 1 << 20), [d](const tbb::blocked_range<std::size_t>& r) {
      for (std::size_t i = r.begin(); i != r.end(); ++i) d[i] = input_at(i);
    });
  }
};

// Where slices are checked: both ends, around 2^31 and around where the counter passes 2^32, and 48
// pseudo-random places (fixed seed).
std::vector<std::size_t> slice_starts() {
  const std::size_t two31 = std::size_t{1} << 31;
  const std::size_t counter_wrap = (std::size_t{1} << 30) - 3;  // offset + i = 2^32
  std::vector<std::size_t> starts = {0,           two31 - kSlice, two31 - kSlice / 2, two31, kN - kSlice,
                                     counter_wrap - kSlice / 2,   kSpatial - 100,     5 * kSpatial - 100};
  std::mt19937_64 gen(20261129);
  for (int k = 0; k < 48; ++k) starts.push_back(gen() % (kN - kSlice));
  for (std::size_t start : starts) REQUIRE(start + kSlice <= kN);
  return starts;
}

std::size_t mem_available_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::size_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return 0;
}

}  // namespace

TEST_CASE("dropout_forward over 2^31 + 516358 elements in place matches make_mask slices", "[huge]") {
  Buffer buf;
  buf.fill();
  const double p = 0.3;
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  dropout_forward(std::span<const float>(buf.view()), buf.view(), p, kStream);
  std::size_t kept = 0, checked = 0, wrong = 0;
  for (std::size_t start : slice_starts()) {
    const auto mask = mask_of(kSlice, p, Stream{kStream.seed, kStream.offset + start, kStream.generator});
    for (std::size_t j = 0; j < kSlice; ++j) {
      const std::size_t i = start + j;
      const float want = bit(mask, j) ? input_at(i) * scale : 0.0f;
      wrong += !(std::bit_cast<std::uint32_t>(buf.data[i]) == std::bit_cast<std::uint32_t>(want));
      kept += bit(mask, j);
      ++checked;
    }
  }
  INFO(checked << " elements checked, " << kept << " kept");
  CHECK(wrong == 0);
  // A sanity bound on the sample, not a statistical test: the keep fraction of 229376 samples is near 0.7.
  CHECK(kept > checked / 2);
  CHECK(kept < checked * 9 / 10);
}

TEST_CASE("channel dropout over 2^31 + 516358 elements (6 planes of an odd length) matches make_mask", "[huge]") {
  Buffer buf;
  buf.fill();
  const double p = 0.5;
  const float scale = 2.0f;
  // Planes [b, c] of 2 x 3; the plane mask is make_mask(6) of the stream. With p = 1/2, seed chosen so that
  // both kept and dropped planes occur (checked below, so a seed that stopped doing so would fail loudly).
  const Stream s{12, 0};
  std::vector<std::uint64_t> stored(1);
  channel_dropout_forward(std::span<const float>(buf.view()), buf.view(), 2, 3, kSpatial, Layout::nchw, p, s, stored);
  const auto planes = mask_of(kPlanes, p, s);
  CHECK(stored == planes);
  const auto kept_planes = count_kept(planes);
  REQUIRE(kept_planes > 0);
  REQUIRE(kept_planes < kPlanes);
  std::size_t wrong = 0;
  for (std::size_t start : slice_starts())
    for (std::size_t i = start; i < start + kSlice; ++i) {
      const float want = bit(planes, i / kSpatial) ? input_at(i) * scale : 0.0f;
      wrong += !(std::bit_cast<std::uint32_t>(buf.data[i]) == std::bit_cast<std::uint32_t>(want));
    }
  CHECK(wrong == 0);
}

int main(int argc, char** argv) {
  // The buffer and a margin for the rest of the process (and for tests ctest runs beside this one).
  const std::size_t need = kN * sizeof(float) + (std::size_t{1} << 30);
  const std::size_t available = mem_available_bytes();
  if (available < need) {
    std::printf("SKIPPED: one call over 2^31 + 516358 elements needs %.1f GiB available, this machine has %.1f GiB\n",
                static_cast<double>(need) / (1u << 30), static_cast<double>(available) / (1u << 30));
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
