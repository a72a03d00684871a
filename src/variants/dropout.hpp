// Element-wise dropout, the core variant: argument checks (all before any write), then the fused pass of the
// active ISA path over oneTBB blocks (regenerated backward is the forward pass on dy), or the apply of a
// stored mask.
#pragma once

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

template <class T>
void core_forward(std::span<const T> x, std::span<T> y, double p, Stream s, std::span<std::uint64_t> mask,
                  Names names) {
  check_probability(p);
  check_elementwise(x, y, s, mask, names);
  dropout_pass(fused_pass(y, {x.data()}, p, s, mask.empty() ? nullptr : mask.data()), x.data(), y.data(),
               scale_of<T>(p));
}

template <class T>
void core_backward(std::span<const T> dy, std::span<const std::uint64_t> mask, std::span<T> dx, double p) {
  check_probability(p);
  check_same_size(dy.size(), dx.size(), "dy", "dx");
  check_no_overlap(dy, dx, "dy", "dx", /*allow_same=*/true);
  check_mask_size(mask.size(), dy.size());
  check_no_overlap(dx, mask, "dx", "mask", false);
  masked_pass(kernels_for<T>(Work::apply, dx.size_bytes()), dy.data(), dx.data(), mask.data(), dy.size(),
              scale_of<T>(p), use_streaming(dx.size_bytes(), dx.data(), {dy.data()}));
}

}  // namespace detail

}  // namespace simdrop
