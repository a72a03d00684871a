// The dropout family's definitions written out plainly, one element at a time, for the tests: each
// variant's expected output from the reference keep mask (reference_mask) and the formulas of
// simdrop/family.hpp, independent of the library's kernels.
#pragma once

#include <simdrop/simdrop.hpp>

#include <algorithm>
#include <vector>

#include "reference/family_reference.hpp"
#include "reference/reference.hpp"
#include "support.hpp"

namespace simdrop::test {

inline std::vector<std::uint64_t> reference_bits(std::size_t n, double p, Stream s) {
  std::vector<std::uint64_t> m(mask_words(n));
  detail::reference_mask(m.data(), n, s.seed, s.offset, drop_threshold(p), s.generator);
  return m;
}

// The scale in T's computing type (float for the 16-bit types).
template <class T>
wide_t<T> scale_for(double p) {
  return static_cast<wide_t<T>>(1.0 / (1.0 - p));
}

// Plane k = b * channels + c of element i.
inline std::size_t plane_of(std::size_t i, std::size_t channels, std::size_t spatial, Layout layout) {
  if (layout == Layout::nchw) return i / spatial;
  return i / (spatial * channels) * channels + i % channels;
}

template <class T>
std::vector<T> expected_channel(std::span<const T> x, std::size_t batch, std::size_t channels, std::size_t spatial,
                                Layout layout, double p, Stream s) {
  const auto planes = reference_bits(batch * channels, p, s);
  std::vector<T> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i)
    y[i] = round_to<T>(bit(planes, plane_of(i, channels, spatial, layout)) ? wide(x[i]) * scale_for<T>(p) : 0);
  return y;
}

template <class T>
std::vector<T> expected_shared(std::span<const T> x, std::size_t row, double p, Stream s) {
  const auto columns = reference_bits(row, p, s);
  std::vector<T> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i)
    y[i] = round_to<T>(bit(columns, i % row) ? wide(x[i]) * scale_for<T>(p) : 0);
  return y;
}

template <class T>
std::vector<T> expected_alpha(std::span<const T> x, double p, Stream s) {
  const auto keep = reference_bits(x.size(), p, s);
  const AlphaCoefficients c = alpha_dropout_coefficients(p);
  using W = wide_t<T>;
  const W a = static_cast<W>(c.a), b = static_cast<W>(c.b), dropped = static_cast<W>(c.dropped);
  std::vector<T> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const W ax = a * wide(x[i]);  // rounded, then the add (no fused multiply-add)
    y[i] = round_to<T>(bit(keep, i) ? ax + b : dropped);
  }
  return y;
}

template <class T>
std::vector<T> expected_gaussian(std::span<const T> x, double p, Stream s) {
  const float sigma = static_cast<float>(std::sqrt(p / (1 - p)));
  std::vector<T> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float e = 1.0f + sigma * detail::reference_normal(s.seed, s.offset + i, s.generator);
    y[i] = round_to<T>(wide(x[i]) * static_cast<wide_t<T>>(e));
  }
  return y;
}

template <class T>
std::vector<T> expected_bias_dropout_add(std::span<const T> x, std::span<const T> bias, std::span<const T> residual,
                                         double p, Stream s) {
  const auto keep = reference_bits(x.size(), p, s);
  std::vector<T> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    using W = wide_t<T>;
    const W biased = wide(x[i]) + wide(bias[i % bias.size()]);
    const W dropped = bit(keep, i) ? biased * scale_for<T>(p) : W(0);
    y[i] = round_to<T>(wide(residual[i]) + dropped);
  }
  return y;
}

// dbias[c]: per block of 256 rows the sum of dx[r, c] in row order, in double; the blocks' sums added in
// block order; rounded once (by round_from_double: a static_cast for fp32 and fp64).
template <class T, class RoundFromDouble>
std::vector<T> expected_column_sums(std::span<const T> dx, std::size_t cols, const RoundFromDouble& round_from_double) {
  const std::size_t rows = dx.size() / cols;
  std::vector<double> total(cols, 0.0);
  for (std::size_t r0 = 0; r0 < rows; r0 += 256) {
    std::vector<double> block(cols, 0.0);
    for (std::size_t r = r0; r < std::min(rows, r0 + 256); ++r)
      for (std::size_t c = 0; c < cols; ++c) block[c] += static_cast<double>(wide(dx[r * cols + c]));
    for (std::size_t c = 0; c < cols; ++c) total[c] += block[c];
  }
  std::vector<T> sums(cols);
  for (std::size_t c = 0; c < cols; ++c) sums[c] = round_from_double(total[c]);
  return sums;
}
template <class T>
std::vector<T> expected_column_sums(std::span<const T> dx, std::size_t cols) {
  static_assert(!is_16_bit_v<T>, "the 16-bit types round from double with test_half.cpp's IEEE reference");
  return expected_column_sums<T>(dx, cols, [](double v) { return static_cast<T>(v); });
}

}  // namespace simdrop::test
