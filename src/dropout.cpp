// The public entry points: argument checks (all before any write), then the fused kernels of the
// active ISA path over oneTBB blocks.
#include <algorithm>
#include <cmath>
#include <simdrop/dropout.hpp>
#include <stdexcept>
#include <string>

#include "checks.hpp"
#include "dispatch.hpp"
#include "fused.hpp"
#include "parallel.hpp"

namespace simdrop {

namespace detail {
namespace {

template <class T>
void forward(std::span<const T> x, std::span<T> y, double p, Stream s, std::span<std::uint64_t> mask,
             std::string_view x_name, std::string_view y_name) {
  check_probability(p);
  check_same_size(x.size(), y.size(), x_name, y_name);
  check_no_overlap(x, y, x_name, y_name, /*allow_same=*/true);
  if (!mask.empty()) {
    check_mask_size(mask.size(), x.size());
    check_no_overlap(x, mask, x_name, "mask", false);
    check_no_overlap(y, mask, y_name, "mask", false);
  }
  check_stream(s, x.size());
  const KernelTable& k = active_kernels();
  const std::uint64_t t = drop_threshold(p);
  const T scale = scale_of<T>(p);
  std::uint64_t* mask_out = mask.empty() ? nullptr : mask.data();
  const bool stream = use_streaming(y.size_bytes());
  for_each_block(x.size(), [&](std::size_t b, std::size_t e) {
    dropout_block(k, x.data() + b, y.data() + b, e - b, Stream{s.seed, s.offset + b, s.generator}, t, scale,
                  mask_out != nullptr ? mask_out + b / 64 : nullptr, stream);
  });
}

template <class T>
void backward(std::span<const T> dy, std::span<const std::uint64_t> mask, std::span<T> dx, double p) {
  check_probability(p);
  check_same_size(dy.size(), dx.size(), "dy", "dx");
  check_no_overlap(dy, dx, "dy", "dx", /*allow_same=*/true);
  check_mask_size(mask.size(), dy.size());
  check_no_overlap(dx, mask, "dx", "mask", false);
  const KernelTable& k = active_kernels();
  const T scale = scale_of<T>(p);
  const bool stream = use_streaming(dx.size_bytes());
  for_each_block(dy.size(), [&](std::size_t b, std::size_t e) {
    apply(k, dy.data() + b, dx.data() + b, mask.data() + b / 64, e - b, scale, stream);
  });
}

}  // namespace

void generate_mask(std::uint64_t* mask, std::size_t n, std::uint64_t t, Stream s) {
  const KernelTable& k = active_kernels();
  for_each_block(
      n, [&](std::size_t b, std::size_t e) { k.mask(mask + b / 64, e - b, s.seed, s.offset + b, t, s.generator); });
}

}  // namespace detail

std::uint64_t drop_threshold(double p) {
  detail::check_probability(p);
  return static_cast<std::uint64_t>(std::round(std::ldexp(p, 32)));
}

double effective_drop_probability(double p) { return std::ldexp(static_cast<double>(drop_threshold(p)), -32); }

void make_mask(std::span<std::uint64_t> mask, std::size_t n, double p, Stream s) {
  detail::check_probability(p);
  detail::check_mask_size(mask.size(), n);
  detail::check_stream(s, n);
  detail::generate_mask(mask.data(), n, drop_threshold(p), s);
}

void dropout_forward(std::span<const float> x, std::span<float> y, double p, Stream s, std::span<std::uint64_t> mask) {
  detail::forward(x, y, p, s, mask, "x", "y");
}
void dropout_forward(std::span<const double> x, std::span<double> y, double p, Stream s,
                     std::span<std::uint64_t> mask) {
  detail::forward(x, y, p, s, mask, "x", "y");
}

void dropout_backward(std::span<const float> dy, std::span<const std::uint64_t> mask, std::span<float> dx, double p) {
  detail::backward(dy, mask, dx, p);
}
void dropout_backward(std::span<const double> dy, std::span<const std::uint64_t> mask, std::span<double> dx, double p) {
  detail::backward(dy, mask, dx, p);
}

void dropout_backward(std::span<const float> dy, std::span<float> dx, double p, Stream s) {
  detail::forward(dy, dx, p, s, {}, "dy", "dx");
}
void dropout_backward(std::span<const double> dy, std::span<double> dx, double p, Stream s) {
  detail::forward(dy, dx, p, s, {}, "dy", "dx");
}

}  // namespace simdrop
