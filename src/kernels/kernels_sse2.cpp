// The sse2 path: kernel_impl.hpp instantiated for xsimd::sse2 (this file alone is built with its flags).
#define SIMDROP_KERNEL_NAMESPACE isa_sse2
#define SIMDROP_KERNEL_ISA Isa::sse2
#define SIMDROP_KERNEL_ARCH xsimd::sse2
#include "kernels/kernel_impl.hpp"

namespace simdrop::detail {

const KernelTable& sse2_kernels() noexcept {
  static constexpr KernelTable table{Isa::sse2, isa_sse2::make_mask,
                                     isa_sse2::apply_f32,    isa_sse2::apply_f64,
                                     isa_sse2::forward_pipelined_f32, isa_sse2::forward_pipelined_f64,
                                     isa_sse2::run_uniform_f32, isa_sse2::run_uniform_f64,
                                     isa_sse2::affine_f32,   isa_sse2::affine_f64,
                                     isa_sse2::affine_pipelined_f32, isa_sse2::affine_pipelined_f64,
                                     isa_sse2::bias_add_f32, isa_sse2::bias_add_f64,
                                     isa_sse2::bias_add_pipelined_f32, isa_sse2::bias_add_pipelined_f64,
                                     isa_sse2::accumulate_f32, isa_sse2::accumulate_f64,
                                     isa_sse2::gaussian_f32, isa_sse2::gaussian_f64};
  return table;
}

}  // namespace simdrop::detail
