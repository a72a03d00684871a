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

// The round keys of Philox4x32-Rounds, broadcast to every lane, once per call: the rounds then xor them
// from memory (a folded load) instead of computing and broadcasting each key in every batch.
template <int Rounds>
struct RoundKeys {
  U64 k0[Rounds], k1[Rounds];
  explicit RoundKeys(PhiloxKey key) noexcept {
    std::uint32_t a = key[0], b = key[1];
    for (int r = 0; r < Rounds; ++r, a += kPhiloxW0, b += kPhiloxW1) k0[r] = U64(std::uint64_t{a}), k1[r] = U64(std::uint64_t{b});
  }
};

// Philox4x32-Rounds over kW counters at once: counter i = {c0[i], c1[i], c2, c3} (low halves).
template <int Rounds>
inline Block4 philox_batch(U64 c0, U64 c1, std::uint32_t c2, std::uint32_t c3, const RoundKeys<Rounds>& keys) noexcept {
  U64 x0 = c0, x1 = c1, x2(std::uint64_t{c2}), x3(std::uint64_t{c3});
  for (int r = 0; r < Rounds; ++r) {
    const U64 p0 = mul_lo32<Arch>(x0, kPhiloxM0);
    const U64 p1 = mul_lo32<Arch>(x2, kPhiloxM1);
    x0 = (p1 >> 32) ^ x1 ^ keys.k0[r];
    x1 = p1;
    x2 = (p0 >> 32) ^ x3 ^ keys.k1[r];
    x3 = p0;
  }
  return {x0, x1, x2, x3};
}

// Whether the low 32 bits of every lane are zero (the high halves hold garbage).
inline bool all_zero_low(U64 v) noexcept { return xsimd::all((v & U64(0xFFFFFFFFull)) == U64(0ull)); }

// x & ~y. (xsimd 8's bitwise_andnot(a, b) is ~a & b, as the instruction is; newer xsimd swapped it.)
inline U64 and_not(U64 x, U64 y) noexcept { return xsimd::bitwise_andnot(y, x); }

// Counter words 0 and 1 of blocks first .. first + kW - 1: lo32 and hi32 of each, in the low halves.
inline void counter_words(std::uint64_t first, U64& c0, U64& c1) noexcept {
  alignas(64) std::uint64_t lo[kW], hi[kW];
  for (std::size_t k = 0; k < kW; ++k) {
    lo[k] = static_cast<std::uint32_t>(first + k);
    hi[k] = static_cast<std::uint32_t>((first + k) >> 32);
  }
  c0 = U64::load_aligned(lo), c1 = U64::load_aligned(hi);
}

struct NoHook {
  void operator()() const noexcept {}
};

// Writes the 128 keep bits of groups [group, group + kW) to out[2k], out[2k + 1]; 0 < t < 2^32.
// hook() runs after each plane step (the pipelined forward pass applies a slice of the previous batch there).
template <int Rounds, class Hook = NoHook>
inline void keep_groups(std::uint64_t* out, std::uint64_t group, const RoundKeys<Rounds>& key, std::uint32_t t,
                        const Hook& hook = {}) noexcept {
  U64 c0, c1;
  counter_words(group, c0, c1);
  // undecided: lanes whose uniform has matched t in every plane seen; dropped: those found below t.
  // (Tracking the undecided lanes rather than the decided ones makes each update one and-not.)
  const U64 all(~std::uint64_t{0});
  U64 u0 = all, u1 = all, u2 = all, u3 = all, r0(0ull), r1(0ull), r2(0ull), r3(0ull);
  const int last_plane = 31 - std::countr_zero(t);  // below it t has only zero bits: ties keep
  // Applies one plane's random bits: a lane still undecided is decided where its bit differs from t's.
  auto apply_plane = [&](const Block4& b, int plane) {
    if ((t >> (31 - plane)) & 1u) {  // t's bit 1: an undecided lane with random bit 0 falls below t
      r0 = r0 | and_not(u0, b.w0), r1 = r1 | and_not(u1, b.w1), r2 = r2 | and_not(u2, b.w2), r3 = r3 | and_not(u3, b.w3);
      u0 = u0 & b.w0, u1 = u1 & b.w1, u2 = u2 & b.w2, u3 = u3 & b.w3;
    } else {  // t's bit 0: an undecided lane with random bit 1 rises above t
      u0 = and_not(u0, b.w0), u1 = and_not(u1, b.w1), u2 = and_not(u2, b.w2), u3 = and_not(u3, b.w3);
    }
  };
  // kPlanesPerStep planes at a time: their Philox chains are independent, which hides the multiplier's
  // latency (one chain alone is latency-bound). A plane past the decision changes nothing.
  for (int plane = 0; plane <= last_plane; plane += kPlanesPerStep) {
    Block4 b[kPlanesPerStep];
    for (int k = 0; k < kPlanesPerStep; ++k)
      b[k] = philox_batch<Rounds>(c0, c1, static_cast<std::uint32_t>(plane + k), kDomainKeepMask, key);
    for (int k = 0; k < kPlanesPerStep && plane + k <= last_plane; ++k) apply_plane(b[k], plane + k);
    hook();
    if (all_zero_low(u0 | u1 | u2 | u3)) break;
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
  const RoundKeys<Rounds> keys(philox_key(seed));
  for (std::size_t g = 0; g < count; g += kW) keep_groups<Rounds>(out + 2 * g, g_first + g, keys, t);
}

void make_mask(std::uint64_t* out, std::size_t n, std::uint64_t seed, std::uint64_t start, std::uint64_t t,
               Generator gen) noexcept {
  if (constant_mask(out, n, t)) return;
  const GroupsFn groups = gen == Generator::philox4x32_7 ? philox_groups<7>
                          : gen == Generator::ars5       ? ars_groups_for(kIsa)
                                                         : philox_groups<10>;
  mask_from_groups(out, n, seed, start, static_cast<std::uint32_t>(t), groups);
}

// ---- Elements in memory and in registers ----------------------------------------------------------------
// A kernel for element type T computes on batches of its compute type (CB<T>: float lanes for the 16-bit
// types) and moves them with load_elems / store_elems, which widen and narrow the 16-bit types on the way
// (the narrowing is element.hpp's: round to nearest even, subnormals kept, NaN quieted). kBatchBytes<T>: the
// bytes of T one batch covers (its streaming stores need y aligned to that).

template <class T>
using CB = xsimd::batch<compute_t<T>, Arch>;
template <class T>
inline constexpr std::size_t kBatchBytes = CB<T>::size * sizeof(T);
using FloatBatch = xsimd::batch<float, Arch>;

// The bfloat16 rounding of float lanes, left in the upper halves of the 32-bit lanes: u + 0x7FFF plus the
// lowest kept bit (round to nearest, ties to even; subnormals need nothing special). It is to_bfloat16 without
// its NaN case, which no NaN a bfloat16 kernel produces needs: those come from arithmetic (so they are quiet,
// as to_bfloat16 makes them) on widened bfloat16 inputs or constants, so their payload is an input's, whose
// low 16 bits are zero, or the default NaN (low bits zero too), and the add then carries nothing into the top
// half. (The tests feed every path signalling and quiet NaNs.) With the NaN case this ran 14 vector operations
// per AVX2 batch, not 9, and the apply ran at 4.8 G el/s in L2, float16's at 13.5 (Zen 3).
template <class B>  // B = FloatBatch (a template, so that only this path's branch is compiled)
inline auto bfloat16_rounded(B v) noexcept {
  if constexpr (std::is_same_v<Arch, xsimd::avx512bw>) {
    const __m512i u = _mm512_castps_si512(v);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    return _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7FFF)), lsb);
  } else if constexpr (std::is_same_v<Arch, xsimd::avx2>) {
    const __m256i u = _mm256_castps_si256(v);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    return _mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7FFF)), lsb);
  } else {
    const __m128i u = _mm_castps_si128(v);
    const __m128i lsb = _mm_and_si128(_mm_srli_epi32(u, 16), _mm_set1_epi32(1));
    return _mm_add_epi32(_mm_add_epi32(u, _mm_set1_epi32(0x7FFF)), lsb);
  }
}

// AVX2 byte shuffles (per 128-bit lane): bfloat16 words 0-3 (low lane) and 4-7 (high lane) of a broadcast
// 16-byte load into the upper halves of the 32-bit lanes; and back, the upper halves into the lane's low 8
// bytes. One shuffle each way instead of a widen and a shift, and a shift and a pack.
alignas(32) inline constexpr std::int8_t kBf16Widen[32] = {-1, -1, 0, 1, -1, -1, 2,  3,  -1, -1, 4,  5,  -1, -1, 6,  7,
                                                          -1, -1, 8, 9, -1, -1, 10, 11, -1, -1, 12, 13, -1, -1, 14, 15};
alignas(32) inline constexpr std::int8_t kBf16Narrow[32] = {2,  3,  6,  7,  10, 11, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1,
                                                           2,  3,  6,  7,  10, 11, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1};

template <class T>
inline CB<T> load_elems(const T* p) noexcept {
  if constexpr (!is_half_v<T>) {
    return CB<T>::load_unaligned(p);
  } else if constexpr (std::is_same_v<Arch, xsimd::avx512bw>) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    if constexpr (std::is_same_v<T, bfloat16>)
      return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    else
      return _mm512_cvtph_ps(h);
  } else if constexpr (std::is_same_v<Arch, xsimd::avx2>) {
    if constexpr (std::is_same_v<T, bfloat16>) {
      const __m256i h = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
      return _mm256_castsi256_ps(_mm256_shuffle_epi8(h, _mm256_load_si256(reinterpret_cast<const __m256i*>(kBf16Widen))));
    } else {
      return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));  // F16C (this path requires it)
    }
  } else if constexpr (std::is_same_v<T, bfloat16>) {  // SSE2: each 16-bit word moves to the top of its lane
    const __m128i h = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    return _mm_castsi128_ps(_mm_unpacklo_epi16(_mm_setzero_si128(), h));
  } else {  // SSE2 has no half-precision conversions: the reference's, out of line
    alignas(16) float f[4];
    widen_elements(p, f, 4);
    return FloatBatch::load_aligned(f);
  }
}

// Stores v at y with a non-temporal (streaming) store; y is aligned to kBatchBytes<T>.
template <class T>
inline void store_stream(T* y, CB<T> v) noexcept {
  if constexpr (std::is_same_v<Arch, xsimd::avx512bw>) {
    if constexpr (std::is_same_v<T, float>)
      _mm512_stream_ps(y, v);
    else
      _mm512_stream_pd(y, v);
  } else if constexpr (std::is_same_v<Arch, xsimd::avx2>) {
    if constexpr (std::is_same_v<T, float>)
      _mm256_stream_ps(y, v);
    else
      _mm256_stream_pd(y, v);
  } else {
    if constexpr (std::is_same_v<T, float>)
      _mm_stream_ps(y, v);
    else
      _mm_stream_pd(y, v);
  }
}

// Narrows v to T and stores it at y, with a streaming store when Stream (y then aligned to kBatchBytes<T>).
template <bool Stream, class T>
inline void store_elems(T* y, CB<T> v) noexcept {
  if constexpr (!is_half_v<T>) {
    if constexpr (Stream)
      store_stream<T>(y, v);
    else
      v.store_unaligned(y);
  } else if constexpr (std::is_same_v<Arch, xsimd::avx512bw>) {
    __m256i h;
    if constexpr (std::is_same_v<T, bfloat16>)
      h = _mm512_cvtepi32_epi16(_mm512_srli_epi32(bfloat16_rounded(v), 16));
    else
      h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
    if constexpr (Stream)
      _mm256_stream_si256(reinterpret_cast<__m256i*>(y), h);
    else
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y), h);
  } else if constexpr (std::is_same_v<Arch, xsimd::avx2>) {
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
  } else if constexpr (std::is_same_v<T, bfloat16>) {  // SSE2: sign-extend the words so that packs keeps them
    const __m128i w = _mm_srai_epi32(bfloat16_rounded(v), 16);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y), _mm_packs_epi32(w, w));  // (8 bytes: no streaming form)
  } else {
    alignas(16) float f[4];
    v.store_aligned(f);
    narrow_elements(f, y, 4);
  }
}

// Runs Kernel<true> (streaming stores) where asked and y is aligned to the batch, else Kernel<false>:
// the one place every kernel decides its store kind. Streaming stores skip the read-for-ownership of y
// and leave the caches to x.
template <class T, class Kernel>
inline void with_store_mode(bool stream, const T* y, const Kernel& kernel) noexcept {
  if (stream && reinterpret_cast<std::uintptr_t>(y) % kBatchBytes<T> == 0) {
    kernel(std::true_type{});
    _mm_sfence();  // order the streaming stores before anything this thread does next
  } else {
    kernel(std::false_type{});
  }
}
// ---- Keep lanes from mask bits ---------------------------------------------------------------------------
// for_each_masked_batch hands each batch's keep lanes to a body as a `keep` value that pick(keep, a, b)
// (per lane: keep ? a : b) and keep_or_zero(keep, a) (keep ? a : +0.0) understand. Its form is the cheapest
// per path: a k-mask on AVX-512; on AVX2 a lane mask loaded from a table indexed by the batch's mask bits
// (a load instead of the broadcast, and and compare that computing it takes, which competed with Philox for
// the vector pipes in the fused pass); a lane mask computed from the bits on SSE2.

template <class T>
inline xsimd::batch<T, Arch> pick(const xsimd::batch_bool<T, Arch>& keep, xsimd::batch<T, Arch> a,
                                  xsimd::batch<T, Arch> b) noexcept {
  return xsimd::select(keep, a, b);
}
template <class T>
inline xsimd::batch<T, Arch> keep_or_zero(const xsimd::batch_bool<T, Arch>& keep, xsimd::batch<T, Arch> a) noexcept {
  return xsimd::select(keep, a, xsimd::batch<T, Arch>(T(0)));  // AVX-512: one zero-masking move
}

// AVX2: the lane masks of every pattern of one batch's bits (8 floats: 256 x 32 bytes; 4 doubles: 16 x 32).
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
template <class T>
inline xsimd::batch<T, Arch> pick(TableKeep keep, xsimd::batch<T, Arch> a, xsimd::batch<T, Arch> b) noexcept {
  if constexpr (sizeof(T) == 4)
    return _mm256_blendv_ps(b, a, _mm256_castsi256_ps(keep.lanes));
  else
    return _mm256_blendv_pd(b, a, _mm256_castsi256_pd(keep.lanes));
}
template <class T>
inline xsimd::batch<T, Arch> keep_or_zero(TableKeep keep, xsimd::batch<T, Arch> a) noexcept {
  if constexpr (sizeof(T) == 4)
    return _mm256_and_ps(a, _mm256_castsi256_ps(keep.lanes));
  else
    return _mm256_and_pd(a, _mm256_castsi256_pd(keep.lanes));
}

// The keep lanes of one batch of T from its L mask bits (bit k = lane k), as a lane mask.
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

// Calls body(i, keep) for each batch of the whole 64-element words of mask (i: first element). The body is
// taken by value: a body that captures its pointers and constants by value keeps them in registers, where
// by reference they were reloaded after every store (vector stores may alias anything).
template <class T, class Body>
inline void for_each_masked_batch(const std::uint64_t* mask, std::size_t n, Body body) noexcept {
  if constexpr (std::is_same_v<Arch, xsimd::avx2>) {
    // Each batch's bits index the table: a byte of the word (floats) or half a byte (doubles).
    constexpr std::size_t L = KeepTable<T>::kLanes;
    const auto& table = kKeepTable<T>.lanes;
    for (std::size_t w = 0; w < n / 64; ++w) {
      const auto* bytes = reinterpret_cast<const unsigned char*>(mask + w);  // little-endian: byte k = bits 8k..
      for (std::size_t k = 0; k < 64; k += L) {
        const unsigned pattern = L == 8 ? bytes[k / 8] : (bytes[k / 8] >> (k % 8)) & 0xFu;
        body(64 * w + k, TableKeep{_mm256_load_si256(reinterpret_cast<const __m256i*>(table[pattern]))});
      }
    }
  } else {
    const LaneKeep<T> lanes;
    constexpr std::size_t L = LaneKeep<T>::L;
    for (std::size_t w = 0; w < n / 64; ++w) {
      const std::uint64_t m = mask[w];
      for (std::size_t k = 0; k < 64; k += L) body(64 * w + k, lanes((m >> k) & ((std::uint64_t{1} << L) - 1)));
    }
  }
}

// y = mask ? x * scale : +0.0 over `words` whole mask words; Stream: streaming stores (y aligned to the batch).
template <class T, bool Stream>
inline void apply_words(const T* x, T* y, const std::uint64_t* mask, std::size_t words, compute_t<T> scale) noexcept {
  const CB<T> s(scale);
  for_each_masked_batch<compute_t<T>>(mask, 64 * words, [=](std::size_t i, const auto& keep) {
    store_elems<Stream>(y + i, keep_or_zero(keep, load_elems(x + i) * s));  // dropped lanes: +0.0
  });
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
    return [=](std::size_t w0, const std::uint64_t* bits, std::size_t words) {
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

// ---- The dropout family ------------------------------------------------------------------------------

// y = keep ? x * scale : +0.0 for a whole run of elements sharing one decision (channel dropout's planes).
template <class T>
void run_uniform(const T* x, T* y, std::size_t n, compute_t<T> scale, bool keep, bool stream) noexcept {
  using F = CB<T>;
  constexpr std::size_t L = F::size;
  with_store_mode(stream, y, [&](auto streaming) {
    constexpr bool S = decltype(streaming)::value;
    const F s(scale), zero(compute_t<T>(0));
    if (keep)
      for (std::size_t i = 0; i + L <= n; i += L) store_elems<S>(y + i, load_elems(x + i) * s);
    else
      for (std::size_t i = 0; i + L <= n; i += L) store_elems<S>(y + i, zero);
  });
  const std::size_t done = n / L * L;
  const std::uint64_t bits = keep ? ~std::uint64_t{0} : 0;  // the tail (< L <= 64 elements) as one mask word
  reference_apply(x + done, y + done, &bits, n - done, scale);
}

// y = keep ? a * x + b : c over `words` whole mask words.
template <class T, bool Stream>
inline void affine_words(const T* x, T* y, const std::uint64_t* mask, std::size_t words,
                         const Affine<compute_t<T>>& k) noexcept {
  using F = CB<T>;
  const F va(k.a), vb(k.b), vc(k.c);
  for_each_masked_batch<compute_t<T>>(mask, 64 * words, [=](std::size_t i, const auto& keep) {
    const F ax = va * load_elems(x + i);
    store_elems<Stream>(y + i, pick(keep, ax + vb, vc));
  });
}

template <class T>
void affine(const T* x, T* y, const std::uint64_t* mask, std::size_t n, const Affine<compute_t<T>>& k,
            bool stream) noexcept {
  with_store_mode(stream, y,
                  [&](auto streaming) { affine_words<T, decltype(streaming)::value>(x, y, mask, n / 64, k); });
  const std::size_t done = n / 64 * 64;
  reference_affine(x + done, y + done, mask + n / 64, n - done, k.a, k.b, k.c);
}

template <class T>
std::size_t affine_pipelined(const T* x, T* y, std::size_t n, const Pass& pass,
                             const Affine<compute_t<T>>& k) noexcept {
  return run_pipelined<T>(n, pass, y, [&](auto streaming) {
    return [=](std::size_t w0, const std::uint64_t* bits, std::size_t words) {
      affine_words<T, decltype(streaming)::value>(x + 64 * w0, y + 64 * w0, bits, words, k);
    };
  });
}

// y = residual + (keep ? (x + bias[col]) * scale : 0) over `words` whole mask words, col starting at col0.
template <class T, bool Stream>
inline void bias_add_words(const T* x, const T* bias, std::size_t cols, std::size_t col0, const T* residual, T* y,
                           const std::uint64_t* mask, std::size_t words, compute_t<T> scale) noexcept {
  using F = CB<T>;
  constexpr std::size_t L = F::size;
  const F s(scale);
  std::size_t col = col0;  // bias column of element i
  if (cols % L == 0 && col0 % L == 0) {
    // Rows of whole batches (every model width in practice): no batch crosses a row's end, and the column
    // wraps to 0 without a division or a branch.
    for_each_masked_batch<compute_t<T>>(mask, 64 * words, [=](std::size_t i, const auto& keep) mutable {
      const F biased = load_elems(x + i) + load_elems(bias + col);
      col += L;
      col = col == cols ? 0 : col;
      store_elems<Stream>(y + i, load_elems(residual + i) + keep_or_zero(keep, biased * s));
    });
    return;
  }
  for_each_masked_batch<compute_t<T>>(mask, 64 * words, [=](std::size_t i, const auto& keep) mutable {
    F b;
    if (col + L <= cols) {
      b = load_elems(bias + col);
    } else {  // the batch crosses the end of a row (or rows are shorter than a batch)
      alignas(64) T wrapped[L];
      for (std::size_t k = 0, c = col; k < L; ++k, c = c + 1 == cols ? 0 : c + 1) wrapped[k] = bias[c];
      b = load_elems(static_cast<const T*>(wrapped));
    }
    col += L;
    if (col >= cols) col %= cols;
    const F biased = load_elems(x + i) + b;
    const F dropped = keep_or_zero(keep, biased * s);
    store_elems<Stream>(y + i, load_elems(residual + i) + dropped);
  });
}

template <class T>
void bias_add(const T* x, const T* bias, std::size_t cols, std::size_t col0, const T* residual, T* y,
              const std::uint64_t* mask, std::size_t n, compute_t<T> scale, bool stream) noexcept {
  with_store_mode(stream, y, [&](auto streaming) {
    bias_add_words<T, decltype(streaming)::value>(x, bias, cols, col0, residual, y, mask, n / 64, scale);
  });
  const std::size_t done = n / 64 * 64;
  reference_bias_add(x + done, bias, cols, (col0 + done) % cols, residual + done, y + done, mask + n / 64, n - done,
                     scale);
}

template <class T>
std::size_t bias_add_pipelined(const T* x, const T* bias, std::size_t cols, std::size_t col0, const T* residual, T* y,
                               std::size_t n, const Pass& pass, compute_t<T> scale) noexcept {
  return run_pipelined<T>(n, pass, y, [&](auto streaming) {
    return [=](std::size_t w0, const std::uint64_t* bits, std::size_t words) {
      const std::size_t i = 64 * w0;
      bias_add_words<T, decltype(streaming)::value>(x + i, bias, cols, (col0 + i) % cols, residual + i, y + i, bits,
                                                    words, scale);
    };
  });
}

// acc[i] += double(row[i]): each element's add on its own, so every path gives the reference's bits. fp32 and
// fp64 are vectorised by the compiler with this file's ISA; the 16-bit types widen a batch at a time.
template <class T>
void accumulate(const T* row, double* acc, std::size_t n) noexcept {
  if constexpr (is_half_v<T>) {
    constexpr std::size_t L = CB<T>::size;
    std::size_t i = 0;
    for (; i + L <= n; i += L) {
      alignas(64) float f[L];
      load_elems(row + i).store_aligned(f);
      for (std::size_t k = 0; k < L; ++k) acc[i + k] += static_cast<double>(f[k]);
    }
    reference_accumulate(row + i, acc + i, n - i);
  } else {
    for (std::size_t i = 0; i < n; ++i) acc[i] += static_cast<double>(row[i]);
  }
}

// normal.hpp's operations over batches of floats (twice the lanes of U64).
struct BatchOps {
  using F = xsimd::batch<float, Arch>;
  using U = xsimd::batch<std::uint32_t, Arch>;
  static_assert(F::size == 2 * kW);
  static F as_float(U u) noexcept { return xsimd::bitwise_cast<F>(u); }
  static U as_bits(F f) noexcept { return xsimd::bitwise_cast<U>(f); }
  static F select(xsimd::batch_bool<float, Arch> c, F a, F b) noexcept { return xsimd::select(c, a, b); }
  static F sqrt(F f) noexcept { return xsimd::sqrt(f); }
};

// Block of 32-bit lane L of a Gaussian step, relative to the step's first block. Box-Muller fills four
// batches z0..z3 (word pairs 0-1 and 2-3, cosine and sine) whose lane L belongs to one block; a 4 x 4
// transpose within each 128-bit lane (unpack lo/hi of floats, then of pairs) puts lanes L, L + 4, ... of
// the four batches side by side. So lane L carries block lanes128 (L % 4) + L / 4, which makes the
// transpose's outputs consecutive blocks in element order.
constexpr std::size_t gaussian_lane_block(std::size_t lane) { return 2 * kW / 4 * (lane % 4) + lane / 4; }

// The offsets gaussian_lane_block(2k + odd), k < kW, of the blocks whose words go to even (odd = 0) or
// odd (odd = 1) 32-bit lanes.
struct GaussianLanes {
  U64 even, odd;
  GaussianLanes() noexcept {
    alignas(64) std::uint64_t e[kW], o[kW];
    for (std::size_t k = 0; k < kW; ++k) e[k] = gaussian_lane_block(2 * k), o[k] = gaussian_lane_block(2 * k + 1);
    even = U64::load_aligned(e), odd = U64::load_aligned(o);
  }
};

// What gaussian_blocks needs of the seed, made once per call: Philox's round keys, or the seed itself for
// ARS-5 (whose blocks come from the reference).
struct SeedOnly {
  std::uint64_t seed;
};
template <Generator Gen>
using GaussianKeys = std::conditional_t<Gen == Generator::philox4x32_10, RoundKeys<10>,
                                        std::conditional_t<Gen == Generator::philox4x32_7, RoundKeys<7>, SeedOnly>>;
template <Generator Gen>
GaussianKeys<Gen> gaussian_keys(std::uint64_t seed) noexcept {
  if constexpr (Gen == Generator::ars5)
    return SeedOnly{seed};
  else
    return GaussianKeys<Gen>(philox_key(seed));
}

// The domain-kDomainGaussian blocks first + offsets[k] for k < kW.
template <Generator Gen>
inline Block4 gaussian_blocks(std::uint64_t first, U64 offsets, const GaussianKeys<Gen>& keys) noexcept {
  const U64 b = U64(first) + offsets;
  const U64 lo = b & U64(0xFFFFFFFFull), hi = b >> 32;
  if constexpr (Gen == Generator::philox4x32_10) {
    return philox_batch<10>(lo, hi, 0, kDomainGaussian, keys);
  } else if constexpr (Gen == Generator::philox4x32_7) {
    return philox_batch<7>(lo, hi, 0, kDomainGaussian, keys);
  } else {  // ARS-5: the reference's blocks (the AES kernels make keep bits, not raw blocks)
    alignas(64) std::uint64_t l[kW], h[kW], w[4][kW];
    lo.store_aligned(l), hi.store_aligned(h);
    for (std::size_t k = 0; k < kW; ++k) {
      const PhiloxCounter r = generator_block(
          Gen, {static_cast<std::uint32_t>(l[k]), static_cast<std::uint32_t>(h[k]), 0, kDomainGaussian}, keys.seed);
      for (int j = 0; j < 4; ++j) w[j][k] = r[j];
    }
    return {U64::load_aligned(w[0]), U64::load_aligned(w[1]), U64::load_aligned(w[2]), U64::load_aligned(w[3])};
  }
}

// Word j of blocks a (even 32-bit lanes) and b (odd lanes) as one batch of 32-bit words.
inline BatchOps::U pack_words(U64 a, U64 b) noexcept {
  return xsimd::bitwise_cast<BatchOps::U>((a & U64(0xFFFFFFFFull)) | (b << 32));
}

template <Generator Gen, class T>
void gaussian_steps(const T* x, T* y, std::size_t n, std::uint64_t seed, std::uint64_t start, float sigma) noexcept {
  using F = BatchOps::F;
  using D = xsimd::batch<double, Arch>;
  constexpr std::size_t kBlocks = F::size, kStep = 4 * kBlocks;  // a step: one block per float lane
  const GaussianLanes lanes;
  const GaussianKeys<Gen> keys = gaussian_keys<Gen>(seed);
  const F one(1.0f), vs(sigma);
  for (std::size_t i = 0; i + kStep <= n; i += kStep) {
    const std::uint64_t first = (start + i) / 4;
    const Block4 a = gaussian_blocks<Gen>(first, lanes.even, keys), b = gaussian_blocks<Gen>(first, lanes.odd, keys);
    F z0, z1, z2, z3;
    normal_math::box_muller<BatchOps>(pack_words(a.w0, b.w0), pack_words(a.w1, b.w1), z0, z1);
    normal_math::box_muller<BatchOps>(pack_words(a.w2, b.w2), pack_words(a.w3, b.w3), z2, z3);
    const F e0 = one + vs * z0, e1 = one + vs * z1, e2 = one + vs * z2, e3 = one + vs * z3;
    const D lo01 = xsimd::bitwise_cast<D>(xsimd::zip_lo(e0, e1)), hi01 = xsimd::bitwise_cast<D>(xsimd::zip_hi(e0, e1));
    const D lo23 = xsimd::bitwise_cast<D>(xsimd::zip_lo(e2, e3)), hi23 = xsimd::bitwise_cast<D>(xsimd::zip_hi(e2, e3));
    const F factor[4] = {
        xsimd::bitwise_cast<F>(xsimd::zip_lo(lo01, lo23)), xsimd::bitwise_cast<F>(xsimd::zip_hi(lo01, lo23)),
        xsimd::bitwise_cast<F>(xsimd::zip_lo(hi01, hi23)), xsimd::bitwise_cast<F>(xsimd::zip_hi(hi01, hi23))};
    for (std::size_t m = 0; m < 4; ++m) {
      T* ym = y + i + m * kBlocks;
      const T* xm = x + i + m * kBlocks;
      if constexpr (std::is_same_v<compute_t<T>, float>) {  // fp32 and the 16-bit types
        store_elems<false>(ym, load_elems(xm) * factor[m]);
      } else {
        alignas(64) float f[kBlocks];
        factor[m].store_aligned(f);
        for (std::size_t k = 0; k < kBlocks; ++k) ym[k] = xm[k] * static_cast<double>(f[k]);
      }
    }
  }
}

template <class T>
void gaussian(const T* x, T* y, std::size_t n, const Pass& pass, float sigma) noexcept {
  constexpr std::size_t kStep = 4 * BatchOps::F::size;
  const std::uint64_t seed = pass.seed, start = pass.start;
  const Generator gen = pass.gen;
  const std::size_t head = std::min<std::size_t>(n, (4 - start % 4) % 4);  // up to the first whole block
  reference_gaussian(x, y, head, seed, start, sigma, gen);
  const std::size_t body = (n - head) / kStep * kStep;
  if (gen == Generator::philox4x32_10)
    gaussian_steps<Generator::philox4x32_10>(x + head, y + head, body, seed, start + head, sigma);
  else if (gen == Generator::philox4x32_7)
    gaussian_steps<Generator::philox4x32_7>(x + head, y + head, body, seed, start + head, sigma);
  else
    gaussian_steps<Generator::ars5>(x + head, y + head, body, seed, start + head, sigma);
  const std::size_t done = head + body;
  reference_gaussian(x + done, y + done, n - done, seed, start + done, sigma, gen);
}

// This path's kernels for element type T, and its kernel table (returned by <isa>_kernels() in
// kernels_<isa>.cpp).
template <class T>
constexpr TypedKernels<T> typed_kernels() noexcept {
  return {apply<T>,           forward_pipelined<T>,  run_uniform<T>, affine<T>, affine_pipelined<T>,
          bias_add<T>,        bias_add_pipelined<T>, accumulate<T>,  gaussian<T>};
}
template <class... T>
constexpr KernelTable make_table(TypeList<T...>) noexcept {
  return {kIsa, make_mask, {typed_kernels<T>()...}};
}
constexpr KernelTable kTable = make_table(ElementTypes{});

}  // namespace
}  // namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE
