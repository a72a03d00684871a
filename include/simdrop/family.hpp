// The dropout family: channel (Dropout2d/3d, SpatialDropout), time-shared ("variational", "locked"),
// alpha (SELU networks), Gaussian, and the transformer's fused bias-dropout-residual, each with its
// backward passes (from a stored mask and regenerated from the stream).
//
// The guarantees are the core's (simdrop/dropout.hpp): every decision is a pure function of the stream,
// p and the element's position, so results do not depend on threads, ISA path, alignment or grain; all
// arguments are checked before anything is written, and a bad one throws std::invalid_argument naming it.
// Output buffers may be the very same buffer as an input of the same shape (in place); any other
// overlap is an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <simdrop/dropout.hpp>
#include <span>

namespace simdrop {

// ---- Channel dropout ---------------------------------------------------------------------------------
// x is [batch, channels, spatial] (nchw) or [batch, spatial, channels] (nhwc), spatial being the product of
// the spatial extents (H*W, or D*H*W). Whole (b, c) planes are dropped: plane k = b * channels + c is kept
// iff bit k of make_mask(batch * channels, p, s) is set; y = kept ? x * scale : +0.0, scale = 1 / (1 - p).
// A non-empty mask receives those batch * channels bits (layout as make_mask).
enum class Layout { nchw, nhwc };

void channel_dropout_forward(std::span<const float> x, std::span<float> y, std::size_t batch, std::size_t channels,
                             std::size_t spatial, Layout layout, double p, Stream s,
                             std::span<std::uint64_t> mask = {});
void channel_dropout_forward(std::span<const double> x, std::span<double> y, std::size_t batch, std::size_t channels,
                             std::size_t spatial, Layout layout, double p, Stream s,
                             std::span<std::uint64_t> mask = {});
// dx = kept(plane) ? dy * scale : +0.0, from the plane mask the forward stored ...
void channel_dropout_backward(std::span<const float> dy, std::span<const std::uint64_t> mask, std::span<float> dx,
                              std::size_t batch, std::size_t channels, std::size_t spatial, Layout layout, double p);
void channel_dropout_backward(std::span<const double> dy, std::span<const std::uint64_t> mask, std::span<double> dx,
                              std::size_t batch, std::size_t channels, std::size_t spatial, Layout layout, double p);
// ... or regenerated from the forward's stream.
void channel_dropout_backward(std::span<const float> dy, std::span<float> dx, std::size_t batch, std::size_t channels,
                              std::size_t spatial, Layout layout, double p, Stream s);
void channel_dropout_backward(std::span<const double> dy, std::span<double> dx, std::size_t batch, std::size_t channels,
                              std::size_t spatial, Layout layout, double p, Stream s);

// ---- Time-shared dropout -----------------------------------------------------------------------------
// x is [steps, row]; one mask of `row` bits (make_mask(row, p, s)) is shared by every step:
// y[t, j] = kept(j) ? x[t, j] * scale : +0.0. A non-empty mask receives the row bits.
void shared_dropout_forward(std::span<const float> x, std::span<float> y, std::size_t steps, std::size_t row, double p,
                            Stream s, std::span<std::uint64_t> mask = {});
void shared_dropout_forward(std::span<const double> x, std::span<double> y, std::size_t steps, std::size_t row,
                            double p, Stream s, std::span<std::uint64_t> mask = {});
void shared_dropout_backward(std::span<const float> dy, std::span<const std::uint64_t> mask, std::span<float> dx,
                             std::size_t steps, std::size_t row, double p);
void shared_dropout_backward(std::span<const double> dy, std::span<const std::uint64_t> mask, std::span<double> dx,
                             std::size_t steps, std::size_t row, double p);
void shared_dropout_backward(std::span<const float> dy, std::span<float> dx, std::size_t steps, std::size_t row,
                             double p, Stream s);
void shared_dropout_backward(std::span<const double> dy, std::span<double> dx, std::size_t steps, std::size_t row,
                             double p, Stream s);

// ---- Alpha dropout (Klambauer et al., 2017) ------------------------------------------------------------
// Keep-mask as make_mask(n, p, s); kept -> a * x + b, dropped -> a * alpha' + b, with
// alpha' = -1.7580993408473766 (-lambda * alpha of SELU), a = ((1 - p) * (1 + p * alpha'^2))^(-1/2) and
// b = -a * alpha' * p, which keep mean 0 and variance 1 of a standard-normal input. p must be in [0, 1).
inline constexpr double kAlphaPrime = -1.7580993408473766;
struct AlphaCoefficients {
  double a;        // multiplies kept inputs
  double b;        // added to kept inputs
  double dropped;  // the value of a dropped element: a * alpha' + b
};
// The coefficients for p (throws std::invalid_argument naming "p" outside [0, 1)). The kernels use them
// rounded to the element type: fp32 computes float(a) * x + float(b) (two roundings, no fused multiply-add)
// and writes float(dropped).
AlphaCoefficients alpha_dropout_coefficients(double p);

void alpha_dropout_forward(std::span<const float> x, std::span<float> y, double p, Stream s,
                           std::span<std::uint64_t> mask = {});
void alpha_dropout_forward(std::span<const double> x, std::span<double> y, double p, Stream s,
                           std::span<std::uint64_t> mask = {});
// dx = kept ? a * dy : +0.0 (a dropped element's output is a constant).
void alpha_dropout_backward(std::span<const float> dy, std::span<const std::uint64_t> mask, std::span<float> dx,
                            double p);
void alpha_dropout_backward(std::span<const double> dy, std::span<const std::uint64_t> mask, std::span<double> dx,
                            double p);
void alpha_dropout_backward(std::span<const float> dy, std::span<float> dx, double p, Stream s);
void alpha_dropout_backward(std::span<const double> dy, std::span<double> dx, double p, Stream s);

// ---- Gaussian dropout ----------------------------------------------------------------------------------
// y = x * e with e = 1 + sigma * z, sigma = sqrt(p / (1 - p)), so E[y] = x and Var[y] = x^2 p / (1 - p).
// z is a standard normal from the same counter-based stream (its own domain, 1, so it never reuses the
// keep masks' numbers): element g = offset + i reads the block of counter {lo32(g / 4), hi32(g / 4), 0, 1}
// and, by Box-Muller on its word pair (w0, w1) or (w2, w3), takes the cosine (g even) or sine (g odd)
// normal. e is computed in float (sigma rounded to float) with simdrop's own log, sine and cosine, the
// same operations on every path, so every path gives the same bits; fp64 multiplies by double(e).
// |z| <= 6.77 (the 32-bit uniform's smallest value). p must be in [0, 1); p = 0 gives y = x.
void gaussian_dropout_forward(std::span<const float> x, std::span<float> y, double p, Stream s);
void gaussian_dropout_forward(std::span<const double> x, std::span<double> y, double p, Stream s);
// dx = dy * e with the forward's e, regenerated (nothing is stored).
void gaussian_dropout_backward(std::span<const float> dy, std::span<float> dx, double p, Stream s);
void gaussian_dropout_backward(std::span<const double> dy, std::span<double> dx, double p, Stream s);

// ---- Fused bias-dropout-residual -------------------------------------------------------------------------
// x and residual are [rows, cols] (rows = x.size() / bias.size()), bias is [cols]:
// y = residual + (kept ? (x + bias) * scale : 0), keep-mask as make_mask(rows * cols, p, s), evaluated in
// that order in the element type. y may be the same buffer as x or as residual (residual += ... in place).
void bias_dropout_add_forward(std::span<const float> x, std::span<const float> bias, std::span<const float> residual,
                              std::span<float> y, double p, Stream s, std::span<std::uint64_t> mask = {});
void bias_dropout_add_forward(std::span<const double> x, std::span<const double> bias, std::span<const double> residual,
                              std::span<double> y, double p, Stream s, std::span<std::uint64_t> mask = {});
// With dy the gradient of y: the residual's gradient is dy itself; dx = kept ? dy * scale : +0.0; and
// dbias[c] = the sum over rows of dx[r, c] in double, rounded once: rows in blocks of 256, each block
// summed in row order, the blocks' sums added in block order, so it is the same for any thread count
// and grain. dbias.size() gives cols.
void bias_dropout_add_backward(std::span<const float> dy, std::span<const std::uint64_t> mask, std::span<float> dx,
                               std::span<float> dbias, double p);
void bias_dropout_add_backward(std::span<const double> dy, std::span<const std::uint64_t> mask, std::span<double> dx,
                               std::span<double> dbias, double p);
void bias_dropout_add_backward(std::span<const float> dy, std::span<float> dx, std::span<float> dbias, double p,
                               Stream s);
void bias_dropout_add_backward(std::span<const double> dy, std::span<double> dx, std::span<double> dbias, double p,
                               Stream s);

// ---- 16-bit element types ---------------------------------------------------------------------------------
// Every function above also takes bfloat16 and float16 (simdrop/half.hpp) with the same arguments. Masks are
// fp32's; values are the fp32 expressions evaluated in float on the widened inputs, rounded once to the type:
// alpha round(float(a) * x + float(b)), dropped round(float(dropped)); Gaussian round(x * e) with fp32's e;
// bias-dropout-residual the fp32 expression on widened x, bias and residual; dbias summed in double as for
// fp32 and rounded once to the type. (For every type: where two NaN inputs meet in one element, as in
// bias-dropout-residual, the result is a NaN whose payload is either input's.)
void channel_dropout_forward(std::span<const bfloat16> x, std::span<bfloat16> y, std::size_t batch,
                             std::size_t channels, std::size_t spatial, Layout layout, double p, Stream s,
                             std::span<std::uint64_t> mask = {});
void channel_dropout_backward(std::span<const bfloat16> dy, std::span<const std::uint64_t> mask, std::span<bfloat16> dx,
                              std::size_t batch, std::size_t channels, std::size_t spatial, Layout layout, double p);
void channel_dropout_backward(std::span<const bfloat16> dy, std::span<bfloat16> dx, std::size_t batch,
                              std::size_t channels, std::size_t spatial, Layout layout, double p, Stream s);
void shared_dropout_forward(std::span<const bfloat16> x, std::span<bfloat16> y, std::size_t steps, std::size_t row,
                            double p, Stream s, std::span<std::uint64_t> mask = {});
void shared_dropout_backward(std::span<const bfloat16> dy, std::span<const std::uint64_t> mask, std::span<bfloat16> dx,
                             std::size_t steps, std::size_t row, double p);
void shared_dropout_backward(std::span<const bfloat16> dy, std::span<bfloat16> dx, std::size_t steps, std::size_t row,
                             double p, Stream s);
void alpha_dropout_forward(std::span<const bfloat16> x, std::span<bfloat16> y, double p, Stream s,
                           std::span<std::uint64_t> mask = {});
void alpha_dropout_backward(std::span<const bfloat16> dy, std::span<const std::uint64_t> mask, std::span<bfloat16> dx,
                            double p);
void alpha_dropout_backward(std::span<const bfloat16> dy, std::span<bfloat16> dx, double p, Stream s);
void gaussian_dropout_forward(std::span<const bfloat16> x, std::span<bfloat16> y, double p, Stream s);
void gaussian_dropout_backward(std::span<const bfloat16> dy, std::span<bfloat16> dx, double p, Stream s);
void bias_dropout_add_forward(std::span<const bfloat16> x, std::span<const bfloat16> bias,
                              std::span<const bfloat16> residual, std::span<bfloat16> y, double p, Stream s,
                              std::span<std::uint64_t> mask = {});
void bias_dropout_add_backward(std::span<const bfloat16> dy, std::span<const std::uint64_t> mask,
                               std::span<bfloat16> dx, std::span<bfloat16> dbias, double p);
void bias_dropout_add_backward(std::span<const bfloat16> dy, std::span<bfloat16> dx, std::span<bfloat16> dbias,
                               double p, Stream s);
void channel_dropout_forward(std::span<const float16> x, std::span<float16> y, std::size_t batch, std::size_t channels,
                             std::size_t spatial, Layout layout, double p, Stream s,
                             std::span<std::uint64_t> mask = {});
void channel_dropout_backward(std::span<const float16> dy, std::span<const std::uint64_t> mask, std::span<float16> dx,
                              std::size_t batch, std::size_t channels, std::size_t spatial, Layout layout, double p);
void channel_dropout_backward(std::span<const float16> dy, std::span<float16> dx, std::size_t batch,
                              std::size_t channels, std::size_t spatial, Layout layout, double p, Stream s);
void shared_dropout_forward(std::span<const float16> x, std::span<float16> y, std::size_t steps, std::size_t row,
                            double p, Stream s, std::span<std::uint64_t> mask = {});
void shared_dropout_backward(std::span<const float16> dy, std::span<const std::uint64_t> mask, std::span<float16> dx,
                             std::size_t steps, std::size_t row, double p);
void shared_dropout_backward(std::span<const float16> dy, std::span<float16> dx, std::size_t steps, std::size_t row,
                             double p, Stream s);
void alpha_dropout_forward(std::span<const float16> x, std::span<float16> y, double p, Stream s,
                           std::span<std::uint64_t> mask = {});
void alpha_dropout_backward(std::span<const float16> dy, std::span<const std::uint64_t> mask, std::span<float16> dx,
                            double p);
void alpha_dropout_backward(std::span<const float16> dy, std::span<float16> dx, double p, Stream s);
void gaussian_dropout_forward(std::span<const float16> x, std::span<float16> y, double p, Stream s);
void gaussian_dropout_backward(std::span<const float16> dy, std::span<float16> dx, double p, Stream s);
void bias_dropout_add_forward(std::span<const float16> x, std::span<const float16> bias,
                              std::span<const float16> residual, std::span<float16> y, double p, Stream s,
                              std::span<std::uint64_t> mask = {});
void bias_dropout_add_backward(std::span<const float16> dy, std::span<const std::uint64_t> mask, std::span<float16> dx,
                               std::span<float16> dbias, double p);
void bias_dropout_add_backward(std::span<const float16> dy, std::span<float16> dx, std::span<float16> dbias, double p,
                               Stream s);

}  // namespace simdrop
