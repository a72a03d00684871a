// Philox bit planes: keep bits of whole 128-lane groups, kW groups per batch (one 32-bit Philox word per
// 64-bit lane), following the definition in reference/reference.hpp: a batch computes one bit-plane of its
// groups (one Philox block per group per plane), most significant plane first, and stops once every lane of
// the batch is decided. Part of kernel_impl.hpp (one ISA path per translation unit).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <xsimd/xsimd.hpp>

#include "kernels/arch/generic.hpp"
#include "kernels/kernels.hpp"
#include "reference/philox.hpp"
#include "reference/reference.hpp"

namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE {
namespace {

// Philox runs with one 32-bit word per 64-bit lane: the multiplier (vpmuludq) reads the low half of
// each lane and leaves the whole 64-bit product in place, so the high half is one shift away and the
// low half needs no work at all. High halves of the other words hold garbage that nothing reads: the
// multiplier ignores them, and only the low 32 bits of each lane are used at the end.
using U64 = xsimd::batch<std::uint64_t, Arch>;
constexpr std::size_t kW = U64::size;  // groups per batch
constexpr int kPlanesPerStep = 2;      // measured: 2 beats 1, 3 and 4 on Zen 4 (AVX-512 and AVX2)

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
    const U64 p0 = arch::mul_lo32<Arch>(x0, kPhiloxM0, Arch{});
    const U64 p1 = arch::mul_lo32<Arch>(x2, kPhiloxM1, Arch{});
    x0 = (p1 >> 32) ^ x1 ^ keys.k0[r];
    x1 = p1;
    x2 = (p0 >> 32) ^ x3 ^ keys.k1[r];
    x3 = p0;
  }
  return {x0, x1, x2, x3};
}

// Whether the low 32 bits of every lane are zero (the high halves hold garbage).
inline bool all_zero_low(U64 v) noexcept { return xsimd::all((v & U64(0xFFFFFFFFull)) == U64(0ull)); }

// x & ~y.
inline U64 and_not(U64 x, U64 y) noexcept { return arch::and_not<Arch>(x, y, Arch{}); }

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

}  // namespace
}  // namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE
