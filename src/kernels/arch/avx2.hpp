// The avx2 path's primitives (xsimd::avx2, with F16C: this path requires it; 256-bit registers). Keep lanes
// come from a table of lane masks indexed by the mask bits (for_each_masked_batch below).
#pragma once

#include <immintrin.h>

#include "kernels/arch/generic.hpp"

namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE {
namespace {
namespace arch {

template <class A>
inline U64<A> mul_lo32(U64<A> a, std::uint32_t m, on<xsimd::avx2>) noexcept {
  return U64<A>(_mm256_mul_epu32(a, _mm256_set1_epi64x(m)));
}

template <class A>
inline U64<A> and_not(U64<A> x, U64<A> y, on<xsimd::avx2>) noexcept {
  return xsimd::bitwise_andnot(y, x);  // ~a & b on x86
}

// The bfloat16 rounding of float lanes, left in the upper halves of the 32-bit lanes: u + 0x7FFF plus the
// lowest kept bit (round to nearest, ties to even; subnormals need nothing special). It is to_bfloat16 without
// its NaN case, which no NaN a bfloat16 kernel produces needs: those come from arithmetic (so they are quiet,
// as to_bfloat16 makes them) on widened bfloat16 inputs or constants, so their payload is an input's, whose
// low 16 bits are zero, or the default NaN (low bits zero too), and the add then carries nothing into the top
// half. (The tests feed every path signalling and quiet NaNs.) With the NaN case this ran 14 vector operations
// per AVX2 batch, not 9, and the apply ran at 4.8 G el/s in L2, float16's at 13.5 (Zen 3).
inline __m256i bfloat16_rounded(__m256 v) noexcept {
  const __m256i u = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  return _mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7FFF)), lsb);
}

// Byte shuffles (per 128-bit lane): bfloat16 words 0-3 (low lane) and 4-7 (high lane) of a broadcast 16-byte
// load into the upper halves of the 32-bit lanes; and back, the upper halves into the lane's low 8 bytes.
// One shuffle each way instead of a widen and a shift, and a shift and a pack.
alignas(32) inline constexpr std::int8_t kBf16Widen[32] = {-1, -1, 0, 1, -1, -1, 2,  3,  -1, -1, 4,  5,  -1, -1, 6,  7,
                                                          -1, -1, 8, 9, -1, -1, 10, 11, -1, -1, 12, 13, -1, -1, 14, 15};
alignas(32) inline constexpr std::int8_t kBf16Narrow[32] = {2,  3,  6,  7,  10, 11, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1,
                                                           2,  3,  6,  7,  10, 11, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1};

template <class A, class T>
inline F32<A> load_half(const T* p, on<xsimd::avx2>) noexcept {
  if constexpr (std::is_same_v<T, bfloat16>) {
    const __m256i h = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_shuffle_epi8(h, _mm256_load_si256(reinterpret_cast<const __m256i*>(kBf16Widen))));
  } else {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));  // F16C
  }
}

template <class A, bool Stream, class T>
inline void store_half(T* y, F32<A> v, on<xsimd::avx2>) noexcept {
  __m128i h;
  if constexpr (std::is_same_v<T, bfloat16>) {
    const __m256i words = _mm256_shuffle_epi8(bfloat16_rounded(v),  // words 0-3 | 4-7, each lane's low quad
                                              _mm256_load_si256(reinterpret_cast<const __m256i*>(kBf16Narrow)));
    h = _mm256_castsi256_si128(_mm256_permute4x64_epi64(words, 0x08));  // quads 0 and 2
  } else {
    h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
  }
  if constexpr (Stream)
    _mm_stream_si128(reinterpret_cast<__m128i*>(y), h);
  else
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y), h);
}

template <class A, class T>
inline void store_stream(T* y, xsimd::batch<T, A> v, on<xsimd::avx2>) noexcept {
  if constexpr (std::is_same_v<T, float>)
    _mm256_stream_ps(y, v);
  else
    _mm256_stream_pd(y, v);
}
template <class A>
inline void stream_fence(on<xsimd::avx2>) noexcept {
  _mm_sfence();
}

// ---- Keep lanes: a lane mask loaded from a table indexed by the batch's mask bits ------------------------
// (a load instead of the broadcast, and and compare that computing it takes, which competed with Philox for
// the vector pipes in the fused pass).

// The lane masks of every pattern of one batch's bits (8 floats: 256 x 32 bytes; 4 doubles: 16 x 32).
template <class T>
struct KeepTable {
  static constexpr std::size_t kLanes = 32 / sizeof(T), kPatterns = std::size_t{1} << kLanes;
  using UInt = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  alignas(64) UInt lanes[kPatterns][kLanes];
  constexpr KeepTable() noexcept : lanes{} {
    for (std::size_t b = 0; b < kPatterns; ++b)
      for (std::size_t k = 0; k < kLanes; ++k) lanes[b][k] = (b >> k) & 1u ? ~UInt{0} : UInt{0};
  }
};
template <class T>
inline constexpr KeepTable<T> kKeepTable{};

struct TableKeep {  // an AVX2 lane mask (all ones: keep)
  __m256i lanes;
};
template <class T, class A>
inline xsimd::batch<T, A> pick(TableKeep keep, xsimd::batch<T, A> a, xsimd::batch<T, A> b) noexcept {
  if constexpr (sizeof(T) == 4)
    return _mm256_blendv_ps(b, a, _mm256_castsi256_ps(keep.lanes));
  else
    return _mm256_blendv_pd(b, a, _mm256_castsi256_pd(keep.lanes));
}
template <class T, class A>
inline xsimd::batch<T, A> keep_or_zero(TableKeep keep, xsimd::batch<T, A> a) noexcept {
  if constexpr (sizeof(T) == 4)
    return _mm256_and_ps(a, _mm256_castsi256_ps(keep.lanes));
  else
    return _mm256_and_pd(a, _mm256_castsi256_pd(keep.lanes));
}

// Each batch's bits index the table: a byte of the word (floats) or half a byte (doubles).
template <class A, class T, class Body>
inline void for_each_masked_batch(const std::uint64_t* mask, std::size_t n, Body body, on<xsimd::avx2>) noexcept {
  constexpr std::size_t L = KeepTable<T>::kLanes;
  const auto& table = kKeepTable<T>.lanes;
  for (std::size_t w = 0; w < n / 64; ++w) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(mask + w);  // little-endian: byte k = bits 8k..
    for (std::size_t k = 0; k < 64; k += L) {
      const unsigned pattern = L == 8 ? bytes[k / 8] : (bytes[k / 8] >> (k % 8)) & 0xFu;
      body(64 * w + k, TableKeep{_mm256_load_si256(reinterpret_cast<const __m256i*>(table[pattern]))});
    }
  }
}

}  // namespace arch
}  // namespace
}  // namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE
