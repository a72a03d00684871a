#include "dispatch.hpp"

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace simdrop {
namespace detail {
namespace {

bool cpu_has(Isa isa) noexcept {
  switch (isa) {
    case Isa::scalar:
      return true;
#if SIMDROP_HAVE_X86_KERNELS
    case Isa::sse2:
      return __builtin_cpu_supports("sse2");
    case Isa::avx2:
      return __builtin_cpu_supports("avx2");
    case Isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
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
    default:
      return scalar_kernels();
  }
}

const KernelTable* initial_table() {
  if (const char* forced = std::getenv("SIMDROP_ISA"); forced != nullptr && *forced != '\0') {
    const Isa isa = parse_isa(forced, "SIMDROP_ISA");
    if (!cpu_has(isa))
      throw std::invalid_argument("SIMDROP_ISA=" + std::string(forced) + ": this CPU or build has no such path");
    return &table_of(isa);
  }
  return &table_of(supported_isas().back());
}

std::atomic<const KernelTable*> g_active{nullptr};

}  // namespace

const KernelTable& active_kernels() {
  const KernelTable* table = g_active.load(std::memory_order_acquire);
  if (table == nullptr) {
    const KernelTable* expected = nullptr;
    table = initial_table();
    if (!g_active.compare_exchange_strong(expected, table, std::memory_order_acq_rel)) table = expected;
  }
  return *table;
}

}  // namespace detail

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
  }
  return "unknown";
}

Isa parse_isa(std::string_view name, std::string_view what) {
  for (Isa isa : {Isa::scalar, Isa::sse2, Isa::avx2, Isa::avx512})
    if (isa_name(isa) == name) return isa;
  throw std::invalid_argument(std::string(what) + ": unknown ISA path '" + std::string(name) +
                              "' (expected scalar, sse2, avx2 or avx512)");
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::scalar, Isa::sse2, Isa::avx2, Isa::avx512})
    if (detail::cpu_has(isa)) out.push_back(isa);
  return out;
}

Isa active_isa() { return detail::active_kernels().isa; }

void set_isa(Isa isa) {
  if (!detail::cpu_has(isa))
    throw std::invalid_argument("isa: path '" + std::string(isa_name(isa)) + "' is not supported on this CPU or build");
  detail::g_active.store(&detail::table_of(isa), std::memory_order_release);
}

std::string_view version() noexcept { return SIMDROP_VERSION; }

}  // namespace simdrop
