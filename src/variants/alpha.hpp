// Alpha dropout (SELU networks): kept -> a * x + b, dropped -> a constant, on the fused mask steps and the
// family's affine kernels; the backward passes are the core's passes with scale a.
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

namespace simdrop {
namespace detail {

template <class T>
void alpha_forward(std::span<const T> x, std::span<T> y, double p, Stream s, std::span<std::uint64_t> mask) {
  const AlphaCoefficients c = alpha_dropout_coefficients(p);
  check_elementwise(x, y, s, mask, kForward);
  const FusedPass pass = fused_pass(y, {x.data()}, p, s, mask.empty() ? nullptr : mask.data());
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
              static_cast<compute_t<T>>(c.a), use_streaming(dx.size_bytes(), dx.data(), {dy.data()}));
}
template <class T>
void alpha_backward(std::span<const T> dy, std::span<T> dx, double p, Stream s) {
  const AlphaCoefficients c = alpha_dropout_coefficients(p);
  check_elementwise(dy, dx, s, {}, kBackward);
  regenerated_dropout(dy, dx, p, s, static_cast<compute_t<T>>(c.a));
}

}  // namespace detail

}  // namespace simdrop
