#include "reference/reference.hpp"

#include "reference/ars.hpp"

namespace simdrop::detail {

PhiloxCounter generator_block(Generator gen, PhiloxCounter c, std::uint64_t seed) noexcept {
  switch (gen) {
    case Generator::philox4x32_7:
      return philox_4x32<7>(c, philox_key(seed));
    case Generator::ars5:
      return ars5(c, ars_key(seed));
    default:
      return philox_4x32<10>(c, philox_key(seed));
  }
}

void reference_group_uniforms(std::uint64_t seed, std::uint64_t group, std::uint32_t domain,
                              std::uint32_t (&uniforms)[kGroupLanes], Generator gen) noexcept {
  for (auto& u : uniforms) u = 0;
  for (std::uint32_t plane = 0; plane < 32; ++plane) {
    const PhiloxCounter words = generator_block(
        gen, {static_cast<std::uint32_t>(group), static_cast<std::uint32_t>(group >> 32), plane, domain}, seed);
    for (std::uint32_t lane = 0; lane < kGroupLanes; ++lane) {
      const std::uint32_t bit = (words[lane / 32] >> (lane % 32)) & 1u;
      uniforms[lane] |= bit << (31 - plane);
    }
  }
}

bool reference_keep(std::uint64_t seed, std::uint64_t index, std::uint64_t t, Generator gen) noexcept {
  std::uint32_t uniforms[kGroupLanes];
  reference_group_uniforms(seed, index / kGroupLanes, kDomainKeepMask, uniforms, gen);
  return uniforms[index % kGroupLanes] >= t;
}

void reference_mask(std::uint64_t* out, std::size_t n, std::uint64_t seed, std::uint64_t start, std::uint64_t t,
                    Generator gen) noexcept {
  for (std::size_t w = 0; w < (n + 63) / 64; ++w) out[w] = 0;
  std::uint32_t uniforms[kGroupLanes];
  std::uint64_t cached_group = 0;
  bool have_group = false;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t g = start + i;
    if (!have_group || g / kGroupLanes != cached_group) {
      cached_group = g / kGroupLanes;
      reference_group_uniforms(seed, cached_group, kDomainKeepMask, uniforms, gen);
      have_group = true;
    }
    if (uniforms[g % kGroupLanes] >= t) out[i / 64] |= std::uint64_t{1} << (i % 64);
  }
}

void reference_groups(std::uint64_t* out, std::uint64_t g_first, std::size_t count, std::uint64_t seed, std::uint64_t t,
                      Generator gen) noexcept {
  for (std::size_t k = 0; k < count; ++k)
    reference_mask(out + 2 * k, kGroupLanes, seed, (g_first + k) * kGroupLanes, t, gen);
}

void widen_elements(const bfloat16* in, float* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = widen(in[i]);
}
void widen_elements(const float16* in, float* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = widen(in[i]);
}
void narrow_elements(const float* in, bfloat16* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = narrow<bfloat16>(in[i]);
}
void narrow_elements(const float* in, float16* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = narrow<float16>(in[i]);
}

template void reference_apply(const float*, float*, const std::uint64_t*, std::size_t, compute_t<float>) noexcept;
template void reference_apply(const double*, double*, const std::uint64_t*, std::size_t, compute_t<double>) noexcept;
template void reference_apply(const bfloat16*, bfloat16*, const std::uint64_t*, std::size_t,
                              compute_t<bfloat16>) noexcept;
template void reference_apply(const float16*, float16*, const std::uint64_t*, std::size_t, compute_t<float16>) noexcept;

}  // namespace simdrop::detail
