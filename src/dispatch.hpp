// Chooses the kernel table of the ISA path in use.
#pragma once

#include "kernels/kernels.hpp"

namespace simdrop::detail {

// The kernels of active_isa().
const KernelTable& active_kernels();

}  // namespace simdrop::detail
