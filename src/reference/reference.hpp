// The scalar reference: the definition of every keep decision. Plain C++, one element at a time where
// that is clearest. Tests hold every SIMD path to it bit for bit; it is also the `scalar` ISA path.
//
// Definition. Global element index g (= stream offset + call index) belongs to group G = g / 128 and
// lane l = g % 128. For bit-plane j = 0..31, the block of the stream's generator
//     W_j = gen(counter = {lo32(G), hi32(G), j, domain}, key = the seed's words, low first)
// (Philox4x32-10 by default; Philox4x32-7; or ARS-5 with key {lo32(seed), hi32(seed), 0, 0})
// gives one random bit to each of the 128 lanes: lane l takes bit (l % 32) of word (l / 32).
// Element g's 32-bit uniform is u_g = sum_j bit_j * 2^(31 - j) (plane 0 is the most significant bit).
// It is dropped iff u_g < t, with t = round(p * 2^32) in [0, 2^32]: P(drop) = t / 2^32 exactly.
//
// Because planes are most-significant first, a lane's decision is known at the first plane where its
// random bit differs from t's bit, which is what lets the fast kernels stop after ~10 planes per
// 128-lane group instead of drawing 32 bits for each element (see docs/design.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <simdrop/half.hpp>
#include <simdrop/stream.hpp>

#include "element.hpp"
#include "reference/philox.hpp"

namespace simdrop::detail {

inline constexpr std::uint32_t kGroupLanes = 128;
inline constexpr std::uint32_t kDomainKeepMask = 0;

// Returns the block of generator `gen` for counter c and the stream key made from `seed`.
PhiloxCounter generator_block(Generator gen, PhiloxCounter c, std::uint64_t seed) noexcept;

// Returns the 32-bit uniform of every lane of group `group`.
void reference_group_uniforms(std::uint64_t seed, std::uint64_t group, std::uint32_t domain,
                              std::uint32_t (&uniforms)[kGroupLanes],
                              Generator gen = Generator::philox4x32_10) noexcept;

// Returns true iff global element `index` of stream `seed` is kept under drop threshold t.
bool reference_keep(std::uint64_t seed, std::uint64_t index, std::uint64_t t,
                    Generator gen = Generator::philox4x32_10) noexcept;

// Writes keep bits of global elements [start, start + n) to out (bit 0 of out[0] = element `start`),
// zeroing bits past n in the last word. One group's uniforms at a time.
void reference_mask(std::uint64_t* out, std::size_t n, std::uint64_t seed, std::uint64_t start, std::uint64_t t,
                    Generator gen = Generator::philox4x32_10) noexcept;

// Writes the 128 keep bits of groups [g_first, g_first + count) to out[2k], out[2k + 1].
void reference_groups(std::uint64_t* out, std::uint64_t g_first, std::size_t count, std::uint64_t seed, std::uint64_t t,
                      Generator gen) noexcept;

// Bit i of a mask.
inline bool mask_bit(const std::uint64_t* mask, std::size_t i) noexcept { return (mask[i / 64] >> (i % 64)) & 1u; }

// y[i] = bit i of mask ? x[i] * scale : +0.0, computed in compute_t<T> on the widened x[i] and rounded once
// to T (element.hpp).
template <class T>
void reference_apply(const T* x, T* y, const std::uint64_t* mask, std::size_t n, compute_t<T> scale) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] = narrow<T>(mask_bit(mask, i) ? widen(x[i]) * scale : compute_t<T>(0));
}

// Widens n elements of T to float / narrows n floats to T (element.hpp's conversions), out of line: for
// the kernels of a path without conversion instructions.
void widen_elements(const bfloat16* in, float* out, std::size_t n) noexcept;
void widen_elements(const float16* in, float* out, std::size_t n) noexcept;
void narrow_elements(const float* in, bfloat16* out, std::size_t n) noexcept;
void narrow_elements(const float* in, float16* out, std::size_t n) noexcept;

// Compiled once, in reference.cpp (baseline flags; see family_reference.hpp).
extern template void reference_apply(const float*, float*, const std::uint64_t*, std::size_t,
                                     compute_t<float>) noexcept;
extern template void reference_apply(const double*, double*, const std::uint64_t*, std::size_t,
                                     compute_t<double>) noexcept;
extern template void reference_apply(const bfloat16*, bfloat16*, const std::uint64_t*, std::size_t,
                                     compute_t<bfloat16>) noexcept;
extern template void reference_apply(const float16*, float16*, const std::uint64_t*, std::size_t,
                                     compute_t<float16>) noexcept;

}  // namespace simdrop::detail
