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
void forward(std::span<const T> x, std::span<T> y, double p, Stream s, std::span<std::uint64_t> mask, Names names) {
  check_probability(p);
  check_elementwise(x, y, s, mask, names);
  dropout_pass(kernels_for<T>(Work::fused, y.size_bytes()), x.data(), y.data(), x.size(), drop_threshold(p), s, scale_of<T>(p),
               mask.empty() ? nullptr : mask.data(), use_streaming(y.size_bytes()));
}

template <class T>
void backward(std::span<const T> dy, std::span<const std::uint64_t> mask, std::span<T> dx, double p) {
  check_probability(p);
  check_same_size(dy.size(), dx.size(), "dy", "dx");
  check_no_overlap(dy, dx, "dy", "dx", /*allow_same=*/true);
  check_mask_size(mask.size(), dy.size());
  check_no_overlap(dx, mask, "dx", "mask", false);
  masked_pass(kernels_for<T>(Work::apply, dx.size_bytes()), dy.data(), dx.data(), mask.data(), dy.size(), scale_of<T>(p),
              use_streaming(dx.size_bytes()));
}

}  // namespace

void generate_mask(std::uint64_t* mask, std::size_t n, std::uint64_t t, Stream s) {
  const KernelTable& k = kernels_for(Work::mask, 0, false);
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

// The public overloads, one set per element type (element.hpp's list).
#define SIMDROP_CORE(T)                                                                                       \
  void dropout_forward(std::span<const T> x, std::span<T> y, double p, Stream s, std::span<std::uint64_t> mask) { \
    detail::forward(x, y, p, s, mask, detail::kForward);                                                      \
  }                                                                                                           \
  void dropout_backward(std::span<const T> dy, std::span<const std::uint64_t> mask, std::span<T> dx, double p) { \
    detail::backward(dy, mask, dx, p);                                                                        \
  }                                                                                                           \
  void dropout_backward(std::span<const T> dy, std::span<T> dx, double p, Stream s) {                         \
    detail::forward(dy, dx, p, s, {}, detail::kBackward);                                                     \
  }
SIMDROP_ELEMENT_TYPES(SIMDROP_CORE)
#undef SIMDROP_CORE

}  // namespace simdrop
