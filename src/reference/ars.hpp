// ARS-5 (Salmon et al., SC'11: "AES Randomized Sequence"): five AES rounds keyed by a Weyl sequence,
// in plain C++ (a byte-wise AES round), so that the reference needs no AES-NI. Bit-identical to
// Random123's ars4x32_R(5, ...), which the tests check, and to the AES-NI / VAES kernels.
#pragma once

#include <array>
#include <cstdint>

namespace simdrop::detail {

using ArsBlock = std::array<std::uint32_t, 4>;  // a 128-bit block as four little-endian words

inline constexpr int kArsRounds = 5;

// One AES encryption round as AESENC computes it (ShiftRows, SubBytes, MixColumns, then XOR with the
// round key); `last` leaves out MixColumns, as AESENCLAST does.
ArsBlock aes_round(ArsBlock state, ArsBlock round_key, bool last) noexcept;

// ARS-5 of counter c under key k: v = c ^ k, then four AES rounds and a last one, the round keys being
// k + i * (0x9E3779B97F4A7C15, 0xBB67AE8584CAA73B) in 64-bit halves, i = 1..5.
ArsBlock ars5(ArsBlock c, ArsBlock k) noexcept;

// The key of a stream under ARS-5: the seed's two words, low first, then two zero words.
constexpr ArsBlock ars_key(std::uint64_t seed) noexcept {
  return {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32), 0, 0};
}

// The i-th round key (i = 1..5) of key k.
ArsBlock ars_round_key(ArsBlock k, int i) noexcept;

}  // namespace simdrop::detail
