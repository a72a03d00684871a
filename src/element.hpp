// The element types simdrop takes, in one list, and what every layer needs of each: the type arithmetic runs
// in (compute_t: float for the 16-bit types) and the one pair of conversions to and from it (widen, exact;
// narrow, rounded once), which the library, the benchmark, the tests and the fuzzer all use.
#pragma once

#include <cmath>
#include <cstdint>
#include <simdrop/half.hpp>
#include <tuple>
#include <type_traits>

namespace simdrop::detail {

// Every element type of the public API, in one list. The public overloads are declared and defined one line
// per type in that order (simdrop/dropout.hpp, family.hpp; src/dropout.cpp, src/variants/), the reference's
// templates are instantiated one line per type (src/reference/), and everything else is generated from this
// list: the kernel tables (kernels/kernels.hpp), the benchmark's and the fuzzer's element types
// (element_name below), and the checks in tests/ that iterate over it.
template <class... T>
struct TypeList {};
using ElementTypes = TypeList<float, double, bfloat16, float16>;

// The short name of each element type, as the benchmark, the fuzzer and the reports spell it.
template <class T>
constexpr const char* element_name() noexcept;
template <>
constexpr const char* element_name<float>() noexcept {
  return "f32";
}
template <>
constexpr const char* element_name<double>() noexcept {
  return "f64";
}
template <>
constexpr const char* element_name<bfloat16>() noexcept {
  return "bf16";
}
template <>
constexpr const char* element_name<float16>() noexcept {
  return "f16";
}

// Calls f(std::type_identity<T>{}) for each type T of a TypeList (by default ElementTypes), in its order.
template <class F, class... T>
constexpr void for_each_type(F&& f, TypeList<T...>) {
  (f(std::type_identity<T>{}), ...);
}
template <class F>
constexpr void for_each_element_type(F&& f) {
  for_each_type(f, ElementTypes{});
}

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
      f = std::bit_cast<float>(std::bit_cast<std::uint32_t>(f) | 1u);                     // sticky bit
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
