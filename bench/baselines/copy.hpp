// The floor: move the same bytes as the op (y = x * scale, or write the mask's bytes for `mask`), with
// the same oneTBB blocks and threads as simdrop, as plain stores (compiled for the best ISA of the CPU)
// or streaming stores, whichever is faster on this machine and size.
#pragma once

#include "harness.hpp"

namespace simdrop::bench {

template <class T>
std::optional<Prepared> make_copy(Op op, Workload<T>& w);

}  // namespace simdrop::bench
