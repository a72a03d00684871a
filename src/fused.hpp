// What the fused passes of dropout.cpp and family.cpp share: the step size that keeps a step's mask
// bits in L1, the choice of streaming stores, and the drivers of the fused passes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <simdrop/dropout.hpp>
#include <simdrop/runtime.hpp>
#include <simdrop/stream.hpp>
#include <span>

#include "kernels/kernels.hpp"
#include "parallel.hpp"
#include "runtime/dispatch.hpp"

namespace simdrop::detail {

// Elements per fused step: its mask bits (512 bytes) stay in L1 between generation and use.
inline constexpr std::size_t kFusedElements = 4096;

// The kernels' description of a pipelined call at stream position `offset` of s.
inline Pass pass_at(Stream s, std::uint64_t offset, std::uint64_t t, std::uint64_t* mask_out, bool stream) noexcept {
  return Pass{s.seed, offset, t, s.generator, mask_out, stream};
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
auto dropout_step(const KernelTable& k, const T* in, T* out, compute_t<T> scale, bool stream) {
  return [&kt = k.of<T>(), in, out, scale, stream](std::size_t i, std::size_t m, const std::uint64_t* bits) {
    kt.apply(in + i, out + i, bits, m, scale, stream);
  };
}
template <class T>
auto dropout_pipelined(const KernelTable& k, const T* in, T* out, std::uint64_t t, Stream s, compute_t<T> scale,
                       bool stream) {
  return [&kt = k.of<T>(), in, out, t, s, scale, stream](std::size_t i, std::size_t count, std::uint64_t offset,
                                                         std::uint64_t* bits_out) {
    return kt.forward(in + i, out + i, count, pass_at(s, offset, t, bits_out, stream), scale);
  };
}

// The fused dropout pass out = keep ? in * scale : +0.0 over n elements, keep bits from stream s (also to
// mask_out when given).
template <class T>
void dropout_pass(const KernelTable& k, const T* in, T* out, std::size_t n, std::uint64_t t, Stream s,
                  compute_t<T> scale, std::uint64_t* mask_out, bool stream) {
  fused_blocks(k, n, t, s, mask_out, dropout_step(k, in, out, scale, stream),
               dropout_pipelined(k, in, out, t, s, scale, stream));
}

// out = keep ? in * scale : +0.0 with the keep bits regenerated from s: the core's fused dropout pass.
template <class T>
void regenerated_dropout(std::span<const T> in, std::span<T> out, double p, Stream s, compute_t<T> scale) {
  dropout_pass(kernels_for<T>(Work::fused, out.size_bytes()), in.data(), out.data(), in.size(), drop_threshold(p), s,
               scale, nullptr, use_streaming(out.size_bytes()));
}

// out = keep ? in * scale : +0.0 over n elements from a stored mask, block by block.
template <class T>
void masked_pass(const KernelTable& k, const T* in, T* out, const std::uint64_t* mask, std::size_t n,
                 compute_t<T> scale, bool stream) {
  const TypedKernels<T>& kt = k.of<T>();
  for_each_block(n,
                 [&](std::size_t b, std::size_t e) { kt.apply(in + b, out + b, mask + b / 64, e - b, scale, stream); });
}

}  // namespace simdrop::detail
