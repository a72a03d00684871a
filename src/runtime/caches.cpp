// The CPU's data cache sizes (runtime.hpp: cache_sizes). On x86: CPUID first, then sysconf, then /sys.
// Virtual machines differ in which of these tell the truth: one seen with no /sys cache entries and a sysconf
// L3 of 508 MiB, this one with a sysconf L3 of 256 MiB where CPUID and /sys say 32 MiB. Elsewhere (aarch64):
// /sys first, then sysconf (glibc 2.36 answers 0 on aarch64), then a stated default.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <simdrop/runtime.hpp>
#include <string>
#include <system_error>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace simdrop {
namespace {

// The size of cache level 1 (data), 2 or 3 in c; nullptr for other levels.
std::size_t* slot_of(CacheSizes& c, unsigned level) {
  return level == 1 ? &c.l1d : level == 2 ? &c.l2 : level == 3 ? &c.l3 : nullptr;
}

#if defined(__x86_64__) || defined(__i386__)
// Records a data or unified cache of `level` and `bytes` (the first one seen per level).
void note(CacheSizes& c, unsigned level, std::size_t bytes) {
  std::size_t* slot = slot_of(c, level);
  if (slot != nullptr && *slot == 0) *slot = bytes;
}
#endif

bool any(const CacheSizes& c) { return c.l1d != 0 || c.l2 != 0 || c.l3 != 0; }

// CPUID's deterministic cache parameters: leaf 4 (Intel) or 0x8000001D (AMD, with TOPOEXT); both give
// type, level, ways, partitions, line size and sets per sub-leaf, ending at type 0.
#if defined(__x86_64__) || defined(__i386__)
CacheSizes from_cpuid() {
  CacheSizes c;
  unsigned a = 0, b = 0, cx = 0, d = 0;
  for (unsigned leaf : {0x4u, 0x8000001Du}) {
    if (static_cast<unsigned>(__get_cpuid_max(leaf & 0x80000000u, nullptr)) < leaf) continue;
    for (unsigned sub = 0; sub < 16; ++sub) {
      __cpuid_count(leaf, sub, a, b, cx, d);
      const unsigned type = a & 0x1F, level = (a >> 5) & 0x7;
      if (type == 0) break;
      if (type == 2) continue;  // instruction cache
      const std::size_t ways = ((b >> 22) & 0x3FF) + 1, partitions = ((b >> 12) & 0x3FF) + 1, line = (b & 0xFFF) + 1,
                        sets = std::size_t{cx} + 1;
      note(c, level, ways * partitions * line * sets);
    }
    if (any(c)) break;
  }
  return c;
}
#endif

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

// /sys/devices/system/cpu/cpu*/cache/index*/{level,type,size}; sizes read as "32K" or "32768K". Every CPU is
// read and the largest size per level kept: on big.LITTLE parts the cores differ (cpu0 is often an
// efficiency core with the smaller caches), and the sizes serve the work's big cores.
CacheSizes from_sysfs() {
  CacheSizes c;
  std::vector<std::string> cpus;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/sys/devices/system/cpu", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 3 && name.compare(0, 3, "cpu") == 0 &&
        std::all_of(name.begin() + 3, name.end(), [](unsigned char ch) { return std::isdigit(ch) != 0; }))
      cpus.push_back(it->path().string());
  }
  for (const std::string& cpu : cpus) {
    for (int i = 0; i < 16; ++i) {
      const std::string dir = cpu + "/cache/index" + std::to_string(i) + "/";
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
      std::size_t* slot = slot_of(c, level);
      if (slot != nullptr) *slot = std::max(*slot, bytes);
    }
  }
  return c;
}

#if !(defined(__x86_64__) || defined(__i386__))
// Where neither /sys nor sysconf says anything (a container without /sys, an aarch64 glibc whose sysconf
// answers 0): 64 KiB L1d, 1 MiB L2, 32 MiB L3, common sizes of current 64-bit ARM server cores, whose L3
// makes the streaming threshold 16 MiB, the same as where no size is known. Used whole, only where no source
// knows any level (never to fill in a level a source lacks).
CacheSizes default_sizes() {
  CacheSizes c;
  c.l1d = std::size_t{64} << 10, c.l2 = std::size_t{1} << 20, c.l3 = std::size_t{32} << 20;
  c.source = "default";
  return c;
}
#endif

CacheSizes detect() {
  CacheSizes out;
#if defined(__x86_64__) || defined(__i386__)
  const std::pair<CacheSizes (*)(), std::string_view> sources[] = {
      {from_cpuid, "cpuid"}, {from_sysconf, "sysconf"}, {from_sysfs, "sysfs"}};
#else
  const std::pair<CacheSizes (*)(), std::string_view> sources[] = {{from_sysfs, "sysfs"}, {from_sysconf, "sysconf"}};
#endif
  // The first source that knows anything names the result; a level it lacks comes from the next ones.
  for (const auto& [read, name] : sources) {
    const CacheSizes c = read();
    if (!any(c)) continue;
    if (!any(out)) out.source = name;
    if (out.l1d == 0) out.l1d = c.l1d;
    if (out.l2 == 0) out.l2 = c.l2;
    if (out.l3 == 0) out.l3 = c.l3;
  }
#if !(defined(__x86_64__) || defined(__i386__))
  if (!any(out)) out = default_sizes();
#endif
  return out;
}

}  // namespace

const CacheSizes& cache_sizes() noexcept {
  static const CacheSizes sizes = detect();
  return sizes;
}

}  // namespace simdrop
