// Channel dropout (Dropout2d/3d, SpatialDropout) and time-shared dropout ("variational", "locked"): one
// decision per plane (or column) from make_mask's generator, expanded step by step (plane_bits.hpp) and
// applied by the core's SIMD apply kernel.
#pragma once

#include <algorithm>
#include <cmath>
#include <simdrop/family.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "checks.hpp"
#include "fused.hpp"
#include "mask.hpp"
#include "parallel.hpp"
#include "runtime/dispatch.hpp"
#include "variants/plane_bits.hpp"

namespace simdrop {
namespace detail {

template <class T>
void apply_planes(std::span<const T> in, std::span<T> out, const std::uint64_t* planes, const PlaneShape& shape,
                  compute_t<T> scale) {
  const TypedKernels<T>& k = kernels_for<T>(Work::apply, out.size_bytes()).template of<T>();
  const bool stream = use_streaming(out.size_bytes(), out.data(), {in.data()});
  if (shape.layout == Layout::nchw && shape.spatial >= 64 && !beyond_caches(out.size_bytes())) {
    // Planes long enough to be runs: each is scaled or zeroed whole, with no mask bits per element. (Not for
    // outputs beyond the caches: skipping the input of dropped planes breaks the hardware prefetcher's
    // stream, and the element-mask form below was 20% faster there.)
    const std::size_t spatial = shape.spatial;
    for_each_block(in.size(), [&](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e;) {
        const std::size_t plane = i / spatial, m = std::min(spatial - i % spatial, e - i);
        const bool keep = (planes[plane / 64] >> (plane % 64)) & 1u;
        k.run_uniform(in.data() + i, out.data() + i, m, scale, keep, stream);
        i += m;
      }
    });
    return;
  }
  if (shape.layout == Layout::nhwc && shape.channels % 64 == 0) {
    // Rows of whole mask words: each row segment reads its image's plane bits in place, nothing to expand.
    // (Blocks start at multiples of 64, so every segment starts at a word of the plane mask.)
    const std::size_t channels = shape.channels, image = shape.spatial * channels;
    for_each_block(in.size(), [&](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e;) {
        const std::size_t c = i % channels, m = std::min(channels - c, e - i);
        k.apply(in.data() + i, out.data() + i, planes + (i / image * channels + c) / 64, m, scale, stream);
        i += m;
      }
    });
    return;
  }
  for_each_block(in.size(), [&](std::size_t b, std::size_t e) {
    std::uint64_t bits[kFusedElements / 64];
    for (std::size_t i = b; i < e; i += kFusedElements) {
      const std::size_t m = std::min(kFusedElements, e - i);
      expand_plane_bits(bits, i, m, planes, shape);
      k.apply(in.data() + i, out.data() + i, bits, m, scale, stream);
    }
  });
}

// The checks every plane-mask call shares (shape_dims spells the product the buffers must have).
template <class T>
void check_planes_call(std::span<const T> in, std::span<T> out, double p, Names names,
                       std::initializer_list<std::size_t> dims, std::string_view dims_text) {
  check_probability(p);
  check_same_size(in.size(), out.size(), names.in, names.out);
  check_shape(in.size(), names.in, dims, dims_text);
  check_no_overlap(in, out, names.in, names.out, /*allow_same=*/true);
}

// Forward (or regenerated backward): the plane mask from the stream, then applied.
template <class T>
void planes_forward(std::span<const T> in, std::span<T> out, const PlaneShape& shape, double p, Stream s,
                    std::span<std::uint64_t> mask, Names names) {
  const std::size_t planes = shape.batch * shape.channels;  // checked not to overflow by check_shape
  if (!mask.empty()) check_mask_out<T>(mask, planes, in, out, names);
  check_stream(s, planes);
  if (mask.empty() && in.empty()) return;
  std::vector<std::uint64_t> own;
  if (mask.empty()) own.resize(mask_words(planes));
  std::uint64_t* bits = mask.empty() ? own.data() : mask.data();
  generate_mask(bits, planes, drop_threshold(p), s);
  apply_planes(in, out, bits, shape, scale_of<T>(p));
}

template <class T>
void planes_backward(std::span<const T> dy, std::span<const std::uint64_t> mask, std::span<T> dx,
                     const PlaneShape& shape, double p) {
  check_mask_out<T>(mask, shape.batch * shape.channels, dy, dx, kBackward);
  apply_planes(dy, dx, mask.data(), shape, scale_of<T>(p));
}

template <class T>
void channel_call(std::span<const T> in, std::span<T> out, std::size_t batch, std::size_t channels, std::size_t spatial,
                  Layout layout, double p, Names names) {
  check_planes_call(in, out, p, names, {batch, channels, spatial}, "batch * channels * spatial");
  check_layout(layout);
}

template <class T>
void shared_call(std::span<const T> in, std::span<T> out, std::size_t steps, std::size_t row, double p, Names names) {
  check_planes_call(in, out, p, names, {steps, row}, "steps * row");
}

// A time-shared mask is channel dropout's nhwc plane map with one image of `steps` rows of `row` columns.
inline PlaneShape shared_shape(std::size_t steps, std::size_t row) { return {1, row, steps, Layout::nhwc}; }

}  // namespace detail

}  // namespace simdrop
