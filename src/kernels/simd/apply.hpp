// The apply and its pipelining: y = keep ? x * scale : +0.0 from mask bits, and the fused forward pass that
// applies one batch while the keep bits of the next are generated. Part of kernel_impl.hpp (one ISA path per
// translation unit).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#include "kernels/kernels.hpp"
#include "kernels/simd/elements.hpp"
#include "kernels/simd/keep_lanes.hpp"
#include "kernels/simd/philox_planes.hpp"
#include "reference/reference.hpp"

namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE {
namespace {

// y = mask ? x * scale : +0.0 over `words` whole mask words; Stream: streaming stores (y aligned to the batch).
template <class T, bool Stream>
inline void apply_words(const T* x, T* y, const std::uint64_t* mask, std::size_t words, compute_t<T> scale) noexcept {
  const CB<T> s(scale);
  arch::for_each_masked_batch<Arch, compute_t<T>>(
      mask, 64 * words,
      [=](std::size_t i, const auto& keep) {
        store_elems<Stream>(y + i, arch::keep_or_zero(keep, load_elems(x + i) * s));  // dropped lanes: +0.0
      },
      Arch{});
}

// How far ahead of a pipelined slice its inputs are prefetched, in bytes. The slices run between the
// generator's plane steps, and the hardware prefetchers alone left their loads waiting on memory: beyond L2 a
// pass cost about the generator's time plus the memory's. Measured on one Xeon core, alternating builds, medians
// of three rounds, avx512 path: forward fp32 at 4 / 16 / 64 / 256 MiB 0.91 / 0.89 / 0.89 / 0.81 of the time
// before (256 MiB: 44.9 -> 36.2 ms, copy 30.6 ms), backward regenerated 0.83, bias-dropout-residual 0.87,
// bfloat16 forward 0.78; the avx2 path 0.92-0.99 (bfloat16 0.59). 1 KiB ahead was as good for fp32 and worse
// for the 16-bit types; 4 KiB and more lost most of the gain. Only where the pass asks for it (Pass::prefetch,
// runtime/dispatch.hpp's use_prefetch: outputs beyond L2): on data L1 and L2 hold the prefetches cost 4-9%.
inline constexpr std::uintptr_t kPrefetchAhead = 2048;

// Prefetches the cache lines kPrefetchAhead bytes past the `words` mask words of elements from x where
// `enabled`, else nothing. Addresses by integer arithmetic: past the end of the data they are never
// dereferenced, and a prefetch does not fault.
template <class T>
inline void prefetch_ahead(bool enabled, const T* x, std::size_t words) noexcept {
  if (!enabled) return;
  const std::uintptr_t first = reinterpret_cast<std::uintptr_t>(x) + kPrefetchAhead;
  const std::uintptr_t end = first + 64 * words * sizeof(T);
  for (std::uintptr_t a = first; a < end; a += 64) arch::prefetch_line<Arch>(a, Arch{});
}

// Software pipelining over whole batches of kW groups from group g0 (Philox): while the keep bits of batch
// j + 1 are generated, batch j is processed two mask words (128 elements) per plane step, by
// slice(first word of the call, its mask bits, words), so that its loads and stores run during generation
// instead of after it. Without this a pass at DRAM sizes cost the generator's time plus the memory's
// (forward, 64 MiB, one Zen 4 core: 2.3 -> 3.0-3.3 G el/s; one or four words per step were no better).
template <int Rounds, class Slice>
void pipelined_batches(std::size_t batches, std::uint64_t g0, const RoundKeys<Rounds>& key, std::uint32_t t,
                       std::uint64_t* mask_out, const Slice& slice) noexcept {
  constexpr std::size_t kWords = 2 * kW, kSlice = 2;
  static_assert(kWords % kSlice == 0);
  alignas(64) std::uint64_t bits[2][kWords];
  keep_groups<Rounds>(bits[0], g0, key, t);
  for (std::size_t j = 0; j < batches; ++j) {
    const std::uint64_t* cur = bits[j & 1];
    std::size_t done = 0;
    auto hook = [&] {
      if (done < kWords) {
        slice(j * kWords + done, cur + done, kSlice);
        done += kSlice;
      }
    };
    if (j + 1 < batches) keep_groups<Rounds>(bits[(j + 1) & 1], g0 + (j + 1) * kW, key, t, hook);
    if (done < kWords) slice(j * kWords + done, cur + done, kWords - done);
    if (mask_out != nullptr)
      for (std::size_t w = 0; w < kWords; ++w) mask_out[j * kWords + w] = cur[w];
  }
}

// Runs the pipelined pass over the whole batches of n elements from pass.start where it applies (Philox,
// start on a group boundary, 0 < t < 2^32); make_slice(std::bool_constant<Stream>) gives the slice function.
// Streaming stores where asked and y is aligned to a batch. Returns how many elements it did.
template <class T, class MakeSlice>
std::size_t run_pipelined(std::size_t n, const Pass& pass, const T* y, const MakeSlice& make_slice) noexcept {
  constexpr std::size_t kElements = kGroupLanes * kW;
  const std::uint64_t t = pass.t;
  if (pass.start % kGroupLanes != 0 || t == 0 || t >= (std::uint64_t{1} << 32) || pass.gen == Generator::ars5)
    return 0;
  const std::size_t batches = n / kElements;
  if (batches == 0) return 0;
  const PhiloxKey key = philox_key(pass.seed);
  const auto t32 = static_cast<std::uint32_t>(t);
  const std::uint64_t g0 = pass.start / kGroupLanes;
  auto run = [&](auto rounds) {
    with_store_mode(pass.stream, y, [&](auto streaming) {
      constexpr int R = decltype(rounds)::value;
      pipelined_batches<R>(batches, g0, RoundKeys<R>(key), t32, pass.mask_out, make_slice(streaming));
    });
  };
  if (pass.gen == Generator::philox4x32_7)
    run(std::integral_constant<int, 7>{});
  else
    run(std::integral_constant<int, 10>{});
  return batches * kElements;
}

template <class T>
std::size_t forward_pipelined(const T* x, T* y, std::size_t n, const Pass& pass, compute_t<T> scale) noexcept {
  return run_pipelined<T>(n, pass, y, [&](auto streaming) {
    return [=, pf = pass.prefetch](std::size_t w0, const std::uint64_t* bits, std::size_t words) {
      prefetch_ahead(pf, x + 64 * w0, words);
      apply_words<T, decltype(streaming)::value>(x + 64 * w0, y + 64 * w0, bits, words, scale);
    };
  });
}

template <class T>
void apply(const T* x, T* y, const std::uint64_t* mask, std::size_t n, compute_t<T> scale, bool stream) noexcept {
  with_store_mode(stream, y,
                  [&](auto streaming) { apply_words<T, decltype(streaming)::value>(x, y, mask, n / 64, scale); });
  const std::size_t done = n / 64 * 64;
  reference_apply(x + done, y + done, mask + n / 64, n - done, scale);
}

}  // namespace
}  // namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE
