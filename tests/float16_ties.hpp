// The CPU's float16 narrowing, and an x86 emulator's defect in it. Used by the tests (support.hpp) and the
// fuzz corpus replay; depends on the public API only.
//
// The avx2 and avx512 paths narrow float16 with the CPU's instruction (vcvtps2ph); every other path, and the
// definition, with simdrop::to_float16 (round to nearest, ties to even). Real hardware agrees with the
// definition; the Bochs x86 emulator (which the test command uses to run the AVX-512 paths on CPUs without
// them) rounds exact ties away from zero instead: 31744 of the 63486 ties between neighbouring finite halves.
#pragma once

#include <simdrop/half.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace simdrop::test {

// The CPU's narrowing of f to float16 bits (vcvtps2ph, rounding by the immediate: to nearest), where this is
// x86 and the CPU has F16C with AVX state enabled by the OS; std::nullopt elsewhere (aarch64 included).
std::optional<std::uint16_t> cpu_float16_bits(float f);

// The probe: whether the CPU narrows the exact tie 0x1p-25f (halfway between 0 and the smallest subnormal
// float16) to 0x0001 (ties away: the emulator's defect) rather than 0x0000 (ties to even: the hardware).
// False where there is no CPU narrowing (see cpu_float16_bits). Measured once.
bool cpu_float16_ties_away();

// Whether a (a hardware-narrowing path's float16 output) and b (the scalar path's output of the same
// element) differ only by the CPU's rounding of an exact tie: they differ, are adjacent (same sign, bit
// patterns one apart, no NaN), and the float midpoint m of to_float(a) and to_float(b) narrows to a with the
// CPU's instruction and to b with simdrop::to_float16. Never true where the CPU rounds ties to even (real
// hardware) or has no such instruction.
bool is_cpu_float16_tie(float16 a, float16 b);

// accept_float16_tie(a, b): is_cpu_float16_tie(a, b), and if so counts it. float16_ties_accepted(): how many
// were accepted in this process (the test programs print it at exit when it is not 0).
bool accept_float16_tie(float16 a, float16 b);
std::size_t float16_ties_accepted();

}  // namespace simdrop::test
