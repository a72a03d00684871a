// The sse2 path: kernel_impl.hpp instantiated for xsimd::sse2 (this file alone is built with its flags).
#define SIMDROP_KERNEL_NAMESPACE isa_sse2
#define SIMDROP_KERNEL_ISA Isa::sse2
#define SIMDROP_KERNEL_ARCH xsimd::sse2
#define SIMDROP_KERNEL_ARCH_HEADER "kernels/arch/sse2.hpp"
#include "kernels/kernel_impl.hpp"

namespace simdrop::detail {

const KernelTable& sse2_kernels() noexcept { return isa_sse2::kTable; }

}  // namespace simdrop::detail
