// ARS-5 groups on VAES with 512-bit registers (four groups each). Built with AVX-512 and VAES flags;
// used on the avx512 path of CPUs that have VAES (mask_common.cpp: ars_groups_for).
#include <immintrin.h>

#include "reference/ars.hpp"

namespace simdrop::detail {
namespace {
struct Vaes512 {
  using reg = __m512i;
  static constexpr std::size_t kGroupsPerVector = 4;
  static reg broadcast(const ArsBlock& b) noexcept {
    return _mm512_broadcast_i32x4(_mm_set_epi32(static_cast<int>(b[3]), static_cast<int>(b[2]),
                                                static_cast<int>(b[1]), static_cast<int>(b[0])));
  }
  // Counters of groups g .. g + 3 at plane 0: {lo32(g + i), hi32(g + i), 0, domain}.
  static reg counters(std::uint64_t g, std::uint32_t domain) noexcept {
    const auto d = static_cast<long long>(std::uint64_t{domain} << 32);
    return _mm512_set_epi64(d, static_cast<long long>(g + 3), d, static_cast<long long>(g + 2), d,
                            static_cast<long long>(g + 1), d, static_cast<long long>(g));
  }
  static reg next_plane(reg c) noexcept { return _mm512_add_epi64(c, _mm512_set_epi64(1, 0, 1, 0, 1, 0, 1, 0)); }
  static reg zero() noexcept { return _mm512_setzero_si512(); }
  static reg ones() noexcept { return _mm512_set1_epi32(-1); }
  static reg xor_(reg a, reg b) noexcept { return _mm512_xor_si512(a, b); }
  static reg or_(reg a, reg b) noexcept { return _mm512_or_si512(a, b); }
  static reg and_(reg a, reg b) noexcept { return _mm512_and_si512(a, b); }
  static reg or_not(reg a, reg b) noexcept { return _mm512_ternarylogic_epi64(a, b, b, 0xf3); }       // a | ~b
  static reg or_not_or(reg a, reg b, reg c) noexcept { return _mm512_ternarylogic_epi64(a, b, c, 0xf1); }  // a | ~(b | c)
  static reg aesenc(reg v, reg k) noexcept { return _mm512_aesenc_epi128(v, k); }
  static reg aesenclast(reg v, reg k) noexcept { return _mm512_aesenclast_epi128(v, k); }
  static bool all_ones(reg v) noexcept { return _mm512_cmpneq_epi64_mask(v, ones()) == 0; }
  static void store(std::uint64_t* out, reg v) noexcept { _mm512_storeu_si512(out, v); }
};
}  // namespace
}  // namespace simdrop::detail

#define SIMDROP_ARS_NAMESPACE ars_vaes512_impl
#define SIMDROP_ARS_TRAITS Vaes512
#define SIMDROP_ARS_VECTORS 4
#include "kernels/ars_impl.hpp"

namespace simdrop::detail {
void ars_groups_vaes512(std::uint64_t* out, std::uint64_t g_first, std::size_t count, std::uint64_t seed,
                        std::uint32_t t) noexcept {
  ars_vaes512_impl::groups(out, g_first, count, seed, t);
}
}  // namespace simdrop::detail
