// The public entry points: argument checks (all before any write), then the fused kernels of the
// active ISA path over oneTBB blocks.
#include <algorithm>
#include <cmath>
#include <simdrop/dropout.hpp>
#include <stdexcept>
#include <string>

#include "checks.hpp"
#include "fused.hpp"
#include "mask.hpp"
#include "parallel.hpp"
#include "runtime/dispatch.hpp"

namespace simdrop {

namespace detail {
namespace {

template <class T>
void forward(std::span<const T> x, std::span<T> y, double p, Stream s, std::span<std::uint64_t> mask, Names names) {
  check_probability(p);
  check_elementwise(x, y, s, mask, names);
  dropout_pass(fused_pass(y, p, s, mask.empty() ? nullptr : mask.data()), x.data(), y.data(), scale_of<T>(p));
}

template <class T>
void backward(std::span<const T> dy, std::span<const std::uint64_t> mask, std::span<T> dx, double p) {
  check_probability(p);
  check_same_size(dy.size(), dx.size(), "dy", "dx");
  check_no_overlap(dy, dx, "dy", "dx", /*allow_same=*/true);
  check_mask_size(mask.size(), dy.size());
  check_no_overlap(dx, mask, "dx", "mask", false);
  masked_pass(kernels_for<T>(Work::apply, dx.size_bytes()), dy.data(), dx.data(), mask.data(), dy.size(),
              scale_of<T>(p), use_streaming(dx.size_bytes()));
}

}  // namespace
}  // namespace detail

// The public overloads: one visible definition per element type (simdrop/dropout.hpp declares the same list),
// each calling the templates above.
void dropout_forward(std::span<const float> x, std::span<float> y, double p, Stream s, std::span<std::uint64_t> mask) {
  detail::forward(x, y, p, s, mask, detail::kForward);
}
void dropout_backward(std::span<const float> dy, std::span<const std::uint64_t> mask, std::span<float> dx, double p) {
  detail::backward(dy, mask, dx, p);
}
void dropout_backward(std::span<const float> dy, std::span<float> dx, double p, Stream s) {
  detail::forward(dy, dx, p, s, {}, detail::kBackward);
}
void dropout_forward(std::span<const double> x, std::span<double> y, double p, Stream s,
                     std::span<std::uint64_t> mask) {
  detail::forward(x, y, p, s, mask, detail::kForward);
}
void dropout_backward(std::span<const double> dy, std::span<const std::uint64_t> mask, std::span<double> dx, double p) {
  detail::backward(dy, mask, dx, p);
}
void dropout_backward(std::span<const double> dy, std::span<double> dx, double p, Stream s) {
  detail::forward(dy, dx, p, s, {}, detail::kBackward);
}
void dropout_forward(std::span<const bfloat16> x, std::span<bfloat16> y, double p, Stream s,
                     std::span<std::uint64_t> mask) {
  detail::forward(x, y, p, s, mask, detail::kForward);
}
void dropout_backward(std::span<const bfloat16> dy, std::span<const std::uint64_t> mask, std::span<bfloat16> dx,
                      double p) {
  detail::backward(dy, mask, dx, p);
}
void dropout_backward(std::span<const bfloat16> dy, std::span<bfloat16> dx, double p, Stream s) {
  detail::forward(dy, dx, p, s, {}, detail::kBackward);
}
void dropout_forward(std::span<const float16> x, std::span<float16> y, double p, Stream s,
                     std::span<std::uint64_t> mask) {
  detail::forward(x, y, p, s, mask, detail::kForward);
}
void dropout_backward(std::span<const float16> dy, std::span<const std::uint64_t> mask, std::span<float16> dx,
                      double p) {
  detail::backward(dy, mask, dx, p);
}
void dropout_backward(std::span<const float16> dy, std::span<float16> dx, double p, Stream s) {
  detail::forward(dy, dx, p, s, {}, detail::kBackward);
}

}  // namespace simdrop
