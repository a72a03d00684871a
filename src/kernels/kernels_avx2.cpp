// The avx2 path: kernel_impl.hpp instantiated for xsimd::avx2 (this file alone is built with its flags).
#define SIMDROP_KERNEL_NAMESPACE isa_avx2
#define SIMDROP_KERNEL_ISA Isa::avx2
#define SIMDROP_KERNEL_ARCH xsimd::avx2
#define SIMDROP_KERNEL_ARCH_HEADER "kernels/arch/avx2.hpp"
#include "kernels/kernel_impl.hpp"

namespace simdrop::detail {

const KernelTable& avx2_kernels() noexcept { return isa_avx2::kTable; }

}  // namespace simdrop::detail
