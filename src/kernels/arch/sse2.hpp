// The sse2 path's primitives (xsimd::sse2; 128-bit registers). The fallbacks of arch/generic.hpp serve the
// rest: SSE2 has no half-precision conversions, so float16 goes through element.hpp's, out of line.
#pragma once

#include <immintrin.h>

#include "kernels/arch/generic.hpp"

namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE {
namespace {
namespace arch {

// pmuludq reads the low half of each 64-bit lane and leaves the whole product in place.
template <class A>
inline U64<A> mul_lo32(U64<A> a, std::uint32_t m, on<xsimd::sse2>) noexcept {
  return U64<A>(_mm_mul_epu32(a, _mm_set1_epi64x(m)));
}

// xsimd 8's bitwise_andnot(a, b) on x86 is ~a & b, as the instruction is.
template <class A>
inline U64<A> and_not(U64<A> x, U64<A> y, on<xsimd::sse2>) noexcept {
  return xsimd::bitwise_andnot(y, x);
}

// The bfloat16 rounding of float lanes, left in the upper halves of the 32-bit lanes (arch/avx2.hpp says why
// it has no NaN case).
inline __m128i bfloat16_rounded(__m128 v) noexcept {
  const __m128i u = _mm_castps_si128(v);
  const __m128i lsb = _mm_and_si128(_mm_srli_epi32(u, 16), _mm_set1_epi32(1));
  return _mm_add_epi32(_mm_add_epi32(u, _mm_set1_epi32(0x7FFF)), lsb);
}

template <class A, class T>
inline F32<A> load_half(const T* p, on<xsimd::sse2>) noexcept {
  if constexpr (std::is_same_v<T, bfloat16>) {  // each 16-bit word moves to the top of its lane
    const __m128i h = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    return _mm_castsi128_ps(_mm_unpacklo_epi16(_mm_setzero_si128(), h));
  } else {
    return load_half<A>(p, xsimd::generic{});
  }
}

template <class A, bool Stream, class T>
inline void store_half(T* y, F32<A> v, on<xsimd::sse2>) noexcept {
  if constexpr (std::is_same_v<T, bfloat16>) {  // sign-extend the words so that packs keeps them
    const __m128i w = _mm_srai_epi32(bfloat16_rounded(v), 16);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y), _mm_packs_epi32(w, w));  // (8 bytes: no streaming form)
  } else {
    store_half<A, Stream>(y, v, xsimd::generic{});
  }
}

template <class A, class T>
inline void store_stream(T* y, xsimd::batch<T, A> v, on<xsimd::sse2>) noexcept {
  if constexpr (std::is_same_v<T, float>)
    _mm_stream_ps(y, v);
  else
    _mm_stream_pd(y, v);
}
template <class A>
inline void stream_fence(on<xsimd::sse2>) noexcept {
  _mm_sfence();  // order the streaming stores before anything this thread does next
}

// A lane mask computed from the bits: and with each lane's bit, compare.
template <class A, class T, class U>
inline xsimd::batch_bool<T, A> lanes_from_bits(std::uint64_t bits, U lane_bits, on<xsimd::sse2>) noexcept {
  using F = xsimd::batch<T, A>;
  using UInt = typename U::value_type;
  const U keep = xsimd::select((U(static_cast<UInt>(bits)) & lane_bits) == lane_bits, U(~UInt{0}), U(UInt{0}));
  return xsimd::batch_bool<T, A>(static_cast<typename F::register_type>(xsimd::bitwise_cast<F>(keep)));
}

}  // namespace arch
}  // namespace
}  // namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE
