// Every public entry point of the library, defined here, visibly, one line of declaration per element type in
// the order of ElementTypes (src/element.hpp); simdrop/dropout.hpp and simdrop/family.hpp declare the same list.
// Each calls its variant's templates (src/variants/<variant>.hpp: the argument checks, then the fused passes).
// make_mask, drop_threshold and effective_drop_probability are the mask's (src/mask.cpp).
#include <cmath>
#include <simdrop/dropout.hpp>
#include <simdrop/family.hpp>

#include "variants/alpha.hpp"
#include "variants/bias_dropout_add.hpp"
#include "variants/dropout.hpp"
#include "variants/gaussian.hpp"
#include "variants/planes.hpp"

namespace simdrop {

using detail::kBackward;
using detail::kForward;

// ---- Element-wise dropout (simdrop/dropout.hpp) ----
// each calling the templates above.
void dropout_forward(std::span<const float> x, std::span<float> y, double p, Stream s, std::span<std::uint64_t> mask) {
  detail::core_forward(x, y, p, s, mask, detail::kForward);
}
void dropout_backward(std::span<const float> dy, std::span<const std::uint64_t> mask, std::span<float> dx, double p) {
  detail::core_backward(dy, mask, dx, p);
}
void dropout_backward(std::span<const float> dy, std::span<float> dx, double p, Stream s) {
  detail::core_forward(dy, dx, p, s, {}, detail::kBackward);
}
void dropout_forward(std::span<const double> x, std::span<double> y, double p, Stream s,
                     std::span<std::uint64_t> mask) {
  detail::core_forward(x, y, p, s, mask, detail::kForward);
}
void dropout_backward(std::span<const double> dy, std::span<const std::uint64_t> mask, std::span<double> dx, double p) {
  detail::core_backward(dy, mask, dx, p);
}
void dropout_backward(std::span<const double> dy, std::span<double> dx, double p, Stream s) {
  detail::core_forward(dy, dx, p, s, {}, detail::kBackward);
}
void dropout_forward(std::span<const bfloat16> x, std::span<bfloat16> y, double p, Stream s,
                     std::span<std::uint64_t> mask) {
  detail::core_forward(x, y, p, s, mask, detail::kForward);
}
void dropout_backward(std::span<const bfloat16> dy, std::span<const std::uint64_t> mask, std::span<bfloat16> dx,
                      double p) {
  detail::core_backward(dy, mask, dx, p);
}
void dropout_backward(std::span<const bfloat16> dy, std::span<bfloat16> dx, double p, Stream s) {
  detail::core_forward(dy, dx, p, s, {}, detail::kBackward);
}
void dropout_forward(std::span<const float16> x, std::span<float16> y, double p, Stream s,
                     std::span<std::uint64_t> mask) {
  detail::core_forward(x, y, p, s, mask, detail::kForward);
}
void dropout_backward(std::span<const float16> dy, std::span<const std::uint64_t> mask, std::span<float16> dx,
                      double p) {
  detail::core_backward(dy, mask, dx, p);
}
void dropout_backward(std::span<const float16> dy, std::span<float16> dx, double p, Stream s) {
  detail::core_forward(dy, dx, p, s, {}, detail::kBackward);
}

// ---- Channel and time-shared dropout ----
void channel_dropout_forward(std::span<const float> x, std::span<float> y, std::size_t batch, std::size_t channels,
                             std::size_t spatial, Layout layout, double p, Stream s, std::span<std::uint64_t> mask) {
  detail::channel_call(x, y, batch, channels, spatial, layout, p, kForward);
  detail::planes_forward(x, y, {batch, channels, spatial, layout}, p, s, mask, kForward);
}
void channel_dropout_backward(std::span<const float> dy, std::span<const std::uint64_t> mask, std::span<float> dx,
                              std::size_t batch, std::size_t channels, std::size_t spatial, Layout layout, double p) {
  detail::channel_call(dy, dx, batch, channels, spatial, layout, p, kBackward);
  detail::planes_backward(dy, mask, dx, {batch, channels, spatial, layout}, p);
}
void channel_dropout_backward(std::span<const float> dy, std::span<float> dx, std::size_t batch, std::size_t channels,
                              std::size_t spatial, Layout layout, double p, Stream s) {
  detail::channel_call(dy, dx, batch, channels, spatial, layout, p, kBackward);
  detail::planes_forward(dy, dx, {batch, channels, spatial, layout}, p, s, {}, kBackward);
}
void shared_dropout_forward(std::span<const float> x, std::span<float> y, std::size_t steps, std::size_t row, double p,
                            Stream s, std::span<std::uint64_t> mask) {
  detail::shared_call(x, y, steps, row, p, kForward);
  detail::planes_forward(x, y, detail::shared_shape(steps, row), p, s, mask, kForward);
}
void shared_dropout_backward(std::span<const float> dy, std::span<const std::uint64_t> mask, std::span<float> dx,
                             std::size_t steps, std::size_t row, double p) {
  detail::shared_call(dy, dx, steps, row, p, kBackward);
  detail::planes_backward(dy, mask, dx, detail::shared_shape(steps, row), p);
}
void shared_dropout_backward(std::span<const float> dy, std::span<float> dx, std::size_t steps, std::size_t row,
                             double p, Stream s) {
  detail::shared_call(dy, dx, steps, row, p, kBackward);
  detail::planes_forward(dy, dx, detail::shared_shape(steps, row), p, s, {}, kBackward);
}
void channel_dropout_forward(std::span<const double> x, std::span<double> y, std::size_t batch, std::size_t channels,
                             std::size_t spatial, Layout layout, double p, Stream s, std::span<std::uint64_t> mask) {
  detail::channel_call(x, y, batch, channels, spatial, layout, p, kForward);
  detail::planes_forward(x, y, {batch, channels, spatial, layout}, p, s, mask, kForward);
}
void channel_dropout_backward(std::span<const double> dy, std::span<const std::uint64_t> mask, std::span<double> dx,
                              std::size_t batch, std::size_t channels, std::size_t spatial, Layout layout, double p) {
  detail::channel_call(dy, dx, batch, channels, spatial, layout, p, kBackward);
  detail::planes_backward(dy, mask, dx, {batch, channels, spatial, layout}, p);
}
void channel_dropout_backward(std::span<const double> dy, std::span<double> dx, std::size_t batch, std::size_t channels,
                              std::size_t spatial, Layout layout, double p, Stream s) {
  detail::channel_call(dy, dx, batch, channels, spatial, layout, p, kBackward);
  detail::planes_forward(dy, dx, {batch, channels, spatial, layout}, p, s, {}, kBackward);
}
void shared_dropout_forward(std::span<const double> x, std::span<double> y, std::size_t steps, std::size_t row,
                            double p, Stream s, std::span<std::uint64_t> mask) {
  detail::shared_call(x, y, steps, row, p, kForward);
  detail::planes_forward(x, y, detail::shared_shape(steps, row), p, s, mask, kForward);
}
void shared_dropout_backward(std::span<const double> dy, std::span<const std::uint64_t> mask, std::span<double> dx,
                             std::size_t steps, std::size_t row, double p) {
  detail::shared_call(dy, dx, steps, row, p, kBackward);
  detail::planes_backward(dy, mask, dx, detail::shared_shape(steps, row), p);
}
void shared_dropout_backward(std::span<const double> dy, std::span<double> dx, std::size_t steps, std::size_t row,
                             double p, Stream s) {
  detail::shared_call(dy, dx, steps, row, p, kBackward);
  detail::planes_forward(dy, dx, detail::shared_shape(steps, row), p, s, {}, kBackward);
}
void channel_dropout_forward(std::span<const bfloat16> x, std::span<bfloat16> y, std::size_t batch,
                             std::size_t channels, std::size_t spatial, Layout layout, double p, Stream s,
                             std::span<std::uint64_t> mask) {
  detail::channel_call(x, y, batch, channels, spatial, layout, p, kForward);
  detail::planes_forward(x, y, {batch, channels, spatial, layout}, p, s, mask, kForward);
}
void channel_dropout_backward(std::span<const bfloat16> dy, std::span<const std::uint64_t> mask, std::span<bfloat16> dx,
                              std::size_t batch, std::size_t channels, std::size_t spatial, Layout layout, double p) {
  detail::channel_call(dy, dx, batch, channels, spatial, layout, p, kBackward);
  detail::planes_backward(dy, mask, dx, {batch, channels, spatial, layout}, p);
}
void channel_dropout_backward(std::span<const bfloat16> dy, std::span<bfloat16> dx, std::size_t batch,
                              std::size_t channels, std::size_t spatial, Layout layout, double p, Stream s) {
  detail::channel_call(dy, dx, batch, channels, spatial, layout, p, kBackward);
  detail::planes_forward(dy, dx, {batch, channels, spatial, layout}, p, s, {}, kBackward);
}
void shared_dropout_forward(std::span<const bfloat16> x, std::span<bfloat16> y, std::size_t steps, std::size_t row,
                            double p, Stream s, std::span<std::uint64_t> mask) {
  detail::shared_call(x, y, steps, row, p, kForward);
  detail::planes_forward(x, y, detail::shared_shape(steps, row), p, s, mask, kForward);
}
void shared_dropout_backward(std::span<const bfloat16> dy, std::span<const std::uint64_t> mask, std::span<bfloat16> dx,
                             std::size_t steps, std::size_t row, double p) {
  detail::shared_call(dy, dx, steps, row, p, kBackward);
  detail::planes_backward(dy, mask, dx, detail::shared_shape(steps, row), p);
}
void shared_dropout_backward(std::span<const bfloat16> dy, std::span<bfloat16> dx, std::size_t steps, std::size_t row,
                             double p, Stream s) {
  detail::shared_call(dy, dx, steps, row, p, kBackward);
  detail::planes_forward(dy, dx, detail::shared_shape(steps, row), p, s, {}, kBackward);
}
void channel_dropout_forward(std::span<const float16> x, std::span<float16> y, std::size_t batch, std::size_t channels,
                             std::size_t spatial, Layout layout, double p, Stream s, std::span<std::uint64_t> mask) {
  detail::channel_call(x, y, batch, channels, spatial, layout, p, kForward);
  detail::planes_forward(x, y, {batch, channels, spatial, layout}, p, s, mask, kForward);
}
void channel_dropout_backward(std::span<const float16> dy, std::span<const std::uint64_t> mask, std::span<float16> dx,
                              std::size_t batch, std::size_t channels, std::size_t spatial, Layout layout, double p) {
  detail::channel_call(dy, dx, batch, channels, spatial, layout, p, kBackward);
  detail::planes_backward(dy, mask, dx, {batch, channels, spatial, layout}, p);
}
void channel_dropout_backward(std::span<const float16> dy, std::span<float16> dx, std::size_t batch,
                              std::size_t channels, std::size_t spatial, Layout layout, double p, Stream s) {
  detail::channel_call(dy, dx, batch, channels, spatial, layout, p, kBackward);
  detail::planes_forward(dy, dx, {batch, channels, spatial, layout}, p, s, {}, kBackward);
}
void shared_dropout_forward(std::span<const float16> x, std::span<float16> y, std::size_t steps, std::size_t row,
                            double p, Stream s, std::span<std::uint64_t> mask) {
  detail::shared_call(x, y, steps, row, p, kForward);
  detail::planes_forward(x, y, detail::shared_shape(steps, row), p, s, mask, kForward);
}
void shared_dropout_backward(std::span<const float16> dy, std::span<const std::uint64_t> mask, std::span<float16> dx,
                             std::size_t steps, std::size_t row, double p) {
  detail::shared_call(dy, dx, steps, row, p, kBackward);
  detail::planes_backward(dy, mask, dx, detail::shared_shape(steps, row), p);
}
void shared_dropout_backward(std::span<const float16> dy, std::span<float16> dx, std::size_t steps, std::size_t row,
                             double p, Stream s) {
  detail::shared_call(dy, dx, steps, row, p, kBackward);
  detail::planes_forward(dy, dx, detail::shared_shape(steps, row), p, s, {}, kBackward);
}

// ---- Alpha dropout ----
AlphaCoefficients alpha_dropout_coefficients(double p) {
  detail::check_probability_below_one(p, "alpha dropout");
  const double a = 1.0 / std::sqrt((1.0 - p) * (1.0 + p * kAlphaPrime * kAlphaPrime));
  const double b = -a * kAlphaPrime * p;
  return {a, b, a * kAlphaPrime + b};
}

void alpha_dropout_forward(std::span<const float> x, std::span<float> y, double p, Stream s,
                           std::span<std::uint64_t> mask) {
  detail::alpha_forward(x, y, p, s, mask);
}
void alpha_dropout_backward(std::span<const float> dy, std::span<const std::uint64_t> mask, std::span<float> dx,
                            double p) {
  detail::alpha_backward(dy, mask, dx, p);
}
void alpha_dropout_backward(std::span<const float> dy, std::span<float> dx, double p, Stream s) {
  detail::alpha_backward(dy, dx, p, s);
}
void alpha_dropout_forward(std::span<const double> x, std::span<double> y, double p, Stream s,
                           std::span<std::uint64_t> mask) {
  detail::alpha_forward(x, y, p, s, mask);
}
void alpha_dropout_backward(std::span<const double> dy, std::span<const std::uint64_t> mask, std::span<double> dx,
                            double p) {
  detail::alpha_backward(dy, mask, dx, p);
}
void alpha_dropout_backward(std::span<const double> dy, std::span<double> dx, double p, Stream s) {
  detail::alpha_backward(dy, dx, p, s);
}
void alpha_dropout_forward(std::span<const bfloat16> x, std::span<bfloat16> y, double p, Stream s,
                           std::span<std::uint64_t> mask) {
  detail::alpha_forward(x, y, p, s, mask);
}
void alpha_dropout_backward(std::span<const bfloat16> dy, std::span<const std::uint64_t> mask, std::span<bfloat16> dx,
                            double p) {
  detail::alpha_backward(dy, mask, dx, p);
}
void alpha_dropout_backward(std::span<const bfloat16> dy, std::span<bfloat16> dx, double p, Stream s) {
  detail::alpha_backward(dy, dx, p, s);
}
void alpha_dropout_forward(std::span<const float16> x, std::span<float16> y, double p, Stream s,
                           std::span<std::uint64_t> mask) {
  detail::alpha_forward(x, y, p, s, mask);
}
void alpha_dropout_backward(std::span<const float16> dy, std::span<const std::uint64_t> mask, std::span<float16> dx,
                            double p) {
  detail::alpha_backward(dy, mask, dx, p);
}
void alpha_dropout_backward(std::span<const float16> dy, std::span<float16> dx, double p, Stream s) {
  detail::alpha_backward(dy, dx, p, s);
}

// ---- Gaussian dropout ----
void gaussian_dropout_forward(std::span<const float> x, std::span<float> y, double p, Stream s) {
  detail::gaussian_call(x, y, p, s, kForward);
}
void gaussian_dropout_backward(std::span<const float> dy, std::span<float> dx, double p, Stream s) {
  detail::gaussian_call(dy, dx, p, s, kBackward);
}
void gaussian_dropout_forward(std::span<const double> x, std::span<double> y, double p, Stream s) {
  detail::gaussian_call(x, y, p, s, kForward);
}
void gaussian_dropout_backward(std::span<const double> dy, std::span<double> dx, double p, Stream s) {
  detail::gaussian_call(dy, dx, p, s, kBackward);
}
void gaussian_dropout_forward(std::span<const bfloat16> x, std::span<bfloat16> y, double p, Stream s) {
  detail::gaussian_call(x, y, p, s, kForward);
}
void gaussian_dropout_backward(std::span<const bfloat16> dy, std::span<bfloat16> dx, double p, Stream s) {
  detail::gaussian_call(dy, dx, p, s, kBackward);
}
void gaussian_dropout_forward(std::span<const float16> x, std::span<float16> y, double p, Stream s) {
  detail::gaussian_call(x, y, p, s, kForward);
}
void gaussian_dropout_backward(std::span<const float16> dy, std::span<float16> dx, double p, Stream s) {
  detail::gaussian_call(dy, dx, p, s, kBackward);
}

// ---- Fused bias-dropout-residual ----
void bias_dropout_add_forward(std::span<const float> x, std::span<const float> bias, std::span<const float> residual,
                              std::span<float> y, double p, Stream s, std::span<std::uint64_t> mask) {
  detail::bias_dropout_add(x, bias, residual, y, p, s, mask);
}
void bias_dropout_add_backward(std::span<const float> dy, std::span<const std::uint64_t> mask, std::span<float> dx,
                               std::span<float> dbias, double p) {
  detail::bias_backward(dy, mask, dx, dbias, p);
}
void bias_dropout_add_backward(std::span<const float> dy, std::span<float> dx, std::span<float> dbias, double p,
                               Stream s) {
  detail::bias_backward(dy, dx, dbias, p, s);
}
void bias_dropout_add_forward(std::span<const double> x, std::span<const double> bias, std::span<const double> residual,
                              std::span<double> y, double p, Stream s, std::span<std::uint64_t> mask) {
  detail::bias_dropout_add(x, bias, residual, y, p, s, mask);
}
void bias_dropout_add_backward(std::span<const double> dy, std::span<const std::uint64_t> mask, std::span<double> dx,
                               std::span<double> dbias, double p) {
  detail::bias_backward(dy, mask, dx, dbias, p);
}
void bias_dropout_add_backward(std::span<const double> dy, std::span<double> dx, std::span<double> dbias, double p,
                               Stream s) {
  detail::bias_backward(dy, dx, dbias, p, s);
}
void bias_dropout_add_forward(std::span<const bfloat16> x, std::span<const bfloat16> bias,
                              std::span<const bfloat16> residual, std::span<bfloat16> y, double p, Stream s,
                              std::span<std::uint64_t> mask) {
  detail::bias_dropout_add(x, bias, residual, y, p, s, mask);
}
void bias_dropout_add_backward(std::span<const bfloat16> dy, std::span<const std::uint64_t> mask,
                               std::span<bfloat16> dx, std::span<bfloat16> dbias, double p) {
  detail::bias_backward(dy, mask, dx, dbias, p);
}
void bias_dropout_add_backward(std::span<const bfloat16> dy, std::span<bfloat16> dx, std::span<bfloat16> dbias,
                               double p, Stream s) {
  detail::bias_backward(dy, dx, dbias, p, s);
}
void bias_dropout_add_forward(std::span<const float16> x, std::span<const float16> bias,
                              std::span<const float16> residual, std::span<float16> y, double p, Stream s,
                              std::span<std::uint64_t> mask) {
  detail::bias_dropout_add(x, bias, residual, y, p, s, mask);
}
void bias_dropout_add_backward(std::span<const float16> dy, std::span<const std::uint64_t> mask, std::span<float16> dx,
                               std::span<float16> dbias, double p) {
  detail::bias_backward(dy, mask, dx, dbias, p);
}
void bias_dropout_add_backward(std::span<const float16> dy, std::span<float16> dx, std::span<float16> dbias, double p,
                               Stream s) {
  detail::bias_backward(dy, dx, dbias, p, s);
}

}  // namespace simdrop
