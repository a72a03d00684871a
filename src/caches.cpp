// The CPU's data cache sizes (runtime.hpp: cache_sizes): CPUID first, then sysconf, then /sys. Virtual
// machines differ in which of these tell the truth: one seen with no /sys cache entries and a sysconf L3
// of 508 MiB, this one with a sysconf L3 of 256 MiB where CPUID and /sys say 32 MiB.
#include <unistd.h>

#include <fstream>
#include <simdrop/runtime.hpp>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace simdrop {
namespace {

// Records a data or unified cache of `level` and `bytes` (the first one seen per level).
void note(CacheSizes& c, unsigned level, std::size_t bytes) {
  std::size_t* slot = level == 1 ? &c.l1d : level == 2 ? &c.l2 : level == 3 ? &c.l3 : nullptr;
  if (slot != nullptr && *slot == 0) *slot = bytes;
}

bool any(const CacheSizes& c) { return c.l1d != 0 || c.l2 != 0 || c.l3 != 0; }

// CPUID's deterministic cache parameters: leaf 4 (Intel) or 0x8000001D (AMD, with TOPOEXT); both give
// type, level, ways, partitions, line size and sets per sub-leaf, ending at type 0.
CacheSizes from_cpuid() {
  CacheSizes c;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, cx = 0, d = 0;
  for (unsigned leaf : {0x4u, 0x8000001Du}) {
    if (static_cast<unsigned>(__get_cpuid_max(leaf & 0x80000000u, nullptr)) < leaf) continue;
    for (unsigned sub = 0; sub < 16; ++sub) {
      __cpuid_count(leaf, sub, a, b, cx, d);
      const unsigned type = a & 0x1F, level = (a >> 5) & 0x7;
      if (type == 0) break;
      if (type == 2) continue;  // instruction cache
      const std::size_t ways = ((b >> 22) & 0x3FF) + 1, partitions = ((b >> 12) & 0x3FF) + 1,
                        line = (b & 0xFFF) + 1, sets = std::size_t{cx} + 1;
      note(c, level, ways * partitions * line * sets);
    }
    if (any(c)) break;
  }
#endif
  return c;
}

CacheSizes from_sysconf() {
  CacheSizes c;
#if defined(_SC_LEVEL1_DCACHE_SIZE)
  auto get = [](int name) {
    const long v = sysconf(name);
    return v > 0 ? static_cast<std::size_t>(v) : std::size_t{0};
  };
  c.l1d = get(_SC_LEVEL1_DCACHE_SIZE), c.l2 = get(_SC_LEVEL2_CACHE_SIZE), c.l3 = get(_SC_LEVEL3_CACHE_SIZE);
#endif
  return c;
}

// /sys/devices/system/cpu/cpu0/cache/index*/{level,type,size}; sizes read as "32K" or "32768K".
CacheSizes from_sysfs() {
  CacheSizes c;
  for (int i = 0; i < 8; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::ifstream level_in(dir + "level"), type_in(dir + "type"), size_in(dir + "size");
    unsigned level = 0;
    std::string type, size;
    if (!(level_in >> level) || !(type_in >> type) || !(size_in >> size)) continue;
    if (type == "Instruction" || size.empty()) continue;
    std::size_t bytes = 0;
    try {
      bytes = std::stoull(size);
    } catch (...) {
      continue;
    }
    const char unit = size.back();
    bytes <<= unit == 'K' ? 10 : unit == 'M' ? 20 : unit == 'G' ? 30 : 0;
    note(c, level, bytes);
  }
  return c;
}

CacheSizes detect() {
  CacheSizes out;
  const std::pair<CacheSizes (*)(), std::string_view> sources[] = {
      {from_cpuid, "cpuid"}, {from_sysconf, "sysconf"}, {from_sysfs, "sysfs"}};
  // The first source that knows anything names the result; a level it lacks comes from the next ones.
  for (const auto& [read, name] : sources) {
    const CacheSizes c = read();
    if (!any(c)) continue;
    if (!any(out)) out.source = name;
    if (out.l1d == 0) out.l1d = c.l1d;
    if (out.l2 == 0) out.l2 = c.l2;
    if (out.l3 == 0) out.l3 = c.l3;
  }
  return out;
}

}  // namespace

const CacheSizes& cache_sizes() noexcept {
  static const CacheSizes sizes = detect();
  return sizes;
}

}  // namespace simdrop
