// Known answers: the output bits of a fixed list of cases, pinned by tests/data/known_answers.txt, on every
// path of this build and CPU (and, run under emulators, on every architecture).
//
// The library promises that every output is a pure function of (seed, offset + i, p, inputs), the same on
// every ISA path and architecture. This test holds it to one file: each case below runs a public entry point
// on inputs made by integer hashing (no std:: distributions, no libm), and its output bytes are reduced to
// one 64-bit digest, FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3) over the case's output
// buffers in order, each element's bit pattern as little-endian bytes (T's size; mask words as 8 bytes).
// A case's seed and inputs are derived from its name (FNV-1a 64 of the name), so the name is the whole case.
//
// Every case runs on every path in supported_isas(); a few large ones also with 1 and 2 oneTBB threads and
// a small grain. Every digest must equal the file's. The file is written, deliberately, by
//     SIMDROP_KNOWN_ANSWERS_WRITE=path simdrop_tests "[known-answers]"
// from the scalar path; that run then fails, saying it wrote the file, so that it never passes as a check.
// SIMDROP_KNOWN_ANSWERS=path reads the file from elsewhere than the source tree (SIMDROP_KNOWN_ANSWERS_FILE).
//
// One emulator defect is handled in the open: Bochs rounds exact float16 ties away from zero in vcvtps2ph.
// Where support.hpp's probe sees that, the float16 cases of the avx2 and avx512 paths are compared with the
// scalar path's output element by element (the scalar output's digest is checked against the file), and a
// difference is accepted only as such a tie (is_cpu_float16_tie); the summary line counts them.
#include <tbb/global_control.h>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "element.hpp"  // narrow_from_double: the documented rounding of dbias (re-derived under the emulator)
#include "family_support.hpp"
#include "support.hpp"

namespace {

using namespace simdrop;
using simdrop::test::Misaligned;

// ---- Digest and deterministic inputs -------------------------------------------------------------------

constexpr std::uint64_t kFnvBasis = 0xcbf29ce484222325ull, kFnvPrime = 0x100000001b3ull;

std::uint64_t fnv1a(std::uint64_t h, std::uint64_t value, unsigned bytes) {
  for (unsigned k = 0; k < bytes; ++k) {
    h ^= (value >> (8 * k)) & 0xFFu;  // little-endian byte order, whatever the host's
    h *= kFnvPrime;
  }
  return h;
}

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = kFnvBasis;
  for (unsigned char c : s) h = fnv1a(h, c, 1);
  return h;
}

// SplitMix64's finalizer: the integer hash behind every input.
constexpr std::uint64_t mix(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The IEEE layout of each element type.
template <class T>
struct Format;
template <>
struct Format<float> {
  static constexpr unsigned width = 32, fraction = 23, exponent_max = 255, bias = 127;
};
template <>
struct Format<double> {
  static constexpr unsigned width = 64, fraction = 52, exponent_max = 2047, bias = 1023;
};
template <>
struct Format<bfloat16> {
  static constexpr unsigned width = 16, fraction = 7, exponent_max = 255, bias = 127;
};
template <>
struct Format<float16> {
  static constexpr unsigned width = 16, fraction = 10, exponent_max = 31, bias = 15;
};

template <class T>
using Bits = simdrop::test::bits_t<T>;

template <class T>
std::uint64_t bits_of(T v) {
  return std::bit_cast<Bits<T>>(v);
}
template <class T>
T from_bits(std::uint64_t b) {
  return std::bit_cast<T>(static_cast<Bits<T>>(b));
}

enum class Values { ordinary, specials };

// The value of hash h: ordinary values are +-[2^-6, 2^6) with a random fraction; with specials, about one
// in three is instead a signed zero, an infinity, a quiet or signalling NaN (never a payload of zero, so
// that an output NaN with payload zero can only be a NaN made by an operation, see default_nan_at), a
// subnormal, the largest finite or the smallest normal value, or a value near the top of the range.
template <class T>
T input_value(std::uint64_t h, Values kind) {
  using F = Format<T>;
  const std::uint64_t fraction_mask = (std::uint64_t{1} << F::fraction) - 1, quiet = std::uint64_t{1} << (F::fraction - 1);
  const std::uint64_t sign = (h >> 63) << (F::width - 1);
  const std::uint64_t fraction = mix(h) & fraction_mask;
  const auto with = [&](std::uint64_t e, std::uint64_t f) { return from_bits<T>(sign | (e << F::fraction) | f); };
  if (kind == Values::specials) {
    switch ((h >> 40) % 24) {
      case 0: return from_bits<T>(0);                                          // +0
      case 1: return from_bits<T>(std::uint64_t{1} << (F::width - 1));         // -0
      case 2: return with(F::exponent_max, 0);                                 // +-inf
      case 3: return with(F::exponent_max, quiet | (fraction & (quiet - 1)) | 1);  // quiet NaN
      case 4: return with(F::exponent_max, (fraction & (quiet - 1)) | 1);     // signalling NaN
      case 5: return with(0, 1);                                               // smallest subnormal
      case 6: return with(0, fraction | 1);                                    // a subnormal
      case 7: return with(F::exponent_max - 1, fraction_mask);                 // largest finite
      case 8: return with(1, 0);                                               // smallest normal
      case 9: return with(F::exponent_max - 1 - (h >> 20) % 3, fraction);     // near the top
      case 10: return with(1 + (h >> 20) % 3, fraction);                       // near the bottom
      default: break;
    }
  }
  return with(F::bias - 6 + (h >> 32) % 12, fraction);
}

template <class T>
std::vector<T> inputs(std::uint64_t id, std::size_t n, Values kind) {
  std::vector<T> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = input_value<T>(mix(id ^ mix(i)), kind);
  return v;
}

// A mask of `bits` bits from a hash, for the backward passes from a stored mask (garbage past the end too:
// the API reads bits below `bits` only).
std::vector<std::uint64_t> hashed_mask(std::uint64_t id, std::size_t bits) {
  std::vector<std::uint64_t> m(mask_words(bits));
  for (std::size_t w = 0; w < m.size(); ++w) m[w] = mix(id ^ mix(w + 0x100000000ull));
  return m;
}

// ---- Outputs -----------------------------------------------------------------------------------------

// What a section of a case's output is, for the element-wise comparison under the emulator: compared exactly;
// float16 values narrowed by the path (a tie may be the emulator's rounding); or a float16 dbias, computed
// in software from the dx of section `dx_section`.
enum class Kind { exact, float16, dbias16 };

enum class Element { word, f32, f64, bf16, f16 };  // word: mask words and integers

struct Section {
  unsigned bytes = 0;  // per element
  Kind kind = Kind::exact;
  std::vector<std::uint64_t> bits;
  std::size_t dx_section = 0;  // Kind::dbias16 only
  Element element = Element::word;
};

template <class T>
constexpr Element element_of() {
  if constexpr (std::is_same_v<T, float>) return Element::f32;
  else if constexpr (std::is_same_v<T, double>) return Element::f64;
  else if constexpr (std::is_same_v<T, bfloat16>) return Element::bf16;
  else return Element::f16;
}
using Output = std::vector<Section>;

template <class T>
Section section_of(std::span<const T> v) {
  Section s{sizeof(T), std::is_same_v<T, float16> ? Kind::float16 : Kind::exact, {}, 0, element_of<T>()};
  s.bits.reserve(v.size());
  for (T e : v) s.bits.push_back(bits_of(e));
  return s;
}
template <class T>
Section section_of(std::span<T> v) {
  return section_of(std::span<const T>(v));
}
Section mask_section(std::span<const std::uint64_t> m) { return Section{8, Kind::exact, {m.begin(), m.end()}, 0, Element::word}; }

std::uint64_t digest(const Output& out) {
  std::uint64_t h = kFnvBasis;
  for (const Section& s : out)
    for (std::uint64_t b : s.bits) h = fnv1a(h, b, s.bytes);
  return h;
}

// A NaN with payload zero in an output is one an operation made (every input NaN has a payload): its sign
// and bits are the platform's default NaN (x86: negative, Arm: positive), so no case may produce one.
// Returns the index of the first such element of a section of T, or -1.
template <class T>
long default_nan_at(const Section& s) {
  using F = Format<T>;
  const std::uint64_t fraction_mask = (std::uint64_t{1} << F::fraction) - 1, quiet = std::uint64_t{1} << (F::fraction - 1);
  for (std::size_t i = 0; i < s.bits.size(); ++i) {
    const std::uint64_t e = (s.bits[i] >> F::fraction) & F::exponent_max, f = s.bits[i] & fraction_mask;
    if (e == F::exponent_max && f != 0 && (f & (quiet - 1)) == 0) return static_cast<long>(i);
  }
  return -1;
}

// The first output element that is a NaN of the platform's own, as text; "" if none.
std::string platform_nan_in(const Output& out) {
  for (std::size_t j = 0; j < out.size(); ++j) {
    long at = -1;
    switch (out[j].element) {
      case Element::word: break;
      case Element::f32: at = default_nan_at<float>(out[j]); break;
      case Element::f64: at = default_nan_at<double>(out[j]); break;
      case Element::bf16: at = default_nan_at<bfloat16>(out[j]); break;
      case Element::f16: at = default_nan_at<float16>(out[j]); break;
    }
    if (at >= 0) return "output " + std::to_string(j) + " element " + std::to_string(at) + " is a NaN with payload 0";
  }
  return "";
}

// ---- Cases ---------------------------------------------------------------------------------------------

enum class Op {
  make_mask,
  forward, forward_mask, forward_in_place, backward_mask, backward_regen,
  channel_forward, channel_forward_mask, channel_backward_mask, channel_backward_regen,
  shared_forward, shared_forward_mask, shared_backward_mask, shared_backward_regen,
  alpha_forward, alpha_forward_mask, alpha_backward_mask, alpha_backward_regen,
  gaussian_forward, gaussian_backward,
  bias_add_forward, bias_add_forward_mask, bias_add_forward_into_residual, bias_add_forward_into_x,
  bias_add_backward_mask, bias_add_backward_regen,
  constants,
};

const char* op_name(Op op) {
  switch (op) {
    case Op::make_mask: return "make_mask";
    case Op::forward: return "dropout_forward";
    case Op::forward_mask: return "dropout_forward+mask";
    case Op::forward_in_place: return "dropout_forward_in_place";
    case Op::backward_mask: return "dropout_backward_mask";
    case Op::backward_regen: return "dropout_backward_regen";
    case Op::channel_forward: return "channel_forward";
    case Op::channel_forward_mask: return "channel_forward+mask";
    case Op::channel_backward_mask: return "channel_backward_mask";
    case Op::channel_backward_regen: return "channel_backward_regen";
    case Op::shared_forward: return "shared_forward";
    case Op::shared_forward_mask: return "shared_forward+mask";
    case Op::shared_backward_mask: return "shared_backward_mask";
    case Op::shared_backward_regen: return "shared_backward_regen";
    case Op::alpha_forward: return "alpha_forward";
    case Op::alpha_forward_mask: return "alpha_forward+mask";
    case Op::alpha_backward_mask: return "alpha_backward_mask";
    case Op::alpha_backward_regen: return "alpha_backward_regen";
    case Op::gaussian_forward: return "gaussian_forward";
    case Op::gaussian_backward: return "gaussian_backward";
    case Op::bias_add_forward: return "bias_dropout_add_forward";
    case Op::bias_add_forward_mask: return "bias_dropout_add_forward+mask";
    case Op::bias_add_forward_into_residual: return "bias_dropout_add_forward_into_residual";
    case Op::bias_add_forward_into_x: return "bias_dropout_add_forward_into_x";
    case Op::bias_add_backward_mask: return "bias_dropout_add_backward_mask";
    case Op::bias_add_backward_regen: return "bias_dropout_add_backward_regen";
    case Op::constants: return "constants";
  }
  return "?";
}

enum class Shape { flat, channel, shared, rows };
Shape shape_of(Op op) {
  switch (op) {
    case Op::channel_forward: case Op::channel_forward_mask: case Op::channel_backward_mask:
    case Op::channel_backward_regen:
      return Shape::channel;
    case Op::shared_forward: case Op::shared_forward_mask: case Op::shared_backward_mask:
    case Op::shared_backward_regen:
      return Shape::shared;
    case Op::bias_add_forward: case Op::bias_add_forward_mask: case Op::bias_add_forward_into_residual:
    case Op::bias_add_forward_into_x: case Op::bias_add_backward_mask: case Op::bias_add_backward_regen:
      return Shape::rows;
    default:
      return Shape::flat;
  }
}
bool below_one_only(Op op) {  // alpha and Gaussian dropout take p in [0, 1)
  return op == Op::alpha_forward || op == Op::alpha_forward_mask || op == Op::alpha_backward_mask ||
         op == Op::alpha_backward_regen || op == Op::gaussian_forward || op == Op::gaussian_backward;
}
bool is_backward_with_dbias(Op op) { return op == Op::bias_add_backward_mask || op == Op::bias_add_backward_regen; }

enum class Type { bits, f32, f64, bf16, f16 };
const char* type_name(Type t) {
  switch (t) {
    case Type::bits: return "bits";
    case Type::f32: return "f32";
    case Type::f64: return "f64";
    case Type::bf16: return "bf16";
    case Type::f16: return "f16";
  }
  return "?";
}
const char* generator_name(Generator g) {
  switch (g) {
    case Generator::philox4x32_10: return "philox10";
    case Generator::philox4x32_7: return "philox7";
    case Generator::ars5: return "ars5";
  }
  return "?";
}

struct NamedP {
  const char* name;
  double p;
};
constexpr NamedP kP0{"0", 0.0}, kPTiny{"2^-32", 0x1p-32}, kPHalf{"0.5", 0.5}, kPAlmostOne{"1-2^-32", 1.0 - 0x1p-32},
    kPOne{"1", 1.0}, kP01{"0.1", 0.1}, kP03{"0.3", 0.3}, kP075{"0.75", 0.75};
const std::array<NamedP, 7> kProbabilities = {kP0, kPTiny, kPHalf, kPAlmostOne, kPOne, kP01, kP03};

// Stream offset classes. kEnd: offset = 2^64 - (stream positions the call uses), the call ending exactly at 2^64.
struct NamedOffset {
  const char* name;
  std::uint64_t offset;
};
constexpr std::uint64_t kEnd = ~std::uint64_t{0};
const std::array<NamedOffset, 7> kOffsets = {{
    {"0", 0},
    {"12345", 12345},
    {"2^32-40", (std::uint64_t{1} << 32) - 40},                       // crosses 2^32 (lo32 of the group wraps)
    {"2^32+2^20+5", (std::uint64_t{1} << 32) + (1u << 20) + 5},
    {"2^47+0x1234567", (std::uint64_t{1} << 47) + 0x1234567},
    {"2^64-2^20-77", 0 - (std::uint64_t{1} << 20) - 77},
    {"2^64-n", kEnd},
}};

struct Case {
  std::string name;
  Op op = Op::forward;
  Type type = Type::f32;
  Generator gen = Generator::philox4x32_10;
  NamedP p = kPHalf;
  NamedOffset offset = {"0", 0};
  std::size_t d0 = 1, d1 = 1, d2 = 1;  // flat: n; channel: batch, channels, spatial; shared: steps, row; rows: rows, cols
  Layout layout = Layout::nchw;
  Values values = Values::ordinary;
  std::size_t misalign = 0;  // the output starts this many elements past a 64-byte boundary
  bool streaming = false;    // run with stream_threshold 0 (streaming stores wherever y is aligned)
  bool threads = false;      // also run with 1 and with 2 oneTBB threads, grain 2048

  std::size_t elements() const {
    switch (shape_of(op)) {
      case Shape::channel: return d0 * d1 * d2;
      case Shape::shared: case Shape::rows: return d0 * d1;
      default: return op == Op::constants ? 0 : d0;
    }
  }
  // Stream positions a call uses: one per element, one per plane (channel), one per row element (shared).
  std::size_t positions() const {
    switch (shape_of(op)) {
      case Shape::channel: return d0 * d1;
      case Shape::shared: return d1;
      default: return elements();
    }
  }
  std::uint64_t seed() const { return fnv1a(name); }
  std::uint64_t input_id(unsigned k) const { return mix(seed() + k); }
  Stream stream() const {
    return Stream{seed(), offset.offset == kEnd ? 0 - std::uint64_t{positions()} : offset.offset, gen};
  }

  void make_name() {
    std::ostringstream o;
    o << op_name(op) << '/' << type_name(type);
    if (op != Op::constants) {
      o << '/' << generator_name(gen) << "/p=" << p.name << "/off=" << offset.name;
      switch (shape_of(op)) {
        case Shape::flat: o << "/n=" << d0; break;
        case Shape::channel: o << '/' << (layout == Layout::nchw ? "nchw" : "nhwc") << '=' << d0 << 'x' << d1 << 'x' << d2; break;
        case Shape::shared: o << "/steps_x_row=" << d0 << 'x' << d1; break;
        case Shape::rows: o << "/rows_x_cols=" << d0 << 'x' << d1; break;
      }
      if (values == Values::specials) o << "/specials";
      if (misalign != 0) o << "/misalign=" << misalign;
      if (streaming) o << "/streaming";
    }
    name = o.str();
  }
};

// ---- Running a case ------------------------------------------------------------------------------------

template <class T>
Output run_typed(const Case& c) {
  const Stream s = c.stream();
  const double p = c.p.p;
  const std::size_t n = c.elements();
  const T fill = from_bits<T>(0x5A5A5A5A5A5A5A5Aull);
  Misaligned<T> y(n, c.misalign, fill);
  const std::vector<T> x = inputs<T>(c.input_id(0), n, c.values);
  std::vector<std::uint64_t> mask(mask_words(c.positions()), 0xA5A5A5A5A5A5A5A5ull);  // outputs overwrite it all
  Output out;
  auto with_y = [&] { out.push_back(section_of(y.view)); };
  auto with_mask = [&] { out.push_back(mask_section(mask)); };
  // A stored mask for the backward passes: hashed, or (p = 1, where the scale is infinite) the forward's
  // all-dropped mask, so that no kept 0 * inf makes a NaN.
  auto stored_mask = [&] {
    std::vector<std::uint64_t> m = hashed_mask(c.input_id(5), c.positions());
    if (p == 1.0) std::fill(m.begin(), m.end(), 0);
    return m;
  };
  switch (c.op) {
    case Op::forward:
      dropout_forward(std::span<const T>(x), y.view, p, s);
      with_y();
      break;
    case Op::forward_mask:
      dropout_forward(std::span<const T>(x), y.view, p, s, mask);
      with_y();
      with_mask();
      break;
    case Op::forward_in_place:
      std::copy(x.begin(), x.end(), y.view.begin());
      dropout_forward(std::span<const T>(y.view), y.view, p, s);
      with_y();
      break;
    case Op::backward_mask: {
      const std::vector<std::uint64_t> m = stored_mask();
      dropout_backward(std::span<const T>(x), m, y.view, p);
      with_y();
      break;
    }
    case Op::backward_regen:
      dropout_backward(std::span<const T>(x), y.view, p, s);
      with_y();
      break;
    case Op::channel_forward:
      channel_dropout_forward(std::span<const T>(x), y.view, c.d0, c.d1, c.d2, c.layout, p, s);
      with_y();
      break;
    case Op::channel_forward_mask:
      channel_dropout_forward(std::span<const T>(x), y.view, c.d0, c.d1, c.d2, c.layout, p, s, mask);
      with_y();
      with_mask();
      break;
    case Op::channel_backward_mask: {
      const std::vector<std::uint64_t> m = stored_mask();
      channel_dropout_backward(std::span<const T>(x), m, y.view, c.d0, c.d1, c.d2, c.layout, p);
      with_y();
      break;
    }
    case Op::channel_backward_regen:
      channel_dropout_backward(std::span<const T>(x), y.view, c.d0, c.d1, c.d2, c.layout, p, s);
      with_y();
      break;
    case Op::shared_forward:
      shared_dropout_forward(std::span<const T>(x), y.view, c.d0, c.d1, p, s);
      with_y();
      break;
    case Op::shared_forward_mask:
      shared_dropout_forward(std::span<const T>(x), y.view, c.d0, c.d1, p, s, mask);
      with_y();
      with_mask();
      break;
    case Op::shared_backward_mask: {
      const std::vector<std::uint64_t> m = stored_mask();
      shared_dropout_backward(std::span<const T>(x), m, y.view, c.d0, c.d1, p);
      with_y();
      break;
    }
    case Op::shared_backward_regen:
      shared_dropout_backward(std::span<const T>(x), y.view, c.d0, c.d1, p, s);
      with_y();
      break;
    case Op::alpha_forward:
      alpha_dropout_forward(std::span<const T>(x), y.view, p, s);
      with_y();
      break;
    case Op::alpha_forward_mask:
      alpha_dropout_forward(std::span<const T>(x), y.view, p, s, mask);
      with_y();
      with_mask();
      break;
    case Op::alpha_backward_mask: {
      const std::vector<std::uint64_t> m = stored_mask();
      alpha_dropout_backward(std::span<const T>(x), m, y.view, p);
      with_y();
      break;
    }
    case Op::alpha_backward_regen:
      alpha_dropout_backward(std::span<const T>(x), y.view, p, s);
      with_y();
      break;
    case Op::gaussian_forward:
      gaussian_dropout_forward(std::span<const T>(x), y.view, p, s);
      with_y();
      break;
    case Op::gaussian_backward:
      gaussian_dropout_backward(std::span<const T>(x), y.view, p, s);
      with_y();
      break;
    case Op::bias_add_forward:
    case Op::bias_add_forward_mask:
    case Op::bias_add_forward_into_residual:
    case Op::bias_add_forward_into_x: {
      // x may hold specials; bias and residual are ordinary (an infinite bias or residual could meet an
      // infinite x and make a NaN of the platform's own).
      const std::vector<T> bias = inputs<T>(c.input_id(1), c.d1, Values::ordinary);
      const std::vector<T> residual = inputs<T>(c.input_id(2), n, Values::ordinary);
      if (c.op == Op::bias_add_forward_into_residual) {
        std::copy(residual.begin(), residual.end(), y.view.begin());
        bias_dropout_add_forward(std::span<const T>(x), std::span<const T>(bias), std::span<const T>(y.view), y.view, p, s);
      } else if (c.op == Op::bias_add_forward_into_x) {
        std::copy(x.begin(), x.end(), y.view.begin());
        bias_dropout_add_forward(std::span<const T>(y.view), std::span<const T>(bias), std::span<const T>(residual),
                                 y.view, p, s);
      } else if (c.op == Op::bias_add_forward_mask) {
        bias_dropout_add_forward(std::span<const T>(x), std::span<const T>(bias), std::span<const T>(residual), y.view,
                                 p, s, mask);
      } else {
        bias_dropout_add_forward(std::span<const T>(x), std::span<const T>(bias), std::span<const T>(residual), y.view,
                                 p, s);
      }
      with_y();
      if (c.op == Op::bias_add_forward_mask) with_mask();
      break;
    }
    case Op::bias_add_backward_mask:
    case Op::bias_add_backward_regen: {
      std::vector<T> dbias(c.d1, fill);
      if (c.op == Op::bias_add_backward_mask) {
        const std::vector<std::uint64_t> m = stored_mask();
        bias_dropout_add_backward(std::span<const T>(x), m, y.view, std::span<T>(dbias), p);
      } else {
        bias_dropout_add_backward(std::span<const T>(x), y.view, std::span<T>(dbias), p, s);
      }
      with_y();
      out.push_back(section_of(std::span<const T>(dbias)));
      if (std::is_same_v<T, float16>) {
        out.back().kind = Kind::dbias16;
        out.back().dx_section = 0;
      }
      break;
    }
    default:
      FAIL("case " << c.name << ": no typed runner for this op");
  }
  return out;
}

Output run_bits(const Case& c) {
  Output out;
  if (c.op == Op::make_mask) {
    std::vector<std::uint64_t> mask(mask_words(c.d0), 0xA5A5A5A5A5A5A5A5ull);
    make_mask(mask, c.d0, c.p.p, c.stream());
    out.push_back(mask_section(mask));
    return out;
  }
  // constants: what the scalar functions give for every p of the list (and a few more).
  Section s{8, Kind::exact, {}, 0, Element::word};
  for (double p : {0.0, 0x1p-32, 0x1p-33, 0x3p-34, 0.1, 0.3, 0.5, 0.75, 1.0 - 0x1p-32, 1.0 - 0x1p-33, 1.0}) {
    s.bits.push_back(drop_threshold(p));
    s.bits.push_back(std::bit_cast<std::uint64_t>(effective_drop_probability(p)));
    if (p < 1.0) {
      const AlphaCoefficients a = alpha_dropout_coefficients(p);
      for (double v : {a.a, a.b, a.dropped}) s.bits.push_back(std::bit_cast<std::uint64_t>(v));
    }
  }
  out.push_back(s);
  return out;
}

// Runs c on the current path (with streaming stores everywhere where the case asks).
Output run_case(const Case& c) {
  std::optional<simdrop::test::StreamScope> streaming;
  if (c.streaming) streaming.emplace(0);
  switch (c.type) {
    case Type::bits: return run_bits(c);
    case Type::f32: return run_typed<float>(c);
    case Type::f64: return run_typed<double>(c);
    case Type::bf16: return run_typed<bfloat16>(c);
    case Type::f16: return run_typed<float16>(c);
  }
  return {};
}

// ---- The case list -------------------------------------------------------------------------------------

struct Dims {
  std::size_t d0, d1, d2;
  Layout layout;
};

std::vector<Case> build_cases() {
  std::vector<Case> cases;
  const std::array<Type, 4> types = {Type::f32, Type::f64, Type::bf16, Type::f16};
  const std::array<Generator, 3> gens = {Generator::philox4x32_10, Generator::philox4x32_7, Generator::ars5};
  // Flat sizes: odd, around a word (63, 65), a 128-lane group (127, 129), over the avx512 path's pipelined
  // batch (1024 elements) from any head (1300); the sweep below also goes past a fused step (4099 > 4096).
  const std::array<std::size_t, 12> sizes = {1, 63, 65, 1000, 1300, 3, 129, 200, 64, 127, 700, 2};
  // Channel shapes: nchw planes of >= 64 (run_uniform) and < 64 (expanded), nhwc channels % 64 == 0 and not.
  const std::array<Dims, 6> channel_shapes = {{{1, 1, 1, Layout::nchw},
                                               {2, 3, 65, Layout::nchw},
                                               {3, 5, 7, Layout::nhwc},
                                               {2, 64, 9, Layout::nhwc},
                                               {4, 13, 3, Layout::nchw},
                                               {1, 7, 100, Layout::nhwc}}};
  const std::array<Dims, 5> shared_shapes = {{{1, 1, 1, {}}, {3, 65, 1, {}}, {10, 64, 1, {}}, {7, 100, 1, {}}, {2, 333, 1, {}}}};
  // Bias rows: cols % 64 == 0 (fused dbias) and not; over 256 rows (two dbias blocks).
  const std::array<Dims, 6> row_shapes = {{{1, 1, 1, {}}, {3, 65, 1, {}}, {5, 64, 1, {}}, {257, 3, 1, {}}, {7, 128, 1, {}}, {2, 500, 1, {}}}};
  auto add = [&](Case c) {
    if (below_one_only(c.op) && c.p.p >= 1.0) c.p = kP075;
    c.make_name();
    cases.push_back(c);
  };

  // 1. Every op x element type x generator, p, offset, size and values rotating.
  const std::array<Op, 25> ops = {
      Op::forward, Op::forward_mask, Op::forward_in_place, Op::backward_mask, Op::backward_regen,
      Op::channel_forward, Op::channel_forward_mask, Op::channel_backward_mask, Op::channel_backward_regen,
      Op::shared_forward, Op::shared_forward_mask, Op::shared_backward_mask, Op::shared_backward_regen,
      Op::alpha_forward, Op::alpha_forward_mask, Op::alpha_backward_mask, Op::alpha_backward_regen,
      Op::gaussian_forward, Op::gaussian_backward,
      Op::bias_add_forward, Op::bias_add_forward_mask, Op::bias_add_forward_into_residual, Op::bias_add_forward_into_x,
      Op::bias_add_backward_mask, Op::bias_add_backward_regen};
  std::size_t k = 0;
  for (Op op : ops)
    for (std::size_t t = 0; t < types.size(); ++t)
      for (std::size_t g = 0; g < gens.size(); ++g, ++k) {
        Case c;
        c.op = op;
        c.type = types[t];
        c.gen = gens[g];
        c.p = kProbabilities[k % kProbabilities.size()];
        c.offset = kOffsets[(k / 3 + g) % kOffsets.size()];
        const std::size_t shape = k + t;
        switch (shape_of(op)) {
          case Shape::flat: c.d0 = sizes[(k * 5 + t) % sizes.size()]; break;
          case Shape::channel: {
            const Dims d = channel_shapes[shape % channel_shapes.size()];
            c.d0 = d.d0, c.d1 = d.d1, c.d2 = d.d2;
            c.layout = (t * 3 + g) % 2 == 0 ? Layout::nchw : Layout::nhwc;
            break;
          }
          case Shape::shared: {
            const Dims d = shared_shapes[shape % shared_shapes.size()];
            c.d0 = d.d0, c.d1 = d.d1;
            break;
          }
          case Shape::rows: {
            const Dims d = row_shapes[shape % row_shapes.size()];
            c.d0 = d.d0, c.d1 = d.d1;
            break;
          }
        }
        // Specials for the 16-bit types always, for float and double every other case; not where a NaN of
        // the platform's own could arise (dbias sums infinities of both signs).
        if (!is_backward_with_dbias(op) && (t >= 2 || k % 2 == 0)) c.values = Values::specials;
        c.misalign = k % 5 == 3 ? 3 : 0;
        add(c);
      }
  for (std::size_t g = 0; g < gens.size(); ++g)
    for (std::size_t i = 0; i < 2; ++i) {
      Case c;
      c.op = Op::make_mask;
      c.type = Type::bits;
      c.gen = gens[g];
      c.p = i == 0 ? kP03 : kPHalf;
      c.offset = kOffsets[g + i];
      c.d0 = sizes[g * 2 + i + 1];
      add(c);
    }

  // 2. The core ops at every p x every offset class (types, generators and sizes rotating).
  const std::array<std::size_t, 7> sweep_sizes = {1, 63, 65, 1000, 4099, 129, 300};
  k = 0;
  for (Op op : {Op::make_mask, Op::forward_mask})
    for (const NamedP& p : kProbabilities)
      for (const NamedOffset& o : kOffsets) {
        Case c;
        c.op = op;
        c.type = op == Op::make_mask ? Type::bits : types[k % 4];
        c.gen = gens[(k / 4 + k) % 3];
        c.p = p;
        c.offset = o;
        c.d0 = sweep_sizes[(k * 3) % sweep_sizes.size()];
        if (c.type == Type::bf16 || c.type == Type::f16) c.values = Values::specials;
        add(c);
        ++k;
      }

  // 3. Larger cases, for the pipelined kernels (whole batches from a 128-lane group boundary), streaming
  // stores (aligned outputs, threshold 0) and the oneTBB split (also run with 1 and 2 threads, grain 2048).
  auto large = [&](Op op, Type type, Generator gen, NamedP p, NamedOffset o, Dims d, bool streaming, Values v) {
    Case c;
    c.op = op;
    c.type = type;
    c.gen = gen;
    c.p = p;
    c.offset = o;
    c.d0 = d.d0, c.d1 = d.d1, c.d2 = d.d2;
    c.layout = d.layout;
    c.streaming = streaming;
    c.threads = true;
    c.values = v;
    add(c);
  };
  const NamedOffset aligned{"2^32-1024", (std::uint64_t{1} << 32) - 1024}, end_offset = kOffsets[6];
  large(Op::forward, Type::f32, Generator::philox4x32_10, kP03, aligned, {6000, 1, 1, {}}, true, Values::ordinary);
  large(Op::forward_mask, Type::bf16, Generator::philox4x32_7, kPHalf, kOffsets[0], {5121, 1, 1, {}}, true, Values::specials);
  large(Op::backward_regen, Type::f16, Generator::philox4x32_10, kP01, end_offset, {4608, 1, 1, {}}, false, Values::specials);
  large(Op::forward_in_place, Type::f64, Generator::ars5, kPHalf, kOffsets[3], {4500, 1, 1, {}}, true, Values::ordinary);
  large(Op::alpha_forward_mask, Type::f32, Generator::philox4x32_7, kP01, aligned, {4096, 1, 1, {}}, true, Values::specials);
  large(Op::gaussian_forward, Type::f16, Generator::philox4x32_10, kP03, kOffsets[4], {3000, 1, 1, {}}, false, Values::specials);
  large(Op::channel_forward, Type::f32, Generator::philox4x32_10, kPHalf, kOffsets[5], {3, 16, 100, Layout::nchw}, true,
        Values::ordinary);
  large(Op::channel_backward_regen, Type::f16, Generator::philox4x32_7, kP03, kOffsets[1], {2, 64, 30, Layout::nhwc}, true,
        Values::specials);
  large(Op::bias_add_forward, Type::f64, Generator::philox4x32_10, kP01, aligned, {20, 256, 1, {}}, true, Values::specials);
  large(Op::bias_add_backward_regen, Type::f16, Generator::philox4x32_10, kPHalf, kOffsets[2], {300, 16, 1, {}}, false,
        Values::ordinary);
  large(Op::bias_add_backward_mask, Type::f32, Generator::ars5, kP03, kOffsets[0], {130, 64, 1, {}}, false, Values::ordinary);
  large(Op::make_mask, Type::bits, Generator::philox4x32_10, kPHalf, kOffsets[0], {8269, 1, 1, {}}, false, Values::ordinary);

  // 4. The scalar functions of p.
  Case constants;
  constants.op = Op::constants;
  constants.type = Type::bits;
  add(constants);
  return cases;
}

// ---- The check ---------------------------------------------------------------------------------------

std::string hex16(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// The paths this build has on this architecture: the x86 kernels on x86-64, the neon one on 64-bit ARM.
bool build_has(Isa isa) {
  if (isa == Isa::scalar) return true;
#if defined(__x86_64__)
  return isa == Isa::sse2 || isa == Isa::avx2 || isa == Isa::avx512;
#elif defined(__aarch64__)
  return isa == Isa::neon;
#else
  return false;
#endif
}

std::string why_not_here(Isa isa) {
  if (!build_has(isa)) return isa == Isa::neon ? "a 64-bit ARM path; this build is not for aarch64"
                                               : "an x86-64 path; this build is not for x86-64";
  switch (isa) {
    case Isa::sse2: return "the CPU has no SSE2";
    case Isa::avx2: return "the CPU lacks AVX2 or F16C";
    case Isa::avx512: return "the CPU lacks one of AVX-512 F, BW, DQ, VL";
    default: return "not supported";
  }
}

// dbias by its definition (family.hpp; family_support.hpp writes it out) from the dx of a float16 case.
std::vector<std::uint64_t> documented_dbias16(const std::vector<std::uint64_t>& dx, std::size_t cols) {
  if (cols == 0) return {};
  std::vector<float16> dx16(dx.size());
  std::transform(dx.begin(), dx.end(), dx16.begin(), from_bits<float16>);
  const std::vector<float16> sums = simdrop::test::expected_column_sums<float16>(
      std::span<const float16>(dx16), cols, detail::narrow_from_double<float16>);
  std::vector<std::uint64_t> out(cols);
  std::transform(sums.begin(), sums.end(), out.begin(), [](float16 v) { return std::uint64_t{v.bits}; });
  return out;
}

// Compares a float16 case's output on a hardware-narrowing path with the scalar path's, accepting exact
// float16 ties rounded the other way by the CPU (the emulator). Returns "" when it matches so, or what differs;
// `accepted` counts the tie elements.
std::string compare_with_ties(const Output& got, const Output& scalar, std::size_t& accepted) {
  if (got.size() != scalar.size()) return "a different number of outputs";
  std::vector<std::size_t> ties_in(got.size(), 0);
  for (std::size_t j = 0; j < got.size(); ++j) {
    const Section &a = got[j], &b = scalar[j];
    if (a.bits.size() != b.bits.size()) return "output " + std::to_string(j) + " has a different size";
    if (a.bits == b.bits) continue;
    if (a.kind == Kind::float16) {
      for (std::size_t i = 0; i < a.bits.size(); ++i) {
        if (a.bits[i] == b.bits[i]) continue;
        if (!simdrop::test::is_cpu_float16_tie(from_bits<float16>(a.bits[i]), from_bits<float16>(b.bits[i])))
          return "output " + std::to_string(j) + " element " + std::to_string(i) + ": 0x" + hex16(a.bits[i]).substr(12) +
                 ", scalar 0x" + hex16(b.bits[i]).substr(12) + " (not an exact tie)";
        ++ties_in[j];
      }
      accepted += ties_in[j];
    } else if (a.kind == Kind::dbias16 && ties_in[a.dx_section] != 0) {
      // The path's dx differs from the scalar one at ties; its dbias must still be dbias's definition of it.
      if (a.bits != documented_dbias16(got[a.dx_section].bits, a.bits.size()))
        return "output " + std::to_string(j) + " (dbias) is not the documented sum of the path's own dx";
    } else {
      return "output " + std::to_string(j) + " differs";
    }
  }
  return "";
}

std::map<std::string, std::uint64_t> read_answers(const std::string& path, std::vector<std::string>& problems) {
  std::map<std::string, std::uint64_t> answers;
  std::ifstream in(path);
  if (!in) {
    problems.push_back("cannot read the known-answer file " + path);
    return answers;
  }
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name, hex, extra;
    fields >> name >> hex;
    const bool hex_ok = hex.size() == 16 && hex.find_first_not_of("0123456789abcdef") == std::string::npos;
    if (name.empty() || !hex_ok || (fields >> extra)) {
      problems.push_back(path + ":" + std::to_string(number) + ": not '<case-name> <16 lower-case hex digits>': " + line);
      continue;
    }
    if (!answers.emplace(name, std::stoull(hex, nullptr, 16)).second)
      problems.push_back(path + ":" + std::to_string(number) + ": case " + name + " appears twice");
  }
  return answers;
}

void write_answers(const std::string& path, const std::vector<Case>& cases, const std::vector<std::uint64_t>& digests,
                   std::size_t elements) {
  std::ofstream out(path);
  REQUIRE(out);
  out << "# simdrop known answers: the output bits of the cases of tests/test_known_answers.cpp, which checks them\n"
         "# on every ISA path of the build and CPU (and, under emulators, on every architecture).\n"
         "# One line per case: <case-name> <digest>, the digest being FNV-1a 64 (offset basis 0xcbf29ce484222325,\n"
         "# prime 0x100000001b3) over the case's output buffers in order, each element's bits as little-endian bytes\n"
         "# (the element's size; mask words 8 bytes). A case's seed and inputs are derived from its name.\n"
      << "# " << cases.size() << " cases, " << elements << " elements. Written from the scalar path by\n"
         "#     SIMDROP_KNOWN_ANSWERS_WRITE=tests/data/known_answers.txt build/release/tests/simdrop_tests \"[known-answers]\"\n"
         "# (that run fails on purpose, saying it wrote the file). Regenerate only for a deliberate change of output bits.\n";
  for (std::size_t i = 0; i < cases.size(); ++i) out << cases[i].name << ' ' << hex16(digests[i]) << '\n';
  REQUIRE(out.good());
}

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : std::string(fallback);
}

}  // namespace

TEST_CASE("known answers: every case's output bits match the committed file on every path", "[known-answers]") {
  const std::vector<Case> cases = build_cases();
  std::size_t elements = 0;
  std::set<std::string> names;
  for (const Case& c : cases) {
    elements += c.elements();
    INFO("case " << c.name);
    REQUIRE(names.insert(c.name).second);  // names are the file's keys
  }

  const std::string write_path = env_or("SIMDROP_KNOWN_ANSWERS_WRITE", "");
  if (!write_path.empty()) {
    simdrop::ScopedIsa scalar(Isa::scalar);
    std::vector<std::uint64_t> digests;
    for (const Case& c : cases) {
      const Output out = run_case(c);
      const std::string nan = platform_nan_in(out);
      INFO("case " << c.name << ": " << nan);
      REQUIRE(nan.empty());
      digests.push_back(digest(out));
    }
    write_answers(write_path, cases, digests, elements);
    FAIL("wrote " << cases.size() << " known answers (" << elements << " elements, scalar path) to " << write_path
                  << "; this run checked nothing: unset SIMDROP_KNOWN_ANSWERS_WRITE to check them");
  }

  const std::string path = env_or("SIMDROP_KNOWN_ANSWERS", SIMDROP_KNOWN_ANSWERS_FILE);
  std::vector<std::string> problems;
  const std::map<std::string, std::uint64_t> answers = read_answers(path, problems);
  for (const Case& c : cases)
    if (answers.count(c.name) == 0) problems.push_back("case " + c.name + " has no line in " + path);
  for (const auto& [name, value] : answers)
    if (names.count(name) == 0) problems.push_back(path + " has a line for " + name + ", which is no case here");

  const bool ties_away = simdrop::test::cpu_float16_ties_away();
  std::cout << "known answers: " << cases.size() << " cases, " << elements << " elements per path, from " << path
            << (ties_away ? "; this CPU's vcvtps2ph rounds float16 ties away from zero (an emulator)" : "") << '\n';
  const std::vector<Isa> supported = supported_isas(), tested = simdrop::test::tested_isas();
  for (Isa isa : {Isa::scalar, Isa::sse2, Isa::avx2, Isa::avx512, Isa::neon}) {
    if (std::find(supported.begin(), supported.end(), isa) == supported.end()) {
      std::cout << "known answers: " << isa_name(isa) << ": not run here (" << why_not_here(isa) << ")\n";
      continue;
    }
    if (std::find(tested.begin(), tested.end(), isa) == tested.end()) {
      std::cout << "known answers: " << isa_name(isa) << ": not run in this run (SIMDROP_TEST_ISAS)\n";
      continue;
    }
    simdrop::ScopedIsa forced(isa);
    const bool tie_path = ties_away && (isa == Isa::avx2 || isa == Isa::avx512);
    std::size_t matched = 0, reruns = 0, ties = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const Case& c : cases) {
      const auto it = answers.find(c.name);
      if (it == answers.end()) continue;
      const std::uint64_t expected = it->second;
      bool ok = true;
      auto check = [&](const Output& out, const char* how) {
        const std::string nan = platform_nan_in(out);
        if (!nan.empty()) {
          problems.push_back("case " + c.name + " on " + std::string(isa_name(isa)) + how + ": " + nan +
                             " (the platform's default NaN, not portable)");
          ok = false;
        }
        const std::uint64_t got = digest(out);
        if (got == expected) return;
        if (tie_path && c.type == Type::f16) {
          Output scalar;
          {
            simdrop::ScopedIsa reference(Isa::scalar);
            scalar = run_case(c);
          }
          const std::string why = compare_with_ties(out, scalar, ties);
          if (why.empty()) return;
          problems.push_back("case " + c.name + " on " + std::string(isa_name(isa)) + how + ": " + why);
        } else {
          problems.push_back("case " + c.name + " on " + std::string(isa_name(isa)) + how + ": expected " +
                             hex16(expected) + ", got " + hex16(got));
        }
        ok = false;
      };
      check(run_case(c), "");
      if (c.threads) {
        simdrop::test::GrainScope grain(2048);
        for (std::size_t threads : {1, 2}) {
          tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
          check(run_case(c), threads == 1 ? " (1 thread, grain 2048)" : " (2 threads, grain 2048)");
          ++reruns;
        }
      }
      if (ok) ++matched;
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::cout << "known answers: " << isa_name(isa) << ": " << matched << " cases matched";
    if (tie_path) std::cout << ", " << ties << " float16 elements at exact ties accepted as the emulator's rounding";
    std::cout << " (" << reruns << " thread-count reruns, " << static_cast<long>(ms * 10) / 10.0 << " ms)\n";
  }
  std::cout.flush();

  if (!problems.empty()) {
    std::ostringstream message;
    message << problems.size() << " known-answer problem(s):";
    for (std::size_t i = 0; i < problems.size() && i < 30; ++i) message << "\n  " << problems[i];
    if (problems.size() > 30) message << "\n  ... and " << problems.size() - 30 << " more";
    FAIL(message.str());
  }
}

TEST_CASE("known answers: the float16 tie check accepts only the CPU's rounding of an exact tie", "[known-answers]") {
  using simdrop::test::is_cpu_float16_tie;
  // 0x1p-25 is halfway between 0x0000 and 0x0001: ties to even give 0x0000.
  REQUIRE(to_float16(0x1p-25f).bits == 0x0000);
  CHECK(is_cpu_float16_tie(float16{0x0001}, float16{0x0000}) == simdrop::test::cpu_float16_ties_away());
  CHECK_FALSE(is_cpu_float16_tie(float16{0x0000}, float16{0x0001}));  // the scalar path never rounds away
  CHECK_FALSE(is_cpu_float16_tie(float16{0x3C00}, float16{0x3C00}));  // no difference
  CHECK_FALSE(is_cpu_float16_tie(float16{0x3C02}, float16{0x3C00}));  // not adjacent
  CHECK_FALSE(is_cpu_float16_tie(float16{0x8001}, float16{0x0000}));  // not the same sign
  CHECK_FALSE(is_cpu_float16_tie(float16{0x7E01}, float16{0x7E00}));  // NaNs
  const std::optional<std::uint16_t> cpu = simdrop::test::cpu_float16_bits(0x1p-25f);
#if defined(__x86_64__) || defined(__i386__)
  if (cpu) INFO("the CPU narrows 0x1p-25f to 0x" << std::hex << *cpu);
#else
  CHECK_FALSE(cpu.has_value());  // no x86 intrinsics here: the probe compiles out
#endif
  if (cpu) CHECK((*cpu == 0x0000 || *cpu == 0x0001));

  // The fallback for a float16 dbias under the emulator (documented_dbias16) is the library's own dbias.
  std::size_t checked = 0;
  for (const Case& c : build_cases()) {
    if (c.type != Type::f16 || !is_backward_with_dbias(c.op)) continue;
    const Output out = run_case(c);
    INFO("case " << c.name);
    REQUIRE(out.size() == 2);
    CHECK(documented_dbias16(out[0].bits, c.d1) == out[1].bits);
    ++checked;
  }
  CHECK(checked >= 6);
}
