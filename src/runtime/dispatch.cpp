#include "runtime/dispatch.hpp"

#if SIMDROP_HAVE_X86_KERNELS
#include <cpuid.h>
#endif

#include <array>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>

#include "runtime/calibrate.hpp"

namespace simdrop {
namespace detail {

#if SIMDROP_HAVE_X86_KERNELS
// F16C: CPUID leaf 1, ECX bit 29 (the avx2 path converts float16 with it; every AVX2 CPU has it).
static bool cpu_has_f16c() noexcept {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && ((ecx >> 29) & 1u) != 0;
}
#endif

bool cpu_has(Isa isa) noexcept {
  switch (isa) {
    case Isa::scalar:
      return true;
#if SIMDROP_HAVE_X86_KERNELS
    case Isa::sse2:
      return __builtin_cpu_supports("sse2");
    case Isa::avx2:
      return __builtin_cpu_supports("avx2") && cpu_has_f16c();
    case Isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#endif
#if SIMDROP_HAVE_NEON_KERNELS
    case Isa::neon:
      return true;  // Advanced SIMD is part of every 64-bit ARM CPU
#endif
    default:
      return false;
  }
}

const KernelTable& table_of(Isa isa) noexcept {
  switch (isa) {
#if SIMDROP_HAVE_X86_KERNELS
    case Isa::sse2:
      return sse2_kernels();
    case Isa::avx2:
      return avx2_kernels();
    case Isa::avx512:
      return avx512_kernels();
#endif
#if SIMDROP_HAVE_NEON_KERNELS
    case Isa::neon:
      return neon_kernels();
#endif
    default:
      return scalar_kernels();
  }
}

namespace {

constexpr std::size_t kWorks = 4, kClasses = 2;
constexpr std::array<Work, kWorks> kAllWork = {Work::mask, Work::fused, Work::apply, Work::gaussian};

// The forced table (nullptr: none); read from SIMDROP_ISA once, at first use.
std::atomic<const KernelTable*> g_forced{nullptr};
std::once_flag g_env_read;

void read_environment() {
  std::call_once(g_env_read, [] {
    const char* forced = std::getenv("SIMDROP_ISA");
    if (forced == nullptr || *forced == '\0') return;
    const Isa isa = parse_isa(forced, "SIMDROP_ISA");
    if (!cpu_has(isa))
      throw std::invalid_argument("SIMDROP_ISA=" + std::string(forced) + ": this CPU or build has no such path");
    g_forced.store(&table_of(isa), std::memory_order_release);
  });
}

// The forced table, SIMDROP_ISA read first if it has not been (nullptr: nothing forced).
const KernelTable* forced_table() {
  if (const KernelTable* forced = g_forced.load(std::memory_order_acquire)) return forced;
  read_environment();
  return g_forced.load(std::memory_order_acquire);
}

// Reads SIMDROP_ISA for a setter about to override it: a bad value no longer matters then.
void read_environment_before_override() noexcept {
  try {
    read_environment();
  } catch (const std::invalid_argument&) {
  }
}

// The calibrated choice per work kind and size class (nullptr: that class is not calibrated yet).
std::array<std::array<std::atomic<const KernelTable*>, kClasses>, kWorks> g_choice{};
std::mutex g_calibration_mutex;  // guards g_measured and the calibration runs
std::array<std::vector<CalibrationEntry>, kClasses> g_measured;

std::size_t index_of(Work w) noexcept { return static_cast<std::size_t>(w); }
std::size_t index_of(SizeClass c) noexcept { return static_cast<std::size_t>(c); }

// Paths calibration compares: every supported SIMD path (the scalar one only where there is no other).
std::vector<Isa> candidates() {
  std::vector<Isa> out;
  for (Isa isa : supported_isas())
    if (isa != Isa::scalar) out.push_back(isa);
  if (out.empty()) out.push_back(Isa::scalar);
  return out;
}

bool calibration_disabled() {
  const char* v = std::getenv("SIMDROP_CALIBRATE");
  return v != nullptr && std::string(v) == "0";
}

// The fastest path per work kind among `measured`; a wider path keeps the choice unless a narrower one
// is more than 3% faster (so that noise between near-equal paths does not flip it).
const KernelTable* fastest(const std::vector<CalibrationEntry>& measured, Work work, Isa widest) {
  Isa best = widest;
  double best_rate = 0;
  for (const auto& e : measured)
    if (e.work == work && e.isa == widest) best_rate = e.g_elements_per_second;
  for (const auto& e : measured)
    if (e.work == work && e.g_elements_per_second > best_rate * 1.03) best = e.isa, best_rate = e.g_elements_per_second;
  return &table_of(best);
}

// Measures a size class and publishes its choice; caller holds g_calibration_mutex. The memory class
// measures only the memory-bound kinds; generation and Gaussian noise keep the cache class's choice.
void calibrate_locked(SizeClass c) {
  const std::vector<Isa> paths = candidates();
  std::vector<CalibrationEntry> measured;
  if (!calibration_disabled() && paths.size() > 1) measured = measure_class(c, paths);
  for (Work w : kAllWork) {
    const KernelTable* table = &table_of(paths.back());
    const bool measured_here = c == SizeClass::cache || w == Work::fused || w == Work::apply;
    if (!measured.empty() && measured_here)
      table = fastest(measured, w, paths.back());
    else if (c == SizeClass::memory && g_choice[index_of(w)][index_of(SizeClass::cache)].load() != nullptr)
      table = g_choice[index_of(w)][index_of(SizeClass::cache)].load();
    g_choice[index_of(w)][index_of(c)].store(table, std::memory_order_release);
  }
  g_measured[index_of(c)] = std::move(measured);
}

// Both classes' measurements; caller holds g_calibration_mutex.
std::vector<CalibrationEntry> measured_locked() {
  std::vector<CalibrationEntry> all = g_measured[0];
  all.insert(all.end(), g_measured[1].begin(), g_measured[1].end());
  return all;
}

const KernelTable& choice(Work w, SizeClass c) {
  const KernelTable* table = g_choice[index_of(w)][index_of(c)].load(std::memory_order_acquire);
  if (table != nullptr) return *table;
  std::lock_guard<std::mutex> lock(g_calibration_mutex);
  if (c == SizeClass::memory && g_choice[index_of(w)][index_of(SizeClass::cache)].load() == nullptr)
    calibrate_locked(SizeClass::cache);  // the memory class falls back on the cache class's choice
  if (g_choice[index_of(w)][index_of(c)].load() == nullptr) calibrate_locked(c);
  return *g_choice[index_of(w)][index_of(c)].load(std::memory_order_acquire);
}

// The size class of a call: the memory class is where streaming stores start.
SizeClass class_of(std::size_t output_bytes) noexcept {
  return beyond_caches(output_bytes) ? SizeClass::memory : SizeClass::cache;
}

}  // namespace

void set_choice(Work work, SizeClass size_class, Isa isa) {
  std::lock_guard<std::mutex> lock(g_calibration_mutex);
  for (SizeClass c : {SizeClass::cache, SizeClass::memory})  // calibrate first, so nothing overwrites it later
    if (g_choice[index_of(work)][index_of(c)].load() == nullptr) calibrate_locked(c);
  g_choice[index_of(work)][index_of(size_class)].store(&table_of(isa), std::memory_order_release);
}

const KernelTable& kernels_for(Work work, std::size_t output_bytes, bool needs_f16c) {
  if (const KernelTable* forced = forced_table()) return *forced;
  const KernelTable& chosen = choice(work, class_of(output_bytes));
  if (needs_f16c && chosen.isa == Isa::sse2) {
    for (Isa isa : {Isa::avx2, Isa::avx512})  // the wider path with F16C (both convert float16 in hardware)
      if (cpu_has(isa)) return table_of(isa);
  }
  return chosen;
}

}  // namespace detail

namespace {
// Every path of every architecture, slowest first within one (supported_isas keeps this order).
constexpr Isa kAllIsas[] = {Isa::scalar, Isa::sse2, Isa::avx2, Isa::avx512, Isa::neon};
}  // namespace

std::string_view isa_name(Isa isa) noexcept {
  switch (isa) {
    case Isa::scalar:
      return "scalar";
    case Isa::sse2:
      return "sse2";
    case Isa::avx2:
      return "avx2";
    case Isa::avx512:
      return "avx512";
    case Isa::neon:
      return "neon";
  }
  return "unknown";
}

std::string_view work_name(Work work) noexcept {
  switch (work) {
    case Work::mask:
      return "mask";
    case Work::fused:
      return "fused";
    case Work::apply:
      return "apply";
    case Work::gaussian:
      return "gaussian";
  }
  return "unknown";
}

std::string_view size_class_name(SizeClass c) noexcept { return c == SizeClass::cache ? "cache" : "memory"; }

Isa parse_isa(std::string_view name, std::string_view what) {
  for (Isa isa : kAllIsas)
    if (isa_name(isa) == name) return isa;
  throw std::invalid_argument(std::string(what) + ": unknown ISA path '" + std::string(name) +
                              "' (expected scalar, sse2, avx2, avx512 or neon)");
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : kAllIsas)
    if (detail::cpu_has(isa)) out.push_back(isa);
  return out;
}

Isa chosen_isa(Work work, SizeClass size_class) {
  if (const detail::KernelTable* forced = detail::forced_table()) return forced->isa;
  return detail::choice(work, size_class).isa;
}

std::optional<Isa> forced_isa() {
  if (const detail::KernelTable* forced = detail::forced_table()) return forced->isa;
  return std::nullopt;
}

Isa active_isa() { return chosen_isa(Work::fused, SizeClass::cache); }

void set_isa(Isa isa) {
  if (!detail::cpu_has(isa))
    throw std::invalid_argument("isa: path '" + std::string(isa_name(isa)) + "' is not supported on this CPU or build");
  detail::read_environment_before_override();
  detail::g_forced.store(&detail::table_of(isa), std::memory_order_release);
}

void set_isa_automatic() noexcept {
  detail::read_environment_before_override();
  detail::g_forced.store(nullptr, std::memory_order_release);
}

std::vector<CalibrationEntry> calibrate() {
  std::lock_guard<std::mutex> lock(detail::g_calibration_mutex);
  detail::calibrate_locked(SizeClass::cache);
  detail::calibrate_locked(SizeClass::memory);
  return detail::measured_locked();
}

std::vector<CalibrationEntry> calibration() {
  std::lock_guard<std::mutex> lock(detail::g_calibration_mutex);
  return detail::measured_locked();
}

std::string_view version() noexcept { return SIMDROP_VERSION; }

}  // namespace simdrop
