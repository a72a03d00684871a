// The SIMD kernels, written once over xsimd::batch<T, Arch> and instantiated per ISA by
// kernels_<isa>.cpp, each compiled with its ISA's flags. Include only from those files, inside a
// namespace of their own, so that no code built with wider ISA flags is shared with another path.
//
// Mask generation follows the definition in reference/reference.hpp: a batch computes one bit-plane
// of W consecutive 128-lane groups (one Philox block per group per plane, W = lanes of a 32-bit
// batch), most significant plane first, and stops once every lane of the batch is decided.
#pragma once

#include <immintrin.h>

#include <xsimd/xsimd.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "kernels/kernels.hpp"
#include "reference/philox.hpp"
#include "reference/reference.hpp"

namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE {
namespace {

using Arch = SIMDROP_KERNEL_ARCH;
using U32 = xsimd::batch<std::uint32_t, Arch>;
constexpr std::size_t kW = U32::size;

struct HiLo {
  U32 hi, lo;
};

// Returns the high and low halves of the 64-bit products a[i] * m. (A template so that only the
// branch of this file's ISA is instantiated.)
template <class A>
inline HiLo mulhilo(xsimd::batch<std::uint32_t, A> a, std::uint32_t m) noexcept {
  if constexpr (std::is_same_v<A, xsimd::avx512bw>) {
    const __m512i mv = _mm512_set1_epi32(static_cast<int>(m));
    const __m512i even = _mm512_mul_epu32(a, mv);
    const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), mv);
    return {U32(_mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd)),
            U32(_mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32)))};
  } else if constexpr (std::is_same_v<A, xsimd::avx2>) {
    const __m256i mv = _mm256_set1_epi32(static_cast<int>(m));
    const __m256i even = _mm256_mul_epu32(a, mv);
    const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), mv);
    return {U32(_mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA)),
            U32(_mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA))};
  } else {
    static_assert(std::is_same_v<A, xsimd::sse2>);
    const __m128i mv = _mm_set1_epi32(static_cast<int>(m));
    const __m128i even = _mm_mul_epu32(a, mv);                     // products of lanes 0, 2
    const __m128i odd = _mm_mul_epu32(_mm_srli_epi64(a, 32), mv);  // products of lanes 1, 3
    const __m128i lo = _mm_unpacklo_epi32(_mm_shuffle_epi32(even, _MM_SHUFFLE(3, 1, 2, 0)),
                                          _mm_shuffle_epi32(odd, _MM_SHUFFLE(3, 1, 2, 0)));
    const __m128i hi = _mm_unpacklo_epi32(_mm_shuffle_epi32(even, _MM_SHUFFLE(2, 0, 3, 1)),
                                          _mm_shuffle_epi32(odd, _MM_SHUFFLE(2, 0, 3, 1)));
    return {U32(hi), U32(lo)};
  }
}

struct Block4 {
  U32 w0, w1, w2, w3;
};

// Philox4x32-10 over kW counters at once: counter i = {c0[i], c1[i], c2, c3}.
inline Block4 philox_batch(U32 c0, U32 c1, std::uint32_t c2, std::uint32_t c3, PhiloxKey key) noexcept {
  U32 x0 = c0, x1 = c1, x2(c2), x3(c3);
  std::uint32_t k0 = key[0], k1 = key[1];
  for (int r = 0; r < kPhiloxRounds; ++r) {
    if (r > 0) {
      k0 += kPhiloxW0;
      k1 += kPhiloxW1;
    }
    const HiLo p0 = mulhilo<Arch>(x0, kPhiloxM0);
    const HiLo p1 = mulhilo<Arch>(x2, kPhiloxM1);
    x0 = p1.hi ^ x1 ^ U32(k0);
    x1 = p1.lo;
    x2 = p0.hi ^ x3 ^ U32(k1);
    x3 = p0.lo;
  }
  return {x0, x1, x2, x3};
}

inline bool all_ones(U32 v) noexcept { return xsimd::all(v == U32(~0u)); }

// Writes the 128 keep bits of groups [group, group + kW) to out[2k], out[2k + 1]; 0 < t < 2^32.
inline void keep_groups(std::uint64_t* out, std::uint64_t group, PhiloxKey key, std::uint32_t t) noexcept {
  alignas(64) std::uint32_t lo[kW], hi[kW];
  for (std::size_t k = 0; k < kW; ++k) {
    lo[k] = static_cast<std::uint32_t>(group + k);
    hi[k] = static_cast<std::uint32_t>((group + k) >> 32);
  }
  const U32 c0 = U32::load_aligned(lo), c1 = U32::load_aligned(hi);
  // decided: lanes whose uniform already differs from t in a plane seen; dropped: those found below t.
  U32 d0(0u), d1(0u), d2(0u), d3(0u), r0(0u), r1(0u), r2(0u), r3(0u);
  const int last_plane = 31 - std::countr_zero(t);  // below it t has only zero bits: ties keep
  for (int plane = 0; plane <= last_plane; ++plane) {
    const Block4 b = philox_batch(c0, c1, static_cast<std::uint32_t>(plane), kDomainKeepMask, key);
    if ((t >> (31 - plane)) & 1u) {  // t's bit 1: a lane with random bit 0 falls below t
      r0 = r0 | ~(d0 | b.w0), r1 = r1 | ~(d1 | b.w1), r2 = r2 | ~(d2 | b.w2), r3 = r3 | ~(d3 | b.w3);
      d0 = d0 | ~b.w0, d1 = d1 | ~b.w1, d2 = d2 | ~b.w2, d3 = d3 | ~b.w3;
    } else {  // t's bit 0: a lane with random bit 1 rises above t
      d0 = d0 | b.w0, d1 = d1 | b.w1, d2 = d2 | b.w2, d3 = d3 | b.w3;
    }
    if (all_ones(d0 & d1 & d2 & d3)) break;
  }
  alignas(64) std::uint32_t k0[kW], k1[kW], k2[kW], k3[kW];
  (~r0).store_aligned(k0), (~r1).store_aligned(k1), (~r2).store_aligned(k2), (~r3).store_aligned(k3);
  for (std::size_t k = 0; k < kW; ++k) {
    out[2 * k] = k0[k] | (std::uint64_t{k1[k]} << 32);
    out[2 * k + 1] = k2[k] | (std::uint64_t{k3[k]} << 32);
  }
}

void make_mask(std::uint64_t* out, std::size_t n, std::uint64_t seed, std::uint64_t start,
               std::uint64_t t) noexcept {
  if (constant_mask(out, n, t)) return;
  const PhiloxKey key = philox_key(seed);
  const auto t32 = static_cast<std::uint32_t>(t);
  constexpr std::size_t kChunkWords = 128;  // output words per chunk: 8192 elements
  // Group-aligned bits of one chunk: at most kChunkWords / 2 + 1 groups, rounded up to kW, plus a pad word.
  alignas(64) std::uint64_t groups[2 * (kChunkWords / 2 + 1 + kW) + 1];
  const std::size_t words = (n + 63) / 64;
  for (std::size_t w0 = 0; w0 < words; w0 += kChunkWords) {
    const std::size_t count = words - w0 < kChunkWords ? words - w0 : kChunkWords;
    const std::uint64_t first = start + 64 * w0;  // global index of the chunk's first bit
    const std::uint64_t g_first = first / 128;
    const std::size_t shift = first % 128;
    const std::size_t groups_needed = (shift + 64 * count + 127) / 128;
    for (std::size_t g = 0; g < groups_needed; g += kW) keep_groups(groups + 2 * g, g_first + g, key, t32);
    const std::size_t bit = shift % 64, word = shift / 64;
    for (std::size_t k = 0; k < count; ++k) {
      const std::uint64_t low = groups[word + k] >> bit;
      out[w0 + k] = bit == 0 ? low : low | (groups[word + k + 1] << (64 - bit));
    }
  }
  if (n % 64 != 0) out[words - 1] &= (std::uint64_t{1} << (n % 64)) - 1;
}

template <class T>
void apply(const T* x, T* y, const std::uint64_t* mask, std::size_t n, T scale) noexcept {
  using F = xsimd::batch<T, Arch>;
  using UInt = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  using U = xsimd::batch<UInt, Arch>;
  constexpr std::size_t L = F::size;
  static_assert(64 % L == 0);
  alignas(64) UInt lane_bit_values[L];
  for (std::size_t k = 0; k < L; ++k) lane_bit_values[k] = UInt{1} << k;
  const U lane_bits = U::load_aligned(lane_bit_values);
  const F s(scale);
  const std::size_t full_words = n / 64;
  for (std::size_t w = 0; w < full_words; ++w) {
    const std::uint64_t m = mask[w];
    const T* xw = x + 64 * w;
    T* yw = y + 64 * w;
    for (std::size_t k = 0; k < 64; k += L) {
      const auto bits = static_cast<UInt>((m >> k) & ((std::uint64_t{1} << L) - 1));
      const F v = F::load_unaligned(xw + k) * s;
      F r;
      if constexpr (std::is_same_v<Arch, xsimd::avx512bw> && sizeof(T) == 4) {
        r = _mm512_maskz_mov_ps(static_cast<__mmask16>(bits), v);
      } else if constexpr (std::is_same_v<Arch, xsimd::avx512bw>) {
        r = _mm512_maskz_mov_pd(static_cast<__mmask8>(bits), v);
      } else {
        const U keep = xsimd::select((U(bits) & lane_bits) == lane_bits, U(~UInt{0}), U(UInt{0}));
        r = v & xsimd::bitwise_cast<F>(keep);
      }
      r.store_unaligned(yw + k);
    }
  }
  reference_apply(x + 64 * full_words, y + 64 * full_words, mask + full_words, n - 64 * full_words, scale);
}

void apply_f32(const float* x, float* y, const std::uint64_t* mask, std::size_t n, float scale) noexcept {
  apply(x, y, mask, n, scale);
}
void apply_f64(const double* x, double* y, const std::uint64_t* mask, std::size_t n, double scale) noexcept {
  apply(x, y, mask, n, scale);
}

}  // namespace
}  // namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE
