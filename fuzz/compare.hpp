// The comparisons (bit for bit, NaN payloads excepted where documented, an emulator's float16 ties accepted)
// and the documented definitions that a call's output, dbias and mask are held to.
#pragma once

#include <algorithm>
#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "float16_ties.hpp"  // tests/: an x86 emulator's float16 rounding
#include "guard.hpp"
#include "values.hpp"

namespace simdrop::fuzz {

// ---- Comparisons ---------------------------------------------------------------------------------------

template <class T>
void compare(const char* what, std::span<const T> got, std::span<const T> want, bool nan_ok) {
  if (got.size() != want.size()) fail(std::string(what) + ": sizes differ");
  for (size_t i = 0; i < got.size(); ++i) {
    if (bits_of(got[i]) == bits_of(want[i])) continue;
    if (nan_ok && is_nan(got[i]) && is_nan(want[i])) continue;
    // Under an x86 emulator whose vcvtps2ph rounds exact float16 ties away from zero (Bochs), exactly those
    // elements (tests/float16_ties.hpp; never on real CPUs), counted and reported by the replay. Either side
    // may hold the CPU's rounding: a path narrows whole batches with the instruction and its tail in software.
    if constexpr (std::is_same_v<T, simdrop::float16>) {
      if (simdrop::test::accept_float16_tie(got[i], want[i]) || simdrop::test::accept_float16_tie(want[i], got[i]))
        continue;
    }
    fail(std::string(what) + ": element " + std::to_string(i) + " is " + hex(got[i]) + ", expected " + hex(want[i]));
  }
}

inline void compare_words(const char* what, std::span<const uint64_t> got, std::span<const uint64_t> want) {
  if (got.size() != want.size()) fail(std::string(what) + ": sizes differ");
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i]) {
      char buf[128];
      std::snprintf(buf, sizeof buf, ": word %zu is 0x%016" PRIx64 ", expected 0x%016" PRIx64, i, got[i], want[i]);
      fail(std::string(what) + buf);
    }
}

// A mask of `bits` bits: bits past the end of the last word must be 0.
inline void check_mask_tail(const char* what, std::span<const uint64_t> words, size_t bits) {
  if (bits % 64 == 0 || words.empty()) return;
  if ((words[bits / 64] >> (bits % 64)) != 0) fail(std::string(what) + ": bits past n in the last word are not 0");
}

inline bool bit(std::span<const uint64_t> m, size_t i) { return ((m[i / 64] >> (i % 64)) & 1u) != 0; }

template <class T>
std::vector<T> copy_out(std::span<const T> s) {
  return {s.begin(), s.end()};
}


// ---- Invariants: the definitions -----------------------------------------------------------------------

template <class T>
void check_definition(const Case& c, std::span<const T> in, std::span<const T> out, std::span<const T> dbias,
                      std::span<const uint64_t> keep, const Data<T>& d) {
  using W = compute_t<T>;
  const size_t op = c.op;
  const Shape& sh = c.shape;
  const size_t n = sh.n;
  const Variant variant = kOps[op].variant;
  const W scale = static_cast<W>(1.0 / (1.0 - c.p));
  auto kept = [&](size_t i) {
    switch (variant) {
      case Variant::channel: {
        const size_t plane = sh.layout == Layout::nchw ? i / sh.c : i / (sh.c * sh.b) * sh.b + i % sh.b;
        return bit(keep, plane);
      }
      case Variant::shared: return bit(keep, i % sh.b);
      default: return bit(keep, i);
    }
  };
  std::vector<T> want(n);
  if (variant == Variant::alpha) {
    const auto co = simdrop::alpha_dropout_coefficients(c.p);
    const W a = static_cast<W>(co.a), b = static_cast<W>(co.b), dropped = static_cast<W>(co.dropped);
    for (size_t i = 0; i < n; ++i) {
      const W ax = a * widen(in[i]);
      if (kOps[op].direction == Direction::forward)
        want[i] = narrow<T>(kept(i) ? ax + b : dropped);
      else
        want[i] = narrow<T>(kept(i) ? ax : W(0));
    }
  } else if (takes_bias_and_residual(op)) {
    const size_t cols = sh.b;
    for (size_t i = 0; i < n; ++i) {
      const W biased = widen(in[i]) + widen(d.bias[i % cols]);
      const W dropped = kept(i) ? biased * scale : W(0);
      want[i] = narrow<T>(widen(d.res[i]) + dropped);
    }
  } else {
    for (size_t i = 0; i < n; ++i) want[i] = narrow<T>(kept(i) ? widen(in[i]) * scale : W(0));
  }
  compare<T>("the output against the documented formula", out, want, /*nan_ok=*/true);
  if (writes_dbias(op)) {
    const size_t cols = sh.b, rows = cols == 0 ? 0 : n / cols;
    std::vector<double> total(cols, 0.0);
    for (size_t r0 = 0; r0 < rows; r0 += 256) {
      std::vector<double> block(cols, 0.0);
      for (size_t r = r0; r < std::min(rows, r0 + 256); ++r)
        for (size_t col = 0; col < cols; ++col) block[col] += static_cast<double>(widen(out[r * cols + col]));
      for (size_t col = 0; col < cols; ++col) total[col] += block[col];
    }
    std::vector<T> sums(cols);
    for (size_t col = 0; col < cols; ++col) sums[col] = round_from_double<T>(total[col]);
    compare<T>("dbias against the documented column sums", dbias, sums, /*nan_ok=*/true);
  }
}

}  // namespace simdrop::fuzz
