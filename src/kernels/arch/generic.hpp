// The primitives every ISA path's kernels are written with, and their documented fallbacks.
//
// The kernels (kernels/simd/*.hpp) are written once over xsimd::batch<..., Arch>; the few operations that
// xsimd 8.1 does not give, or gives too slowly or not exactly enough, are these primitives. Each is a
// function template whose last argument is the path's xsimd architecture tag, in the style of xsimd's own
// arch/xsimd_<isa>.hpp: this file defines the fallback for `requires_arch<xsimd::generic>`, and an ISA's
// header (arch/<isa>.hpp) overloads the ones it does better for its own tag. A call names the path's
// architecture as the first template argument and passes it as the tag, `arch::f<Arch>(..., Arch{})`, so
// overload resolution picks the most specific one. Every overload computes the same bits as the fallback.
//
// Include only through kernels/kernel_impl.hpp (inside a kernels_<isa>.cpp, after its SIMDROP_KERNEL_*
// macros): everything here has internal linkage, so that no code built with one ISA's flags is shared
// with another path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#include "reference/reference.hpp"

namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE {
namespace {
namespace arch {

template <class A>
using on = xsimd::kernel::requires_arch<A>;
template <class A>
using U64 = xsimd::batch<std::uint64_t, A>;
template <class A>
using F32 = xsimd::batch<float, A>;

// ---- Prefetch --------------------------------------------------------------------------------------------
// Asks for the cache line at address a in L1 (a hint: it never faults, whatever a is). Volatile asm on x86-64
// and arm64, because GCC 12 at -O3 drops __builtin_prefetch from the pipelined slices once a run-time
// condition guards it (not one prefetch was left in the avx512 object); elsewhere the builtin.
template <class A>
inline void prefetch_line(std::uintptr_t a, on<xsimd::generic>) noexcept {
#if defined(__x86_64__)
  asm volatile("prefetcht0 (%0)" : : "r"(a));
#elif defined(__aarch64__)
  asm volatile("prfm pldl1keep, [%0]" : : "r"(a));
#else
  __builtin_prefetch(reinterpret_cast<const void*>(a), 0, 3);
#endif
}

// ---- Philox ----------------------------------------------------------------------------------------------
// The 64-bit products lo32(a[i]) * m (the high halves of a's lanes are ignored).
template <class A>
inline U64<A> mul_lo32(U64<A> a, std::uint32_t m, on<xsimd::generic>) noexcept {
  return (a & U64<A>(0xFFFFFFFFull)) * U64<A>(std::uint64_t{m});
}

// x & ~y. (Spelled out here because xsimd 8.1's bitwise_andnot takes its operands in a different order
// on x86 (~a & b) and on neon64 (a & ~b).)
template <class A>
inline U64<A> and_not(U64<A> x, U64<A> y, on<xsimd::generic>) noexcept {
  return x & ~y;
}

// ---- Elements in memory ----------------------------------------------------------------------------------
// The float lanes of F32<A>::size 16-bit elements at p (bfloat16 or float16), widened exactly.
template <class A, class T>
inline F32<A> load_half(const T* p, on<xsimd::generic>) noexcept {
  alignas(F32<A>::size * sizeof(float)) float f[F32<A>::size];
  widen_elements(p, f, F32<A>::size);
  return F32<A>::load_aligned(f);
}

// v narrowed to T (element.hpp's rounding: to nearest even, subnormals kept, NaN quieted) and stored at y;
// a streaming store when Stream (y then aligned to the batch's bytes).
template <class A, bool Stream, class T>
inline void store_half(T* y, F32<A> v, on<xsimd::generic>) noexcept {
  alignas(F32<A>::size * sizeof(float)) float f[F32<A>::size];
  v.store_aligned(f);
  narrow_elements(f, y, F32<A>::size);
}

// v stored at y (aligned to the batch) with a non-temporal store where the ISA has one; the fallback is a
// plain store, and stream_fence then has nothing to order.
template <class A, class T>
inline void store_stream(T* y, xsimd::batch<T, A> v, on<xsimd::generic>) noexcept {
  v.store_aligned(y);
}
template <class A>
inline void stream_fence(on<xsimd::generic>) noexcept {}

// ---- Keep lanes ------------------------------------------------------------------------------------------
// The keep lanes of one batch of T from its mask bits (bit k = lane k): lane_bits[k] = 1 << k in T's
// unsigned integer type.
template <class A, class T, class U>
inline xsimd::batch_bool<T, A> lanes_from_bits(std::uint64_t bits, U /*lane_bits*/, on<xsimd::generic>) noexcept {
  constexpr std::size_t L = xsimd::batch<T, A>::size;
  alignas(64) bool keep[L];
  for (std::size_t k = 0; k < L; ++k) keep[k] = ((bits >> k) & 1u) != 0;
  return xsimd::batch_bool<T, A>::load_aligned(keep);
}

// ---- Gaussian noise --------------------------------------------------------------------------------------
// Correctly rounded square root and division (reference/normal.hpp relies on IEEE 754's).
template <class A>
inline F32<A> sqrt(F32<A> v, on<xsimd::generic>) noexcept {
  return xsimd::sqrt(v);
}
template <class A>
inline F32<A> div(F32<A> a, F32<A> b, on<xsimd::generic>) noexcept {
  return a / b;
}

}  // namespace arch
}  // namespace
}  // namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE
