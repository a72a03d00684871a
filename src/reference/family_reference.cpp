#include "reference/family_reference.hpp"

#include "reference/normal.hpp"
#include "reference/reference.hpp"

namespace simdrop::detail {

float reference_normal(std::uint64_t seed, std::uint64_t g, Generator gen) noexcept {
  const std::uint64_t block = g / 4;
  const PhiloxCounter w = generator_block(
      gen, {static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32), 0, kDomainGaussian}, seed);
  const std::size_t pair = (g % 4) / 2;
  float z_cos, z_sin;
  normal_math::box_muller<normal_math::ScalarOps>(w[2 * pair], w[2 * pair + 1], z_cos, z_sin);
  return g % 2 == 0 ? z_cos : z_sin;
}

namespace {

template <class T>
void gaussian(const T* x, T* y, std::size_t n, std::uint64_t seed, std::uint64_t start, float sigma,
              Generator gen) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const float e = 1.0f + sigma * reference_normal(seed, start + i, gen);
    y[i] = x[i] * static_cast<T>(e);
  }
}

inline bool kept(const std::uint64_t* mask, std::size_t i) noexcept { return (mask[i / 64] >> (i % 64)) & 1u; }

template <class T>
void affine(const T* x, T* y, const std::uint64_t* mask, std::size_t n, T a, T b, T c) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    if (kept(mask, i)) {
      const T ax = a * x[i];
      y[i] = ax + b;
    } else {
      y[i] = c;
    }
  }
}

template <class T>
void bias_add(const T* x, const T* bias, std::size_t cols, std::size_t col0, const T* residual, T* y,
              const std::uint64_t* mask, std::size_t n, T scale) noexcept {
  std::size_t col = col0;
  for (std::size_t i = 0; i < n; ++i) {
    const T biased = x[i] + bias[col];
    const T dropped = kept(mask, i) ? biased * scale : T(0);
    y[i] = residual[i] + dropped;
    if (++col == cols) col = 0;
  }
}

}  // namespace

void reference_gaussian(const float* x, float* y, std::size_t n, std::uint64_t seed, std::uint64_t start,
                        float sigma, Generator gen) noexcept {
  gaussian(x, y, n, seed, start, sigma, gen);
}
void reference_gaussian(const double* x, double* y, std::size_t n, std::uint64_t seed, std::uint64_t start,
                        float sigma, Generator gen) noexcept {
  gaussian(x, y, n, seed, start, sigma, gen);
}
void reference_affine(const float* x, float* y, const std::uint64_t* mask, std::size_t n, float a, float b,
                      float c) noexcept {
  affine(x, y, mask, n, a, b, c);
}
void reference_affine(const double* x, double* y, const std::uint64_t* mask, std::size_t n, double a, double b,
                      double c) noexcept {
  affine(x, y, mask, n, a, b, c);
}
void reference_bias_add(const float* x, const float* bias, std::size_t cols, std::size_t col0, const float* residual,
                        float* y, const std::uint64_t* mask, std::size_t n, float scale) noexcept {
  bias_add(x, bias, cols, col0, residual, y, mask, n, scale);
}
void reference_bias_add(const double* x, const double* bias, std::size_t cols, std::size_t col0,
                        const double* residual, double* y, const std::uint64_t* mask, std::size_t n,
                        double scale) noexcept {
  bias_add(x, bias, cols, col0, residual, y, mask, n, scale);
}

void reference_accumulate(const float* row, double* acc, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) acc[i] += static_cast<double>(row[i]);
}
void reference_accumulate(const double* row, double* acc, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) acc[i] += row[i];
}

}  // namespace simdrop::detail
