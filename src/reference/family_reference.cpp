#include "reference/family_reference.hpp"

#include "reference/normal.hpp"
#include "reference/reference.hpp"

namespace simdrop::detail {

float reference_normal(std::uint64_t seed, std::uint64_t g, Generator gen) noexcept {
  const std::uint64_t block = g / 4;
  const PhiloxCounter w = generator_block(
      gen, {static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32), 0, kDomainGaussian}, seed);
  const std::size_t pair = (g % 4) / 2;
  float z_cos, z_sin;
  normal_math::box_muller<normal_math::ScalarOps>(w[2 * pair], w[2 * pair + 1], z_cos, z_sin);
  return g % 2 == 0 ? z_cos : z_sin;
}

#define SIMDROP_FAMILY_REFERENCE(T)                                                                                  \
  template void reference_gaussian(const T*, T*, std::size_t, std::uint64_t, std::uint64_t, float,                  \
                                   Generator) noexcept;                                                             \
  template void reference_affine(const T*, T*, const std::uint64_t*, std::size_t, compute_t<T>, compute_t<T>,        \
                                 compute_t<T>) noexcept;                                                            \
  template void reference_bias_add(const T*, const T*, std::size_t, std::size_t, const T*, T*, const std::uint64_t*, \
                                   std::size_t, compute_t<T>) noexcept;                                             \
  template void reference_accumulate(const T*, double*, std::size_t) noexcept;
SIMDROP_ELEMENT_TYPES(SIMDROP_FAMILY_REFERENCE)
#undef SIMDROP_FAMILY_REFERENCE

}  // namespace simdrop::detail
