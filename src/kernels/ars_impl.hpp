// ARS-5 keep-bit groups over AES instructions, written once over a vector traits type V (one 128-bit
// AES lane per group) and instantiated by ars_aesni.cpp (xmm, AES-NI) and ars_vaes512.cpp (zmm, VAES:
// four groups per register). Include only from those files, each built with its own flags.
//
// Same bit-plane algorithm as kernel_impl.hpp: a 128-bit ARS block is one group's plane, its bits are
// the group's 128 lanes in order, so "decided" and "dropped" are kept per 128-bit lane, and the keep bits
// of a group are the complement of its "dropped" lane, stored as is.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

#include "kernels/kernels.hpp"
#include "reference/ars.hpp"
#include "reference/reference.hpp"

namespace simdrop::detail::SIMDROP_ARS_NAMESPACE {
namespace {

using V = SIMDROP_ARS_TRAITS;
constexpr std::size_t kVectors = SIMDROP_ARS_VECTORS;             // independent registers per batch
constexpr std::size_t kGroups = kVectors * V::kGroupsPerVector;  // groups per batch
static_assert(kGroups <= kMaxGroupsPerBatch);

void groups(std::uint64_t* out, std::uint64_t g_first, std::size_t count, std::uint64_t seed,
            std::uint32_t t) noexcept {
  const ArsBlock key = ars_key(seed);
  typename V::reg rk[kArsRounds + 1];
  rk[0] = V::broadcast(key);
  for (int i = 1; i <= kArsRounds; ++i) rk[i] = V::broadcast(ars_round_key(key, i));
  const int last_plane = 31 - std::countr_zero(t);  // below it t has only zero bits: ties keep
  const typename V::reg ones = V::ones();
  for (std::size_t g = 0; g < count; g += kGroups) {
    typename V::reg ctr[kVectors], d[kVectors], r[kVectors];
    for (std::size_t v = 0; v < kVectors; ++v) {
      ctr[v] = V::counters(g_first + g + v * V::kGroupsPerVector, kDomainKeepMask);  // plane 0
      d[v] = r[v] = V::zero();
    }
    for (int plane = 0; plane <= last_plane; ++plane) {
      typename V::reg b[kVectors];
      for (std::size_t v = 0; v < kVectors; ++v) b[v] = V::xor_(ctr[v], rk[0]);
      for (int i = 1; i < kArsRounds; ++i)
        for (std::size_t v = 0; v < kVectors; ++v) b[v] = V::aesenc(b[v], rk[i]);
      for (std::size_t v = 0; v < kVectors; ++v) b[v] = V::aesenclast(b[v], rk[kArsRounds]);
      if ((t >> (31 - plane)) & 1u) {  // t's bit 1: a lane with random bit 0 falls below t
        for (std::size_t v = 0; v < kVectors; ++v) {
          r[v] = V::or_not_or(r[v], d[v], b[v]);
          d[v] = V::or_not(d[v], b[v]);
        }
      } else {  // t's bit 0: a lane with random bit 1 rises above t
        for (std::size_t v = 0; v < kVectors; ++v) d[v] = V::or_(d[v], b[v]);
      }
      typename V::reg all = d[0];
      for (std::size_t v = 1; v < kVectors; ++v) all = V::and_(all, d[v]);
      if (V::all_ones(all)) break;
      for (std::size_t v = 0; v < kVectors; ++v) ctr[v] = V::next_plane(ctr[v]);
    }
    for (std::size_t v = 0; v < kVectors; ++v)
      V::store(out + 2 * (g + v * V::kGroupsPerVector), V::xor_(r[v], ones));
  }
}

}  // namespace
}  // namespace simdrop::detail::SIMDROP_ARS_NAMESPACE
