// Alpha dropout (SELU networks): kept -> a * x + b, dropped -> a constant, on the fused mask steps and the
// family's affine kernels; the backward passes are the core's passes with scale a.

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

namespace simdrop {
namespace detail {
namespace {

template <class T>
void alpha_forward(std::span<const T> x, std::span<T> y, double p, Stream s, std::span<std::uint64_t> mask) {
  const AlphaCoefficients c = alpha_dropout_coefficients(p);
  check_elementwise(x, y, s, mask, kForward);
  const FusedPass pass = fused_pass(y, p, s, mask.empty() ? nullptr : mask.data());
  const TypedKernels<T>& k = pass.kernels->of<T>();
  using C = compute_t<T>;
  const Affine<C> coefficients{static_cast<C>(c.a), static_cast<C>(c.b), static_cast<C>(c.dropped)};
  fused_blocks(
      pass,
      [&](std::size_t i, std::size_t m, const std::uint64_t* bits) {
        k.affine(x.data() + i, y.data() + i, bits, m, coefficients, pass.stream);
      },
      [&](std::size_t i, const FusedPass& sub) {
        return k.affine_pipelined(x.data() + i, y.data() + i, sub.n, sub.pipelined(), coefficients);
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

}  // namespace
}  // namespace detail

using detail::kBackward;
using detail::kForward;

// The public overloads: one visible definition per element type (simdrop/family.hpp declares the same list).
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

}  // namespace simdrop
