// The neon path's primitives (xsimd::neon64: 64-bit ARM, Advanced SIMD, always present; 128-bit registers).
// Philox multiplies with the widening 32 x 32 -> 64 UMULL; float16 converts with FCVTL / FCVTN (exact
// widening; narrowing rounds to nearest even under Linux's default FPCR, NaNs quieted with their payload's
// top bits, as element.hpp's to_float16 does); bfloat16 narrows with integer rounding, as the x86 paths do.
// Gaussian noise needs IEEE square root and division: xsimd 8.1's on neon64 are reciprocal-estimate
// approximations (off by 1-2 ulp), so FSQRT and FDIV are used. No streaming store: the fallback's plain one.
#pragma once

#include <arm_neon.h>

#include "kernels/arch/generic.hpp"

namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE {
namespace {
namespace arch {

template <class A>
inline U64<A> mul_lo32(U64<A> a, std::uint32_t m, on<xsimd::neon64>) noexcept {
  return U64<A>(vmull_u32(vmovn_u64(a), vdup_n_u32(m)));
}

// BIC is x & ~y. (xsimd 8.1's bitwise_andnot(a, b) on neon64 is a & ~b, the other order from its x86 one.)
template <class A>
inline U64<A> and_not(U64<A> x, U64<A> y, on<xsimd::neon64>) noexcept {
  return U64<A>(vbicq_u64(x, y));
}

template <class A, class T>
inline F32<A> load_half(const T* p, on<xsimd::neon64>) noexcept {
  const uint16x4_t h = vld1_u16(reinterpret_cast<const std::uint16_t*>(p));
  if constexpr (std::is_same_v<T, bfloat16>)
    return F32<A>(vreinterpretq_f32_u32(vshll_n_u16(h, 16)));  // each word to the top of its lane
  else
    return F32<A>(vcvt_f32_f16(vreinterpret_f16_u16(h)));
}

// bfloat16: u + 0x7FFF plus the lowest kept bit, the upper halves kept (round to nearest, ties to even; no
// NaN case: arch/avx2.hpp says why none is needed).
template <class A, bool Stream, class T>
inline void store_half(T* y, F32<A> v, on<xsimd::neon64>) noexcept {
  uint16x4_t h;
  if constexpr (std::is_same_v<T, bfloat16>) {
    const uint32x4_t u = vreinterpretq_u32_f32(v);
    const uint32x4_t lsb = vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1));
    h = vshrn_n_u32(vaddq_u32(vaddq_u32(u, vdupq_n_u32(0x7FFF)), lsb), 16);
  } else {
    h = vreinterpret_u16_f16(vcvt_f16_f32(v));
  }
  vst1_u16(reinterpret_cast<std::uint16_t*>(y), h);
}

// CMTST: all ones in each lane whose bit is set.
template <class A, class T, class U>
inline xsimd::batch_bool<T, A> lanes_from_bits(std::uint64_t bits, U lane_bits, on<xsimd::neon64>) noexcept {
  if constexpr (sizeof(T) == 4)
    return xsimd::batch_bool<T, A>(vtstq_u32(vdupq_n_u32(static_cast<std::uint32_t>(bits)), lane_bits));
  else
    return xsimd::batch_bool<T, A>(vtstq_u64(vdupq_n_u64(bits), lane_bits));
}

template <class A>
inline F32<A> sqrt(F32<A> v, on<xsimd::neon64>) noexcept {
  return F32<A>(vsqrtq_f32(v));
}
template <class A>
inline F32<A> div(F32<A> a, F32<A> b, on<xsimd::neon64>) noexcept {
  return F32<A>(vdivq_f32(a, b));
}

}  // namespace arch
}  // namespace
}  // namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE
