// simdrop runtime controls: which ISA path runs and how work is split over threads.
// None of them changes a result; they exist for tests, benchmarks and tuning.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace simdrop {

// Kernel paths. `scalar` is the portable reference; the others are chosen only where the CPU has them.
enum class Isa { scalar, sse2, avx2, avx512 };

// Lower-case name of a path: "scalar", "sse2", "avx2", "avx512".
std::string_view isa_name(Isa isa) noexcept;

// Parses a name as isa_name writes it; throws std::invalid_argument naming `what` for anything else.
Isa parse_isa(std::string_view name, std::string_view what = "isa");

// Paths this build has and this CPU can run, slowest first.
std::vector<Isa> supported_isas();

// The path in use. At first use it is the fastest supported one, or the one named by the environment
// variable SIMDROP_ISA (an unknown or unsupported name throws std::invalid_argument naming SIMDROP_ISA).
Isa active_isa();

// Makes `isa` the path in use; throws std::invalid_argument naming "isa" if it is not supported.
void set_isa(Isa isa);

// Elements per parallel task (default 65536). Must be a positive multiple of 64; otherwise
// std::invalid_argument naming "elements". Calls below two tasks' worth of elements run on the calling thread.
void set_grain_size(std::size_t elements);
std::size_t grain_size() noexcept;

// Outputs of at least this many bytes (default 16 MiB, about where input and output stop fitting in a
// last-level cache) are written with streaming (non-temporal) stores, which skip reading the output's
// cache lines first and leave the caches to the input. 0 streams always, SIZE_MAX never.
void set_stream_threshold(std::size_t bytes) noexcept;
std::size_t stream_threshold() noexcept;

// Library version, "major.minor.patch".
std::string_view version() noexcept;

}  // namespace simdrop
