// Guard buffers: every buffer of a call lies in a byte region of its own with guard bytes before and after it
// (and at a chosen misalignment), or inside another buffer where a case asks for overlap; the checks that no
// byte outside a buffer was written, and that a call that threw wrote nothing.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "case.hpp"

namespace simdrop::fuzz {

inline constexpr unsigned char kPad = 0xC3, kOutFill = 0xA5, kMaskFill = 0x5A;

// A byte region holding one buffer: 64 guard bytes before it, the buffer at a 64-byte boundary plus the
// misalignment, guard bytes after. Guards (and unused space) hold the fill byte.
struct Region {
  std::vector<unsigned char> bytes;
  size_t start = 0, len = 0;
  unsigned char fill = 0;
  bool used = false;
  unsigned char* data() { return bytes.data() + start; }
};

inline Region make_region(size_t elem, size_t count, size_t misalign, unsigned char fill, size_t extra_bytes = 0) {
  Region r;
  r.bytes.assign(64 + 64 + misalign * elem + count * elem + extra_bytes + 64, fill);
  const auto address = reinterpret_cast<std::uintptr_t>(r.bytes.data());
  r.start = (64 - address % 64) % 64 + 64 + misalign * elem;
  r.len = count * elem;
  r.fill = fill;
  r.used = true;
  return r;
}

template <class T>
struct View {
  std::span<const T> in, res, bias;
  std::span<T> out, dbias;
  std::span<uint64_t> mask;
};

template <class T>
struct Data {
  std::vector<T> in, res, bias;
  std::vector<uint64_t> mask_in;  // the input mask of the backward-from-mask ops
  bool mask_generated = false;    // mask_in is make_mask's (else random bits)
};

template <class T>
struct Buffers {
  Region in, out, res, bias, dbias, mask;
  View<T> v;
  std::vector<Region*> all() { return {&in, &out, &res, &bias, &dbias, &mask}; }
};

struct Arrangement {
  size_t mis_in = 0, mis_out = 0, mis_third = 0, mis_mask = 0, mask_extra = 0;
  bool in_place = false, bda_on_residual = false, mask_present = true;
  Bad bad = Bad::none;
  size_t overlap_shift = 1;
};

template <class T>
std::span<T> span_at(Region& r, size_t byte_offset, size_t count) {
  return {reinterpret_cast<T*>(r.data() + byte_offset), count};
}

template <class T>
Buffers<T> build(const Case& c, const Data<T>& d, const Arrangement& L) {
  constexpr size_t E = sizeof(T);
  const size_t op = c.op;
  const size_t n = c.shape.n, words = simdrop::mask_words(mask_bits(op, c.shape));
  Buffers<T> b;
  const bool overlap_io = L.bad == Bad::overlap_io;
  const bool overlap_mask = L.bad == Bad::overlap_mask;
  // Input (x / dy), room for an output shifted over it.
  b.in = make_region(E, n + (overlap_io ? L.overlap_shift : 0), L.mis_in, kPad);
  if (n != 0) std::memcpy(b.in.data(), d.in.data(), n * E);
  b.v.in = span_at<const T>(b.in, 0, n);
  if (takes_bias_and_residual(op)) {
    b.res = make_region(E, n, L.mis_third, kPad);
    if (n != 0) std::memcpy(b.res.data(), d.res.data(), n * E);
    b.v.res = span_at<const T>(b.res, 0, n);
  }
  // Output (y / dx).
  const bool planes = kOps[op].variant == Variant::channel || kOps[op].variant == Variant::shared;
  const size_t out_count = n + (L.bad == Bad::shape && !planes ? 1 : 0);
  const size_t cols = c.shape.b;
  if (L.in_place) {
    b.v.out = (takes_bias_and_residual(op) && L.bda_on_residual) ? span_at<T>(b.res, 0, n) : span_at<T>(b.in, 0, n);
  } else if (overlap_io) {
    b.v.out = span_at<T>(b.in, L.overlap_shift * E, n);
  } else {
    b.out = make_region(E, out_count, L.mis_out, kOutFill, overlap_mask ? words * 8 + 8 + cols * E : 0);
    b.v.out = span_at<T>(b.out, 0, out_count);
  }
  if (takes_bias_and_residual(op)) {
    if (overlap_mask && b.out.used) {  // bias inside y
      const size_t at = std::min<size_t>(3 * E, out_count * E);
      if (cols != 0) std::memcpy(b.out.data() + at, d.bias.data(), cols * E);
      b.v.bias = span_at<const T>(b.out, at, cols);
    } else {
      b.bias = make_region(E, cols, L.mis_third, kPad);
      if (cols != 0) std::memcpy(b.bias.data(), d.bias.data(), cols * E);
      b.v.bias = span_at<const T>(b.bias, 0, cols);
    }
  }
  if (writes_dbias(op)) {
    if (overlap_mask) {  // dbias over dx
      b.v.dbias = std::span<T>(b.v.out.data(), cols);
    } else {
      b.dbias = make_region(E, cols, L.mis_third, kOutFill);
      b.v.dbias = span_at<T>(b.dbias, 0, cols);
    }
  }
  // Mask.
  const MaskRole role = kOps[op].mask;
  const bool want_mask = role == MaskRole::in_required || (role == MaskRole::out_optional && L.mask_present);
  if (want_mask) {
    const size_t len = L.bad == Bad::short_mask ? (words == 0 ? 0 : words - 1) : words + L.mask_extra;
    const bool inside_out = overlap_mask && !takes_bias_and_residual(op) && !writes_dbias(op) && b.out.used;
    if (inside_out) {  // 8-byte aligned, starting inside y / dx
      const size_t at = (8 - reinterpret_cast<std::uintptr_t>(b.out.data()) % 8) % 8;
      b.v.mask = span_at<uint64_t>(b.out, at, len);
    } else {
      b.mask = make_region(8, len, L.mis_mask, kMaskFill);
      b.v.mask = span_at<uint64_t>(b.mask, 0, len);
    }
    if (role == MaskRole::in_required && std::min(len, words) != 0)
      std::memcpy(b.v.mask.data(), d.mask_in.data(), std::min(len, words) * 8);
  }
  return b;
}

// The make_mask op's buffer.
inline Region build_mask_only(size_t words, size_t extra, size_t mis, bool short_mask, std::span<uint64_t>& view) {
  const size_t len = short_mask ? (words == 0 ? 0 : words - 1) : words + extra;
  Region r = make_region(8, len, mis, kMaskFill);
  view = span_at<uint64_t>(r, 0, len);
  return r;
}

using Snapshot = std::vector<std::vector<unsigned char>>;

template <class T>
Snapshot snapshot(Buffers<T>& b) {
  Snapshot s;
  for (Region* r : b.all()) s.push_back(r->bytes);
  return s;
}

template <class T>
void check_unchanged(Buffers<T>& b, const Snapshot& s, const char* what) {
  const auto regions = b.all();
  static constexpr const char* kNames[] = {"input", "output", "residual", "bias", "dbias", "mask"};
  for (size_t i = 0; i < regions.size(); ++i)
    if (regions[i]->bytes != s[i]) {
      size_t at = 0;
      while (regions[i]->bytes[at] == s[i][at]) ++at;
      fail(std::string(what) + ": the " + kNames[i] + " region changed at byte " +
           std::to_string(static_cast<long>(at) - static_cast<long>(regions[i]->start)) + " from its start");
    }
}

// The bytes outside a region's buffer (the guards) must keep their fill.
inline void check_guards(Region& r, size_t used_len, const char* name) {
  if (!r.used) return;
  const auto written = [&](size_t from, size_t to) {
    const auto it = std::find_if(r.bytes.begin() + static_cast<std::ptrdiff_t>(from),
                                 r.bytes.begin() + static_cast<std::ptrdiff_t>(to),
                                 [&](unsigned char v) { return v != r.fill; });
    if (it != r.bytes.begin() + static_cast<std::ptrdiff_t>(to))
      fail(std::string("a byte outside the ") + name + " buffer was written, at " +
           std::to_string((it - r.bytes.begin()) - static_cast<std::ptrdiff_t>(r.start)) + " from its start");
  };
  written(0, r.start);
  written(std::min(r.start + used_len, r.bytes.size()), r.bytes.size());
}

}  // namespace simdrop::fuzz
