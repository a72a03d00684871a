// What every ISA path's mask generation shares: the constant masks of p = 0 and p = 1, the funnel from
// 128-lane groups to a call's mask words, and the choice of the ARS-5 group generator.
#include <algorithm>

#if SIMDROP_HAVE_X86_KERNELS
#include <cpuid.h>
#endif
#if SIMDROP_HAVE_NEON_KERNELS
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

#include "kernels/kernels.hpp"
#include "reference/reference.hpp"

namespace simdrop::detail {

bool constant_mask(std::uint64_t* out, std::size_t n, std::uint64_t t) noexcept {
  if (t != 0 && t < (std::uint64_t{1} << 32)) return false;
  const std::size_t words = (n + 63) / 64;
  std::fill(out, out + words, t == 0 ? ~std::uint64_t{0} : std::uint64_t{0});
  if (t == 0 && n % 64 != 0) out[words - 1] = (std::uint64_t{1} << (n % 64)) - 1;
  return true;
}

void mask_from_groups(std::uint64_t* out, std::size_t n, std::uint64_t seed, std::uint64_t start, std::uint32_t t,
                      GroupsFn groups_fn) noexcept {
  constexpr std::size_t kChunkWords = 128;  // output words per chunk: 8192 elements
  // Group-aligned bits of one chunk: at most kChunkWords / 2 + 1 groups, rounded up to a batch, plus a pad word.
  alignas(64) std::uint64_t groups[2 * (kChunkWords / 2 + 1 + kMaxGroupsPerBatch) + 1];
  const std::size_t words = (n + 63) / 64;
  for (std::size_t w0 = 0; w0 < words; w0 += kChunkWords) {
    const std::size_t count = words - w0 < kChunkWords ? words - w0 : kChunkWords;
    const std::uint64_t first = start + 64 * w0;  // global index of the chunk's first bit
    const std::size_t shift = first % 128;
    groups_fn(groups, first / 128, (shift + 64 * count + 127) / 128, seed, t);
    const std::size_t bit = shift % 64, word = shift / 64;
    for (std::size_t k = 0; k < count; ++k) {
      const std::uint64_t low = groups[word + k] >> bit;
      out[w0 + k] = bit == 0 ? low : low | (groups[word + k + 1] << (64 - bit));
    }
  }
  if (n % 64 != 0) out[words - 1] &= (std::uint64_t{1} << (n % 64)) - 1;
}

namespace {
void reference_ars_groups(std::uint64_t* out, std::uint64_t g_first, std::size_t count, std::uint64_t seed,
                          std::uint32_t t) noexcept {
  reference_groups(out, g_first, count, seed, t, Generator::ars5);
}
}  // namespace

#if SIMDROP_HAVE_X86_KERNELS
// VAES: CPUID leaf 7, sub-leaf 0, ECX bit 9 (asked directly: clang 14's __builtin_cpu_supports has no "vaes").
static bool cpu_has_vaes() noexcept {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) != 0 && ((ecx >> 9) & 1u) != 0;
}
#endif

GroupsFn ars_groups_for(Isa isa) noexcept {
#if SIMDROP_HAVE_X86_KERNELS
  // Read once, not per call: this runs for every fused step. The avx512 path only runs where
  // dispatch.cpp found AVX-512 (F, BW, DQ, VL), so VAES is the one feature left to ask about.
  static const bool has_vaes = cpu_has_vaes();
  static const bool has_aes = __builtin_cpu_supports("aes");
  if (isa == Isa::avx512 && has_vaes) return ars_groups_vaes512;
  if (isa != Isa::scalar && has_aes) return ars_groups_aesni;
#endif
#if SIMDROP_HAVE_NEON_KERNELS
  // The kernel's hardware-capability bits (AT_HWCAP): HWCAP_AES for AESE/AESMC.
  static const bool has_aes = (getauxval(AT_HWCAP) & HWCAP_AES) != 0;
  if (isa == Isa::neon && has_aes) return ars_groups_neon;
#endif
  (void)isa;
  return reference_ars_groups;
}

}  // namespace simdrop::detail
