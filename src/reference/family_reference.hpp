// The scalar reference of the dropout family's element-wise kernels (simdrop/family.hpp): the definition
// every SIMD path is held to bit for bit, and the `scalar` path itself. Keep decisions come from
// reference.hpp; channel and time-shared dropout are the core's apply over an expanded mask (family_bits).
#pragma once

#include <cstddef>
#include <cstdint>

#include <simdrop/dropout.hpp>

namespace simdrop::detail {

// The counter domain (word 3) of Gaussian dropout's normals; keep masks use domain 0.
inline constexpr std::uint32_t kDomainGaussian = 1;

// The standard normal z of global element g: Box-Muller (reference/normal.hpp, single precision) on the
// block of counter {lo32(g / 4), hi32(g / 4), 0, kDomainGaussian}; words (0, 1) give elements 4k (cosine)
// and 4k + 1 (sine), words (2, 3) give 4k + 2 and 4k + 3.
float reference_normal(std::uint64_t seed, std::uint64_t g, Generator gen) noexcept;

// y[i] = x[i] * T(e) with e = 1 + sigma * z(start + i), computed in float.
void reference_gaussian(const float* x, float* y, std::size_t n, std::uint64_t seed, std::uint64_t start,
                        float sigma, Generator gen) noexcept;
void reference_gaussian(const double* x, double* y, std::size_t n, std::uint64_t seed, std::uint64_t start,
                        float sigma, Generator gen) noexcept;

// y[i] = bit i of mask ? a * x[i] + b : c (alpha dropout; a multiply, then an add).
void reference_affine(const float* x, float* y, const std::uint64_t* mask, std::size_t n, float a, float b,
                      float c) noexcept;
void reference_affine(const double* x, double* y, const std::uint64_t* mask, std::size_t n, double a, double b,
                      double c) noexcept;

// y[i] = residual[i] + (bit i of mask ? (x[i] + bias[(col0 + i) % cols]) * scale : 0); col0 < cols.
void reference_bias_add(const float* x, const float* bias, std::size_t cols, std::size_t col0, const float* residual,
                        float* y, const std::uint64_t* mask, std::size_t n, float scale) noexcept;
void reference_bias_add(const double* x, const double* bias, std::size_t cols, std::size_t col0,
                        const double* residual, double* y, const std::uint64_t* mask, std::size_t n,
                        double scale) noexcept;

// acc[i] += double(row[i]).
void reference_accumulate(const float* row, double* acc, std::size_t n) noexcept;
void reference_accumulate(const double* row, double* acc, std::size_t n) noexcept;

}  // namespace simdrop::detail
