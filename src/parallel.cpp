#include "parallel.hpp"

#include <atomic>
#include <stdexcept>
#include <string>

namespace simdrop {

namespace {
std::atomic<std::size_t> g_grain{65536};
}  // namespace

void set_grain_size(std::size_t elements) {
  if (elements == 0 || elements % 64 != 0)
    throw std::invalid_argument("elements: grain size must be a positive multiple of 64, got " +
                                std::to_string(elements));
  g_grain.store(elements, std::memory_order_relaxed);
}

std::size_t grain_size() noexcept { return g_grain.load(std::memory_order_relaxed); }

}  // namespace simdrop
