// Validity: which calls the documented checks reject (std::invalid_argument, nothing written), computed from
// the arguments themselves: p, the stream, the shape, the mask's length and the overlap of the buffers.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

#include "guard.hpp"

namespace simdrop::fuzz {

inline bool overlap_is_bad(const void* a, size_t a_bytes, const void* b, size_t b_bytes, bool allow_same) {
  if (a_bytes == 0 || b_bytes == 0) return false;
  const auto a0 = reinterpret_cast<std::uintptr_t>(a), b0 = reinterpret_cast<std::uintptr_t>(b);
  if (allow_same && a0 == b0 && a_bytes == b_bytes) return false;
  return a0 < b0 + b_bytes && b0 < a0 + a_bytes;
}
template <class A, class B>
bool bad_overlap(std::span<A> a, std::span<B> b, bool allow_same) {
  return overlap_is_bad(a.data(), a.size_bytes(), b.data(), b.size_bytes(), allow_same);
}

inline bool p_invalid(size_t op, double p) {
  return std::isnan(p) || p < 0 || p > 1 || (detail::p_below_one(kOps[op].variant) && p == 1);
}

// A stream with an unknown generator, or whose m positions pass 2^64.
inline bool stream_bad(Stream s, uint64_t m) {
  const auto g = s.generator;
  if (g != Generator::philox4x32_10 && g != Generator::philox4x32_7 && g != Generator::ars5) return true;
  return m != 0 && m - 1 > kMax64 - s.offset;
}
inline bool stream_invalid(size_t op, const Case& c) {
  return detail::takes_stream(kOps[op]) && stream_bad(c.s, positions(op, c.passed));
}

// Whether the documented checks reject the call, computed from the arguments themselves.
template <class T>
bool expect_throw(const Case& c, const View<T>& v) {
  const size_t op = c.op;
  const Shape& sh = c.passed;
  const size_t n = v.in.size();
  if (p_invalid(op, c.p) || stream_invalid(op, c)) return true;
  if (v.out.size() != n) return true;
  switch (kOps[op].variant) {
    case Variant::channel: {
      size_t product = 0;
      if (__builtin_mul_overflow(sh.a, sh.b, &product) || __builtin_mul_overflow(product, sh.c, &product)) return true;
      if (product != n) return true;
      break;
    }
    case Variant::shared:
      if (sh.a * sh.b != n) return true;
      break;
    case Variant::bias_dropout_add: {
      const size_t cols = takes_bias_and_residual(op) ? v.bias.size() : v.dbias.size();
      if ((cols == 0 && n != 0) || (cols != 0 && n % cols != 0)) return true;
      break;
    }
    default: break;
  }
  const size_t words = simdrop::mask_words(mask_bits(op, sh));
  const MaskRole role = kOps[op].mask;
  if (role == MaskRole::in_required && v.mask.size() < words) return true;
  if (role == MaskRole::out_optional && !v.mask.empty() && v.mask.size() < words) return true;
  if (bad_overlap(v.in, v.out, true)) return true;
  if (!v.mask.empty()) {
    if (bad_overlap(v.out, v.mask, false)) return true;
    // The core's dropout_backward(mask) checks only dx against the mask (src/dropout.cpp: dy and the mask are
    // both inputs); the family's checks (src/checks.hpp) reject either data buffer over the mask.
    if (!is_op(op, Variant::dropout, Direction::backward_stored) && bad_overlap(v.in, v.mask, false)) return true;
    if (bad_overlap(v.bias, v.mask, false) || bad_overlap(v.res, v.mask, false) || bad_overlap(v.dbias, v.mask, false))
      return true;
  }
  if (bad_overlap(v.bias, v.out, false) || bad_overlap(v.res, v.out, true)) return true;
  if (bad_overlap(v.in, v.dbias, false) || bad_overlap(v.out, v.dbias, false)) return true;
  return false;
}

}  // namespace simdrop::fuzz
