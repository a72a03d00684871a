// The decoder: an input's bytes to a Case, field by field in the order of the input format (documented at the
// top of fuzz_differential.cpp). Keep it stable: the corpus files are meaningful only in it.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>

#include "case.hpp"

namespace simdrop::fuzz {

constexpr size_t kHeaderBytes = 50;

// The cursor over an input: past its end it yields zeros, so that every byte string is a case.
class Reader {
 public:
  Reader(const std::uint8_t* data, size_t size) : data_(data), size_(size) {}
  std::uint8_t u8() {
    const std::uint8_t v = pos_ < size_ ? data_[pos_] : 0;
    ++pos_;
    return v;
  }
  uint64_t le(int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= uint64_t{u8()} << (8 * i);
    return v;
  }

 private:
  const std::uint8_t* data_;
  size_t size_, pos_ = 0;
};

inline size_t decode_size(std::uint8_t mode, uint64_t s) {
  if (mode == 0xFF) return 131072 + s % 168929;  // 2^17 .. 300000: several blocks at the default grain (rare: slow)
  const unsigned m = mode % 64;
  if (m < 16) return s % 16;
  if (m < 32) return s % 128;
  if (m < 48) return s % 1024;
  if (m < 62) return s % 5001;
  const uint64_t v = 64 * (s % 80) + (s >> 16) % 3;  // around multiples of 64
  return v == 0 ? 0 : v - 1;
}

inline double decode_p(std::uint8_t mode, uint64_t payload) {
  switch (mode % 16) {
    case 0: return 0.0;
    case 1: return 1.0;
    case 2: return 0x1p-33;
    case 3: return 0x1p-32;
    case 4: return 3 * 0x1p-33;
    case 5: return 1 - 0x1p-33;
    case 6: return 1 - 0x1p-32;
    case 7: return 1 - 3 * 0x1p-33;
    case 8: {  // a short binary expansion k / 2^m, 0 <= k <= 2^m
      const int m = 1 + static_cast<int>(payload % 16);
      const uint64_t k = (payload >> 8) % ((uint64_t{1} << m) + 1);
      return std::ldexp(static_cast<double>(k), -m);
    }
    case 9: return std::ldexp(static_cast<double>(payload >> 11), -53);  // uniform in [0, 1)
    case 10: return (static_cast<double>(payload % (uint64_t{1} << 32)) + 0.5) * 0x1p-32;  // threshold ties
    case 11: return std::ldexp(1.0, -static_cast<int>(payload % 64));
    case 12: return 1 - static_cast<double>(payload % 256) * 0x1p-36;  // thresholds 2^32 and just below
    case 13: return std::bit_cast<double>(payload);                     // any double, mostly invalid
    case 14: {
      constexpr double kOdd[] = {std::numeric_limits<double>::quiet_NaN(), -0.25, 1 + 0x1p-52,
                                 std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                                 -0.0, -0x1p-1074, std::numeric_limits<double>::denorm_min()};
      return kOdd[payload % std::size(kOdd)];
    }
    default: return 0.5 + (static_cast<double>(payload % 17) - 8) * 0x1p-40;
  }
}

// positions: how many stream positions the call uses (0 for the ops without a stream).
inline uint64_t decode_offset(std::uint8_t mode, uint64_t q, uint64_t positions) {
  const uint64_t m = positions;
  switch (mode % 8) {
    case 0: return 0;
    case 1: return q % (uint64_t{1} << 20);
    case 2: return q;
    case 3: return 0 - m - q % 256;  // ends just before 2^64 (wraps to a small offset only for m = 0)
    case 4: return m >= 2 ? 0 - m + 1 + q % (m - 1) : kMax64;  // passes 2^64 (when m >= 2)
    case 5: return ((q >> 16) % 4 + 1) * (uint64_t{1} << 32) - q % 512;
    case 6: return 0 - m;  // ends exactly at 2^64
    default: return (uint64_t{1} << 63) - q % 1024;
  }
}

inline void decode_shape(Case& c, size_t n, std::uint16_t d, std::uint8_t e) {
  Shape& sh = c.shape;
  switch (kOps[c.op].variant) {
    case Variant::channel: {
      sh.a = e % 9;
      sh.b = (d & 0x8000u) != 0 ? 1 + (d & 0x7FFu) : d % 17;
      if (sh.a * sh.b == 0)
        sh.c = n % 7;
      else
        sh.c = n / (sh.a * sh.b);
      sh.n = sh.a * sh.b * sh.c;
      break;
    }
    case Variant::shared: {
      sh.b = (d & 0x8000u) != 0 ? (d & 0x7FFFu) : 1 + d % std::max<size_t>(n, 1);
      sh.a = sh.b != 0 ? n / sh.b : e % 5;
      sh.n = sh.a * sh.b;
      break;
    }
    case Variant::bias_dropout_add: {
      sh.b = (d & 0x8000u) != 0 ? (d & 0x7FFFu) : 1 + d % std::max<size_t>(std::min<size_t>(n, 300), 1);
      sh.a = sh.b != 0 ? n / sh.b : 0;
      sh.n = sh.a * sh.b;
      break;
    }
    default: sh.n = n; break;
  }
}

inline Case decode(const std::uint8_t* data, size_t size) {
  Reader r(data, size);
  Case c;
  c.op = r.u8() % kOps.size();
  c.dtype = r.u8() % kElementTypes;
  const std::uint8_t fa = r.u8(), fb = r.u8();
  c.in_place = fa & 1u;
  c.mask_present = (fa >> 1) & 1u;
  c.split = (fa >> 2) & 1u;
  c.shape.layout = ((fa >> 3) & 1u) != 0 ? Layout::nhwc : Layout::nchw;
  c.mask_extra = (fa >> 4) & 3u;
  c.stream_mode = (fa >> 6) & 3u;
  c.bda_on_residual = fb & 1u;
  c.random_mask = (fb >> 1) & 1u;
  const std::uint8_t size_mode = r.u8();
  const size_t n = decode_size(size_mode, r.le(3));
  const auto d = static_cast<std::uint16_t>(r.le(2));
  const std::uint8_t e = r.u8();
  decode_shape(c, n, d, e);
  const std::uint8_t p_mode = r.u8();
  const uint64_t p_payload = r.le(8);
  const std::uint8_t offset_mode = r.u8();
  const uint64_t offset_payload = r.le(8);
  c.s.seed = r.le(8);
  c.s.generator = static_cast<Generator>(r.u8() % 3);
  const std::uint8_t isa = r.u8();
  if (isa != 0) c.isa = g_isas[(isa - 1u) % g_isas.size()];
  constexpr size_t kGrains[] = {0, 64, 128, 192, 640, 4096, 65536, 64};
  c.grain = kGrains[r.u8() % 8];
  const std::uint8_t m1 = r.u8(), m2 = r.u8();
  c.mis_in = m1 & 15u;
  c.mis_out = m1 >> 4;
  c.mis_third = m2 & 15u;
  c.mis_mask = m2 >> 4;
  const std::uint8_t bad = r.u8() % 16;
  c.bad = bad <= 8 ? Bad::none : static_cast<Bad>(bad - 8);
  const uint64_t split = r.le(2);
  c.value_mode = r.u8() % 4;
  c.value_seed = static_cast<std::uint32_t>(r.le(4));
  if (size > kHeaderBytes) {
    c.tail = data + kHeaderBytes;
    c.tail_size = size - kHeaderBytes;
  }

  c.p = decode_p(p_mode, p_payload);
  c.passed = c.shape;
  const uint64_t m = positions(c.op, c.shape);
  c.s.offset = decode_offset(offset_mode, offset_payload, m);
  // Bad kinds that do not apply to the op leave the case as it is (valid unless p or the offset is bad).
  switch (c.bad) {
    case Bad::p: {
      constexpr double kInvalid[] = {std::numeric_limits<double>::quiet_NaN(), -0.25, 1 + 0x1p-52,
                                     std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                                     -0x1p-1074, 2.0, -std::numeric_limits<double>::quiet_NaN()};
      c.p = kInvalid[p_payload % std::size(kInvalid)];
      break;
    }
    case Bad::offset: c.s.offset = decode_offset(4, offset_payload, m); break;
    case Bad::generator: c.s.generator = static_cast<Generator>(3 + e % 253); break;
    case Bad::shape:
      if (kOps[c.op].variant == Variant::channel) ++c.passed.c;
      if (kOps[c.op].variant == Variant::shared) ++c.passed.a;
      break;
    default: break;
  }
  if (c.bad == Bad::short_mask || c.bad == Bad::overlap_mask) c.mask_present = true;
  c.split_at = static_cast<size_t>(split % (c.shape.n + 1));
  return c;
}

}  // namespace simdrop::fuzz
