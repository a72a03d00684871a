// The kernel table of one ISA path. Each path implements the same primitives; the fused passes in
// dropout.cpp and family.cpp compose them block by block, so mask bits stay in L1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <simdrop/stream.hpp>
#include <simdrop/runtime.hpp>
#include <tuple>

#include "element.hpp"

namespace simdrop::detail {

// One call of a pipelined kernel, described once: where its stream starts and what it does with the keep
// bits and the output.
struct Pass {
  std::uint64_t seed = 0;
  std::uint64_t start = 0;                    // stream position of the call's element 0
  std::uint64_t t = 0;                        // drop threshold in [0, 2^32]
  Generator gen = Generator::philox4x32_10;
  std::uint64_t* mask_out = nullptr;          // also write the keep bits here (whole words) when given
  bool stream = false;                        // streaming stores where y is aligned (outputs beyond the caches)
  bool prefetch = false;                      // the pipelined kernels prefetch their inputs (outputs beyond L2)
};

// Alpha dropout's kept a * x + b and dropped value c, in the compute type.
template <class C>
struct Affine {
  C a, b, c;
};

// The kernels of one path for element type T. Arithmetic runs in C = compute_t<T> on the widened inputs
// and each result is rounded once to T; definitions in reference/ (the scalar path is the reference).
// `stream`: streaming (non-temporal) stores where y is aligned to the batch.
template <class T>
struct TypedKernels {
  using C = compute_t<T>;
  // y[i] = bit i of mask ? x[i] * scale : +0.0; x == y allowed, no other overlap.
  void (*apply)(const T* x, T* y, const std::uint64_t* mask, std::size_t n, C scale, bool stream);
  // The forward pass y = keep ? x * scale : +0.0 of elements [pass.start, pass.start + n), mask generation of
  // one batch of groups interleaved with the apply of the previous one, over the whole batches from the start
  // (which must be on a 128-lane group boundary). Returns how many elements it did: 0 where it does not apply
  // (ARS-5, t = 0 or 2^32, a misaligned start, the scalar path).
  std::size_t (*forward)(const T* x, T* y, std::size_t n, const Pass& pass, C scale);
  // y[i] = keep ? x[i] * scale : +0.0 for a run sharing one decision (channel dropout's planes).
  void (*run_uniform)(const T* x, T* y, std::size_t n, C scale, bool keep, bool stream);
  // Alpha dropout: y[i] = bit i of mask ? a * x[i] + b : c; and its pipelined form (as forward).
  void (*affine)(const T* x, T* y, const std::uint64_t* mask, std::size_t n, const Affine<C>& k, bool stream);
  std::size_t (*affine_pipelined)(const T* x, T* y, std::size_t n, const Pass& pass, const Affine<C>& k);
  // Bias-dropout-residual: y[i] = residual[i] + (bit i ? (x[i] + bias[(col0 + i) % cols]) * scale : 0); and its
  // pipelined form (as forward).
  void (*bias_add)(const T* x, const T* bias, std::size_t cols, std::size_t col0, const T* residual, T* y,
                   const std::uint64_t* mask, std::size_t n, C scale, bool stream);
  std::size_t (*bias_add_pipelined)(const T* x, const T* bias, std::size_t cols, std::size_t col0, const T* residual,
                                    T* y, std::size_t n, const Pass& pass, C scale);
  // Column sums: acc[i] += double(row[i]) (each element's add on its own: the same on every path).
  void (*accumulate)(const T* row, double* acc, std::size_t n);
  // Gaussian dropout: y[i] = x[i] * (1 + sigma * z(pass.start + i)), the factor in float (pass: seed, start, gen).
  void (*gaussian)(const T* x, T* y, std::size_t n, const Pass& pass, float sigma);
};

template <class List>
struct TypedKernelSet;
template <class... T>
struct TypedKernelSet<TypeList<T...>> {
  using type = std::tuple<TypedKernels<T>...>;
};

struct KernelTable {
  Isa isa;
  // Keep bits of global elements [start, start + n) into out (bit 0 of out[0] = element `start`),
  // bits past n in the last word zeroed; t is the drop threshold in [0, 2^32].
  void (*mask)(std::uint64_t* out, std::size_t n, std::uint64_t seed, std::uint64_t start, std::uint64_t t,
               Generator gen);
  // The kernels of each element type of ElementTypes (element.hpp).
  TypedKernelSet<ElementTypes>::type typed;

  template <class T>
  const TypedKernels<T>& of() const noexcept {
    return std::get<TypedKernels<T>>(typed);
  }
};

const KernelTable& scalar_kernels() noexcept;
#if SIMDROP_HAVE_X86_KERNELS
const KernelTable& sse2_kernels() noexcept;
const KernelTable& avx2_kernels() noexcept;
const KernelTable& avx512_kernels() noexcept;
#endif
#if SIMDROP_HAVE_NEON_KERNELS
const KernelTable& neon_kernels() noexcept;
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
// AES-NI on the x86 SIMD paths where it has AES-NI, the ARMv8 AES instructions on the neon path where the
// CPU has them, else the reference.
GroupsFn ars_groups_for(Isa isa) noexcept;
#if SIMDROP_HAVE_X86_KERNELS
void ars_groups_aesni(std::uint64_t* out, std::uint64_t g_first, std::size_t count, std::uint64_t seed,
                      std::uint32_t t) noexcept;
void ars_groups_vaes512(std::uint64_t* out, std::uint64_t g_first, std::size_t count, std::uint64_t seed,
                        std::uint32_t t) noexcept;
#endif
#if SIMDROP_HAVE_NEON_KERNELS
void ars_groups_neon(std::uint64_t* out, std::uint64_t g_first, std::size_t count, std::uint64_t seed,
                     std::uint32_t t) noexcept;
#endif

}  // namespace simdrop::detail
