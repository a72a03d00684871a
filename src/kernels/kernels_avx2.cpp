// The avx2 path: kernel_impl.hpp instantiated for xsimd::avx2 (this file alone is built with its flags).
#define SIMDROP_KERNEL_NAMESPACE isa_avx2
#define SIMDROP_KERNEL_ISA Isa::avx2
#define SIMDROP_KERNEL_ARCH xsimd::avx2
#include "kernels/kernel_impl.hpp"

namespace simdrop::detail {

const KernelTable& avx2_kernels() noexcept {
  static constexpr KernelTable table{Isa::avx2, isa_avx2::make_mask,
                                     isa_avx2::apply_f32,    isa_avx2::apply_f64,
                                     isa_avx2::forward_pipelined_f32, isa_avx2::forward_pipelined_f64,
                                     isa_avx2::run_uniform_f32, isa_avx2::run_uniform_f64,
                                     isa_avx2::affine_f32,   isa_avx2::affine_f64,
                                     isa_avx2::affine_pipelined_f32, isa_avx2::affine_pipelined_f64,
                                     isa_avx2::bias_add_f32, isa_avx2::bias_add_f64,
                                     isa_avx2::bias_add_pipelined_f32, isa_avx2::bias_add_pipelined_f64,
                                     isa_avx2::accumulate_f32, isa_avx2::accumulate_f64,
                                     isa_avx2::gaussian_f32, isa_avx2::gaussian_f64};
  return table;
}

}  // namespace simdrop::detail
