// The dropout family's kernels: runs sharing one decision (channel dropout), alpha dropout's affine form,
// bias-dropout-residual, and the column sums of its backward pass. Part of kernel_impl.hpp (one ISA path
// per translation unit).
#pragma once

#include <cstddef>
#include <cstdint>
#include <xsimd/xsimd.hpp>

#include "kernels/kernels.hpp"
#include "kernels/simd/apply.hpp"
#include "reference/family_reference.hpp"
#include "reference/reference.hpp"

namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE {
namespace {

// y = keep ? x * scale : +0.0 for a whole run of elements sharing one decision (channel dropout's planes).
template <class T>
void run_uniform(const T* x, T* y, std::size_t n, compute_t<T> scale, bool keep, bool stream) noexcept {
  using F = CB<T>;
  constexpr std::size_t L = F::size;
  with_store_mode(stream, y, [&](auto streaming) {
    constexpr bool S = decltype(streaming)::value;
    const F s(scale), zero(compute_t<T>(0));
    if (keep)
      for (std::size_t i = 0; i + L <= n; i += L) store_elems<S>(y + i, load_elems(x + i) * s);
    else
      for (std::size_t i = 0; i + L <= n; i += L) store_elems<S>(y + i, zero);
  });
  const std::size_t done = n / L * L;
  const std::uint64_t bits = keep ? ~std::uint64_t{0} : 0;  // the tail (< L <= 64 elements) as one mask word
  reference_apply(x + done, y + done, &bits, n - done, scale);
}

// y = keep ? a * x + b : c over `words` whole mask words.
template <class T, bool Stream>
inline void affine_words(const T* x, T* y, const std::uint64_t* mask, std::size_t words,
                         const Affine<compute_t<T>>& k) noexcept {
  using F = CB<T>;
  const F va(k.a), vb(k.b), vc(k.c);
  arch::for_each_masked_batch<Arch, compute_t<T>>(
      mask, 64 * words,
      [=](std::size_t i, const auto& keep) {
        const F ax = va * load_elems(x + i);
        store_elems<Stream>(y + i, arch::pick(keep, ax + vb, vc));
      },
      Arch{});
}

template <class T>
void affine(const T* x, T* y, const std::uint64_t* mask, std::size_t n, const Affine<compute_t<T>>& k,
            bool stream) noexcept {
  with_store_mode(stream, y,
                  [&](auto streaming) { affine_words<T, decltype(streaming)::value>(x, y, mask, n / 64, k); });
  const std::size_t done = n / 64 * 64;
  reference_affine(x + done, y + done, mask + n / 64, n - done, k.a, k.b, k.c);
}

template <class T>
std::size_t affine_pipelined(const T* x, T* y, std::size_t n, const Pass& pass,
                             const Affine<compute_t<T>>& k) noexcept {
  return run_pipelined<T>(n, pass, y, [&](auto streaming) {
    return [=, pf = pass.prefetch](std::size_t w0, const std::uint64_t* bits, std::size_t words) {
      prefetch_ahead(pf, x + 64 * w0, words);
      affine_words<T, decltype(streaming)::value>(x + 64 * w0, y + 64 * w0, bits, words, k);
    };
  });
}

// y = residual + (keep ? (x + bias[col]) * scale : 0) over `words` whole mask words, col starting at col0.
template <class T, bool Stream>
inline void bias_add_words(const T* x, const T* bias, std::size_t cols, std::size_t col0, const T* residual, T* y,
                           const std::uint64_t* mask, std::size_t words, compute_t<T> scale) noexcept {
  using F = CB<T>;
  constexpr std::size_t L = F::size;
  const F s(scale);
  std::size_t col = col0;  // bias column of element i
  if (cols % L == 0 && col0 % L == 0) {
    // Rows of whole batches (every model width in practice): no batch crosses a row's end, and the column
    // wraps to 0 without a division or a branch.
    arch::for_each_masked_batch<Arch, compute_t<T>>(
        mask, 64 * words,
        [=](std::size_t i, const auto& keep) mutable {
          const F biased = load_elems(x + i) + load_elems(bias + col);
          col += L;
          col = col == cols ? 0 : col;
          store_elems<Stream>(y + i, load_elems(residual + i) + arch::keep_or_zero(keep, biased * s));
        },
        Arch{});
    return;
  }
  arch::for_each_masked_batch<Arch, compute_t<T>>(mask, 64 * words, [=](std::size_t i, const auto& keep) mutable {
    F b;
    if (col + L <= cols) {
      b = load_elems(bias + col);
    } else {  // the batch crosses the end of a row (or rows are shorter than a batch)
      alignas(64) T wrapped[L];
      for (std::size_t k = 0, c = col; k < L; ++k, c = c + 1 == cols ? 0 : c + 1) wrapped[k] = bias[c];
      b = load_elems(static_cast<const T*>(wrapped));
    }
    col += L;
    if (col >= cols) col %= cols;
    const F biased = load_elems(x + i) + b;
    const F dropped = arch::keep_or_zero(keep, biased * s);
    store_elems<Stream>(y + i, load_elems(residual + i) + dropped);
  }, Arch{});
}

template <class T>
void bias_add(const T* x, const T* bias, std::size_t cols, std::size_t col0, const T* residual, T* y,
              const std::uint64_t* mask, std::size_t n, compute_t<T> scale, bool stream) noexcept {
  with_store_mode(stream, y, [&](auto streaming) {
    bias_add_words<T, decltype(streaming)::value>(x, bias, cols, col0, residual, y, mask, n / 64, scale);
  });
  const std::size_t done = n / 64 * 64;
  reference_bias_add(x + done, bias, cols, (col0 + done) % cols, residual + done, y + done, mask + n / 64, n - done,
                     scale);
}

template <class T>
std::size_t bias_add_pipelined(const T* x, const T* bias, std::size_t cols, std::size_t col0, const T* residual, T* y,
                               std::size_t n, const Pass& pass, compute_t<T> scale) noexcept {
  return run_pipelined<T>(n, pass, y, [&](auto streaming) {
    return [=, pf = pass.prefetch](std::size_t w0, const std::uint64_t* bits, std::size_t words) {
      const std::size_t i = 64 * w0;
      prefetch_ahead(pf, x + i, words);
      prefetch_ahead(pf, residual + i, words);
      bias_add_words<T, decltype(streaming)::value>(x + i, bias, cols, (col0 + i) % cols, residual + i, y + i, bits,
                                                    words, scale);
    };
  });
}

// acc[i] += double(row[i]): each element's add on its own, so every path gives the reference's bits. fp32 and
// fp64 are vectorised by the compiler with this file's ISA; the 16-bit types widen a batch at a time.
template <class T>
void accumulate(const T* row, double* acc, std::size_t n) noexcept {
  if constexpr (is_half_v<T>) {
    constexpr std::size_t L = CB<T>::size;
    std::size_t i = 0;
    for (; i + L <= n; i += L) {
      alignas(64) float f[L];
      load_elems(row + i).store_aligned(f);
      for (std::size_t k = 0; k < L; ++k) acc[i + k] += static_cast<double>(f[k]);
    }
    reference_accumulate(row + i, acc + i, n - i);
  } else {
    for (std::size_t i = 0; i < n; ++i) acc[i] += static_cast<double>(row[i]);
  }
}

}  // namespace
}  // namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE
