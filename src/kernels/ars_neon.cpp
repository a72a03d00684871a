// ARS-5 groups on the ARMv8 cryptography extension (128-bit registers, one group each). Built with
// -march=armv8-a+crypto; used on the neon path of CPUs whose hardware capabilities include AES
// (mask_common.cpp: ars_groups_for). AESE adds the round key before SubBytes and ShiftRows, where x86's
// AESENC adds it after MixColumns, so AESENC(x, k) = AESMC(AESE(x, 0)) ^ k and AESENCLAST(x, k) =
// AESE(x, 0) ^ k. Both number the state's bytes the same way, so a block's bytes are the x86 kernel's.
#include <arm_neon.h>

#include "reference/ars.hpp"

namespace simdrop::detail {
namespace {
struct NeonAes {
  using reg = uint8x16_t;
  static constexpr std::size_t kGroupsPerVector = 1;
  static reg broadcast(const ArsBlock& b) noexcept { return vreinterpretq_u8_u32(vld1q_u32(b.data())); }
  // Counter of group g at plane 0: {lo32(g), hi32(g), 0, domain}.
  static reg counters(std::uint64_t g, std::uint32_t domain) noexcept {
    return vreinterpretq_u8_u64(vcombine_u64(vcreate_u64(g), vcreate_u64(std::uint64_t{domain} << 32)));
  }
  static reg next_plane(reg c) noexcept {
    return vreinterpretq_u8_u64(vaddq_u64(vreinterpretq_u64_u8(c), vcombine_u64(vcreate_u64(0), vcreate_u64(1))));
  }
  static reg zero() noexcept { return vdupq_n_u8(0); }
  static reg ones() noexcept { return vdupq_n_u8(0xFF); }
  static reg xor_(reg a, reg b) noexcept { return veorq_u8(a, b); }
  static reg or_(reg a, reg b) noexcept { return vorrq_u8(a, b); }
  static reg and_(reg a, reg b) noexcept { return vandq_u8(a, b); }
  static reg or_not(reg a, reg b) noexcept { return vornq_u8(a, b); }                           // a | ~b
  static reg or_not_or(reg a, reg b, reg c) noexcept { return vornq_u8(a, vorrq_u8(b, c)); }  // a | ~(b | c)
  static reg aesenc(reg v, reg k) noexcept { return veorq_u8(vaesmcq_u8(vaeseq_u8(v, zero())), k); }
  static reg aesenclast(reg v, reg k) noexcept { return veorq_u8(vaeseq_u8(v, zero()), k); }
  static bool all_ones(reg v) noexcept { return vminvq_u8(v) == 0xFF; }
  static void store(std::uint64_t* out, reg v) noexcept { vst1q_u8(reinterpret_cast<std::uint8_t*>(out), v); }
};
}  // namespace
}  // namespace simdrop::detail

#define SIMDROP_ARS_NAMESPACE ars_neon_impl
#define SIMDROP_ARS_TRAITS NeonAes
#define SIMDROP_ARS_VECTORS 8
#include "kernels/ars_impl.hpp"

namespace simdrop::detail {
void ars_groups_neon(std::uint64_t* out, std::uint64_t g_first, std::size_t count, std::uint64_t seed,
                     std::uint32_t t) noexcept {
  ars_neon_impl::groups(out, g_first, count, seed, t);
}
}  // namespace simdrop::detail
