// PyTorch's own CPU dropout (Debian's libtorch-dev), with at::set_num_threads matching the case.
// Built only where CMake finds Torch (SIMDROP_WITH_TORCH).
#pragma once

#include <string>

#include "harness.hpp"

namespace simdrop::bench {

template <class T>
std::optional<Prepared> make_torch(Op op, Workload<T>& w);

std::string torch_version();

}  // namespace simdrop::bench
