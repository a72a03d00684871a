// The element types simdrop takes, in one list, and what the internals need of each: the type arithmetic
// runs in (compute_t: float for the 16-bit types) and the conversions to and from it. A new element type
// is one entry in SIMDROP_ELEMENT_TYPES and in ElementTypes below (and its converters in element_traits).
#pragma once

#include <cmath>
#include <cstdint>
#include <simdrop/half.hpp>
#include <tuple>
#include <type_traits>

namespace simdrop::detail {

// Every element type of the public API. The public overloads are stamped out from this list
// (dropout.cpp, family.cpp); the kernel table has one entry set per type (kernels/kernels.hpp).
#define SIMDROP_ELEMENT_TYPES(X) X(float) X(double) X(bfloat16) X(float16)
template <class... T>
struct TypeList {};
using ElementTypes = TypeList<float, double, bfloat16, float16>;
#define SIMDROP_COUNT_ONE(T) +1
static_assert(std::tuple_size_v<std::tuple<float, double, bfloat16, float16>> == 0 SIMDROP_ELEMENT_TYPES(SIMDROP_COUNT_ONE),
              "SIMDROP_ELEMENT_TYPES and ElementTypes must list the same types");
#undef SIMDROP_COUNT_ONE

template <class T>
inline constexpr bool is_half_v = std::is_same_v<T, bfloat16> || std::is_same_v<T, float16>;

// The type the arithmetic of element type T runs in: T itself, or float for the 16-bit types.
template <class T>
using compute_t = std::conditional_t<is_half_v<T>, float, T>;

// T -> compute_t<T>, exact.
template <class T>
constexpr compute_t<T> widen(T v) noexcept {
  if constexpr (is_half_v<T>)
    return to_float(v);
  else
    return v;
}

// compute_t<T> -> T, rounded once (round to nearest even, subnormals kept).
template <class T>
constexpr T narrow(compute_t<T> v) noexcept {
  if constexpr (std::is_same_v<T, bfloat16>)
    return to_bfloat16(v);
  else if constexpr (std::is_same_v<T, float16>)
    return to_float16(v);
  else
    return v;
}

// double -> T, rounded once. For the 16-bit types the double is first rounded to float with round-to-odd
// (truncate, then set the last bit if anything was cut): float keeps 13 or more bits beyond the 16-bit
// types' precision, so the second rounding then gives exactly the correctly rounded result.
template <class T>
T narrow_from_double(double v) noexcept {
  if constexpr (is_half_v<T>) {
    if (std::isnan(v)) return narrow<T>(static_cast<float>(v));
    float f = static_cast<float>(v);  // round to nearest
    if (static_cast<double>(f) != v) {
      if (std::fabs(static_cast<double>(f)) > std::fabs(v)) f = std::nextafter(f, 0.0f);  // toward zero
      f = std::bit_cast<float>(std::bit_cast<std::uint32_t>(f) | 1u);                   // sticky bit
    }
    return narrow<T>(f);
  } else {
    return static_cast<T>(v);
  }
}

// The scale 1 / (1 - p) in the compute type of T.
template <class T>
compute_t<T> scale_of(double p) noexcept {
  return static_cast<compute_t<T>>(1.0 / (1.0 - p));
}

}  // namespace simdrop::detail
