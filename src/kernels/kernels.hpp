// The kernel table of one ISA path. Each path implements the same primitives; the fused passes in
// dropout.cpp and family.cpp compose them block by block, so mask bits stay in L1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <simdrop/dropout.hpp>
#include <simdrop/runtime.hpp>

namespace simdrop::detail {

struct KernelTable {
  Isa isa;
  // Keep bits of global elements [start, start + n) into out (bit 0 of out[0] = element `start`),
  // bits past n in the last word zeroed; t is the drop threshold in [0, 2^32].
  void (*mask)(std::uint64_t* out, std::size_t n, std::uint64_t seed, std::uint64_t start, std::uint64_t t,
               Generator gen);
  // y[i] = bit i of mask ? x[i] * scale : +0.0; x == y allowed, no other overlap. stream: write y with
  // streaming (non-temporal) stores where y is aligned (for outputs larger than the caches).
  void (*apply_f32)(const float* x, float* y, const std::uint64_t* mask, std::size_t n, float scale, bool stream);
  void (*apply_f64)(const double* x, double* y, const std::uint64_t* mask, std::size_t n, double scale, bool stream);
  // The forward pass y = keep ? x * scale : +0.0 of global elements [start, start + n), mask generation of one
  // batch of groups interleaved with the apply of the previous one, over the whole batches from the start
  // (which must be on a 128-lane group boundary); keep bits also to mask_out when given. Returns how many
  // elements it did: 0 where it does not apply (ARS-5, t = 0 or 2^32, a misaligned start, the scalar path).
  std::size_t (*forward_f32)(const float* x, float* y, std::size_t n, std::uint64_t seed, std::uint64_t start,
                             std::uint64_t t, float scale, Generator gen, std::uint64_t* mask_out, bool stream);
  std::size_t (*forward_f64)(const double* x, double* y, std::size_t n, std::uint64_t seed, std::uint64_t start,
                             std::uint64_t t, double scale, Generator gen, std::uint64_t* mask_out, bool stream);
  // y[i] = keep ? x[i] * scale : +0.0 for a run sharing one decision (channel dropout's planes).
  void (*run_uniform_f32)(const float* x, float* y, std::size_t n, float scale, bool keep, bool stream);
  void (*run_uniform_f64)(const double* x, double* y, std::size_t n, double scale, bool keep, bool stream);
  // The dropout family (definitions in reference/family_reference.hpp; stream as for apply). Alpha
  // dropout: y[i] = bit i of mask ? a * x[i] + b : c.
  void (*affine_f32)(const float* x, float* y, const std::uint64_t* mask, std::size_t n, float a, float b, float c,
                     bool stream);
  void (*affine_f64)(const double* x, double* y, const std::uint64_t* mask, std::size_t n, double a, double b, double c,
                     bool stream);
  // The same as forward_f32/f64 (pipelined, the keep bits from the stream, returning how many elements were
  // done) for alpha dropout's affine kernel.
  std::size_t (*affine_pipelined_f32)(const float* x, float* y, std::size_t n, std::uint64_t seed, std::uint64_t start,
                                      std::uint64_t t, Generator gen, std::uint64_t* mask_out, bool stream, float a,
                                      float b, float c);
  std::size_t (*affine_pipelined_f64)(const double* x, double* y, std::size_t n, std::uint64_t seed,
                                      std::uint64_t start, std::uint64_t t, Generator gen, std::uint64_t* mask_out,
                                      bool stream, double a, double b, double c);
  // Bias-dropout-residual: y[i] = residual[i] + (bit i ? (x[i] + bias[(col0 + i) % cols]) * scale : 0).
  void (*bias_add_f32)(const float* x, const float* bias, std::size_t cols, std::size_t col0, const float* residual,
                       float* y, const std::uint64_t* mask, std::size_t n, float scale, bool stream);
  void (*bias_add_f64)(const double* x, const double* bias, std::size_t cols, std::size_t col0, const double* residual,
                       double* y, const std::uint64_t* mask, std::size_t n, double scale, bool stream);
  // Bias-dropout-residual, pipelined (as forward_f32/f64).
  std::size_t (*bias_add_pipelined_f32)(const float* x, const float* bias, std::size_t cols, std::size_t col0,
                                        const float* residual, float* y, std::size_t n, std::uint64_t seed,
                                        std::uint64_t start, std::uint64_t t, Generator gen, std::uint64_t* mask_out,
                                        bool stream, float scale);
  std::size_t (*bias_add_pipelined_f64)(const double* x, const double* bias, std::size_t cols, std::size_t col0,
                                        const double* residual, double* y, std::size_t n, std::uint64_t seed,
                                        std::uint64_t start, std::uint64_t t, Generator gen, std::uint64_t* mask_out,
                                        bool stream, double scale);
  // Column sums: acc[i] += double(row[i]) (each element's add on its own: the same on every path).
  void (*accumulate_f32)(const float* row, double* acc, std::size_t n);
  void (*accumulate_f64)(const double* row, double* acc, std::size_t n);
  // Gaussian dropout: y[i] = x[i] * T(1 + sigma * z(start + i)), the factor in float.
  void (*gaussian_f32)(const float* x, float* y, std::size_t n, std::uint64_t seed, std::uint64_t start, float sigma,
                       Generator gen);
  void (*gaussian_f64)(const double* x, double* y, std::size_t n, std::uint64_t seed, std::uint64_t start, float sigma,
                       Generator gen);
};

const KernelTable& scalar_kernels() noexcept;
#if SIMDROP_HAVE_X86_KERNELS
const KernelTable& sse2_kernels() noexcept;
const KernelTable& avx2_kernels() noexcept;
const KernelTable& avx512_kernels() noexcept;
#endif

// Writes the constant masks of t == 0 (keep all) and t == 2^32 (drop all); returns false for other t.
bool constant_mask(std::uint64_t* out, std::size_t n, std::uint64_t t) noexcept;

// Writes the 128 keep bits of groups [g_first, g_first + count) to out[2k], out[2k + 1] (0 < t < 2^32).
// It may write groups up to count rounded up to kMaxGroupsPerBatch.
using GroupsFn = void (*)(std::uint64_t* out, std::uint64_t g_first, std::size_t count, std::uint64_t seed,
                          std::uint32_t t);
inline constexpr std::size_t kMaxGroupsPerBatch = 16;

// Keep bits of global elements [start, start + n) into out, from group-aligned bits made by `groups`
// (0 < t < 2^32): the funnel shift from 128-lane groups to the call's words, shared by every path.
void mask_from_groups(std::uint64_t* out, std::size_t n, std::uint64_t seed, std::uint64_t start, std::uint32_t t,
                      GroupsFn groups) noexcept;

// The ARS-5 group generator for a path: VAES (512-bit) on the avx512 path where the CPU has VAES,
// AES-NI on the SIMD paths where it has AES-NI, else the reference.
GroupsFn ars_groups_for(Isa isa) noexcept;
#if SIMDROP_HAVE_X86_KERNELS
void ars_groups_aesni(std::uint64_t* out, std::uint64_t g_first, std::size_t count, std::uint64_t seed,
                      std::uint32_t t) noexcept;
void ars_groups_vaes512(std::uint64_t* out, std::uint64_t g_first, std::size_t count, std::uint64_t seed,
                        std::uint32_t t) noexcept;
#endif

}  // namespace simdrop::detail
