// The keep-mask definition's internal entry: the threshold a p becomes (drop_threshold, public in
// simdrop/dropout.hpp) and the mask of a stream without argument checks. docs/design.md gives the definition;
// src/reference/reference.cpp is its scalar statement.
#pragma once

#include <cstddef>
#include <cstdint>
#include <simdrop/stream.hpp>

namespace simdrop::detail {

// make_mask without its checks: the keep bits of stream positions [s.offset, s.offset + n) for threshold t,
// parallel over blocks, on the path chosen for mask work.
void generate_mask(std::uint64_t* mask, std::size_t n, std::uint64_t t, Stream s);

}  // namespace simdrop::detail
