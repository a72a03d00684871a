// ARS-5 groups on AES-NI (128-bit registers, one group each). Built with -maes; used on the SIMD paths
// of CPUs that have AES-NI (mask_common.cpp: ars_groups_for).
#include <immintrin.h>

#include "reference/ars.hpp"

namespace simdrop::detail {
namespace {
struct AesNi {
  using reg = __m128i;
  static constexpr std::size_t kGroupsPerVector = 1;
  static reg broadcast(const ArsBlock& b) noexcept {
    return _mm_set_epi32(static_cast<int>(b[3]), static_cast<int>(b[2]), static_cast<int>(b[1]),
                         static_cast<int>(b[0]));
  }
  // Counter of group g at plane 0: {lo32(g), hi32(g), 0, domain}.
  static reg counters(std::uint64_t g, std::uint32_t domain) noexcept {
    return _mm_set_epi64x(static_cast<long long>(std::uint64_t{domain} << 32), static_cast<long long>(g));
  }
  static reg next_plane(reg c) noexcept { return _mm_add_epi64(c, _mm_set_epi64x(1, 0)); }
  static reg zero() noexcept { return _mm_setzero_si128(); }
  static reg ones() noexcept { return _mm_set1_epi32(-1); }
  static reg xor_(reg a, reg b) noexcept { return _mm_xor_si128(a, b); }
  static reg or_(reg a, reg b) noexcept { return _mm_or_si128(a, b); }
  static reg and_(reg a, reg b) noexcept { return _mm_and_si128(a, b); }
  static reg or_not(reg a, reg b) noexcept { return _mm_or_si128(a, _mm_xor_si128(b, ones())); }  // a | ~b
  static reg or_not_or(reg a, reg b, reg c) noexcept {  // a | ~(b | c)
    return _mm_or_si128(a, _mm_xor_si128(_mm_or_si128(b, c), ones()));
  }
  static reg aesenc(reg v, reg k) noexcept { return _mm_aesenc_si128(v, k); }
  static reg aesenclast(reg v, reg k) noexcept { return _mm_aesenclast_si128(v, k); }
  static bool all_ones(reg v) noexcept { return _mm_movemask_epi8(_mm_cmpeq_epi8(v, ones())) == 0xFFFF; }
  static void store(std::uint64_t* out, reg v) noexcept { _mm_storeu_si128(reinterpret_cast<__m128i*>(out), v); }
};
}  // namespace
}  // namespace simdrop::detail

#define SIMDROP_ARS_NAMESPACE ars_aesni_impl
#define SIMDROP_ARS_TRAITS AesNi
#define SIMDROP_ARS_VECTORS 8
#include "kernels/ars_impl.hpp"

namespace simdrop::detail {
void ars_groups_aesni(std::uint64_t* out, std::uint64_t g_first, std::size_t count, std::uint64_t seed,
                      std::uint32_t t) noexcept {
  ars_aesni_impl::groups(out, g_first, count, seed, t);
}
}  // namespace simdrop::detail
