// The SIMD kernels of one ISA path, written once over xsimd::batch<T, Arch> and instantiated per ISA by
// kernels_<isa>.cpp, each compiled with its ISA's flags. Include only from those files, after defining
//   SIMDROP_KERNEL_NAMESPACE    the path's namespace (isa_<name>)
//   SIMDROP_KERNEL_ISA          its simdrop::Isa
//   SIMDROP_KERNEL_ARCH         its xsimd architecture
//   SIMDROP_KERNEL_ARCH_HEADER  its primitives, "kernels/arch/<isa>.hpp"
// Everything is in an anonymous namespace, so that no code built with one ISA's flags is shared with another
// path. The rooms, in include order:
//   arch/generic.hpp        the primitives xsimd lacks, with their documented fallbacks
//   arch/<isa>.hpp          this ISA's overloads of them (intrinsics live only there)
//   simd/keep_lanes.hpp     mask bits to lane masks (for_each_masked_batch, pick, keep_or_zero)
//   simd/philox_planes.hpp  Philox keep bits of 128-lane groups, bit-plane by bit-plane (make_mask)
//   simd/elements.hpp       element loads and stores (widening and narrowing 16-bit types), streaming
//   simd/apply.hpp          the apply, and the pipelined forward pass (generation overlapped with the apply)
//   simd/family.hpp         channel runs, alpha dropout's affine form, bias-dropout-residual, column sums
//   simd/gaussian.hpp       Gaussian dropout's noise
// and the path's kernel table, below.
#pragma once

#include <xsimd/xsimd.hpp>

#include "kernels/kernels.hpp"

namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE {
namespace {
using Arch = SIMDROP_KERNEL_ARCH;
constexpr Isa kIsa = SIMDROP_KERNEL_ISA;
}  // namespace
}  // namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE

#include "kernels/arch/generic.hpp"
#include SIMDROP_KERNEL_ARCH_HEADER
#include "kernels/simd/keep_lanes.hpp"
#include "kernels/simd/philox_planes.hpp"
#include "kernels/simd/elements.hpp"
#include "kernels/simd/apply.hpp"
#include "kernels/simd/family.hpp"
#include "kernels/simd/gaussian.hpp"

namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE {
namespace {

// This path's kernels for element type T, and its kernel table (returned by <isa>_kernels() in
// kernels_<isa>.cpp).
template <class T>
constexpr TypedKernels<T> typed_kernels() noexcept {
  return {.apply = apply<T>,
          .forward = forward_pipelined<T>,
          .run_uniform = run_uniform<T>,
          .affine = affine<T>,
          .affine_pipelined = affine_pipelined<T>,
          .bias_add = bias_add<T>,
          .bias_add_pipelined = bias_add_pipelined<T>,
          .accumulate = accumulate<T>,
          .gaussian = gaussian<T>};
}
template <class... T>
constexpr KernelTable make_table(TypeList<T...>) noexcept {
  return {.isa = kIsa, .mask = make_mask, .typed = {typed_kernels<T>()...}};
}
constexpr KernelTable kTable = make_table(ElementTypes{});

}  // namespace
}  // namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE
