// Element values: the bit-level view of each element type (bits, NaN, hex for reports, a double rounded once)
// and the input values a case generates (uniform, special values, raw bits, small integers).
#pragma once

#include <algorithm>
#include <bit>
#include <cinttypes>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "op_rules.hpp"

namespace simdrop::fuzz {

// ---- Element types ------------------------------------------------------------------------------------

// widen / narrow: the one pair of conversions to and from the compute type (src/element.hpp).
using detail::compute_t;
using detail::is_half_v;
using detail::narrow;
using detail::widen;

template <class T>
using bits_t = std::conditional_t<sizeof(T) == 2, std::uint16_t,
                                  std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>;

template <class T>
uint64_t bits_of(T v) {
  return std::bit_cast<bits_t<T>>(v);
}
template <class T>
bool is_nan(T v) {
  return std::isnan(widen(v));
}

// A double rounded once to T (to nearest, ties to even; subnormals kept; overflow to infinity). Written here
// independently of the library's detail::narrow_from_double (round to odd through float), whose dbias it checks.
template <class T>
T round_from_double(double v) {
  if constexpr (!is_half_v<T>) {
    return static_cast<T>(v);
  } else {
    if (!std::isfinite(v) || v == 0) return narrow<T>(static_cast<float>(v));
    constexpr int precision = std::is_same_v<T, bfloat16> ? 8 : 11;
    constexpr int emin = std::is_same_v<T, bfloat16> ? -126 : -14;
    constexpr int emax = std::is_same_v<T, bfloat16> ? 127 : 15;
    const int q = std::max(std::ilogb(v), emin) - (precision - 1);
    const double r = std::ldexp(std::nearbyint(std::ldexp(v, -q)), q);
    if (std::fabs(r) >= std::ldexp(1.0, emax + 1))
      return narrow<T>(std::copysign(std::numeric_limits<float>::infinity(), static_cast<float>(v)));
    return narrow<T>(static_cast<float>(r));  // exact: r has T's precision and range
  }
}

template <class T>
std::string hex(T v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "0x%0*" PRIx64 " (%.9g)", static_cast<int>(2 * sizeof(T)), bits_of(v),
                static_cast<double>(widen(v)));
  return buf;
}

// ---- Values -------------------------------------------------------------------------------------------

inline uint64_t splitmix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

template <class T>
T from_bits(uint64_t b) {
  return std::bit_cast<T>(static_cast<bits_t<T>>(b));
}

template <class T>
T special_value(uint64_t r) {
  using W = compute_t<T>;
  switch (r % 12) {
    case 0: return narrow<T>(W(0));
    case 1: return narrow<T>(-W(0));
    case 2: return narrow<T>(std::numeric_limits<W>::infinity());
    case 3: return narrow<T>(-std::numeric_limits<W>::infinity());
    case 4: return narrow<T>(std::numeric_limits<W>::quiet_NaN());
    case 5: return from_bits<T>(sizeof(T) == 2 ? (std::is_same_v<T, bfloat16> ? 0x7F81u : 0x7C01u)  // signalling NaN
                                : sizeof(T) == 4 ? 0xFF800001u
                                                 : 0x7FF0000000000001ull);
    case 6: return from_bits<T>(1);  // the smallest subnormal
    case 7: return from_bits<T>(sizeof(T) == 2 ? (std::is_same_v<T, bfloat16> ? 0x7F7Fu : 0x7BFFu)  // max finite
                                : sizeof(T) == 4 ? 0x7F7FFFFFu
                                                 : 0x7FEFFFFFFFFFFFFFull);
    case 8: return narrow<T>(W(1));
    case 9: return narrow<T>(W(-65504));
    case 10: return from_bits<T>((uint64_t{1} << (8 * sizeof(T) - 1)) | 3);  // a negative subnormal
    default: return narrow<T>(static_cast<W>(std::ldexp(1.0, -static_cast<int>(r % 40))));
  }
}

template <class T>
std::vector<T> make_values(size_t n, int mode, uint64_t& state) {
  using W = compute_t<T>;
  std::vector<T> v(n);
  for (auto& e : v) {
    const uint64_t r = splitmix(state);
    switch (mode) {
      case 0: {  // +-[0.125, 2]
        const W mag = static_cast<W>(0.125 + 1.875 * std::ldexp(static_cast<double>(r >> 11), -53));
        e = narrow<T>((r & 1u) != 0 ? -mag : mag);
        break;
      }
      case 1:
        e = (r % 8 == 0) ? special_value<T>(r >> 3)
                         : narrow<T>(static_cast<W>(std::ldexp(static_cast<double>(r >> 40) - 8388608.0, -20)));
        break;
      case 2: e = from_bits<T>(r); break;
      default: e = narrow<T>(static_cast<W>(static_cast<std::int64_t>(r % 33) - 16)); break;
    }
  }
  return v;
}

}  // namespace simdrop::fuzz
