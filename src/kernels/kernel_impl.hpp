// The SIMD kernels, written once over xsimd::batch<T, Arch> and instantiated per ISA by
// kernels_<isa>.cpp, each compiled with its ISA's flags. Include only from those files, inside a
// namespace of their own, so that no code built with wider ISA flags is shared with another path.
//
// Mask generation follows the definition in reference/reference.hpp: a batch computes one bit-plane
// of W consecutive 128-lane groups (one Philox block per group per plane, W = lanes of a 64-bit
// batch), most significant plane first, and stops once every lane of the batch is decided.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#include "kernels/kernels.hpp"
#include "reference/family_reference.hpp"
#include "reference/normal.hpp"
#include "reference/philox.hpp"
#include "reference/reference.hpp"

namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE {
namespace {

using Arch = SIMDROP_KERNEL_ARCH;
constexpr Isa kIsa = SIMDROP_KERNEL_ISA;
// Philox runs with one 32-bit word per 64-bit lane: the multiplier (vpmuludq) reads the low half of
// each lane and leaves the whole 64-bit product in place, so the high half is one shift away and the
// low half needs no work at all. High halves of the other words hold garbage that nothing reads: the
// multiplier ignores them, and only the low 32 bits of each lane are used at the end.
using U64 = xsimd::batch<std::uint64_t, Arch>;
constexpr std::size_t kW = U64::size;  // groups per batch
constexpr int kPlanesPerStep = 2;      // measured: 2 beats 1, 3 and 4 on Zen 4 (AVX-512 and AVX2)

// Returns the 64-bit products lo32(a[i]) * m. (A template so that only this file's ISA is instantiated.)
template <class A>
inline xsimd::batch<std::uint64_t, A> mul_lo32(xsimd::batch<std::uint64_t, A> a, std::uint32_t m) noexcept {
  using B = xsimd::batch<std::uint64_t, A>;
  if constexpr (std::is_same_v<A, xsimd::avx512bw>) {
    return B(_mm512_mul_epu32(a, _mm512_set1_epi64(m)));
  } else if constexpr (std::is_same_v<A, xsimd::avx2>) {
    return B(_mm256_mul_epu32(a, _mm256_set1_epi64x(m)));
  } else {
    static_assert(std::is_same_v<A, xsimd::sse2>);
    return B(_mm_mul_epu32(a, _mm_set1_epi64x(m)));
  }
}

struct Block4 {
  U64 w0, w1, w2, w3;  // the block's four words, in the low halves
};

// Philox4x32-Rounds over kW counters at once: counter i = {c0[i], c1[i], c2, c3} (low halves).
template <int Rounds>
inline Block4 philox_batch(U64 c0, U64 c1, std::uint32_t c2, std::uint32_t c3, PhiloxKey key) noexcept {
  U64 x0 = c0, x1 = c1, x2(std::uint64_t{c2}), x3(std::uint64_t{c3});
  std::uint32_t k0 = key[0], k1 = key[1];
  for (int r = 0; r < Rounds; ++r) {
    if (r > 0) {
      k0 += kPhiloxW0;
      k1 += kPhiloxW1;
    }
    const U64 p0 = mul_lo32<Arch>(x0, kPhiloxM0);
    const U64 p1 = mul_lo32<Arch>(x2, kPhiloxM1);
    x0 = (p1 >> 32) ^ x1 ^ U64(std::uint64_t{k0});
    x1 = p1;
    x2 = (p0 >> 32) ^ x3 ^ U64(std::uint64_t{k1});
    x3 = p0;
  }
  return {x0, x1, x2, x3};
}

inline bool all_ones_low(U64 v) noexcept {
  return xsimd::all((v | U64(0xFFFFFFFF00000000ull)) == U64(~std::uint64_t{0}));
}

// Counter words 0 and 1 of blocks first .. first + kW - 1: lo32 and hi32 of each, in the low halves.
inline void counter_words(std::uint64_t first, U64& c0, U64& c1) noexcept {
  alignas(64) std::uint64_t lo[kW], hi[kW];
  for (std::size_t k = 0; k < kW; ++k) {
    lo[k] = static_cast<std::uint32_t>(first + k);
    hi[k] = static_cast<std::uint32_t>((first + k) >> 32);
  }
  c0 = U64::load_aligned(lo), c1 = U64::load_aligned(hi);
}

// Writes the 128 keep bits of groups [group, group + kW) to out[2k], out[2k + 1]; 0 < t < 2^32.
template <int Rounds>
inline void keep_groups(std::uint64_t* out, std::uint64_t group, PhiloxKey key, std::uint32_t t) noexcept {
  U64 c0, c1;
  counter_words(group, c0, c1);
  // decided: lanes whose uniform already differs from t in a plane seen; dropped: those found below t.
  U64 d0(0ull), d1(0ull), d2(0ull), d3(0ull), r0(0ull), r1(0ull), r2(0ull), r3(0ull);
  const int last_plane = 31 - std::countr_zero(t);  // below it t has only zero bits: ties keep
  // Applies one plane's random bits: a lane still undecided is decided where its bit differs from t's.
  auto apply_plane = [&](const Block4& b, int plane) {
    if ((t >> (31 - plane)) & 1u) {  // t's bit 1: a lane with random bit 0 falls below t
      r0 = r0 | ~(d0 | b.w0), r1 = r1 | ~(d1 | b.w1), r2 = r2 | ~(d2 | b.w2), r3 = r3 | ~(d3 | b.w3);
      d0 = d0 | ~b.w0, d1 = d1 | ~b.w1, d2 = d2 | ~b.w2, d3 = d3 | ~b.w3;
    } else {  // t's bit 0: a lane with random bit 1 rises above t
      d0 = d0 | b.w0, d1 = d1 | b.w1, d2 = d2 | b.w2, d3 = d3 | b.w3;
    }
  };
  // kPlanesPerStep planes at a time: their Philox chains are independent, which hides the multiplier's
  // latency (one chain alone is latency-bound). A plane past the decision changes nothing.
  for (int plane = 0; plane <= last_plane; plane += kPlanesPerStep) {
    Block4 b[kPlanesPerStep];
    for (int k = 0; k < kPlanesPerStep; ++k)
      b[k] = philox_batch<Rounds>(c0, c1, static_cast<std::uint32_t>(plane + k), kDomainKeepMask, key);
    for (int k = 0; k < kPlanesPerStep && plane + k <= last_plane; ++k) apply_plane(b[k], plane + k);
    if (all_ones_low(d0 & d1 & d2 & d3)) break;
  }
  alignas(64) std::uint64_t k0[kW], k1[kW], k2[kW], k3[kW];
  (~r0).store_aligned(k0), (~r1).store_aligned(k1), (~r2).store_aligned(k2), (~r3).store_aligned(k3);
  for (std::size_t k = 0; k < kW; ++k) {
    out[2 * k] = (k0[k] & 0xFFFFFFFFull) | (k1[k] << 32);
    out[2 * k + 1] = (k2[k] & 0xFFFFFFFFull) | (k3[k] << 32);
  }
}

// Keep bits of groups [g_first, g_first + count) with Philox4x32-Rounds, kW groups at a time.
template <int Rounds>
void philox_groups(std::uint64_t* out, std::uint64_t g_first, std::size_t count, std::uint64_t seed,
                   std::uint32_t t) noexcept {
  static_assert(kW <= kMaxGroupsPerBatch);
  const PhiloxKey key = philox_key(seed);
  for (std::size_t g = 0; g < count; g += kW) keep_groups<Rounds>(out + 2 * g, g_first + g, key, t);
}

void make_mask(std::uint64_t* out, std::size_t n, std::uint64_t seed, std::uint64_t start, std::uint64_t t,
               Generator gen) noexcept {
  if (constant_mask(out, n, t)) return;
  const GroupsFn groups = gen == Generator::philox4x32_7 ? philox_groups<7>
                          : gen == Generator::ars5       ? ars_groups_for(kIsa)
                                                         : philox_groups<10>;
  mask_from_groups(out, n, seed, start, static_cast<std::uint32_t>(t), groups);
}

// Stores v at y with a non-temporal (streaming) store; y is aligned to the batch.
template <class A, class T>
inline void store_stream(T* y, xsimd::batch<T, A> v) noexcept {
  if constexpr (std::is_same_v<A, xsimd::avx512bw>) {
    if constexpr (sizeof(T) == 4)
      _mm512_stream_ps(y, v);
    else
      _mm512_stream_pd(y, v);
  } else if constexpr (std::is_same_v<A, xsimd::avx2>) {
    if constexpr (sizeof(T) == 4)
      _mm256_stream_ps(y, v);
    else
      _mm256_stream_pd(y, v);
  } else {
    if constexpr (sizeof(T) == 4)
      _mm_stream_ps(y, v);
    else
      _mm_stream_pd(y, v);
  }
}

// The apply loop; Stream: write y with streaming stores (y aligned to the batch).
template <class T, bool Stream>
void apply_loop(const T* x, T* y, const std::uint64_t* mask, std::size_t n, T scale) noexcept {
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
      const F v = F::load_unaligned(xw + k);
      F r;
      if constexpr (std::is_same_v<Arch, xsimd::avx512bw> && sizeof(T) == 4) {
        r = _mm512_maskz_mul_ps(static_cast<__mmask16>(bits), v, s);  // dropped lanes: +0.0
      } else if constexpr (std::is_same_v<Arch, xsimd::avx512bw>) {
        r = _mm512_maskz_mul_pd(static_cast<__mmask8>(bits), v, s);
      } else {
        const U keep = xsimd::select((U(bits) & lane_bits) == lane_bits, U(~UInt{0}), U(UInt{0}));
        r = (v * s) & xsimd::bitwise_cast<F>(keep);
      }
      if constexpr (Stream)
        store_stream<Arch>(yw + k, r);
      else
        r.store_unaligned(yw + k);
    }
  }
  if constexpr (Stream) _mm_sfence();  // order the streaming stores before anything this thread does next
  reference_apply(x + 64 * full_words, y + 64 * full_words, mask + full_words, n - 64 * full_words, scale);
}

template <class T>
void apply(const T* x, T* y, const std::uint64_t* mask, std::size_t n, T scale, bool stream) noexcept {
  // Streaming stores skip the read-for-ownership of y and leave the caches to x; they need aligned y.
  if (stream && reinterpret_cast<std::uintptr_t>(y) % sizeof(xsimd::batch<T, Arch>) == 0)
    apply_loop<T, true>(x, y, mask, n, scale);
  else
    apply_loop<T, false>(x, y, mask, n, scale);
}

void apply_f32(const float* x, float* y, const std::uint64_t* mask, std::size_t n, float scale, bool stream) noexcept {
  apply(x, y, mask, n, scale, stream);
}
void apply_f64(const double* x, double* y, const std::uint64_t* mask, std::size_t n, double scale,
               bool stream) noexcept {
  apply(x, y, mask, n, scale, stream);
}

// ---- The dropout family ------------------------------------------------------------------------------

// The keep lanes of one batch of T from its mask bits (bit k = lane k).
template <class T>
struct LaneKeep {
  using F = xsimd::batch<T, Arch>;
  using UInt = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  using U = xsimd::batch<UInt, Arch>;
  static constexpr std::size_t L = F::size;
  U lane_bits;
  LaneKeep() noexcept {
    alignas(64) UInt values[L];
    for (std::size_t k = 0; k < L; ++k) values[k] = UInt{1} << k;
    lane_bits = U::load_aligned(values);
  }
  xsimd::batch_bool<T, Arch> operator()(std::uint64_t bits) const noexcept {
    if constexpr (std::is_same_v<Arch, xsimd::avx512bw>) {
      return xsimd::batch_bool<T, Arch>(static_cast<typename xsimd::batch_bool<T, Arch>::register_type>(bits));
    } else {
      const U keep = xsimd::select((U(static_cast<UInt>(bits)) & lane_bits) == lane_bits, U(~UInt{0}), U(UInt{0}));
      return xsimd::batch_bool<T, Arch>(static_cast<typename F::register_type>(xsimd::bitwise_cast<F>(keep)));
    }
  }
};

// Calls body(i, keep) for each batch of the whole 64-element words of mask (i: first element).
template <class T, class Body>
inline void for_each_masked_batch(const std::uint64_t* mask, std::size_t n, const Body& body) noexcept {
  const LaneKeep<T> lanes;
  constexpr std::size_t L = LaneKeep<T>::L;
  for (std::size_t w = 0; w < n / 64; ++w) {
    const std::uint64_t m = mask[w];
    for (std::size_t k = 0; k < 64; k += L) body(64 * w + k, lanes((m >> k) & ((std::uint64_t{1} << L) - 1)));
  }
}

template <class T>
void affine(const T* x, T* y, const std::uint64_t* mask, std::size_t n, T a, T b, T c) noexcept {
  using F = xsimd::batch<T, Arch>;
  const F va(a), vb(b), vc(c);
  for_each_masked_batch<T>(mask, n, [&](std::size_t i, xsimd::batch_bool<T, Arch> keep) {
    const F ax = va * F::load_unaligned(x + i);
    xsimd::select(keep, ax + vb, vc).store_unaligned(y + i);
  });
  const std::size_t done = n / 64 * 64;
  reference_affine(x + done, y + done, mask + n / 64, n - done, a, b, c);
}

void affine_f32(const float* x, float* y, const std::uint64_t* mask, std::size_t n, float a, float b,
                float c) noexcept {
  affine(x, y, mask, n, a, b, c);
}
void affine_f64(const double* x, double* y, const std::uint64_t* mask, std::size_t n, double a, double b,
                double c) noexcept {
  affine(x, y, mask, n, a, b, c);
}

template <class T>
void bias_add(const T* x, const T* bias, std::size_t cols, std::size_t col0, const T* residual, T* y,
              const std::uint64_t* mask, std::size_t n, T scale) noexcept {
  using F = xsimd::batch<T, Arch>;
  constexpr std::size_t L = F::size;
  const F s(scale);
  std::size_t col = col0;  // bias column of element i
  for_each_masked_batch<T>(mask, n, [&](std::size_t i, xsimd::batch_bool<T, Arch> keep) {
    F b;
    if (col + L <= cols) {
      b = F::load_unaligned(bias + col);
    } else {  // the batch crosses the end of a row (or rows are shorter than a batch)
      alignas(64) T wrapped[L];
      for (std::size_t k = 0, c = col; k < L; ++k, c = c + 1 == cols ? 0 : c + 1) wrapped[k] = bias[c];
      b = F::load_aligned(wrapped);
    }
    col += L;
    if (col >= cols) col %= cols;
    const F biased = F::load_unaligned(x + i) + b;
    const F dropped = xsimd::select(keep, biased * s, F(T(0)));
    (F::load_unaligned(residual + i) + dropped).store_unaligned(y + i);
  });
  const std::size_t done = n / 64 * 64;
  reference_bias_add(x + done, bias, cols, col, residual + done, y + done, mask + n / 64, n - done, scale);
}

void bias_add_f32(const float* x, const float* bias, std::size_t cols, std::size_t col0, const float* residual,
                  float* y, const std::uint64_t* mask, std::size_t n, float scale) noexcept {
  bias_add(x, bias, cols, col0, residual, y, mask, n, scale);
}
void bias_add_f64(const double* x, const double* bias, std::size_t cols, std::size_t col0, const double* residual,
                  double* y, const std::uint64_t* mask, std::size_t n, double scale) noexcept {
  bias_add(x, bias, cols, col0, residual, y, mask, n, scale);
}

// normal.hpp's operations over batches of kW doubles (the same lanes as U64).
struct BatchOps {
  using D = xsimd::batch<double, Arch>;
  using U = U64;
  static_assert(D::size == kW);
  static D as_double(U u) noexcept { return xsimd::bitwise_cast<D>(u); }
  static U as_bits(D d) noexcept { return xsimd::bitwise_cast<U>(d); }
  static D select(xsimd::batch_bool<double, Arch> c, D a, D b) noexcept { return xsimd::select(c, a, b); }
  static D sqrt(D d) noexcept { return xsimd::sqrt(d); }
};

// The blocks of domain kDomainGaussian for counters first .. first + kW - 1.
inline Block4 gaussian_blocks(std::uint64_t first, std::uint64_t seed, Generator gen) noexcept {
  U64 c0, c1;
  counter_words(first, c0, c1);
  if (gen == Generator::philox4x32_10) return philox_batch<10>(c0, c1, 0, kDomainGaussian, philox_key(seed));
  if (gen == Generator::philox4x32_7) return philox_batch<7>(c0, c1, 0, kDomainGaussian, philox_key(seed));
  // ARS-5: the reference's blocks (the AES kernels make keep bits, not raw blocks).
  alignas(64) std::uint64_t w[4][kW];
  for (std::size_t k = 0; k < kW; ++k) {
    const std::uint64_t b = first + k;
    const PhiloxCounter r = generator_block(
        gen, {static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(b >> 32), 0, kDomainGaussian}, seed);
    for (int j = 0; j < 4; ++j) w[j][k] = r[j];
  }
  return {U64::load_aligned(w[0]), U64::load_aligned(w[1]), U64::load_aligned(w[2]), U64::load_aligned(w[3])};
}

template <class T>
void gaussian(const T* x, T* y, std::size_t n, std::uint64_t seed, std::uint64_t start, double sigma,
              Generator gen) noexcept {
  using D = BatchOps::D;
  constexpr std::size_t kStep = 4 * kW;  // elements of kW blocks
  std::size_t i = std::min<std::size_t>(n, (4 - start % 4) % 4);  // up to the first whole block
  reference_gaussian(x, y, i, seed, start, sigma, gen);
  const D one(1.0), vs(sigma);
  for (; i + kStep <= n; i += kStep) {
    const Block4 b = gaussian_blocks((start + i) / 4, seed, gen);
    D z[4];
    normal_math::box_muller<BatchOps>(b.w0, b.w1, z[0], z[1]);
    normal_math::box_muller<BatchOps>(b.w2, b.w3, z[2], z[3]);
    alignas(64) double e[4][kW];
    for (int j = 0; j < 4; ++j) (one + vs * z[j]).store_aligned(e[j]);
    alignas(64) T factor[kStep];
    for (std::size_t k = 0; k < kW; ++k)
      for (std::size_t j = 0; j < 4; ++j) factor[4 * k + j] = static_cast<T>(e[j][k]);
    for (std::size_t m = 0; m < kStep; ++m) y[i + m] = x[i + m] * factor[m];
  }
  reference_gaussian(x + i, y + i, n - i, seed, start + i, sigma, gen);
}

void gaussian_f32(const float* x, float* y, std::size_t n, std::uint64_t seed, std::uint64_t start, double sigma,
                  Generator gen) noexcept {
  gaussian(x, y, n, seed, start, sigma, gen);
}
void gaussian_f64(const double* x, double* y, std::size_t n, std::uint64_t seed, std::uint64_t start, double sigma,
                  Generator gen) noexcept {
  gaussian(x, y, n, seed, start, sigma, gen);
}

}  // namespace
}  // namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE
