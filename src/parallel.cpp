#include "parallel.hpp"

#include <atomic>
#include <stdexcept>
#include <string>

namespace simdrop {

namespace {
std::atomic<std::size_t> g_grain{65536};
std::atomic<std::size_t> g_stream_threshold{0};
std::atomic<bool> g_stream_threshold_set{false};  // until set_stream_threshold, the default applies

// Half the last-level cache: from there on, input and output of a call together no longer fit in it.
std::size_t default_stream_threshold() noexcept {
  const std::size_t llc = cache_sizes().l3 != 0 ? cache_sizes().l3 : cache_sizes().l2;
  return llc != 0 ? llc / 2 : std::size_t{16} << 20;
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
