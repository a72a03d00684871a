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

template void reference_gaussian(const float*, float*, std::size_t, std::uint64_t, std::uint64_t, float,
                                 Generator) noexcept;
template void reference_affine(const float*, float*, const std::uint64_t*, std::size_t, compute_t<float>,
                               compute_t<float>, compute_t<float>) noexcept;
template void reference_bias_add(const float*, const float*, std::size_t, std::size_t, const float*, float*,
                                 const std::uint64_t*, std::size_t, compute_t<float>) noexcept;
template void reference_accumulate(const float*, double*, std::size_t) noexcept;
template void reference_gaussian(const double*, double*, std::size_t, std::uint64_t, std::uint64_t, float,
                                 Generator) noexcept;
template void reference_affine(const double*, double*, const std::uint64_t*, std::size_t, compute_t<double>,
                               compute_t<double>, compute_t<double>) noexcept;
template void reference_bias_add(const double*, const double*, std::size_t, std::size_t, const double*, double*,
                                 const std::uint64_t*, std::size_t, compute_t<double>) noexcept;
template void reference_accumulate(const double*, double*, std::size_t) noexcept;
template void reference_gaussian(const bfloat16*, bfloat16*, std::size_t, std::uint64_t, std::uint64_t, float,
                                 Generator) noexcept;
template void reference_affine(const bfloat16*, bfloat16*, const std::uint64_t*, std::size_t, compute_t<bfloat16>,
                               compute_t<bfloat16>, compute_t<bfloat16>) noexcept;
template void reference_bias_add(const bfloat16*, const bfloat16*, std::size_t, std::size_t, const bfloat16*, bfloat16*,
                                 const std::uint64_t*, std::size_t, compute_t<bfloat16>) noexcept;
template void reference_accumulate(const bfloat16*, double*, std::size_t) noexcept;
template void reference_gaussian(const float16*, float16*, std::size_t, std::uint64_t, std::uint64_t, float,
                                 Generator) noexcept;
template void reference_affine(const float16*, float16*, const std::uint64_t*, std::size_t, compute_t<float16>,
                               compute_t<float16>, compute_t<float16>) noexcept;
template void reference_bias_add(const float16*, const float16*, std::size_t, std::size_t, const float16*, float16*,
                                 const std::uint64_t*, std::size_t, compute_t<float16>) noexcept;
template void reference_accumulate(const float16*, double*, std::size_t) noexcept;

}  // namespace simdrop::detail
