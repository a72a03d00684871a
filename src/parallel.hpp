// oneTBB batching over fixed blocks addressed by call index: block b is [b * grain, (b + 1) * grain).
// Blocks start at multiples of 64, so each owns whole mask words; as every decision is a function of
// the global index alone, neither the grain nor the thread count nor TBB's partition changes a result.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstddef>

#include <simdrop/runtime.hpp>

namespace simdrop::detail {

// Calls body(begin, end) over [0, n) in blocks of grain_size(), in parallel where there are two or more.
template <class Body>
void for_each_block(std::size_t n, const Body& body) {
  const std::size_t grain = grain_size();
  const std::size_t blocks = (n + grain - 1) / grain;
  if (blocks < 2) {
    if (n > 0) body(std::size_t{0}, n);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, blocks, 1), [&](const tbb::blocked_range<std::size_t>& r) {
    for (std::size_t b = r.begin(); b != r.end(); ++b) body(b * grain, std::min(n, (b + 1) * grain));
  });
}

}  // namespace simdrop::detail
