// The avx512 path: kernel_impl.hpp instantiated for xsimd::avx512bw (this file alone is built with its flags).
#define SIMDROP_KERNEL_NAMESPACE isa_avx512
#define SIMDROP_KERNEL_ISA Isa::avx512
#define SIMDROP_KERNEL_ARCH xsimd::avx512bw
#define SIMDROP_KERNEL_ARCH_HEADER "kernels/arch/avx512.hpp"
#include "kernels/kernel_impl.hpp"

namespace simdrop::detail {

const KernelTable& avx512_kernels() noexcept { return isa_avx512::kTable; }

}  // namespace simdrop::detail
