// The transformer's fused bias-dropout-residual, y = residual + dropout(x + bias), and its backward passes
// (dx as the core's, dbias as column sums in fixed row blocks, the same for any thread count).
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

// Checks that `elements` is a whole number of rows of `cols` (the bias or dbias length).
inline void check_rows(std::size_t elements, std::size_t cols, std::string_view buffer, std::string_view bias_name) {
  if (cols == 0 && elements != 0)
    fail_argument(bias_name, "is empty but " + std::string(buffer) + " has " + std::to_string(elements) + " elements");
  if (cols != 0 && elements % cols != 0)
    fail_argument(buffer, "has " + std::to_string(elements) + " elements, not a whole number of rows of " +
                              std::string(bias_name) + ".size() = " + std::to_string(cols));
}

template <class T>
void bias_dropout_add(std::span<const T> x, std::span<const T> bias, std::span<const T> residual, std::span<T> y,
                      double p, Stream s, std::span<std::uint64_t> mask) {
  check_probability(p);
  check_rows(x.size(), bias.size(), "x", "bias");
  check_same_size(x.size(), residual.size(), "x", "residual");
  check_no_overlap(bias, y, "bias", "y", false);
  check_no_overlap(residual, y, "residual", "y", /*allow_same=*/true);
  if (!mask.empty()) {
    check_no_overlap(bias, mask, "bias", "mask", false);
    check_no_overlap(residual, mask, "residual", "mask", false);
  }
  check_elementwise(x, y, s, mask, kForward);
  const FusedPass pass = fused_pass(y, {x.data(), residual.data()}, p, s, mask.empty() ? nullptr : mask.data());
  const TypedKernels<T>& k = pass.kernels->of<T>();
  const compute_t<T> scale = scale_of<T>(p);
  const std::size_t cols = bias.size();
  fused_blocks(
      pass,
      [&](std::size_t i, std::size_t m, const std::uint64_t* bits) {
        k.bias_add(x.data() + i, bias.data(), cols, i % cols, residual.data() + i, y.data() + i, bits, m, scale,
                   pass.stream);
      },
      [&](std::size_t i, const FusedPass& sub) {
        return k.bias_add_pipelined(x.data() + i, bias.data(), cols, i % cols, residual.data() + i, y.data() + i, sub.n,
                                    sub.pipelined(), scale);
      });
}

// dbias: rows are taken in blocks of kRowsPerPartial; each block's column sums (double, rows in order) are
// one task's, and dbias[c] adds the blocks' sums in block order, then rounds once. The blocks are fixed,
// so the result does not depend on the thread count or the grain.
constexpr std::size_t kRowsPerPartial = 256;

// Column sums of the dx rows of each row block into partial[block * cols ...]; row_dx(r) returns dx's row r
// (after producing it, where the caller fuses that in).
template <class T, class RowDx>
std::vector<double> block_column_sums(std::size_t rows, std::size_t cols, const RowDx& row_dx) {
  const TypedKernels<T>& k = kernels_for<T>(Work::apply, 0).template of<T>();
  const std::size_t blocks = (rows + kRowsPerPartial - 1) / kRowsPerPartial;
  std::vector<double> partial(blocks * cols, 0.0);
  parallel_blocks(blocks, [&](std::size_t b) {
    double* acc = partial.data() + b * cols;
    for (std::size_t row = b * kRowsPerPartial; row < std::min(rows, (b + 1) * kRowsPerPartial); ++row)
      k.accumulate(row_dx(row), acc, cols);
  });
  return partial;
}

template <class T>
void finish_dbias(const std::vector<double>& partial, std::span<T> dbias) {
  const std::size_t cols = dbias.size(), blocks = cols == 0 ? 0 : partial.size() / cols;
  for (std::size_t c = 0; c < cols; ++c) {
    double sum = 0;
    for (std::size_t b = 0; b < blocks; ++b) sum += partial[b * cols + c];
    dbias[c] = narrow_from_double<T>(sum);  // rounded once
  }
}

template <class T>
void check_bias_backward(std::span<const T> dy, std::span<T> dx, std::span<T> dbias, double p) {
  check_probability(p);
  check_same_size(dy.size(), dx.size(), "dy", "dx");
  check_rows(dy.size(), dbias.size(), "dy", "dbias");
  check_no_overlap(dy, dx, "dy", "dx", /*allow_same=*/true);
  check_no_overlap(dy, std::span<const T>(dbias), "dy", "dbias", false);
  check_no_overlap(std::span<const T>(dx), std::span<const T>(dbias), "dx", "dbias", false);
}

template <class T>
void bias_backward(std::span<const T> dy, std::span<const std::uint64_t> mask, std::span<T> dx, std::span<T> dbias,
                   double p) {
  check_bias_backward(dy, dx, dbias, p);
  check_mask_out<T>(mask, dy.size(), dy, dx, kBackward);
  check_no_overlap(mask, std::span<const T>(dbias), "mask", "dbias", false);
  const KernelTable& table = kernels_for<T>(Work::apply, dx.size_bytes());
  const compute_t<T> scale = scale_of<T>(p);
  const std::size_t cols = dbias.size(), rows = cols == 0 ? 0 : dy.size() / cols;
  if (cols % 64 == 0) {
    // Rows start on mask words: each row of dx is made and summed while it is in L1 (one pass).
    finish_dbias(block_column_sums<T>(rows, cols,
                                      [&](std::size_t r) {
                                        const std::size_t i = r * cols;
                                        table.of<T>().apply(dy.data() + i, dx.data() + i, mask.data() + i / 64, cols,
                                                            scale, /*stream=*/false);
                                        return static_cast<const T*>(dx.data() + i);
                                      }),
                 dbias);
    return;
  }
  masked_pass(table, dy.data(), dx.data(), mask.data(), dy.size(), scale,
              use_streaming(dx.size_bytes(), dx.data(), {dy.data()}));
  finish_dbias(
      block_column_sums<T>(rows, cols, [&](std::size_t r) { return static_cast<const T*>(dx.data() + r * cols); }),
      dbias);
}

template <class T>
void bias_backward(std::span<const T> dy, std::span<T> dx, std::span<T> dbias, double p, Stream s) {
  check_bias_backward(dy, dx, dbias, p);
  check_stream(s, dy.size());
  regenerated_dropout(dy, dx, p, s, scale_of<T>(p));
  const std::size_t cols = dbias.size(), rows = cols == 0 ? 0 : dy.size() / cols;
  finish_dbias(
      block_column_sums<T>(rows, cols, [&](std::size_t r) { return static_cast<const T*>(dx.data() + r * cols); }),
      dbias);
}

}  // namespace detail

}  // namespace simdrop
