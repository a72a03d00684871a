// Keep lanes from mask bits: for_each_masked_batch hands each batch's keep lanes to a body as a `keep` value
// that pick(keep, a, b) (per lane: keep ? a : b) and keep_or_zero(keep, a) (keep ? a : +0.0) understand. This
// file is the fallback, a batch_bool made by arch::lanes_from_bits; an ISA header may give its own form of
// `keep` and for_each_masked_batch for its tag (arch/avx2.hpp: a lane mask loaded from a table). Included by
// kernel_impl.hpp after the ISA's header, so that the fallback's calls see that ISA's primitives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#include "kernels/arch/generic.hpp"

namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE {
namespace {
namespace arch {

// pick(keep, a, b): per lane keep ? a : b; keep_or_zero(keep, a): keep ? a : +0.0.
template <class T, class A>
inline xsimd::batch<T, A> pick(const xsimd::batch_bool<T, A>& keep, xsimd::batch<T, A> a, xsimd::batch<T, A> b) noexcept {
  return xsimd::select(keep, a, b);
}
template <class T, class A>
inline xsimd::batch<T, A> keep_or_zero(const xsimd::batch_bool<T, A>& keep, xsimd::batch<T, A> a) noexcept {
  return xsimd::select(keep, a, xsimd::batch<T, A>(T(0)));  // AVX-512: one zero-masking move
}

// The keep lanes of one batch of T from its bits, with the lane constants made once.
template <class T, class A>
struct LaneKeep {
  using UInt = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  using U = xsimd::batch<UInt, A>;
  static constexpr std::size_t L = xsimd::batch<T, A>::size;
  U lane_bits;
  LaneKeep() noexcept {
    alignas(64) UInt values[L];
    for (std::size_t k = 0; k < L; ++k) values[k] = UInt{1} << k;
    lane_bits = U::load_aligned(values);
  }
  xsimd::batch_bool<T, A> operator()(std::uint64_t bits) const noexcept { return lanes_from_bits<A, T>(bits, lane_bits, A{}); }
};

// Calls body(i, keep) for each batch of T of the whole 64-element words of mask (i: first element), keep a
// value that pick and keep_or_zero understand. The body is taken by value: a body that captures its pointers
// and constants by value keeps them in registers, where by reference they were reloaded after every store
// (vector stores may alias anything).
template <class A, class T, class Body>
inline void for_each_masked_batch(const std::uint64_t* mask, std::size_t n, Body body, on<xsimd::generic>) noexcept {
  const LaneKeep<T, A> lanes;
  constexpr std::size_t L = LaneKeep<T, A>::L;
  for (std::size_t w = 0; w < n / 64; ++w) {
    const std::uint64_t m = mask[w];
    for (std::size_t k = 0; k < 64; k += L) body(64 * w + k, lanes((m >> k) & ((std::uint64_t{1} << L) - 1)));
  }
}

}  // namespace arch
}  // namespace
}  // namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE
