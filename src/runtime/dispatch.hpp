// Chooses the kernel table each kind of work runs on: the forced path, or the calibrated choice per work
// kind and size class (include/simdrop/runtime.hpp says how).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <simdrop/runtime.hpp>
#include <type_traits>

#include "kernels/kernels.hpp"

namespace simdrop::detail {

// The kernels `work` runs on for a call writing `output_bytes` (its size class: below stream_threshold()
// is the cache class). Calibrates that class first if nothing is forced and it has not been calibrated.
// needs_f16c: the call is on float16 data, which the sse2 path converts in scalar code (about 70x slower
// than F16C): since the calibration measures fp32 work, a calibrated choice of sse2 then gives way to the
// avx2 path (F16C), or avx512 where avx2 is missing. A forced path is always kept.
const KernelTable& kernels_for(Work work, std::size_t output_bytes, bool needs_f16c);
template <class T>
const KernelTable& kernels_for(Work work, std::size_t output_bytes) {
  return kernels_for(work, output_bytes, std::is_same_v<T, float16>);
}

// Whether a call writing `bytes` of output is beyond the caches: the memory size class, where it streams its
// stores unless it writes in place (use_streaming).
inline bool beyond_caches(std::size_t bytes) noexcept { return bytes >= stream_threshold(); }

// Whether a call writing `bytes` of output at `out` from the inputs `in` uses streaming stores: in the memory
// size class and not in place. An output that is one of its inputs is in the caches already when it is written,
// and streaming stores only evict it: 64 MiB fp32 in place, forward + regenerated backward, 2 threads, took
// 9.2-9.8 ms streamed against 5.0-5.9 with plain stores (out of place: 6.8-8.0 streamed, 12.0-12.3 plain).
inline bool use_streaming(std::size_t bytes, const void* out, std::initializer_list<const void*> in) noexcept {
  if (!beyond_caches(bytes)) return false;
  for (const void* input : in)
    if (input == out) return false;
  return true;
}

// Whether the pipelined kernels of a call writing `bytes` of output prefetch their inputs: where the output
// alone is larger than L2 (kernels/simd/apply.hpp's kPrefetchAhead says what it gains; on data that L1 and L2
// hold, up to 256 KiB, the prefetches cost 4-9%).
inline bool use_prefetch(std::size_t bytes) noexcept {
  const std::size_t l2 = cache_sizes().l2;
  return bytes > (l2 != 0 ? l2 : std::size_t{1} << 20);
}

// The table of a supported path (the scalar table for a path this build lacks).
const KernelTable& table_of(Isa isa) noexcept;

// Whether this CPU and build can run `isa`.
bool cpu_has(Isa isa) noexcept;

// Replaces the calibrated choice of `work` in `size_class` by `isa` (a supported path); for tests that
// mix paths per work kind.
void set_choice(Work work, SizeClass size_class, Isa isa);

}  // namespace simdrop::detail
