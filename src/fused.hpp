// What the fused passes of dropout.cpp and family.cpp share: the step size that keeps a step's mask
// bits in L1, the choice of streaming stores, and the drivers of the fused passes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
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

// One fused pass, described once: the path's kernels, n elements at stream s (element i at position
// s.offset + i), the drop threshold, where the keep bits also go (whole words, when given) and the store kind.
struct FusedPass {
  const KernelTable* kernels;
  std::size_t n;
  Stream s;
  std::uint64_t t;                    // drop threshold in [0, 2^32]
  std::uint64_t* mask_out = nullptr;  // also write the keep bits here when given
  bool stream = false;                // streaming stores where the output is aligned (beyond the caches)
  bool prefetch = false;              // the pipelined kernels prefetch their inputs (beyond L2)

  // Elements [begin, begin + count) of this pass, as a pass of their own (begin a multiple of 64 where
  // mask_out is given, so that they start on a mask word).
  FusedPass slice(std::size_t begin, std::size_t count) const noexcept {
    return {kernels,
            count,
            Stream{s.seed, s.offset + begin, s.generator},
            t,
            mask_out != nullptr ? mask_out + begin / 64 : nullptr,
            stream,
            prefetch};
  }
  // The kernels' description of this pass as one pipelined call.
  Pass pipelined() const noexcept { return Pass{s.seed, s.offset, t, s.generator, mask_out, stream, prefetch}; }
};

// Calls step(i, m, bits) for the fused steps [i, i + m) of pass p, bits holding the keep bits of the step's
// elements: written to p.mask_out + i / 64 when it is given, else to a buffer on the stack.
template <class Step>
void for_each_fused_step(const FusedPass& p, const Step& step) {
  std::uint64_t local[kFusedElements / 64];
  for (std::size_t i = 0; i < p.n; i += kFusedElements) {
    const std::size_t m = p.n - i < kFusedElements ? p.n - i : kFusedElements;
    std::uint64_t* bits = p.mask_out != nullptr ? p.mask_out + i / 64 : local;
    p.kernels->mask(bits, m, p.s.seed, p.s.offset + i, p.t, p.s.generator);
    step(i, m, static_cast<const std::uint64_t*>(bits));
  }
}

// One block of a fused pass: step-wise (for_each_fused_step, then step(i, m, bits)) up to the first
// 128-lane group boundary, then pipelined(i, sub) (a pipelined kernel over whole batches of the sub-pass
// `sub` that starts at element i, returning how many elements it did), then step-wise again for the rest.
// With a mask out, a head that is not whole words makes the whole block step-wise (the pipelined kernels
// write whole mask words).
template <class Step, class Pipelined>
void run_fused_block(const FusedPass& p, const Step& step, const Pipelined& pipelined) {
  auto stepwise = [&](std::size_t begin, std::size_t count) {
    for_each_fused_step(p.slice(begin, count),
                        [&](std::size_t i, std::size_t m, const std::uint64_t* bits) { step(begin + i, m, bits); });
  };
  const std::size_t head = std::min<std::size_t>(p.n, (128 - p.s.offset % 128) % 128);
  if (p.mask_out != nullptr && head % 64 != 0) return stepwise(0, p.n);
  stepwise(0, head);
  const std::size_t done = pipelined(head, p.slice(head, p.n - head));
  stepwise(head + done, p.n - head - done);
}

// A fused pass, block by block (oneTBB), each block by run_fused_block: step(i, m, bits) for the step-wise
// parts, pipelined(i, sub) for the pipelined kernel (i: index into the whole pass's elements).
template <class Step, class Pipelined>
void fused_blocks(const FusedPass& p, const Step& step, const Pipelined& pipelined) {
  for_each_block(p.n, [&](std::size_t b, std::size_t e) {
    run_fused_block(
        p.slice(b, e - b), [&](std::size_t i, std::size_t m, const std::uint64_t* bits) { step(b + i, m, bits); },
        [&](std::size_t i, const FusedPass& sub) { return pipelined(b + i, sub); });
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
auto dropout_pipelined(const KernelTable& k, const T* in, T* out, compute_t<T> scale) {
  return [&kt = k.of<T>(), in, out, scale](std::size_t i, const FusedPass& sub) {
    return kt.forward(in + i, out + i, sub.n, sub.pipelined(), scale);
  };
}

// The fused dropout pass out = keep ? in * scale : +0.0 of pass p.
template <class T>
void dropout_pass(const FusedPass& p, const T* in, T* out, compute_t<T> scale) {
  fused_blocks(p, dropout_step(*p.kernels, in, out, scale, p.stream), dropout_pipelined(*p.kernels, in, out, scale));
}

// The fused pass of a call writing `out` from the inputs `in` at stream s with the keep bits of p (also to
// mask_out when given): the path chosen for fused work at that size, its store kind and whether it prefetches.
template <class T>
FusedPass fused_pass(std::span<T> out, std::initializer_list<const void*> in, double p, Stream s,
                     std::uint64_t* mask_out = nullptr) {
  return {&kernels_for<T>(Work::fused, out.size_bytes()),
          out.size(),
          s,
          drop_threshold(p),
          mask_out,
          use_streaming(out.size_bytes(), out.data(), in),
          use_prefetch(out.size_bytes())};
}

// out = keep ? in * scale : +0.0 with the keep bits regenerated from s: the core's fused dropout pass.
template <class T>
void regenerated_dropout(std::span<const T> in, std::span<T> out, double p, Stream s, compute_t<T> scale) {
  dropout_pass(fused_pass(out, {in.data()}, p, s), in.data(), out.data(), scale);
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
