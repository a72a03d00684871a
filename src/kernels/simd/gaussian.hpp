// Gaussian dropout's noise over batches: Box-Muller (reference/normal.hpp) on Philox blocks of the Gaussian
// domain, four batches of normals per step, transposed into element order. Part of kernel_impl.hpp (one ISA
// path per translation unit).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#include "kernels/kernels.hpp"
#include "kernels/simd/elements.hpp"
#include "kernels/simd/philox_planes.hpp"
#include "reference/family_reference.hpp"
#include "reference/normal.hpp"
#include "reference/reference.hpp"

namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE {
namespace {

// normal.hpp's operations over batches of floats (twice the lanes of U64).
struct BatchOps {
  using F = xsimd::batch<float, Arch>;
  using U = xsimd::batch<std::uint32_t, Arch>;
  static_assert(F::size == 2 * kW);
  static F as_float(U u) noexcept { return xsimd::bitwise_cast<F>(u); }
  static U as_bits(F f) noexcept { return xsimd::bitwise_cast<U>(f); }
  static F select(xsimd::batch_bool<float, Arch> c, F a, F b) noexcept { return xsimd::select(c, a, b); }
  static F sqrt(F f) noexcept { return arch::sqrt<Arch>(f, Arch{}); }
  static F div(F a, F b) noexcept { return arch::div<Arch>(a, b, Arch{}); }
};

// Block of 32-bit lane L of a Gaussian step, relative to the step's first block. Box-Muller fills four
// batches z0..z3 (word pairs 0-1 and 2-3, cosine and sine) whose lane L belongs to one block; a 4 x 4
// transpose within each 128-bit lane (unpack lo/hi of floats, then of pairs) puts lanes L, L + 4, ... of
// the four batches side by side. So lane L carries block lanes128 (L % 4) + L / 4, which makes the
// transpose's outputs consecutive blocks in element order.
constexpr std::size_t gaussian_lane_block(std::size_t lane) { return 2 * kW / 4 * (lane % 4) + lane / 4; }

// The offsets gaussian_lane_block(2k + odd), k < kW, of the blocks whose words go to even (odd = 0) or
// odd (odd = 1) 32-bit lanes.
struct GaussianLanes {
  U64 even, odd;
  GaussianLanes() noexcept {
    alignas(64) std::uint64_t e[kW], o[kW];
    for (std::size_t k = 0; k < kW; ++k) e[k] = gaussian_lane_block(2 * k), o[k] = gaussian_lane_block(2 * k + 1);
    even = U64::load_aligned(e), odd = U64::load_aligned(o);
  }
};

// What gaussian_blocks needs of the seed, made once per call: Philox's round keys, or the seed itself for
// ARS-5 (whose blocks come from the reference).
struct SeedOnly {
  std::uint64_t seed;
};
template <Generator Gen>
using GaussianKeys = std::conditional_t<Gen == Generator::philox4x32_10, RoundKeys<10>,
                                        std::conditional_t<Gen == Generator::philox4x32_7, RoundKeys<7>, SeedOnly>>;
template <Generator Gen>
GaussianKeys<Gen> gaussian_keys(std::uint64_t seed) noexcept {
  if constexpr (Gen == Generator::ars5)
    return SeedOnly{seed};
  else
    return GaussianKeys<Gen>(philox_key(seed));
}

// The domain-kDomainGaussian blocks first + offsets[k] for k < kW.
template <Generator Gen>
inline Block4 gaussian_blocks(std::uint64_t first, U64 offsets, const GaussianKeys<Gen>& keys) noexcept {
  const U64 b = U64(first) + offsets;
  const U64 lo = b & U64(0xFFFFFFFFull), hi = b >> 32;
  if constexpr (Gen == Generator::philox4x32_10) {
    return philox_batch<10>(lo, hi, 0, kDomainGaussian, keys);
  } else if constexpr (Gen == Generator::philox4x32_7) {
    return philox_batch<7>(lo, hi, 0, kDomainGaussian, keys);
  } else {  // ARS-5: the reference's blocks (the AES kernels make keep bits, not raw blocks)
    alignas(64) std::uint64_t l[kW], h[kW], w[4][kW];
    lo.store_aligned(l), hi.store_aligned(h);
    for (std::size_t k = 0; k < kW; ++k) {
      const PhiloxCounter r = generator_block(
          Gen, {static_cast<std::uint32_t>(l[k]), static_cast<std::uint32_t>(h[k]), 0, kDomainGaussian}, keys.seed);
      for (int j = 0; j < 4; ++j) w[j][k] = r[j];
    }
    return {U64::load_aligned(w[0]), U64::load_aligned(w[1]), U64::load_aligned(w[2]), U64::load_aligned(w[3])};
  }
}

// Word j of blocks a (even 32-bit lanes) and b (odd lanes) as one batch of 32-bit words.
inline BatchOps::U pack_words(U64 a, U64 b) noexcept {
  return xsimd::bitwise_cast<BatchOps::U>((a & U64(0xFFFFFFFFull)) | (b << 32));
}

template <Generator Gen, class T>
void gaussian_steps(const T* x, T* y, std::size_t n, std::uint64_t seed, std::uint64_t start, float sigma) noexcept {
  using F = BatchOps::F;
  using D = xsimd::batch<double, Arch>;
  constexpr std::size_t kBlocks = F::size, kStep = 4 * kBlocks;  // a step: one block per float lane
  const GaussianLanes lanes;
  const GaussianKeys<Gen> keys = gaussian_keys<Gen>(seed);
  const F one(1.0f), vs(sigma);
  for (std::size_t i = 0; i + kStep <= n; i += kStep) {
    const std::uint64_t first = (start + i) / 4;
    const Block4 a = gaussian_blocks<Gen>(first, lanes.even, keys), b = gaussian_blocks<Gen>(first, lanes.odd, keys);
    F z0, z1, z2, z3;
    normal_math::box_muller<BatchOps>(pack_words(a.w0, b.w0), pack_words(a.w1, b.w1), z0, z1);
    normal_math::box_muller<BatchOps>(pack_words(a.w2, b.w2), pack_words(a.w3, b.w3), z2, z3);
    const F e0 = one + vs * z0, e1 = one + vs * z1, e2 = one + vs * z2, e3 = one + vs * z3;
    const D lo01 = xsimd::bitwise_cast<D>(xsimd::zip_lo(e0, e1)), hi01 = xsimd::bitwise_cast<D>(xsimd::zip_hi(e0, e1));
    const D lo23 = xsimd::bitwise_cast<D>(xsimd::zip_lo(e2, e3)), hi23 = xsimd::bitwise_cast<D>(xsimd::zip_hi(e2, e3));
    const F factor[4] = {
        xsimd::bitwise_cast<F>(xsimd::zip_lo(lo01, lo23)), xsimd::bitwise_cast<F>(xsimd::zip_hi(lo01, lo23)),
        xsimd::bitwise_cast<F>(xsimd::zip_lo(hi01, hi23)), xsimd::bitwise_cast<F>(xsimd::zip_hi(hi01, hi23))};
    for (std::size_t m = 0; m < 4; ++m) {
      T* ym = y + i + m * kBlocks;
      const T* xm = x + i + m * kBlocks;
      if constexpr (std::is_same_v<compute_t<T>, float>) {  // fp32 and the 16-bit types
        store_elems<false>(ym, load_elems(xm) * factor[m]);
      } else {
        alignas(64) float f[kBlocks];
        factor[m].store_aligned(f);
        for (std::size_t k = 0; k < kBlocks; ++k) ym[k] = xm[k] * static_cast<double>(f[k]);
      }
    }
  }
}

template <class T>
void gaussian(const T* x, T* y, std::size_t n, const Pass& pass, float sigma) noexcept {
  constexpr std::size_t kStep = 4 * BatchOps::F::size;
  const std::uint64_t seed = pass.seed, start = pass.start;
  const Generator gen = pass.gen;
  const std::size_t head = std::min<std::size_t>(n, (4 - start % 4) % 4);  // up to the first whole block
  reference_gaussian(x, y, head, seed, start, sigma, gen);
  const std::size_t body = (n - head) / kStep * kStep;
  if (gen == Generator::philox4x32_10)
    gaussian_steps<Generator::philox4x32_10>(x + head, y + head, body, seed, start + head, sigma);
  else if (gen == Generator::philox4x32_7)
    gaussian_steps<Generator::philox4x32_7>(x + head, y + head, body, seed, start + head, sigma);
  else
    gaussian_steps<Generator::ars5>(x + head, y + head, body, seed, start + head, sigma);
  const std::size_t done = head + body;
  reference_gaussian(x + done, y + done, n - done, seed, start + done, sigma, gen);
}

}  // namespace
}  // namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE
