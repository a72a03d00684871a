// The dropout family's entry points (simdrop/family.hpp): argument checks (all before any write), then
// the active path's kernels over oneTBB blocks, reusing the core's pieces: make_mask's generator, the
// fused step loop and the SIMD apply.

#include <cmath>
#include <simdrop/family.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "checks.hpp"
#include "dispatch.hpp"
#include "family_bits.hpp"
#include "fused.hpp"
#include "parallel.hpp"

namespace simdrop {
namespace detail {
namespace {

// ---- Channel and time-shared dropout: a plane mask, expanded step by step and applied ----------------

template <class T>
void apply_planes(std::span<const T> in, std::span<T> out, const std::uint64_t* planes, const PlaneShape& shape,
                  compute_t<T> scale) {
  const TypedKernels<T>& k = kernels_for<T>(Work::apply, out.size_bytes()).template of<T>();
  const bool stream = use_streaming(out.size_bytes());
  if (shape.layout == Layout::nchw && shape.spatial >= 64 && !stream) {
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
PlaneShape shared_shape(std::size_t steps, std::size_t row) { return {1, row, steps, Layout::nhwc}; }

// ---- Element-wise variants: fused mask steps and a kernel of the family ------------------------------

// out = keep ? in * scale : +0.0 with the keep bits regenerated from s: the core's fused dropout pass.
template <class T>
void regenerated_dropout(std::span<const T> in, std::span<T> out, double p, Stream s, compute_t<T> scale) {
  dropout_pass(kernels_for<T>(Work::fused, out.size_bytes()), in.data(), out.data(), in.size(), drop_threshold(p), s, scale, nullptr,
               use_streaming(out.size_bytes()));
}

template <class T>
void alpha_forward(std::span<const T> x, std::span<T> y, double p, Stream s, std::span<std::uint64_t> mask) {
  const AlphaCoefficients c = alpha_dropout_coefficients(p);
  check_elementwise(x, y, s, mask, kForward);
  const KernelTable& table = kernels_for<T>(Work::fused, y.size_bytes());
  const TypedKernels<T>& k = table.of<T>();
  using C = compute_t<T>;
  const Affine<C> coefficients{static_cast<C>(c.a), static_cast<C>(c.b), static_cast<C>(c.dropped)};
  const bool stream = use_streaming(y.size_bytes());
  const std::uint64_t t = drop_threshold(p);
  fused_blocks(
      table, x.size(), t, s, mask.empty() ? nullptr : mask.data(),
      [&](std::size_t i, std::size_t m, const std::uint64_t* bits) {
        k.affine(x.data() + i, y.data() + i, bits, m, coefficients, stream);
      },
      [&](std::size_t i, std::size_t count, std::uint64_t offset, std::uint64_t* out) {
        return k.affine_pipelined(x.data() + i, y.data() + i, count, pass_at(s, offset, t, out, stream), coefficients);
      });
}

// dx = kept ? a * dy : +0.0, from a stored mask or regenerated.
template <class T>
void alpha_backward(std::span<const T> dy, std::span<const std::uint64_t> mask, std::span<T> dx, double p) {
  const AlphaCoefficients c = alpha_dropout_coefficients(p);
  check_same_size(dy.size(), dx.size(), "dy", "dx");
  check_no_overlap(dy, dx, "dy", "dx", /*allow_same=*/true);
  check_mask_out<T>(mask, dy.size(), dy, dx, kBackward);
  masked_pass(kernels_for<T>(Work::apply, dx.size_bytes()), dy.data(), dx.data(), mask.data(), dy.size(),
              static_cast<compute_t<T>>(c.a), use_streaming(dx.size_bytes()));
}
template <class T>
void alpha_backward(std::span<const T> dy, std::span<T> dx, double p, Stream s) {
  const AlphaCoefficients c = alpha_dropout_coefficients(p);
  check_elementwise(dy, dx, s, {}, kBackward);
  regenerated_dropout(dy, dx, p, s, static_cast<compute_t<T>>(c.a));
}

template <class T>
void gaussian_call(std::span<const T> in, std::span<T> out, double p, Stream s, Names names) {
  check_probability_below_one(p, "gaussian dropout");
  check_elementwise(in, out, s, {}, names);
  const TypedKernels<T>& k = kernels_for<T>(Work::gaussian, out.size_bytes()).template of<T>();
  const float sigma = static_cast<float>(std::sqrt(p / (1.0 - p)));
  for_each_block(in.size(), [&](std::size_t b, std::size_t e) {
    k.gaussian(in.data() + b, out.data() + b, e - b, pass_at(s, s.offset + b, 0, nullptr, false), sigma);
  });
}

// ---- Bias-dropout-residual ------------------------------------------------------------------------------

// Checks that `elements` is a whole number of rows of `cols` (the bias or dbias length).
void check_rows(std::size_t elements, std::size_t cols, std::string_view buffer, std::string_view bias_name) {
  if (cols == 0 && elements != 0)
    fail_argument(bias_name, "is empty but " + std::string(buffer) + " has " + std::to_string(elements) + " elements");
  if (cols != 0 && elements % cols != 0)
    fail_argument(buffer, "has " + std::to_string(elements) + " elements, not a whole number of rows of " +
                              std::string(bias_name) + ".size() = " + std::to_string(cols));
}

template <class T>
void bias_dropout_add(std::span<const T> x, std::span<const T> bias, std::span<const T> residual, std::span<T> y,
                      double p, Stream s, std::span<std::uint64_t> mask) {
  check_probability(p);
  check_rows(x.size(), bias.size(), "x", "bias");
  check_same_size(x.size(), residual.size(), "x", "residual");
  check_no_overlap(bias, y, "bias", "y", false);
  check_no_overlap(residual, y, "residual", "y", /*allow_same=*/true);
  if (!mask.empty()) {
    check_no_overlap(bias, mask, "bias", "mask", false);
    check_no_overlap(residual, mask, "residual", "mask", false);
  }
  check_elementwise(x, y, s, mask, kForward);
  const KernelTable& table = kernels_for<T>(Work::fused, y.size_bytes());
  const TypedKernels<T>& k = table.of<T>();
  const compute_t<T> scale = scale_of<T>(p);
  const std::size_t cols = bias.size();
  const bool stream = use_streaming(y.size_bytes());
  const std::uint64_t t = drop_threshold(p);
  fused_blocks(
      table, x.size(), t, s, mask.empty() ? nullptr : mask.data(),
      [&](std::size_t i, std::size_t m, const std::uint64_t* bits) {
        k.bias_add(x.data() + i, bias.data(), cols, i % cols, residual.data() + i, y.data() + i, bits, m, scale,
                   stream);
      },
      [&](std::size_t i, std::size_t count, std::uint64_t offset, std::uint64_t* out) {
        return k.bias_add_pipelined(x.data() + i, bias.data(), cols, i % cols, residual.data() + i, y.data() + i,
                                    count, pass_at(s, offset, t, out, stream), scale);
      });
}

// dbias: rows are taken in blocks of kRowsPerPartial; each block's column sums (double, rows in order) are
// one task's, and dbias[c] adds the blocks' sums in block order, then rounds once. The blocks are fixed,
// so the result does not depend on the thread count or the grain.
constexpr std::size_t kRowsPerPartial = 256;

// Column sums of the dx rows of each row block into partial[block * cols ...]; row_dx(r) returns dx's row r
// (after producing it, where the caller fuses that in).
template <class T, class RowDx>
std::vector<double> block_column_sums(std::size_t rows, std::size_t cols, const RowDx& row_dx) {
  const TypedKernels<T>& k = kernels_for<T>(Work::apply, 0).template of<T>();
  const std::size_t blocks = (rows + kRowsPerPartial - 1) / kRowsPerPartial;
  std::vector<double> partial(blocks * cols, 0.0);
  parallel_blocks(blocks, [&](std::size_t b) {
    double* acc = partial.data() + b * cols;
    for (std::size_t row = b * kRowsPerPartial; row < std::min(rows, (b + 1) * kRowsPerPartial); ++row)
      k.accumulate(row_dx(row), acc, cols);
  });
  return partial;
}

template <class T>
void finish_dbias(const std::vector<double>& partial, std::span<T> dbias) {
  const std::size_t cols = dbias.size(), blocks = cols == 0 ? 0 : partial.size() / cols;
  for (std::size_t c = 0; c < cols; ++c) {
    double sum = 0;
    for (std::size_t b = 0; b < blocks; ++b) sum += partial[b * cols + c];
    dbias[c] = narrow_from_double<T>(sum);  // rounded once
  }
}

template <class T>
void check_bias_backward(std::span<const T> dy, std::span<T> dx, std::span<T> dbias, double p) {
  check_probability(p);
  check_same_size(dy.size(), dx.size(), "dy", "dx");
  check_rows(dy.size(), dbias.size(), "dy", "dbias");
  check_no_overlap(dy, dx, "dy", "dx", /*allow_same=*/true);
  check_no_overlap(dy, std::span<const T>(dbias), "dy", "dbias", false);
  check_no_overlap(std::span<const T>(dx), std::span<const T>(dbias), "dx", "dbias", false);
}

template <class T>
void bias_backward(std::span<const T> dy, std::span<const std::uint64_t> mask, std::span<T> dx, std::span<T> dbias,
                   double p) {
  check_bias_backward(dy, dx, dbias, p);
  check_mask_out<T>(mask, dy.size(), dy, dx, kBackward);
  check_no_overlap(mask, std::span<const T>(dbias), "mask", "dbias", false);
  const KernelTable& table = kernels_for<T>(Work::apply, dx.size_bytes());
  const compute_t<T> scale = scale_of<T>(p);
  const std::size_t cols = dbias.size(), rows = cols == 0 ? 0 : dy.size() / cols;
  if (cols % 64 == 0) {
    // Rows start on mask words: each row of dx is made and summed while it is in L1 (one pass).
    finish_dbias(block_column_sums<T>(rows, cols,
                                      [&](std::size_t r) {
                                        const std::size_t i = r * cols;
                                        table.of<T>().apply(dy.data() + i, dx.data() + i, mask.data() + i / 64,
                                                            cols, scale, /*stream=*/false);
                                        return static_cast<const T*>(dx.data() + i);
                                      }),
                 dbias);
    return;
  }
  masked_pass(table, dy.data(), dx.data(), mask.data(), dy.size(), scale, use_streaming(dx.size_bytes()));
  finish_dbias(
      block_column_sums<T>(rows, cols, [&](std::size_t r) { return static_cast<const T*>(dx.data() + r * cols); }),
      dbias);
}

template <class T>
void bias_backward(std::span<const T> dy, std::span<T> dx, std::span<T> dbias, double p, Stream s) {
  check_bias_backward(dy, dx, dbias, p);
  check_stream(s, dy.size());
  regenerated_dropout(dy, dx, p, s, scale_of<T>(p));
  const std::size_t cols = dbias.size(), rows = cols == 0 ? 0 : dy.size() / cols;
  finish_dbias(
      block_column_sums<T>(rows, cols, [&](std::size_t r) { return static_cast<const T*>(dx.data() + r * cols); }),
      dbias);
}

}  // namespace
}  // namespace detail

using detail::kBackward;
using detail::kForward;

// ---- Channel ----
#define SIMDROP_CHANNEL(T)                                                                                       \
  void channel_dropout_forward(std::span<const T> x, std::span<T> y, std::size_t batch, std::size_t channels,    \
                               std::size_t spatial, Layout layout, double p, Stream s,                           \
                               std::span<std::uint64_t> mask) {                                                  \
    detail::channel_call(x, y, batch, channels, spatial, layout, p, kForward);                                   \
    detail::planes_forward(x, y, {batch, channels, spatial, layout}, p, s, mask, kForward);                      \
  }                                                                                                              \
  void channel_dropout_backward(std::span<const T> dy, std::span<const std::uint64_t> mask, std::span<T> dx,     \
                                std::size_t batch, std::size_t channels, std::size_t spatial, Layout layout,     \
                                double p) {                                                                      \
    detail::channel_call(dy, dx, batch, channels, spatial, layout, p, kBackward);                                \
    detail::planes_backward(dy, mask, dx, {batch, channels, spatial, layout}, p);                                \
  }                                                                                                              \
  void channel_dropout_backward(std::span<const T> dy, std::span<T> dx, std::size_t batch, std::size_t channels, \
                                std::size_t spatial, Layout layout, double p, Stream s) {                        \
    detail::channel_call(dy, dx, batch, channels, spatial, layout, p, kBackward);                                \
    detail::planes_forward(dy, dx, {batch, channels, spatial, layout}, p, s, {}, kBackward);                     \
  }
SIMDROP_ELEMENT_TYPES(SIMDROP_CHANNEL)
#undef SIMDROP_CHANNEL

// ---- Time-shared ----
#define SIMDROP_SHARED(T)                                                                                            \
  void shared_dropout_forward(std::span<const T> x, std::span<T> y, std::size_t steps, std::size_t row, double p,    \
                              Stream s, std::span<std::uint64_t> mask) {                                             \
    detail::shared_call(x, y, steps, row, p, kForward);                                                              \
    detail::planes_forward(x, y, detail::shared_shape(steps, row), p, s, mask, kForward);                            \
  }                                                                                                                  \
  void shared_dropout_backward(std::span<const T> dy, std::span<const std::uint64_t> mask, std::span<T> dx,          \
                               std::size_t steps, std::size_t row, double p) {                                       \
    detail::shared_call(dy, dx, steps, row, p, kBackward);                                                           \
    detail::planes_backward(dy, mask, dx, detail::shared_shape(steps, row), p);                                      \
  }                                                                                                                  \
  void shared_dropout_backward(std::span<const T> dy, std::span<T> dx, std::size_t steps, std::size_t row, double p, \
                               Stream s) {                                                                           \
    detail::shared_call(dy, dx, steps, row, p, kBackward);                                                           \
    detail::planes_forward(dy, dx, detail::shared_shape(steps, row), p, s, {}, kBackward);                           \
  }
SIMDROP_ELEMENT_TYPES(SIMDROP_SHARED)
#undef SIMDROP_SHARED

// ---- Alpha ----
AlphaCoefficients alpha_dropout_coefficients(double p) {
  detail::check_probability_below_one(p, "alpha dropout");
  const double a = 1.0 / std::sqrt((1.0 - p) * (1.0 + p * kAlphaPrime * kAlphaPrime));
  const double b = -a * kAlphaPrime * p;
  return {a, b, a * kAlphaPrime + b};
}

#define SIMDROP_ALPHA(T)                                                                                               \
  void alpha_dropout_forward(std::span<const T> x, std::span<T> y, double p, Stream s,                                 \
                             std::span<std::uint64_t> mask) {                                                          \
    detail::alpha_forward(x, y, p, s, mask);                                                                           \
  }                                                                                                                    \
  void alpha_dropout_backward(std::span<const T> dy, std::span<const std::uint64_t> mask, std::span<T> dx, double p) { \
    detail::alpha_backward(dy, mask, dx, p);                                                                           \
  }                                                                                                                    \
  void alpha_dropout_backward(std::span<const T> dy, std::span<T> dx, double p, Stream s) {                            \
    detail::alpha_backward(dy, dx, p, s);                                                                              \
  }
SIMDROP_ELEMENT_TYPES(SIMDROP_ALPHA)
#undef SIMDROP_ALPHA

// ---- Gaussian ----
#define SIMDROP_GAUSSIAN(T)                                                                    \
  void gaussian_dropout_forward(std::span<const T> x, std::span<T> y, double p, Stream s) {    \
    detail::gaussian_call(x, y, p, s, kForward);                                               \
  }                                                                                            \
  void gaussian_dropout_backward(std::span<const T> dy, std::span<T> dx, double p, Stream s) { \
    detail::gaussian_call(dy, dx, p, s, kBackward);                                            \
  }
SIMDROP_ELEMENT_TYPES(SIMDROP_GAUSSIAN)
#undef SIMDROP_GAUSSIAN

// ---- Bias-dropout-residual ----
#define SIMDROP_BIAS_DROPOUT_ADD(T)                                                                                \
  void bias_dropout_add_forward(std::span<const T> x, std::span<const T> bias, std::span<const T> residual,        \
                                std::span<T> y, double p, Stream s, std::span<std::uint64_t> mask) {               \
    detail::bias_dropout_add(x, bias, residual, y, p, s, mask);                                                    \
  }                                                                                                                \
  void bias_dropout_add_backward(std::span<const T> dy, std::span<const std::uint64_t> mask, std::span<T> dx,      \
                                 std::span<T> dbias, double p) {                                                   \
    detail::bias_backward(dy, mask, dx, dbias, p);                                                                 \
  }                                                                                                                \
  void bias_dropout_add_backward(std::span<const T> dy, std::span<T> dx, std::span<T> dbias, double p, Stream s) { \
    detail::bias_backward(dy, dx, dbias, p, s);                                                                    \
  }
SIMDROP_ELEMENT_TYPES(SIMDROP_BIAS_DROPOUT_ADD)
#undef SIMDROP_BIAS_DROPOUT_ADD

}  // namespace simdrop
