// The scalar reference of the dropout family's element-wise kernels (simdrop/family.hpp): the definition
// every SIMD path is held to bit for bit, and the `scalar` path itself. Keep decisions come from
// reference.hpp; channel and time-shared dropout are the core's apply over an expanded mask (family_bits).
#pragma once

#include <cstddef>
#include <cstdint>
#include <simdrop/stream.hpp>

#include "element.hpp"
#include "reference/reference.hpp"

namespace simdrop::detail {

// The counter domain (word 3) of Gaussian dropout's normals; keep masks use domain 0.
inline constexpr std::uint32_t kDomainGaussian = 1;

// The standard normal z of global element g: Box-Muller (reference/normal.hpp, single precision) on the
// block of counter {lo32(g / 4), hi32(g / 4), 0, kDomainGaussian}; words (0, 1) give elements 4k (cosine)
// and 4k + 1 (sine), words (2, 3) give 4k + 2 and 4k + 3.
float reference_normal(std::uint64_t seed, std::uint64_t g, Generator gen) noexcept;

// The family's element-wise definitions over every element type: computed in compute_t<T> on the widened
// inputs (element.hpp), each result rounded once to T.

// y[i] = x[i] * e with e = 1 + sigma * z(start + i) in float (fp64: x[i] * double(e)).
template <class T>
void reference_gaussian(const T* x, T* y, std::size_t n, std::uint64_t seed, std::uint64_t start, float sigma,
                        Generator gen) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const float e = 1.0f + sigma * reference_normal(seed, start + i, gen);
    y[i] = narrow<T>(widen(x[i]) * static_cast<compute_t<T>>(e));
  }
}

// y[i] = bit i of mask ? a * x[i] + b : c (alpha dropout; a multiply, then an add).
template <class T>
void reference_affine(const T* x, T* y, const std::uint64_t* mask, std::size_t n, compute_t<T> a, compute_t<T> b,
                      compute_t<T> c) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    if (mask_bit(mask, i)) {
      const compute_t<T> ax = a * widen(x[i]);
      y[i] = narrow<T>(ax + b);
    } else {
      y[i] = narrow<T>(c);
    }
  }
}

// y[i] = residual[i] + (bit i of mask ? (x[i] + bias[(col0 + i) % cols]) * scale : 0); col0 < cols.
template <class T>
void reference_bias_add(const T* x, const T* bias, std::size_t cols, std::size_t col0, const T* residual, T* y,
                        const std::uint64_t* mask, std::size_t n, compute_t<T> scale) noexcept {
  using C = compute_t<T>;
  std::size_t col = col0;
  for (std::size_t i = 0; i < n; ++i) {
    const C biased = widen(x[i]) + widen(bias[col]);
    const C dropped = mask_bit(mask, i) ? biased * scale : C(0);
    y[i] = narrow<T>(widen(residual[i]) + dropped);
    if (++col == cols) col = 0;
  }
}

// acc[i] += double(row[i]).
template <class T>
void reference_accumulate(const T* row, double* acc, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) acc[i] += static_cast<double>(widen(row[i]));
}

// Compiled once, in family_reference.cpp (baseline flags): a kernel file built with wider ISA flags must not
// emit its own copy, which the linker could pick for every caller.
extern template void reference_gaussian(const float*, float*, std::size_t, std::uint64_t, std::uint64_t, float,
                                        Generator) noexcept;
extern template void reference_affine(const float*, float*, const std::uint64_t*, std::size_t, compute_t<float>,
                                      compute_t<float>, compute_t<float>) noexcept;
extern template void reference_bias_add(const float*, const float*, std::size_t, std::size_t, const float*, float*,
                                        const std::uint64_t*, std::size_t, compute_t<float>) noexcept;
extern template void reference_accumulate(const float*, double*, std::size_t) noexcept;
extern template void reference_gaussian(const double*, double*, std::size_t, std::uint64_t, std::uint64_t, float,
                                        Generator) noexcept;
extern template void reference_affine(const double*, double*, const std::uint64_t*, std::size_t, compute_t<double>,
                                      compute_t<double>, compute_t<double>) noexcept;
extern template void reference_bias_add(const double*, const double*, std::size_t, std::size_t, const double*, double*,
                                        const std::uint64_t*, std::size_t, compute_t<double>) noexcept;
extern template void reference_accumulate(const double*, double*, std::size_t) noexcept;
extern template void reference_gaussian(const bfloat16*, bfloat16*, std::size_t, std::uint64_t, std::uint64_t, float,
                                        Generator) noexcept;
extern template void reference_affine(const bfloat16*, bfloat16*, const std::uint64_t*, std::size_t,
                                      compute_t<bfloat16>, compute_t<bfloat16>, compute_t<bfloat16>) noexcept;
extern template void reference_bias_add(const bfloat16*, const bfloat16*, std::size_t, std::size_t, const bfloat16*,
                                        bfloat16*, const std::uint64_t*, std::size_t, compute_t<bfloat16>) noexcept;
extern template void reference_accumulate(const bfloat16*, double*, std::size_t) noexcept;
extern template void reference_gaussian(const float16*, float16*, std::size_t, std::uint64_t, std::uint64_t, float,
                                        Generator) noexcept;
extern template void reference_affine(const float16*, float16*, const std::uint64_t*, std::size_t, compute_t<float16>,
                                      compute_t<float16>, compute_t<float16>) noexcept;
extern template void reference_bias_add(const float16*, const float16*, std::size_t, std::size_t, const float16*,
                                        float16*, const std::uint64_t*, std::size_t, compute_t<float16>) noexcept;
extern template void reference_accumulate(const float16*, double*, std::size_t) noexcept;

}  // namespace simdrop::detail
