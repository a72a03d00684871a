// Channel and time-shared dropout decide per plane (or per column), not per element: these helpers turn
// the small plane mask into the element mask of a span of the tensor, which the core's apply kernel
// then uses, so both variants run on the same SIMD apply as element-wise dropout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <simdrop/family.hpp>

namespace simdrop::detail {

// A tensor of batch x channels planes of `spatial` elements each, in either layout.
struct PlaneShape {
  std::size_t batch, channels, spatial;
  Layout layout;
};

// Writes bits [0, n) of out (mask_words(n) words, bits past n zero): bit j is the plane bit of element
// first + j, i.e. bit k of planes for plane k = b * channels + c of that element.
void expand_plane_bits(std::uint64_t* out, std::size_t first, std::size_t n, const std::uint64_t* planes,
                       const PlaneShape& shape) noexcept;

}  // namespace simdrop::detail
