// The avx512 path: kernel_impl.hpp instantiated for xsimd::avx512bw (this file alone is built with its flags).
#define SIMDROP_KERNEL_NAMESPACE isa_avx512
#define SIMDROP_KERNEL_ISA Isa::avx512
#define SIMDROP_KERNEL_ARCH xsimd::avx512bw
#include "kernels/kernel_impl.hpp"

namespace simdrop::detail {

const KernelTable& avx512_kernels() noexcept {
  static constexpr KernelTable table{Isa::avx512, isa_avx512::make_mask,
                                     isa_avx512::apply_f32,    isa_avx512::apply_f64,
                                     isa_avx512::forward_pipelined_f32, isa_avx512::forward_pipelined_f64,
                                     isa_avx512::run_uniform_f32, isa_avx512::run_uniform_f64,
                                     isa_avx512::affine_f32,   isa_avx512::affine_f64,
                                     isa_avx512::affine_pipelined_f32, isa_avx512::affine_pipelined_f64,
                                     isa_avx512::bias_add_f32, isa_avx512::bias_add_f64,
                                     isa_avx512::bias_add_pipelined_f32, isa_avx512::bias_add_pipelined_f64,
                                     isa_avx512::accumulate_f32, isa_avx512::accumulate_f64,
                                     isa_avx512::gaussian_f32, isa_avx512::gaussian_f64};
  return table;
}

}  // namespace simdrop::detail
