// The fuzzer's view of simdrop's operations and element types: the op byte and the dtype byte index the
// library's own lists (src/ops.hpp's kOps, src/element.hpp's ElementTypes), and the few call rules the
// fuzzer needs beyond what those lists state are written here in terms of their Variant and Direction.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>

#include <simdrop/simdrop.hpp>

#include "element.hpp"  // src/
#include "ops.hpp"      // src/

namespace simdrop::fuzz {

using detail::Direction;
using detail::ElementTypes;
using detail::kOps;
using detail::MaskRole;
using detail::OpInfo;
using detail::Variant;
using std::size_t;
using std::uint64_t;

constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();

// ---- The input format's op and dtype bytes ---------------------------------------------------------------

// A digest of a list of names (FNV-1a over the names and a separator after each), to pin the order of the
// lists that the input format indexes without writing the lists a second time.
constexpr uint64_t names_digest(const auto& list, size_t count, auto name_of) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < count; ++i) {
    for (const char ch : std::string_view(name_of(list[i])))
      h = (h ^ static_cast<unsigned char>(ch)) * 0x100000001b3ull;
    h = (h ^ 0xFFu) * 0x100000001b3ull;
  }
  return h;
}

// The op byte % kOps.size() is an index into kOps, so the committed corpus (fuzz/corpus) means what it says
// only while kOps keeps the order the corpus was written in: version 1 of the format knows its first 18
// entries, pinned here by their corpus names' digest. kOps may grow at its end (new ops take op bytes that
// today wrap around; the corpus files use only 0-17).
inline constexpr size_t kFormatOps = 18;
static_assert(kOps.size() >= kFormatOps && kOps.size() <= 256);
static_assert(names_digest(kOps, kFormatOps, [](const OpInfo& o) { return o.corpus; }) == 0x8bc4d46de52d99b9ull,
              "the order of src/ops.hpp's first 18 kOps entries is the fuzzer's op byte (input format version 1, "
              "fuzz/corpus): append, never reorder or rename");

// The number of types of a TypeList, and the element_name of the type at an index of ElementTypes.
template <class... T>
constexpr size_t type_count(detail::TypeList<T...>) {
  return sizeof...(T);
}
inline constexpr size_t kElementTypes = type_count(ElementTypes{});

// Calls f(std::type_identity<T>{}) for the element type T at `index` of ElementTypes.
template <class F>
void with_element_type(size_t index, F&& f) {
  size_t i = 0;
  detail::for_each_element_type([&](auto t) {
    if (i++ == index) f(t);
  });
}
inline const char* element_name_at(size_t index) {
  const char* name = "?";
  with_element_type(index, [&](auto t) { name = detail::element_name<typename decltype(t)::type>(); });
  return name;
}

// The dtype byte % kElementTypes indexes ElementTypes in the same way: version 1 knows its first four, pinned
// by their names' digest.
inline constexpr size_t kFormatElementTypes = 4;
inline constexpr auto kFormatElementNames = [] {
  std::array<std::string_view, kFormatElementTypes> names{};
  size_t i = 0;
  detail::for_each_element_type([&](auto t) {
    if (i < kFormatElementTypes) names[i++] = detail::element_name<typename decltype(t)::type>();
  });
  return names;
}();
static_assert(kElementTypes >= kFormatElementTypes && kElementTypes <= 256);
static_assert(names_digest(kFormatElementNames, kFormatElementTypes, [](std::string_view n) { return n; }) ==
                  0x0110c546f2ce140eull,
              "the order of src/element.hpp's first four ElementTypes is the fuzzer's dtype byte (input format "
              "version 1, fuzz/corpus): append, never reorder");

// ---- Call rules -------------------------------------------------------------------------------------------

// The index in kOps of the op of a variant with a direction (kOps.size() if there is none).
constexpr size_t find_op(Variant v, Direction d) {
  for (size_t i = 0; i < kOps.size(); ++i)
    if (kOps[i].variant == v && kOps[i].direction == d) return i;
  return kOps.size();
}
constexpr bool is_op(size_t op, Variant v, Direction d) { return kOps[op].variant == v && kOps[op].direction == d; }

// make_mask, which the fuzzer runs on its own (no element type, a mask buffer only); op 0, the Case default.
inline constexpr size_t kMakeMask = find_op(Variant::dropout, Direction::mask);
static_assert(kMakeMask == 0);

constexpr bool is_backward(size_t op) {
  return kOps[op].direction == Direction::backward_stored || kOps[op].direction == Direction::backward_regenerated;
}
// bias_dropout_add's forward pass takes a bias and a residual; its backward passes write dbias.
constexpr bool takes_bias_and_residual(size_t op) { return is_op(op, Variant::bias_dropout_add, Direction::forward); }
constexpr bool writes_dbias(size_t op) { return kOps[op].variant == Variant::bias_dropout_add && is_backward(op); }
// Whether the call can be checked against itself done as two calls ([0, k) at offset o, [k, n) at o + k): the
// element-wise variants, where element i draws stream position o + i and no other argument depends on n
// (channel and time-shared dropout draw per plane; bias_dropout_add has a bias and dbias per column).
constexpr bool splittable(size_t op) {
  const Variant v = kOps[op].variant;
  return v == Variant::dropout || v == Variant::alpha || v == Variant::gaussian;
}

// The shape of a call: n elements; channel: a batch, b channels, c spatial; shared: a steps, b row;
// bias_dropout_add: a rows, b cols.
struct Shape {
  size_t n = 0, a = 0, b = 0, c = 0;
  Layout layout = Layout::nchw;
};

// Stream positions (and mask bits) of a call.
inline size_t mask_bits(size_t op, const Shape& sh) {
  switch (kOps[op].variant) {
    case Variant::channel: return sh.a * sh.b;
    case Variant::shared: return sh.b;
    default: return sh.n;
  }
}
inline uint64_t positions(size_t op, const Shape& sh) { return detail::takes_stream(kOps[op]) ? mask_bits(op, sh) : 0; }

}  // namespace simdrop::fuzz
