#include "parallel.hpp"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>

namespace simdrop {

namespace {
std::atomic<std::size_t> g_grain{65536};
std::atomic<std::size_t> g_stream_threshold{0};
std::atomic<bool> g_stream_threshold_set{false};  // until set_stream_threshold, the default applies

// Half the last-level cache (from there on, input and output of a call together no longer fit in it), at most
// kMaxStreamThreshold: the L3 a core has to itself is rarely larger (a Zen CCX has 32 MiB), and a virtual
// machine may report its host's whole L3. The Xeon VM this was measured on reports 480 MiB; with 240 MiB as the
// threshold a 64 MiB forward went through the caches in 12.2-12.9 ms (avx512 path, one core) against 8.7-9.3
// streamed, the regenerated backward 12.2-12.5 against 6.9-8.6; at 16 MiB streaming was even (forward) to 10%
// slower (backward), so the cap leaves 16 MiB outputs cached.
constexpr std::size_t kMaxStreamThreshold = std::size_t{32} << 20;
std::size_t default_stream_threshold() noexcept {
  const std::size_t llc = cache_sizes().l3 != 0 ? cache_sizes().l3 : cache_sizes().l2;
  return llc != 0 ? std::min(llc / 2, kMaxStreamThreshold) : std::size_t{16} << 20;
}
}  // namespace

void set_grain_size(std::size_t elements) {
  if (elements == 0 || elements % 64 != 0)
    throw std::invalid_argument("elements: grain size must be a positive multiple of 64, got " +
                                std::to_string(elements));
  g_grain.store(elements, std::memory_order_relaxed);
}

std::size_t grain_size() noexcept { return g_grain.load(std::memory_order_relaxed); }

void set_stream_threshold(std::size_t bytes) noexcept {
  g_stream_threshold.store(bytes, std::memory_order_relaxed);
  g_stream_threshold_set.store(true, std::memory_order_release);
}

std::size_t stream_threshold() noexcept {
  if (g_stream_threshold_set.load(std::memory_order_acquire)) return g_stream_threshold.load(std::memory_order_relaxed);
  static const std::size_t fallback = default_stream_threshold();
  return fallback;
}

}  // namespace simdrop
