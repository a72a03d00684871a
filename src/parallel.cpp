#include "parallel.hpp"

#include <atomic>
#include <stdexcept>
#include <string>

namespace simdrop {

namespace {
std::atomic<std::size_t> g_grain{65536};
std::atomic<std::size_t> g_stream_threshold{std::size_t{16} << 20};
}  // namespace

void set_grain_size(std::size_t elements) {
  if (elements == 0 || elements % 64 != 0)
    throw std::invalid_argument("elements: grain size must be a positive multiple of 64, got " +
                                std::to_string(elements));
  g_grain.store(elements, std::memory_order_relaxed);
}

std::size_t grain_size() noexcept { return g_grain.load(std::memory_order_relaxed); }

void set_stream_threshold(std::size_t bytes) noexcept { g_stream_threshold.store(bytes, std::memory_order_relaxed); }

std::size_t stream_threshold() noexcept { return g_stream_threshold.load(std::memory_order_relaxed); }

}  // namespace simdrop
