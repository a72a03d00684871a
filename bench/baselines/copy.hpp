// The floor: move the same bytes as the op (y = x * scale; y = x + residual for bias_dropout_add; the mask's
// bytes for `mask`), with the same oneTBB blocks and threads as simdrop, the fastest way on this machine and
// size. Each case times the ways this CPU has in turn a few rounds at prepare time and keeps the fastest:
//   plain      a loop the compiler vectorises (cloned per ISA)
//   memcpy     x's bytes unscaled (for y = x * scale only: the same bytes moved)
//   stream128, stream256, stream512   non-temporal stores of that many bits (256: AVX, 512: AVX-512F; x86)
//   stnp       non-temporal pair stores of two 128-bit registers (AArch64)
// The label is the winner's name ("plain" for the mask, which is only written).
#pragma once

#include "harness.hpp"

namespace simdrop::bench {

template <class T>
std::optional<Prepared> make_copy(Op op, Workload<T>& w);

}  // namespace simdrop::bench
