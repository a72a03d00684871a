// The neon path: kernel_impl.hpp instantiated for xsimd::neon64 (64-bit ARM; Advanced SIMD is always there).
#define SIMDROP_KERNEL_NAMESPACE isa_neon
#define SIMDROP_KERNEL_ISA Isa::neon
#define SIMDROP_KERNEL_ARCH xsimd::neon64
#define SIMDROP_KERNEL_ARCH_HEADER "kernels/arch/neon64.hpp"
#include "kernels/kernel_impl.hpp"

namespace simdrop::detail {

const KernelTable& neon_kernels() noexcept { return isa_neon::kTable; }

}  // namespace simdrop::detail
