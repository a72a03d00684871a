// Argument checks shared by every entry point. Each throws std::invalid_argument naming the argument;
// every entry point runs all of its checks before it writes anything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <simdrop/stream.hpp>
#include <simdrop/family.hpp>
#include <span>
#include <string>
#include <string_view>

namespace simdrop::detail {

// Throws std::invalid_argument("<name>: <what>").
[[noreturn]] void fail_argument(std::string_view name, const std::string& what);

// p must be a number in [0, 1].
void check_probability(double p, std::string_view name = "p");

// p must be a number in [0, 1) (for the variants whose formulas have no value at p = 1); `variant` names
// the op in the message.
void check_probability_below_one(double p, std::string_view variant, std::string_view name = "p");

// A buffer of `elements` must be exactly the product of its shape's dimensions (dims_text spells the
// product, e.g. "batch * channels * spatial"); an overflowing product is an error too.
void check_shape(std::size_t elements, std::string_view buffer, std::initializer_list<std::size_t> dims,
                 std::string_view dims_text);

// layout must be Layout::nchw or Layout::nhwc.
void check_layout(Layout layout, std::string_view name = "layout");

// Two buffers that must have the same number of elements.
void check_same_size(std::size_t a, std::size_t b, std::string_view name_a, std::string_view name_b);

// A mask given for n elements must have at least mask_words(n) words.
void check_mask_size(std::size_t words, std::size_t n, std::string_view name = "mask");

// Byte ranges [a, a + a_bytes) and [b, b + b_bytes) must be disjoint, or (if allow_same) identical.
void check_no_overlap(const void* a, std::size_t a_bytes, const void* b, std::size_t b_bytes, std::string_view name_a,
                      std::string_view name_b, bool allow_same);

// The generator must be one simdrop has, and the stream positions offset .. offset + n - 1 must all
// exist (offset + n <= 2^64).
void check_stream(Stream s, std::size_t n, std::string_view name = "s");

template <class A, class B>
void check_no_overlap(std::span<A> a, std::span<B> b, std::string_view name_a, std::string_view name_b,
                      bool allow_same) {
  check_no_overlap(a.data(), a.size_bytes(), b.data(), b.size_bytes(), name_a, name_b, allow_same);
}

// Names of the data buffers of a call: forward (x, y) or backward (dy, dx).
struct Names {
  std::string_view in, out;
};
inline constexpr Names kForward{"x", "y"}, kBackward{"dy", "dx"};

// A mask given for `bits` bits must be long enough and overlap neither data buffer.
template <class T>
void check_mask_out(std::span<const std::uint64_t> mask, std::size_t bits, std::span<const T> in, std::span<T> out,
                    Names names) {
  check_mask_size(mask.size(), bits);
  check_no_overlap(in, mask, names.in, "mask", false);
  check_no_overlap(std::span<const T>(out), mask, names.out, "mask", false);
}

// An element-wise call: in and out of one size, the same buffer or disjoint, an optional mask out of one
// bit per element, and stream positions that exist.
template <class T>
void check_elementwise(std::span<const T> in, std::span<T> out, Stream s, std::span<std::uint64_t> mask, Names names) {
  check_same_size(in.size(), out.size(), names.in, names.out);
  check_no_overlap(in, out, names.in, names.out, /*allow_same=*/true);
  if (!mask.empty()) check_mask_out<T>(mask, in.size(), in, out, names);
  check_stream(s, in.size());
}

}  // namespace simdrop::detail
