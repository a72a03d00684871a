// simdrop runtime controls: which ISA path runs and how work is split over threads.
// None of them changes a result; they exist for tests, benchmarks and tuning.
//
// Threads: every function here may be called from any thread at any time, also while kernels run on other
// threads (the settings are atomics; calibration is serialised by a lock, and a call that needs a size class
// being calibrated waits for it). The settings are process-wide: set_isa and ScopedIsa on one thread force
// the path of every thread's calls. A change never disturbs a call already running; it applies to what
// starts after it:
//  * the ISA choice (set_isa, set_isa_automatic, calibrate) is read once per call and kind of work, as the
//    call begins that work: a running call finishes on the path it began with;
//  * the grain (set_grain_size) is read once per parallel pass, as the pass splits its range into blocks;
//  * the streaming threshold (set_stream_threshold) is read as each pass begins, for its size class and stores.
// Tested with three threads running kernels while a fourth changes every control (tests/test_concurrency.cpp,
// also under ThreadSanitizer).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace simdrop {

// Kernel paths. `scalar` is the portable reference; the others are chosen only where the CPU has them:
// sse2, avx2 (with F16C) and avx512 (F, BW, DQ, VL) on x86-64, neon (Advanced SIMD) on 64-bit ARM.
enum class Isa { scalar, sse2, avx2, avx512, neon };

// Lower-case name of a path: "scalar", "sse2", "avx2", "avx512", "neon".
std::string_view isa_name(Isa isa) noexcept;

// Parses a name as isa_name writes it; throws std::invalid_argument naming `what` for anything else.
Isa parse_isa(std::string_view name, std::string_view what = "isa");

// Paths this build has and this CPU can run, slowest first.
std::vector<Isa> supported_isas();

// How the path is chosen. Every path gives the same bits, so the library picks one per kind of work and
// size class, whichever runs fastest on this machine:
//  * forced: set_isa(isa), or the environment variable SIMDROP_ISA=scalar|sse2|avx2|avx512|neon (an unknown or
//    unsupported name throws std::invalid_argument naming SIMDROP_ISA at first use), runs every kernel on it;
//  * otherwise calibrated: at the first call of a size class (or on calibrate()), each supported SIMD path
//    is timed once, on the calling thread, on private buffers: in the cache class on arrays that fit in L2
//    (about a millisecond), in the memory class on arrays twice stream_threshold() (at most 64 MiB each,
//    about 0.1-0.3 s once per process). Each work kind then runs on the fastest path measured for it.
//  * SIMDROP_CALIBRATE=0 in the environment skips the measurement: the widest supported path runs everything.
// A choice never changes a result. Calls already running when a choice changes finish on the path they began
// with; a call reads the choice once per kind of work it does.
enum class Work {
  mask,      // make_mask: generation only
  fused,     // generation and apply in one pass: forward, backward_regen, alpha, bias-dropout-residual
  apply,     // apply from stored bits: backward_mask and the family's backward passes, channel, time-shared
  gaussian,  // Gaussian dropout's noise
};
enum class SizeClass {
  cache,   // outputs below stream_threshold() bytes
  memory,  // outputs of at least stream_threshold() bytes
};
std::string_view work_name(Work work) noexcept;             // "mask", "fused", "apply", "gaussian"
std::string_view size_class_name(SizeClass c) noexcept;     // "cache", "memory"

// The path `work` runs on in `size_class` now (calibrating that class first if it has not been).
Isa chosen_isa(Work work, SizeClass size_class);

// The forced path, if any (set_isa or SIMDROP_ISA).
std::optional<Isa> forced_isa();

// The forced path, else the path fused work runs on in the cache class.
Isa active_isa();

// Makes `isa` the path of every kernel (forced); throws std::invalid_argument naming "isa" if it is not supported.
void set_isa(Isa isa);

// Ends a forced path (set_isa or SIMDROP_ISA): the calibrated choice runs again.
void set_isa_automatic() noexcept;

// Forces `isa` (when one is given) for the object's lifetime, then restores what was forced before it, or
// the calibrated choice. Throws as set_isa does.
class ScopedIsa {
 public:
  explicit ScopedIsa(std::optional<Isa> isa) : active_(isa.has_value()), previous_(forced_isa()) {
    if (active_) set_isa(*isa);
  }
  ~ScopedIsa() {
    if (!active_) return;
    if (previous_)
      set_isa(*previous_);
    else
      set_isa_automatic();
  }
  ScopedIsa(const ScopedIsa&) = delete;
  ScopedIsa& operator=(const ScopedIsa&) = delete;

 private:
  bool active_;
  std::optional<Isa> previous_;
};

// One calibration measurement: how fast `isa` ran `work` in `size_class` (G elements/s, single thread).
struct CalibrationEntry {
  Work work;
  SizeClass size_class;
  Isa isa;
  double g_elements_per_second;
};
// Runs the calibration of both size classes now (again, if it ran before) and returns every measurement;
// the choice is then the fastest path per work and class. Takes the memory class's 0.1-0.3 s.
std::vector<CalibrationEntry> calibrate();

// The measurements behind the current choice (empty for a class not calibrated yet).
std::vector<CalibrationEntry> calibration();

// The data caches of this CPU, bytes per instance (0 where unknown), and where the sizes came from. On x86:
// "cpuid" (leaf 4 on Intel, 0x8000001D on AMD), "sysconf", "sysfs" or "none", tried in that order. Elsewhere
// (aarch64): "sysfs", "sysconf" (glibc 2.36 answers 0 on aarch64), or where neither knows any level "default":
// 64 KiB L1d, 1 MiB L2, 32 MiB L3 (never "none"). "sysfs" is /sys/devices/system/cpu/cpu*/cache/index*, the
// largest size of each level over all CPUs (big.LITTLE cores differ; cpu0 may be an efficiency core). The
// first source that knows any level names the result; a level it lacks comes from the next sources.
struct CacheSizes {
  std::size_t l1d = 0, l2 = 0, l3 = 0;
  std::string_view source = "none";
};
const CacheSizes& cache_sizes() noexcept;

// Elements per parallel task (default 65536). Must be a positive multiple of 64; otherwise
// std::invalid_argument naming "elements". Calls below two tasks' worth of elements run on the calling thread.
void set_grain_size(std::size_t elements);
std::size_t grain_size() noexcept;

// Outputs of at least this many bytes are written with streaming (non-temporal) stores, which skip reading
// the output's cache lines first and leave the caches to the input. The default is half the last-level
// cache (cache_sizes().l3 / 2, where input and output together stop fitting in it) but at most 32 MiB (a
// virtual machine may report its host's whole L3), and 16 MiB where the size is unknown. 0 streams always,
// SIZE_MAX never. The threshold is also the line between the size classes.
void set_stream_threshold(std::size_t bytes) noexcept;
std::size_t stream_threshold() noexcept;

// Library version, "major.minor.patch".
std::string_view version() noexcept;

}  // namespace simdrop
