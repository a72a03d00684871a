// simdrop: where the random numbers of a call come from. A stream is a counter-based generator keyed by a
// seed; element i of a call uses the stream's position offset + i, so a decision depends on (seed, position)
// alone, whatever the thread, ISA path, architecture, alignment or split of the call.
#pragma once

#include <cstddef>
#include <cstdint>

namespace simdrop {

// The counter-based generator behind a stream, all Crush-resistant (Salmon et al., SC'11): Philox4x32-10
// (the default; cuRAND's and PyTorch CUDA's), Philox4x32-7 (7/10 of the rounds, as Random123 and
// FlashAttention use it) and ARS-5 (five AES rounds: AES-NI / VAES where the CPU has them, exact
// everywhere). Each gives its own masks; every path of one generator gives the same masks.
enum class Generator : std::uint8_t { philox4x32_10 = 0, philox4x32_7 = 1, ars5 = 2 };

// Where a call draws its random numbers from: element i of a call uses the stream's position offset + i.
struct Stream {
  std::uint64_t seed = 0;
  std::uint64_t offset = 0;
  Generator generator = Generator::philox4x32_10;
};

// Number of 64-bit words of a bit-packed keep-mask for n elements.
constexpr std::size_t mask_words(std::size_t n) noexcept { return (n + 63) / 64; }

}  // namespace simdrop
