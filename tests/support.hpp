// Helpers shared by the tests: ISA switching, test data, bit counting.
#pragma once

#include <simdrop/simdrop.hpp>

#include "element.hpp"
#include "float16_ties.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <optional>
#include <random>
#include <span>
#include <type_traits>
#include <vector>

namespace simdrop::test {

// Forces an ISA path for a scope; restores the forced path before it (or the automatic choice) after.
using IsaScope = ScopedIsa;

// The paths the tests that compare paths run on: supported_isas(), or, where the environment variable
// SIMDROP_TEST_ISAS holds a comma-separated list of path names, the supported ones among those. An emulated
// stage sets it to spend its slow instructions on the path it is there for (the host proves the others
// natively); an unknown name throws std::invalid_argument naming SIMDROP_TEST_ISAS.
std::vector<Isa> tested_isas();

// Sets a size-valued runtime control for a scope and restores it after.
template <std::size_t (*Get)() noexcept, void (*Set)(std::size_t)>
class SizeSettingScope {
 public:
  explicit SizeSettingScope(std::size_t value) : saved_(Get()) { Set(value); }
  ~SizeSettingScope() { Set(saved_); }
  SizeSettingScope(const SizeSettingScope&) = delete;
  SizeSettingScope& operator=(const SizeSettingScope&) = delete;

 private:
  std::size_t saved_;
};
using GrainScope = SizeSettingScope<grain_size, set_grain_size>;           // elements per oneTBB task
using StreamScope = SizeSettingScope<stream_threshold, set_stream_threshold>;  // streaming-store threshold

// n, or SIMDROP_TEST_MAX_N where that is set and smaller: the largest size of the exhaustive path tests
// (test_isa_paths.cpp). An emulated stage sets it (to 139265): the scalar oracle runs ~20x slower there, and
// what their 2^20 adds to the smaller sizes, a call split over several oneTBB tasks (grain 65536), any size
// over two grains has too.
inline std::size_t capped_size(std::size_t n) {
  static const std::size_t cap = [] {
    const char* v = std::getenv("SIMDROP_TEST_MAX_N");
    return v != nullptr && *v != '\0' ? static_cast<std::size_t>(std::stoull(v)) : SIZE_MAX;
  }();
  return n < cap ? n : cap;
}

// The streams' seeds of the statistical tests: the committed fixed seed, shifted by SIMDROP_TEST_SEED_SALT
// (unset or 0: the committed seeds themselves). scripts/flake.sh reruns the statistical tests under 20 salts
// to show that their 6-sigma thresholds do not flake. Seeds that differ by d differ by d under every salt.
inline std::uint64_t seed_salt() {
  static const std::uint64_t salt = [] {
    const char* v = std::getenv("SIMDROP_TEST_SEED_SALT");
    return v == nullptr ? std::uint64_t{0} : std::uint64_t{std::stoull(v)};
  }();
  return salt;
}
inline std::uint64_t test_seed(std::uint64_t fixed) { return fixed + seed_salt() * 0x9E3779B97F4A7C15ull; }

// An output buffer of n elements starting `misalign` elements past a 64-byte boundary (misalign 0: aligned
// for every path's streaming stores, which need y aligned to the batch), filled with `fill`.
template <class T>
struct Misaligned {
  std::vector<T> storage;
  std::span<T> view;
  Misaligned(std::size_t n, std::size_t misalign, T fill) : storage(n + misalign + 64 / sizeof(T), fill) {
    const auto address = reinterpret_cast<std::uintptr_t>(storage.data());
    const std::size_t skip = (64 - address % 64) % 64 / sizeof(T);
    view = std::span<T>(storage.data() + skip + misalign, n);
  }
};

// n values of a fixed pseudo-random sequence in [-2, 2], none zero.
template <class T>
std::vector<T> test_values(std::size_t n, std::uint32_t seed = 1) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<T> dist(T(0.125), T(2));
  std::vector<T> v(n);
  for (auto& e : v) e = (gen() & 1u) ? dist(gen) : -dist(gen);
  return v;
}

inline bool bit(std::span<const std::uint64_t> mask, std::size_t i) { return (mask[i / 64] >> (i % 64)) & 1u; }

inline std::uint64_t count_kept(std::span<const std::uint64_t> mask) {
  std::uint64_t k = 0;
  for (auto w : mask) k += static_cast<std::uint64_t>(std::popcount(w));
  return k;
}

inline std::vector<std::uint64_t> mask_of(std::size_t n, double p, Stream s) {
  std::vector<std::uint64_t> m(mask_words(n));
  make_mask(m, n, p, s);
  return m;
}

// The 64 bits of a bit string starting at bit `pos` (bits past the end read as 0).
inline std::uint64_t bits_at(std::span<const std::uint64_t> words, std::size_t pos) {
  const std::size_t w = pos / 64, b = pos % 64;
  const std::uint64_t lo = w < words.size() ? words[w] >> b : 0;
  const std::uint64_t hi = (b != 0 && w + 1 < words.size()) ? words[w + 1] << (64 - b) : 0;
  return lo | hi;
}

// The element types' arithmetic, as the library defines it (src/element.hpp, the one place): the type values
// are computed in (float for the 16-bit types), T -> that type (exact) and back (rounded once; both checked
// against the IEEE rules by test_half.cpp). The tests' short names for them:
template <class T>
inline constexpr bool is_16_bit_v = simdrop::detail::is_half_v<T>;
template <class T>
using wide_t = simdrop::detail::compute_t<T>;
template <class T>
wide_t<T> wide(T v) {
  return simdrop::detail::widen(v);
}
template <class T>
T round_to(wide_t<T> v) {
  return simdrop::detail::narrow<T>(v);
}

// An unsigned integer of T's size.
template <class T>
using bits_t = std::conditional_t<sizeof(T) == 2, std::uint16_t,
                                  std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>;

// Bit-exact comparison of a path's output a with the expected b (NaN payloads and signed zeros included).
// The one exception is an x86 emulator's float16 rounding (float16_ties.hpp): where the CPU's vcvtps2ph
// rounds exact ties away from zero, a float16 element that differs from b by exactly that is accepted, and
// counted (float16_ties_accepted); on real CPUs nothing is.
template <class T>
bool same_bits(std::span<const T> a, std::span<const T> b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::bit_cast<bits_t<T>>(a[i]) != std::bit_cast<bits_t<T>>(b[i])) {
      if constexpr (std::is_same_v<T, float16>) {
        if (accept_float16_tie(a[i], b[i])) continue;
      }
      return false;
    }
  return true;
}

}  // namespace simdrop::test
