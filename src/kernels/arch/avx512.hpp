// The avx512 path's primitives (xsimd::avx512bw: AVX-512 F, BW, DQ, VL; 512-bit registers). Keep lanes are
// k-masks made from the mask bits directly; half precision converts with vcvtph2ps / vcvtps2ph (AVX-512F).
#pragma once

#include <immintrin.h>

#include "kernels/arch/generic.hpp"

namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE {
namespace {
namespace arch {

template <class A>
inline U64<A> mul_lo32(U64<A> a, std::uint32_t m, on<xsimd::avx512bw>) noexcept {
  return U64<A>(_mm512_mul_epu32(a, _mm512_set1_epi64(m)));
}

template <class A>
inline U64<A> and_not(U64<A> x, U64<A> y, on<xsimd::avx512bw>) noexcept {
  return xsimd::bitwise_andnot(y, x);  // ~a & b on x86
}

// The bfloat16 rounding of float lanes (arch/avx2.hpp says why it has no NaN case).
inline __m512i bfloat16_rounded(__m512 v) noexcept {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  return _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7FFF)), lsb);
}

template <class A, class T>
inline F32<A> load_half(const T* p, on<xsimd::avx512bw>) noexcept {
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  if constexpr (std::is_same_v<T, bfloat16>)
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  else
    return _mm512_cvtph_ps(h);
}

template <class A, bool Stream, class T>
inline void store_half(T* y, F32<A> v, on<xsimd::avx512bw>) noexcept {
  __m256i h;
  if constexpr (std::is_same_v<T, bfloat16>)
    h = _mm512_cvtepi32_epi16(_mm512_srli_epi32(bfloat16_rounded(v), 16));
  else
    h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
  if constexpr (Stream)
    _mm256_stream_si256(reinterpret_cast<__m256i*>(y), h);
  else
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y), h);
}

template <class A, class T>
inline void store_stream(T* y, xsimd::batch<T, A> v, on<xsimd::avx512bw>) noexcept {
  if constexpr (std::is_same_v<T, float>)
    _mm512_stream_ps(y, v);
  else
    _mm512_stream_pd(y, v);
}
template <class A>
inline void stream_fence(on<xsimd::avx512bw>) noexcept {
  _mm_sfence();
}

// The bits are the k-mask.
template <class A, class T, class U>
inline xsimd::batch_bool<T, A> lanes_from_bits(std::uint64_t bits, U /*lane_bits*/, on<xsimd::avx512bw>) noexcept {
  return xsimd::batch_bool<T, A>(static_cast<typename xsimd::batch_bool<T, A>::register_type>(bits));
}

}  // namespace arch
}  // namespace
}  // namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE
