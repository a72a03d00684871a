// What the fused passes of dropout.cpp and family.cpp share: the step size that keeps a step's mask
// bits in L1, the scale, the choice of streaming stores, and typed access to the kernel table.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <simdrop/dropout.hpp>
#include <simdrop/runtime.hpp>

#include "kernels/kernels.hpp"
#include "parallel.hpp"

namespace simdrop::detail {

// Elements per fused step: its mask bits (512 bytes) stay in L1 between generation and use.
inline constexpr std::size_t kFusedElements = 4096;

template <class T>
T scale_of(double p) noexcept {
  return static_cast<T>(1.0 / (1.0 - p));
}

// Whether a call writing `bytes` of output uses streaming stores.
inline bool use_streaming(std::size_t bytes) noexcept { return bytes >= stream_threshold(); }

// The kernel table's entries by element type.
template <class T>
void apply(const KernelTable& k, const T* x, T* y, const std::uint64_t* mask, std::size_t n, T scale, bool stream) {
  if constexpr (sizeof(T) == 4)
    k.apply_f32(x, y, mask, n, scale, stream);
  else
    k.apply_f64(x, y, mask, n, scale, stream);
}
template <class T>
void run_uniform(const KernelTable& k, const T* x, T* y, std::size_t n, T scale, bool keep, bool stream) {
  if constexpr (sizeof(T) == 4)
    k.run_uniform_f32(x, y, n, scale, keep, stream);
  else
    k.run_uniform_f64(x, y, n, scale, keep, stream);
}
template <class T>
void affine(const KernelTable& k, const T* x, T* y, const std::uint64_t* mask, std::size_t n, T a, T b, T c,
            bool stream) {
  if constexpr (sizeof(T) == 4)
    k.affine_f32(x, y, mask, n, a, b, c, stream);
  else
    k.affine_f64(x, y, mask, n, a, b, c, stream);
}
template <class T>
void bias_add(const KernelTable& k, const T* x, const T* bias, std::size_t cols, std::size_t col0, const T* residual,
              T* y, const std::uint64_t* mask, std::size_t n, T scale, bool stream) {
  if constexpr (sizeof(T) == 4)
    k.bias_add_f32(x, bias, cols, col0, residual, y, mask, n, scale, stream);
  else
    k.bias_add_f64(x, bias, cols, col0, residual, y, mask, n, scale, stream);
}
template <class T>
void accumulate(const KernelTable& k, const T* row, double* acc, std::size_t n) {
  if constexpr (sizeof(T) == 4)
    k.accumulate_f32(row, acc, n);
  else
    k.accumulate_f64(row, acc, n);
}
template <class T>
void gaussian(const KernelTable& k, const T* x, T* y, std::size_t n, std::uint64_t seed, std::uint64_t start,
              float sigma, Generator gen) {
  if constexpr (sizeof(T) == 4)
    k.gaussian_f32(x, y, n, seed, start, sigma, gen);
  else
    k.gaussian_f64(x, y, n, seed, start, sigma, gen);
}

// Calls step(i, m, bits) for the fused steps [i, i + m) of a block of n elements, bits holding the keep
// bits of the step's elements (stream positions s.offset + i ...): written to mask_out + i / 64 when
// mask_out is given, else to a buffer on the stack.
template <class Step>
void for_each_fused_step(const KernelTable& k, std::size_t n, Stream s, std::uint64_t t, std::uint64_t* mask_out,
                         const Step& step) {
  std::uint64_t local[kFusedElements / 64];
  for (std::size_t i = 0; i < n; i += kFusedElements) {
    const std::size_t m = n - i < kFusedElements ? n - i : kFusedElements;
    std::uint64_t* bits = mask_out != nullptr ? mask_out + i / 64 : local;
    k.mask(bits, m, s.seed, s.offset + i, t, s.generator);
    step(i, m, static_cast<const std::uint64_t*>(bits));
  }
}

// One block of a fused pass over n elements of stream s: step-wise (for_each_fused_step, then
// step(i, m, bits)) up to the first 128-lane group boundary, then pipelined(i, count, offset, mask_out)
// (a pipelined kernel over whole batches from element i at stream position offset, returning how many
// elements it did), then step-wise again for the rest. With a mask out, a head that is not whole words
// makes the whole block step-wise (the pipelined kernels write whole mask words).
template <class Step, class Pipelined>
void run_fused_block(const KernelTable& k, std::size_t n, Stream s, std::uint64_t t, std::uint64_t* mask_out,
                     const Step& step, const Pipelined& pipelined) {
  auto stepwise = [&](std::size_t begin, std::size_t count) {
    for_each_fused_step(k, count, Stream{s.seed, s.offset + begin, s.generator}, t,
                        mask_out != nullptr ? mask_out + begin / 64 : nullptr,
                        [&](std::size_t i, std::size_t m, const std::uint64_t* bits) { step(begin + i, m, bits); });
  };
  const std::size_t head = std::min<std::size_t>(n, (128 - s.offset % 128) % 128);
  if (mask_out != nullptr && head % 64 != 0) return stepwise(0, n);
  stepwise(0, head);
  const std::size_t done =
      pipelined(head, n - head, s.offset + head, mask_out != nullptr ? mask_out + head / 64 : nullptr);
  stepwise(head + done, n - head - done);
}

// The pipelined kernels by element type.
template <class T>
std::size_t forward_pipelined(const KernelTable& k, const T* x, T* y, std::size_t n, std::uint64_t seed,
                              std::uint64_t start, std::uint64_t t, T scale, Generator gen, std::uint64_t* mask_out,
                              bool stream) {
  if constexpr (sizeof(T) == 4)
    return k.forward_f32(x, y, n, seed, start, t, scale, gen, mask_out, stream);
  else
    return k.forward_f64(x, y, n, seed, start, t, scale, gen, mask_out, stream);
}
template <class T>
std::size_t affine_pipelined(const KernelTable& k, const T* x, T* y, std::size_t n, std::uint64_t seed,
                             std::uint64_t start, std::uint64_t t, Generator gen, std::uint64_t* mask_out, bool stream,
                             T a, T b, T c) {
  if constexpr (sizeof(T) == 4)
    return k.affine_pipelined_f32(x, y, n, seed, start, t, gen, mask_out, stream, a, b, c);
  else
    return k.affine_pipelined_f64(x, y, n, seed, start, t, gen, mask_out, stream, a, b, c);
}
template <class T>
std::size_t bias_add_pipelined(const KernelTable& k, const T* x, const T* bias, std::size_t cols, std::size_t col0,
                               const T* residual, T* y, std::size_t n, std::uint64_t seed, std::uint64_t start,
                               std::uint64_t t, Generator gen, std::uint64_t* mask_out, bool stream, T scale) {
  if constexpr (sizeof(T) == 4)
    return k.bias_add_pipelined_f32(x, bias, cols, col0, residual, y, n, seed, start, t, gen, mask_out, stream, scale);
  else
    return k.bias_add_pipelined_f64(x, bias, cols, col0, residual, y, n, seed, start, t, gen, mask_out, stream, scale);
}

// A fused pass over n elements of stream s, block by block (oneTBB), each block by run_fused_block:
// step(i, m, bits) for the step-wise parts, pipelined(i, count, offset, mask_out) for the pipelined kernel
// (i: call index; bits and mask_out: keep bits, also written to mask_out when it is given).
template <class Step, class Pipelined>
void fused_blocks(const KernelTable& k, std::size_t n, std::uint64_t t, Stream s, std::uint64_t* mask_out,
                  const Step& step, const Pipelined& pipelined) {
  for_each_block(n, [&](std::size_t b, std::size_t e) {
    run_fused_block(
        k, e - b, Stream{s.seed, s.offset + b, s.generator}, t, mask_out != nullptr ? mask_out + b / 64 : nullptr,
        [&](std::size_t i, std::size_t m, const std::uint64_t* bits) { step(b + i, m, bits); },
        [&](std::size_t i, std::size_t count, std::uint64_t offset, std::uint64_t* out) {
          return pipelined(b + i, count, offset, out);
        });
  });
}

// The two halves of the fused dropout pass out = keep ? in * scale : +0.0, as run_fused_block and
// fused_blocks take them (i: element index into in and out): the step-wise apply and the pipelined kernel.
template <class T>
auto dropout_step(const KernelTable& k, const T* in, T* out, T scale, bool stream) {
  return [&k, in, out, scale, stream](std::size_t i, std::size_t m, const std::uint64_t* bits) {
    apply(k, in + i, out + i, bits, m, scale, stream);
  };
}
template <class T>
auto dropout_pipelined(const KernelTable& k, const T* in, T* out, std::uint64_t t, Stream s, T scale, bool stream) {
  return [&k, in, out, t, s, scale, stream](std::size_t i, std::size_t count, std::uint64_t offset,
                                            std::uint64_t* bits_out) {
    return forward_pipelined(k, in + i, out + i, count, s.seed, offset, t, scale, s.generator, bits_out, stream);
  };
}

// The fused dropout pass out = keep ? in * scale : +0.0 over n elements, keep bits from stream s (also to
// mask_out when given).
template <class T>
void dropout_pass(const KernelTable& k, const T* in, T* out, std::size_t n, std::uint64_t t, Stream s, T scale,
                  std::uint64_t* mask_out, bool stream) {
  fused_blocks(k, n, t, s, mask_out, dropout_step(k, in, out, scale, stream),
               dropout_pipelined(k, in, out, t, s, scale, stream));
}

// out = keep ? in * scale : +0.0 over n elements from a stored mask, block by block.
template <class T>
void masked_pass(const KernelTable& k, const T* in, T* out, const std::uint64_t* mask, std::size_t n, T scale,
                 bool stream) {
  for_each_block(n,
                 [&](std::size_t b, std::size_t e) { apply(k, in + b, out + b, mask + b / 64, e - b, scale, stream); });
}

// make_mask without its checks (parallel over blocks).
void generate_mask(std::uint64_t* mask, std::size_t n, std::uint64_t t, Stream s);

}  // namespace simdrop::detail
