// simdrop's differential fuzzer: one input is one call of one public entry point (core or family, any
// element type), checked bit for bit against the same call on the scalar path, against its split into two
// calls, and against the definitions in simdrop/dropout.hpp and simdrop/family.hpp. Any mismatch prints
// the case to stderr and calls abort(), so libFuzzer records the input as a crash.
//
// Built two ways (fuzz/CMakeLists.txt): simdrop_fuzz (libFuzzer, clang) and simdrop_fuzz_replay (this file
// plus replay_main.cpp, any compiler; the ctest fuzz_corpus_replay runs it on fuzz/corpus).
//
// ---- Input format (version 1; fuzz/make_corpus.py writes it) ------------------------------------------------
// A fixed header of 50 bytes, then a tail. Every field is read by a cursor that yields zero past the end of
// the input, so every byte string (the empty one too) is a valid case; integers are little-endian; "% k"
// means the field is taken modulo k. Keep this format stable: the corpus files are meaningful only in it.
//
//   off len field
//    0   1  op                % 18, see the Op enum below (0 make_mask, 1 dropout_forward, ...)
//    1   1  dtype             % 4: 0 float, 1 double, 2 bfloat16, 3 float16 (make_mask ignores it)
//    2   1  flags A           bit0 in place (output = the input's buffer); bit1 mask span present;
//                             bit2 also do the call as two calls (split); bit3 layout nhwc (else nchw);
//                             bits4-5 extra mask words past mask_words(bits) (must stay untouched);
//                             bits6-7 streaming-store threshold: 0 left alone, 1 always (0), 2 never
//                             (SIZE_MAX), 3 4096 bytes
//    3   1  flags B           bit0 bias_dropout_add in place on residual (else on x);
//                             bit1 a backward-from-mask input mask of random bits (else make_mask's bits)
//    4   1  size mode         255: n = 131072 + S % 168929 (several blocks at the default grain; rare,
//                             as such a case takes about 0.3 s under the sanitizers); otherwise by mode % 64:
//                             0-15: S % 16, 16-31: S % 128, 32-47: S % 1024, 48-61: S % 5001,
//                             62-63: 64 * (S % 80) + (S >> 16) % 3 - 1 (around multiples of 64)
//    5   3  S                 size payload
//    8   2  D                 family shape payload (channels / row / cols), see decode_shape
//   10   1  E                 family shape payload (batch / steps when row is 0)
//   11   1  p mode            % 16, see decode_p (exact 0 and 1, 2^-33, 2^-32, 3 * 2^-33, 1 - those,
//                             k / 2^m, uniform, threshold ties, powers of two, near 1, raw doubles,
//                             invalid values, 0.5 +- tiny)
//   12   8  P                 p payload
//   20   1  offset mode       % 8, see decode_offset (0, small, raw, ending just before / at / past 2^64,
//                             around 2^32 and 2^63)
//   21   8  Q                 offset payload
//   29   8  seed
//   37   1  generator         % 3: philox4x32_10, philox4x32_7, ars5
//   38   1  isa               0: the calibrated choice; v > 0: supported_isas()[(v - 1) % count] forced
//   39   1  grain             % 8: default, 64, 128, 192, 640, 4096, 65536, 64
//   40   1  misalignment      low nibble: input (x / dy), high nibble: output (y / dx), in elements
//   41   1  misalignment      low nibble: third buffer (residual, bias, dbias), high nibble: mask (words)
//   42   1  bad kind          % 16: 0-8 none; 9 invalid p; 10 offset + positions past 2^64; 11 mask one
//                             word short; 12 output partly over the input; 13 mask over the output (bias
//                             over y, dbias over dx for bias_dropout_add); 14 unknown generator;
//                             15 wrong shape (channel: spatial + 1, time-shared: steps + 1, the
//                             others: the output one element longer)
//   43   2  split point       k = value % (n + 1), rounded down to a multiple of 64 where a mask is split
//   45   1  value mode        % 4: uniform in +-[0.125, 2], with special values, raw bits, small integers
//   46   4  value seed
//   50  ..  tail              raw bytes of the first elements of the input (x / dy)
//
// A case whose arguments are bad (by the bad kind, or by a p or offset that happens to be out of range) must
// throw std::invalid_argument and leave every buffer as it was; any other case must not throw.
//
// The isa field indexes this machine's supported_isas(), so a corpus file may run another path elsewhere; every
// other field means the same everywhere. SIMDROP_FUZZ_VERBOSE=1 in the environment prints each decoded case
// and whether its call ran or threw (e.g. simdrop_fuzz_replay fuzz/corpus/<file>).
//
// Checks of a valid case: (1) the output, dbias and mask equal, bit for bit, the same call on the scalar path
// with the default grain and streaming on aligned separate buffers (NaN payloads excepted only for
// bias_dropout_add, as documented); (2) for the splittable ops, the call done as two calls; (3) the documented
// definitions on make_mask's keep bits (or the given mask): y = kept ? round(x * T(1 / (1 - p))) : +0.0 and
// the family's formulas, dbias as the documented blocked column sums, Gaussian y = x * e with fp32's e and
// backward == forward, the forward's mask == make_mask, bits past n zero; (4) backward from make_mask's mask ==
// backward regenerated; (5) no byte outside any buffer written, inputs unchanged, runtime settings restored.

#include <simdrop/simdrop.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cinttypes>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "float16_ties.hpp"  // tests/: an x86 emulator's float16 rounding

namespace {

using simdrop::bfloat16;
using simdrop::float16;
using simdrop::Generator;
using simdrop::Isa;
using simdrop::Layout;
using simdrop::Stream;
using std::size_t;
using std::uint64_t;

constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();
constexpr size_t kHeaderBytes = 50;

// ---- Decoding --------------------------------------------------------------------------------------------

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

enum class Op : std::uint8_t {
  make_mask,
  forward,
  backward_mask,
  backward_regen,
  channel_forward,
  channel_backward_mask,
  channel_backward_regen,
  shared_forward,
  shared_backward_mask,
  shared_backward_regen,
  alpha_forward,
  alpha_backward_mask,
  alpha_backward_regen,
  gaussian_forward,
  gaussian_backward,
  bda_forward,
  bda_backward_mask,
  bda_backward_regen,
  count
};
constexpr const char* kOpNames[] = {"make_mask",
                                    "dropout_forward",
                                    "dropout_backward(mask)",
                                    "dropout_backward(regenerated)",
                                    "channel_dropout_forward",
                                    "channel_dropout_backward(mask)",
                                    "channel_dropout_backward(regenerated)",
                                    "shared_dropout_forward",
                                    "shared_dropout_backward(mask)",
                                    "shared_dropout_backward(regenerated)",
                                    "alpha_dropout_forward",
                                    "alpha_dropout_backward(mask)",
                                    "alpha_dropout_backward(regenerated)",
                                    "gaussian_dropout_forward",
                                    "gaussian_dropout_backward",
                                    "bias_dropout_add_forward",
                                    "bias_dropout_add_backward(mask)",
                                    "bias_dropout_add_backward(regenerated)"};
static_assert(std::size(kOpNames) == static_cast<size_t>(Op::count));

enum class Family { core, channel, shared, alpha, gaussian, bda };
enum class MaskRole { none, out_optional, in_required, out_required };

Family family_of(Op op) {
  switch (op) {
    case Op::channel_forward:
    case Op::channel_backward_mask:
    case Op::channel_backward_regen: return Family::channel;
    case Op::shared_forward:
    case Op::shared_backward_mask:
    case Op::shared_backward_regen: return Family::shared;
    case Op::alpha_forward:
    case Op::alpha_backward_mask:
    case Op::alpha_backward_regen: return Family::alpha;
    case Op::gaussian_forward:
    case Op::gaussian_backward: return Family::gaussian;
    case Op::bda_forward:
    case Op::bda_backward_mask:
    case Op::bda_backward_regen: return Family::bda;
    default: return Family::core;
  }
}

MaskRole mask_role(Op op) {
  switch (op) {
    case Op::make_mask: return MaskRole::out_required;
    case Op::forward:
    case Op::channel_forward:
    case Op::shared_forward:
    case Op::alpha_forward:
    case Op::bda_forward: return MaskRole::out_optional;
    case Op::backward_mask:
    case Op::channel_backward_mask:
    case Op::shared_backward_mask:
    case Op::alpha_backward_mask:
    case Op::bda_backward_mask: return MaskRole::in_required;
    default: return MaskRole::none;
  }
}

bool has_stream(Op op) { return mask_role(op) != MaskRole::in_required; }
bool needs_p_below_one(Op op) { return family_of(op) == Family::alpha || family_of(op) == Family::gaussian; }
bool splittable(Op op) {
  const Family f = family_of(op);
  return f == Family::alpha || f == Family::gaussian || op == Op::make_mask || op == Op::forward ||
         op == Op::backward_mask || op == Op::backward_regen;
}
bool is_backward_bda(Op op) { return op == Op::bda_backward_mask || op == Op::bda_backward_regen; }
// The op's other backward form (from the mask / regenerated), for the ops that have both.
std::optional<Op> counterpart(Op op) {
  switch (op) {
    case Op::backward_mask: return Op::backward_regen;
    case Op::backward_regen: return Op::backward_mask;
    case Op::channel_backward_mask: return Op::channel_backward_regen;
    case Op::channel_backward_regen: return Op::channel_backward_mask;
    case Op::shared_backward_mask: return Op::shared_backward_regen;
    case Op::shared_backward_regen: return Op::shared_backward_mask;
    case Op::alpha_backward_mask: return Op::alpha_backward_regen;
    case Op::alpha_backward_regen: return Op::alpha_backward_mask;
    case Op::bda_backward_mask: return Op::bda_backward_regen;
    case Op::bda_backward_regen: return Op::bda_backward_mask;
    default: return std::nullopt;
  }
}

enum class Bad : std::uint8_t { none, p, offset, short_mask, overlap_io, overlap_mask, generator, shape };
constexpr const char* kBadNames[] = {"none",          "invalid p",     "offset past 2^64", "short mask",
                                     "in/out overlap", "mask/out overlap", "unknown generator", "wrong shape"};

// The shape of a call: n elements; channel: a batch, b channels, c spatial; shared: a steps, b row;
// bias_dropout_add: a rows, b cols.
struct Shape {
  size_t n = 0, a = 0, b = 0, c = 0;
  Layout layout = Layout::nchw;
};

struct Case {
  Op op = Op::make_mask;
  int dtype = 0;
  bool in_place = false, mask_present = false, split = false, bda_on_residual = false, random_mask = false;
  size_t mask_extra = 0;
  int stream_mode = 0;
  Shape shape;         // the true shape (n elements of data)
  Shape passed;        // the shape given to the call (differs for Bad::shape)
  double p = 0;
  Stream s;
  std::optional<Isa> isa;  // nullopt: the calibrated choice
  size_t grain = 0;        // 0: the default
  size_t mis_in = 0, mis_out = 0, mis_third = 0, mis_mask = 0;
  Bad bad = Bad::none;
  size_t split_at = 0;
  int value_mode = 0;
  std::uint32_t value_seed = 0;
  const std::uint8_t* tail = nullptr;
  size_t tail_size = 0;
};

size_t g_default_grain = 65536;
bool g_verbose = false;  // SIMDROP_FUZZ_VERBOSE set: each case and its outcome on stderr
size_t g_default_stream = 0;
std::vector<Isa> g_isas;
const Case* g_case = nullptr;  // the case being run, for failure messages

size_t decode_size(std::uint8_t mode, uint64_t s) {
  if (mode == 0xFF) return 131072 + s % 168929;  // 2^17 .. 300000: several blocks at the default grain (rare: slow)
  const unsigned m = mode % 64;
  if (m < 16) return s % 16;
  if (m < 32) return s % 128;
  if (m < 48) return s % 1024;
  if (m < 62) return s % 5001;
  const uint64_t v = 64 * (s % 80) + (s >> 16) % 3;  // around multiples of 64
  return v == 0 ? 0 : v - 1;
}

double decode_p(std::uint8_t mode, uint64_t payload) {
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
uint64_t decode_offset(std::uint8_t mode, uint64_t q, uint64_t positions) {
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

void decode_shape(Case& c, size_t n, std::uint16_t d, std::uint8_t e) {
  Shape& sh = c.shape;
  switch (family_of(c.op)) {
    case Family::channel: {
      sh.a = e % 9;
      sh.b = (d & 0x8000u) != 0 ? 1 + (d & 0x7FFu) : d % 17;
      if (sh.a * sh.b == 0)
        sh.c = n % 7;
      else
        sh.c = n / (sh.a * sh.b);
      sh.n = sh.a * sh.b * sh.c;
      break;
    }
    case Family::shared: {
      sh.b = (d & 0x8000u) != 0 ? (d & 0x7FFFu) : 1 + d % std::max<size_t>(n, 1);
      sh.a = sh.b != 0 ? n / sh.b : e % 5;
      sh.n = sh.a * sh.b;
      break;
    }
    case Family::bda: {
      sh.b = (d & 0x8000u) != 0 ? (d & 0x7FFFu) : 1 + d % std::max<size_t>(std::min<size_t>(n, 300), 1);
      sh.a = sh.b != 0 ? n / sh.b : 0;
      sh.n = sh.a * sh.b;
      break;
    }
    default: sh.n = n; break;
  }
}

// Stream positions (and mask bits) of a call.
size_t mask_bits(Op op, const Shape& sh) {
  switch (family_of(op)) {
    case Family::channel: return sh.a * sh.b;
    case Family::shared: return sh.b;
    default: return sh.n;
  }
}
uint64_t positions(Op op, const Shape& sh) { return has_stream(op) ? mask_bits(op, sh) : 0; }

Case decode(const std::uint8_t* data, size_t size) {
  Reader r(data, size);
  Case c;
  c.op = static_cast<Op>(r.u8() % static_cast<unsigned>(Op::count));
  c.dtype = r.u8() % 4;
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
      if (family_of(c.op) == Family::channel) ++c.passed.c;
      if (family_of(c.op) == Family::shared) ++c.passed.a;
      break;
    default: break;
  }
  if (c.bad == Bad::short_mask || c.bad == Bad::overlap_mask) c.mask_present = true;
  c.split_at = static_cast<size_t>(split % (c.shape.n + 1));
  return c;
}

// ---- Failure reports ------------------------------------------------------------------------------------

const char* dtype_name(int dtype) {
  constexpr const char* kNames[] = {"float", "double", "bfloat16", "float16"};
  return kNames[dtype];
}

std::string describe(const Case& c) {
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "op %s, dtype %s, n %zu (shape %zu %zu %zu %s; passed %zu %zu %zu), p %a, offset %" PRIu64
                " (0x%016" PRIx64 "), seed 0x%016" PRIx64 ", generator %d, isa %s, grain %zu, stream mode %d, "
                "misalignment in %zu out %zu third %zu mask %zu, in place %d%s, mask %s (+%zu words), "
                "bad %s, split %s at %zu, values mode %d seed %u, tail %zu bytes",
                kOpNames[static_cast<int>(c.op)], c.op == Op::make_mask ? "-" : dtype_name(c.dtype), c.shape.n,
                c.shape.a, c.shape.b, c.shape.c, c.shape.layout == Layout::nchw ? "nchw" : "nhwc", c.passed.a,
                c.passed.b, c.passed.c, c.p, c.s.offset, c.s.offset, c.s.seed, static_cast<int>(c.s.generator),
                c.isa ? std::string(simdrop::isa_name(*c.isa)).c_str() : "calibrated", c.grain, c.stream_mode,
                c.mis_in, c.mis_out, c.mis_third, c.mis_mask, c.in_place ? 1 : 0,
                c.bda_on_residual ? " (bda on residual)" : "", c.mask_present ? "present" : "absent",
                c.mask_extra, kBadNames[static_cast<int>(c.bad)], c.split ? "on" : "off", c.split_at,
                c.value_mode, static_cast<unsigned>(c.value_seed), c.tail_size);
  return buf;
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "\n==== simdrop differential fuzzer: MISMATCH ====\n%s\ncase: %s\n", what.c_str(),
               g_case != nullptr ? describe(*g_case).c_str() : "(none)");
  std::fflush(stderr);
  std::abort();
}

// ---- Element types ------------------------------------------------------------------------------------

template <class T>
inline constexpr bool is16 = std::is_same_v<T, bfloat16> || std::is_same_v<T, float16>;
template <class T>
using wide_t = std::conditional_t<is16<T>, float, T>;
template <class T>
using bits_t = std::conditional_t<sizeof(T) == 2, std::uint16_t,
                                  std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>;

template <class T>
wide_t<T> wide(T v) {
  if constexpr (is16<T>)
    return simdrop::to_float(v);
  else
    return v;
}
template <class T>
T narrow(wide_t<T> v) {
  if constexpr (std::is_same_v<T, bfloat16>)
    return simdrop::to_bfloat16(v);
  else if constexpr (std::is_same_v<T, float16>)
    return simdrop::to_float16(v);
  else
    return v;
}
template <class T>
uint64_t bits_of(T v) {
  return std::bit_cast<bits_t<T>>(v);
}
template <class T>
bool is_nan(T v) {
  return std::isnan(wide(v));
}

// A double rounded once to T (to nearest, ties to even; subnormals kept; overflow to infinity).
template <class T>
T round_from_double(double v) {
  if constexpr (!is16<T>) {
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
                static_cast<double>(wide(v)));
  return buf;
}

// ---- Values -------------------------------------------------------------------------------------------

uint64_t splitmix(uint64_t& state) {
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
  using W = wide_t<T>;
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
  using W = wide_t<T>;
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

// ---- Buffers ------------------------------------------------------------------------------------------

constexpr unsigned char kPad = 0xC3, kOutFill = 0xA5, kMaskFill = 0x5A;

// A byte region holding one buffer: 64 guard bytes before it, the buffer at a 64-byte boundary plus the
// misalignment, guard bytes after. Guards (and unused space) hold the fill byte.
struct Region {
  std::vector<unsigned char> bytes;
  size_t start = 0, len = 0;
  unsigned char fill = 0;
  bool used = false;
  unsigned char* data() { return bytes.data() + start; }
};

Region make_region(size_t elem, size_t count, size_t misalign, unsigned char fill, size_t extra_bytes = 0) {
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
  const Op op = c.op;
  const size_t n = c.shape.n, words = simdrop::mask_words(mask_bits(op, c.shape));
  Buffers<T> b;
  const bool overlap_io = L.bad == Bad::overlap_io;
  const bool overlap_mask = L.bad == Bad::overlap_mask;
  // Input (x / dy), room for an output shifted over it.
  b.in = make_region(E, n + (overlap_io ? L.overlap_shift : 0), L.mis_in, kPad);
  if (n != 0) std::memcpy(b.in.data(), d.in.data(), n * E);
  b.v.in = span_at<const T>(b.in, 0, n);
  if (op == Op::bda_forward) {
    b.res = make_region(E, n, L.mis_third, kPad);
    if (n != 0) std::memcpy(b.res.data(), d.res.data(), n * E);
    b.v.res = span_at<const T>(b.res, 0, n);
  }
  // Output (y / dx).
  const bool planes = family_of(op) == Family::channel || family_of(op) == Family::shared;
  const size_t out_count = n + (L.bad == Bad::shape && !planes ? 1 : 0);
  const size_t cols = c.shape.b;
  if (L.in_place) {
    b.v.out = (op == Op::bda_forward && L.bda_on_residual) ? span_at<T>(b.res, 0, n) : span_at<T>(b.in, 0, n);
  } else if (overlap_io) {
    b.v.out = span_at<T>(b.in, L.overlap_shift * E, n);
  } else {
    b.out = make_region(E, out_count, L.mis_out, kOutFill, overlap_mask ? words * 8 + 8 + cols * E : 0);
    b.v.out = span_at<T>(b.out, 0, out_count);
  }
  if (op == Op::bda_forward) {
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
  if (is_backward_bda(op)) {
    if (overlap_mask) {  // dbias over dx
      b.v.dbias = std::span<T>(b.v.out.data(), cols);
    } else {
      b.dbias = make_region(E, cols, L.mis_third, kOutFill);
      b.v.dbias = span_at<T>(b.dbias, 0, cols);
    }
  }
  // Mask.
  const MaskRole role = mask_role(op);
  const bool want_mask = role == MaskRole::in_required || (role == MaskRole::out_optional && L.mask_present);
  if (want_mask) {
    const size_t len = L.bad == Bad::short_mask ? (words == 0 ? 0 : words - 1) : words + L.mask_extra;
    const bool inside_out = overlap_mask && op != Op::bda_forward && !is_backward_bda(op) && b.out.used;
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
Region build_mask_only(size_t words, size_t extra, size_t mis, bool short_mask, std::span<uint64_t>& view) {
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
void check_guards(Region& r, size_t used_len, const char* name) {
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

// ---- Runtime settings ------------------------------------------------------------------------------------

class Settings {
 public:
  Settings(std::optional<Isa> isa, size_t grain, std::optional<size_t> stream)
      : isa_(isa), grain_(simdrop::grain_size()), stream_(simdrop::stream_threshold()) {
    if (grain != 0) simdrop::set_grain_size(grain);
    if (stream) simdrop::set_stream_threshold(*stream);
  }
  ~Settings() {
    simdrop::set_grain_size(grain_);
    simdrop::set_stream_threshold(stream_);
  }
  Settings(const Settings&) = delete;
  Settings& operator=(const Settings&) = delete;

 private:
  simdrop::ScopedIsa isa_;
  size_t grain_, stream_;
};

std::optional<size_t> stream_setting(int mode) {
  switch (mode) {
    case 1: return size_t{0};
    case 2: return std::numeric_limits<size_t>::max();
    case 3: return size_t{4096};
    default: return std::nullopt;
  }
}

// Runs f; true when it threw std::invalid_argument. Anything else thrown is a failure.
template <class F>
bool throws(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument&) {
    return true;
  } catch (const std::exception& e) {
    fail(std::string("threw something other than std::invalid_argument: ") + e.what());
  } catch (...) {
    fail("threw something other than std::invalid_argument");
  }
  return false;
}

// ---- The calls -------------------------------------------------------------------------------------------

template <class T>
void invoke(Op op, const View<T>& v, const Shape& sh, double p, Stream s) {
  namespace sd = simdrop;
  const std::span<const uint64_t> cm(v.mask.data(), v.mask.size());
  switch (op) {
    case Op::forward: sd::dropout_forward(v.in, v.out, p, s, v.mask); break;
    case Op::backward_mask: sd::dropout_backward(v.in, cm, v.out, p); break;
    case Op::backward_regen: sd::dropout_backward(v.in, v.out, p, s); break;
    case Op::channel_forward:
      sd::channel_dropout_forward(v.in, v.out, sh.a, sh.b, sh.c, sh.layout, p, s, v.mask);
      break;
    case Op::channel_backward_mask:
      sd::channel_dropout_backward(v.in, cm, v.out, sh.a, sh.b, sh.c, sh.layout, p);
      break;
    case Op::channel_backward_regen:
      sd::channel_dropout_backward(v.in, v.out, sh.a, sh.b, sh.c, sh.layout, p, s);
      break;
    case Op::shared_forward: sd::shared_dropout_forward(v.in, v.out, sh.a, sh.b, p, s, v.mask); break;
    case Op::shared_backward_mask: sd::shared_dropout_backward(v.in, cm, v.out, sh.a, sh.b, p); break;
    case Op::shared_backward_regen: sd::shared_dropout_backward(v.in, v.out, sh.a, sh.b, p, s); break;
    case Op::alpha_forward: sd::alpha_dropout_forward(v.in, v.out, p, s, v.mask); break;
    case Op::alpha_backward_mask: sd::alpha_dropout_backward(v.in, cm, v.out, p); break;
    case Op::alpha_backward_regen: sd::alpha_dropout_backward(v.in, v.out, p, s); break;
    case Op::gaussian_forward: sd::gaussian_dropout_forward(v.in, v.out, p, s); break;
    case Op::gaussian_backward: sd::gaussian_dropout_backward(v.in, v.out, p, s); break;
    case Op::bda_forward: sd::bias_dropout_add_forward(v.in, v.bias, v.res, v.out, p, s, v.mask); break;
    case Op::bda_backward_mask: sd::bias_dropout_add_backward(v.in, cm, v.out, v.dbias, p); break;
    case Op::bda_backward_regen: sd::bias_dropout_add_backward(v.in, v.out, v.dbias, p, s); break;
    default: fail("fuzzer bug: invoke on make_mask");
  }
}

bool overlap_is_bad(const void* a, size_t a_bytes, const void* b, size_t b_bytes, bool allow_same) {
  if (a_bytes == 0 || b_bytes == 0) return false;
  const auto a0 = reinterpret_cast<std::uintptr_t>(a), b0 = reinterpret_cast<std::uintptr_t>(b);
  if (allow_same && a0 == b0 && a_bytes == b_bytes) return false;
  return a0 < b0 + b_bytes && b0 < a0 + a_bytes;
}
template <class A, class B>
bool bad_overlap(std::span<A> a, std::span<B> b, bool allow_same) {
  return overlap_is_bad(a.data(), a.size_bytes(), b.data(), b.size_bytes(), allow_same);
}

bool p_invalid(Op op, double p) {
  return std::isnan(p) || p < 0 || p > 1 || (needs_p_below_one(op) && p == 1);
}

// A stream with an unknown generator, or whose m positions pass 2^64.
bool stream_bad(Stream s, uint64_t m) {
  const auto g = s.generator;
  if (g != Generator::philox4x32_10 && g != Generator::philox4x32_7 && g != Generator::ars5) return true;
  return m != 0 && m - 1 > kMax64 - s.offset;
}
bool stream_invalid(Op op, const Case& c) { return has_stream(op) && stream_bad(c.s, positions(op, c.passed)); }

// Whether the documented checks reject the call, computed from the arguments themselves.
template <class T>
bool expect_throw(const Case& c, const View<T>& v) {
  const Op op = c.op;
  const Shape& sh = c.passed;
  const size_t n = v.in.size();
  if (p_invalid(op, c.p) || stream_invalid(op, c)) return true;
  if (v.out.size() != n) return true;
  switch (family_of(op)) {
    case Family::channel: {
      size_t product = 0;
      if (__builtin_mul_overflow(sh.a, sh.b, &product) || __builtin_mul_overflow(product, sh.c, &product)) return true;
      if (product != n) return true;
      break;
    }
    case Family::shared:
      if (sh.a * sh.b != n) return true;
      break;
    case Family::bda: {
      const size_t cols = op == Op::bda_forward ? v.bias.size() : v.dbias.size();
      if ((cols == 0 && n != 0) || (cols != 0 && n % cols != 0)) return true;
      break;
    }
    default: break;
  }
  const size_t words = simdrop::mask_words(mask_bits(op, sh));
  const MaskRole role = mask_role(op);
  if (role == MaskRole::in_required && v.mask.size() < words) return true;
  if (role == MaskRole::out_optional && !v.mask.empty() && v.mask.size() < words) return true;
  if (bad_overlap(v.in, v.out, true)) return true;
  if (!v.mask.empty()) {
    if (bad_overlap(v.out, v.mask, false)) return true;
    if (op != Op::backward_mask && bad_overlap(v.in, v.mask, false)) return true;
    if (bad_overlap(v.bias, v.mask, false) || bad_overlap(v.res, v.mask, false) || bad_overlap(v.dbias, v.mask, false))
      return true;
  }
  if (bad_overlap(v.bias, v.out, false) || bad_overlap(v.res, v.out, true)) return true;
  if (bad_overlap(v.in, v.dbias, false) || bad_overlap(v.out, v.dbias, false)) return true;
  return false;
}

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

void compare_words(const char* what, std::span<const uint64_t> got, std::span<const uint64_t> want) {
  if (got.size() != want.size()) fail(std::string(what) + ": sizes differ");
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i]) {
      char buf[128];
      std::snprintf(buf, sizeof buf, ": word %zu is 0x%016" PRIx64 ", expected 0x%016" PRIx64, i, got[i], want[i]);
      fail(std::string(what) + buf);
    }
}

// A mask of `bits` bits: bits past the end of the last word must be 0.
void check_mask_tail(const char* what, std::span<const uint64_t> words, size_t bits) {
  if (bits % 64 == 0 || words.empty()) return;
  if ((words[bits / 64] >> (bits % 64)) != 0) fail(std::string(what) + ": bits past n in the last word are not 0");
}

bool bit(std::span<const uint64_t> m, size_t i) { return ((m[i / 64] >> (i % 64)) & 1u) != 0; }

template <class T>
std::vector<T> copy_out(std::span<const T> s) {
  return {s.begin(), s.end()};
}

// make_mask's bits, on the widest path: the keep bits that the checks of the definitions start from. (make_mask
// itself is checked against the scalar path as its own op; the scalar path is the slow one under coverage
// instrumentation, so it runs once per input, as the reference.)
std::vector<uint64_t> mask_of(size_t bits, double p, Stream s) {
  std::vector<uint64_t> m(simdrop::mask_words(bits));
  simdrop::ScopedIsa fast(g_isas.back());
  simdrop::make_mask(m, bits, p, s);
  return m;
}

// ---- Invariants: the definitions -----------------------------------------------------------------------

template <class T>
void check_definition(const Case& c, std::span<const T> in, std::span<const T> out, std::span<const T> dbias,
                      std::span<const uint64_t> keep, const Data<T>& d) {
  using W = wide_t<T>;
  const Op op = c.op;
  const Shape& sh = c.shape;
  const size_t n = sh.n;
  const Family f = family_of(op);
  const W scale = static_cast<W>(1.0 / (1.0 - c.p));
  auto kept = [&](size_t i) {
    switch (f) {
      case Family::channel: {
        const size_t plane = sh.layout == Layout::nchw ? i / sh.c : i / (sh.c * sh.b) * sh.b + i % sh.b;
        return bit(keep, plane);
      }
      case Family::shared: return bit(keep, i % sh.b);
      default: return bit(keep, i);
    }
  };
  std::vector<T> want(n);
  if (f == Family::alpha) {
    const auto co = simdrop::alpha_dropout_coefficients(c.p);
    const W a = static_cast<W>(co.a), b = static_cast<W>(co.b), dropped = static_cast<W>(co.dropped);
    for (size_t i = 0; i < n; ++i) {
      const W ax = a * wide(in[i]);
      if (op == Op::alpha_forward)
        want[i] = narrow<T>(kept(i) ? ax + b : dropped);
      else
        want[i] = narrow<T>(kept(i) ? ax : W(0));
    }
  } else if (op == Op::bda_forward) {
    const size_t cols = sh.b;
    for (size_t i = 0; i < n; ++i) {
      const W biased = wide(in[i]) + wide(d.bias[i % cols]);
      const W dropped = kept(i) ? biased * scale : W(0);
      want[i] = narrow<T>(wide(d.res[i]) + dropped);
    }
  } else {
    for (size_t i = 0; i < n; ++i) want[i] = narrow<T>(kept(i) ? wide(in[i]) * scale : W(0));
  }
  compare<T>("the output against the documented formula", out, want, /*nan_ok=*/true);
  if (is_backward_bda(op)) {
    const size_t cols = sh.b, rows = cols == 0 ? 0 : n / cols;
    std::vector<double> total(cols, 0.0);
    for (size_t r0 = 0; r0 < rows; r0 += 256) {
      std::vector<double> block(cols, 0.0);
      for (size_t r = r0; r < std::min(rows, r0 + 256); ++r)
        for (size_t col = 0; col < cols; ++col) block[col] += static_cast<double>(wide(out[r * cols + col]));
      for (size_t col = 0; col < cols; ++col) total[col] += block[col];
    }
    std::vector<T> sums(cols);
    for (size_t col = 0; col < cols; ++col) sums[col] = round_from_double<T>(total[col]);
    compare<T>("dbias against the documented column sums", dbias, sums, /*nan_ok=*/true);
  }
}

// ---- One typed case ------------------------------------------------------------------------------------

template <class T>
Data<T> make_data(const Case& c) {
  Data<T> d;
  uint64_t state = c.value_seed * 0x2545F4914F6CDD1Dull + static_cast<uint64_t>(c.value_mode);
  const size_t n = c.shape.n;
  d.in = make_values<T>(n, c.value_mode, state);
  if (c.tail != nullptr && n != 0) std::memcpy(d.in.data(), c.tail, std::min(c.tail_size, n * sizeof(T)));
  if (c.op == Op::bda_forward) {
    d.res = make_values<T>(n, c.value_mode, state);
    d.bias = make_values<T>(c.shape.b, c.value_mode, state);
  }
  if (mask_role(c.op) == MaskRole::in_required) {
    const size_t bits = mask_bits(c.op, c.shape);
    d.mask_in.resize(simdrop::mask_words(bits));
    const bool can_generate = !p_invalid(Op::make_mask, c.p) && !stream_bad(c.s, bits);
    if (c.random_mask || !can_generate) {
      for (auto& w : d.mask_in) w = splitmix(state);
    } else {
      d.mask_in = mask_of(bits, c.p, c.s);
      d.mask_generated = true;
    }
  }
  return d;
}

Arrangement main_layout(const Case& c) {
  Arrangement L;
  L.mis_in = c.mis_in;
  L.mis_out = c.mis_out;
  L.mis_third = c.mis_third;
  L.mis_mask = c.mis_mask;
  L.mask_extra = c.mask_extra;
  L.in_place = c.in_place && c.bad != Bad::overlap_io;
  L.bda_on_residual = c.bda_on_residual;
  L.mask_present = c.mask_present;
  L.bad = c.bad;
  L.overlap_shift = 1 + c.split_at % std::max<size_t>(c.shape.n > 1 ? c.shape.n - 1 : 1, 1);
  // A bad kind that the op cannot have is no bad kind.
  if (L.bad == Bad::overlap_mask && mask_role(c.op) == MaskRole::none && !is_backward_bda(c.op))
    L.bad = Bad::overlap_io;
  if (L.bad == Bad::overlap_io || L.bad == Bad::overlap_mask) L.in_place = false;
  return L;
}

Arrangement reference_layout(const Case& c) {
  Arrangement L;
  L.mask_present = c.mask_present;
  return L;
}

template <class T>
void run_typed(const Case& c) {
  const Data<T> d = make_data<T>(c);
  const Arrangement L = main_layout(c);
  Buffers<T> b = build<T>(c, d, L);
  const bool expected = expect_throw<T>(c, b.v);
  Snapshot before;
  if (expected) before = snapshot(b);
  Settings settings(c.isa, c.grain, stream_setting(c.stream_mode));
  const bool threw = throws([&] { invoke<T>(c.op, b.v, c.passed, c.p, c.s); });
  if (g_verbose) std::fprintf(stderr, "  -> %s\n", threw ? "threw std::invalid_argument" : "ran");
  if (threw != expected)
    fail(expected ? "the call did not throw std::invalid_argument for bad arguments"
                  : "the call threw std::invalid_argument for good arguments");
  if (threw) {
    check_unchanged(b, before, "a call that threw wrote");
    return;
  }
  const size_t n = c.shape.n;
  constexpr size_t E = sizeof(T);
  // Nothing outside the buffers was written; inputs that are not the output are unchanged.
  const bool out_on_x = L.in_place && !(c.op == Op::bda_forward && L.bda_on_residual);
  const bool out_on_res = L.in_place && c.op == Op::bda_forward && L.bda_on_residual;
  check_guards(b.in, (n + (L.bad == Bad::overlap_io ? L.overlap_shift : 0)) * E, "input");
  if (!out_on_x && n != 0 && std::memcmp(b.v.in.data(), d.in.data(), n * E) != 0) fail("the input (x / dy) changed");
  if (L.bad != Bad::overlap_mask) check_guards(b.out, b.v.out.size_bytes(), "output");
  check_guards(b.res, n * E, "residual");
  if (!out_on_res && !d.res.empty() && std::memcmp(b.v.res.data(), d.res.data(), n * E) != 0)
    fail("the residual changed");
  if (!d.bias.empty() && std::memcmp(b.v.bias.data(), d.bias.data(), d.bias.size() * E) != 0)
    fail("the bias changed");
  check_guards(b.bias, d.bias.size() * E, "bias");
  check_guards(b.dbias, b.v.dbias.size_bytes(), "dbias");
  const MaskRole role = mask_role(c.op);
  const size_t bits = mask_bits(c.op, c.shape), words = simdrop::mask_words(bits);
  if (role == MaskRole::in_required) {
    const size_t given = std::min(b.v.mask.size(), words);
    check_guards(b.mask, given * 8, "input mask");
    if (given != 0 && std::memcmp(b.v.mask.data(), d.mask_in.data(), given * 8) != 0) fail("the input mask changed");
  } else {
    check_guards(b.mask, words * 8, "mask");
  }
  const std::vector<T> out = copy_out<T>(b.v.out);
  const std::vector<T> dbias = copy_out<T>(b.v.dbias);
  const bool mask_out = role == MaskRole::out_optional && !b.v.mask.empty();
  std::vector<uint64_t> mask_words_out;
  if (mask_out) mask_words_out.assign(b.v.mask.begin(), b.v.mask.begin() + static_cast<std::ptrdiff_t>(words));
  // bias-dropout-residual may meet two NaNs in one element: any NaN is right there (simdrop/family.hpp).
  const bool nan_ok = family_of(c.op) == Family::bda;

  // 1. The scalar path, default grain and streaming, aligned separate buffers.
  {
    Buffers<T> r = build<T>(c, d, reference_layout(c));
    {
      Settings scalar(Isa::scalar, g_default_grain, g_default_stream);
      if (throws([&] { invoke<T>(c.op, r.v, c.passed, c.p, c.s); })) fail("the scalar reference call threw");
    }
    const std::size_t ties_before = simdrop::test::float16_ties_accepted();
    compare<T>("the output against the scalar path", out, r.v.out, nan_ok);
    // dbias sums the output: where an emulator's float16 ties made the output differ, dbias is held to the
    // documented column sums of this output below (3.) instead of to the scalar path's.
    if (simdrop::test::float16_ties_accepted() == ties_before)
      compare<T>("dbias against the scalar path", dbias, r.v.dbias, nan_ok);
    if (mask_out) compare_words("the mask against the scalar path", mask_words_out, r.v.mask.first(words));
  }

  // 2. The same call as two: elements [0, k) at offset o, [k, n) at offset o + k.
  if (c.split && splittable(c.op)) {
    size_t k = c.split_at;
    if (role != MaskRole::none) k -= k % 64;
    Arrangement sl = reference_layout(c);
    Buffers<T> s = build<T>(c, d, sl);
    Case first = c, second = c;
    first.shape.n = first.passed.n = k;
    second.shape.n = second.passed.n = n - k;
    second.s.offset = c.s.offset + k;
    View<T> v1 = s.v, v2 = s.v;
    v1.in = s.v.in.first(k);
    v1.out = s.v.out.first(k);
    v2.in = s.v.in.subspan(k);
    v2.out = s.v.out.subspan(k);
    if (!s.v.mask.empty()) {
      v1.mask = s.v.mask.first(simdrop::mask_words(k));
      v2.mask = s.v.mask.subspan(k / 64);
    }
    if (throws([&] { invoke<T>(c.op, v1, first.passed, c.p, first.s); }) ||
        throws([&] { invoke<T>(c.op, v2, second.passed, c.p, second.s); }))
      fail("a split call threw");
    compare<T>("the output of the split call", out, s.v.out, nan_ok);
    if (mask_out) compare_words("the mask of the split call", mask_words_out, s.v.mask.first(words));
  }

  // 3. The definitions: keep bits from make_mask (or the input mask), the documented formulas.
  std::vector<uint64_t> keep;
  if (role == MaskRole::in_required)
    keep = d.mask_in;
  else if (family_of(c.op) != Family::gaussian)
    keep = mask_of(bits, c.p, c.s);
  if (mask_out) {
    compare_words("the forward's mask against make_mask", mask_words_out, keep);
    check_mask_tail("the forward's mask", mask_words_out, bits);
  }
  if (family_of(c.op) == Family::gaussian) {
    // y = x * e with fp32's e (computed here as the output for x = 1), and backward == forward.
    std::vector<float> ones(n, 1.0f), e(n);
    {
      simdrop::ScopedIsa fast(g_isas.back());
      simdrop::gaussian_dropout_forward(std::span<const float>(ones), std::span<float>(e), c.p, c.s);
    }
    std::vector<T> want(n);
    for (size_t i = 0; i < n; ++i) want[i] = narrow<T>(wide(d.in[i]) * static_cast<wide_t<T>>(e[i]));
    compare<T>("the output against x * e (fp32's e)", out, want, /*nan_ok=*/true);
    std::vector<T> other(n);
    const Op twin = c.op == Op::gaussian_forward ? Op::gaussian_backward : Op::gaussian_forward;
    View<T> v;
    v.in = d.in;
    v.out = other;
    invoke<T>(twin, v, c.shape, c.p, c.s);
    compare<T>("gaussian forward against backward", out, other, false);
    return;
  }
  check_definition<T>(c, d.in, out, dbias, keep, d);

  // 4. Backward from the stored mask == backward regenerated from the stream.
  const std::optional<Op> twin = counterpart(c.op);
  const bool mask_is_generated = role != MaskRole::in_required || d.mask_generated;
  if (twin && mask_is_generated) {
    Case tc = c;
    tc.op = *twin;
    Data<T> td = d;
    td.mask_in = keep;
    Buffers<T> t = build<T>(tc, td, reference_layout(tc));
    if (throws([&] { invoke<T>(tc.op, t.v, tc.passed, c.p, c.s); })) fail("the other backward form threw");
    const std::size_t ties_before = simdrop::test::float16_ties_accepted();
    compare<T>("backward from the mask against backward regenerated", out, t.v.out, nan_ok);
    if (simdrop::test::float16_ties_accepted() == ties_before)  // as in 1.: dbias sums outputs that differ there
      compare<T>("dbias from the mask against dbias regenerated", dbias, t.v.dbias, nan_ok);
  }
}

// ---- make_mask ------------------------------------------------------------------------------------------

void run_make_mask(const Case& c) {
  const size_t n = c.shape.n, words = simdrop::mask_words(n);
  std::span<uint64_t> view;
  Region r = build_mask_only(words, c.mask_extra, c.mis_mask, c.bad == Bad::short_mask, view);
  const std::vector<unsigned char> before = r.bytes;
  const bool expected = p_invalid(c.op, c.p) || stream_invalid(c.op, c) || view.size() < words;
  Settings settings(c.isa, c.grain, stream_setting(c.stream_mode));
  const bool threw = throws([&] { simdrop::make_mask(view, n, c.p, c.s); });
  if (g_verbose) std::fprintf(stderr, "  -> %s\n", threw ? "threw std::invalid_argument" : "ran");
  if (threw != expected)
    fail(expected ? "make_mask did not throw std::invalid_argument for bad arguments"
                  : "make_mask threw std::invalid_argument for good arguments");
  if (threw) {
    if (r.bytes != before) fail("make_mask wrote before throwing");
    return;
  }
  check_guards(r, words * 8, "mask");
  const std::vector<uint64_t> got(view.begin(), view.begin() + static_cast<std::ptrdiff_t>(words));
  check_mask_tail("make_mask", got, n);
  {
    std::vector<uint64_t> reference(words);
    Settings scalar(Isa::scalar, g_default_grain, g_default_stream);
    simdrop::make_mask(reference, n, c.p, c.s);
    compare_words("make_mask against the scalar path", got, reference);
  }
  if (c.split) {
    const size_t k = c.split_at - c.split_at % 64;
    std::vector<uint64_t> two(words);
    simdrop::make_mask(std::span<uint64_t>(two).first(simdrop::mask_words(k)), k, c.p, c.s);
    simdrop::make_mask(std::span<uint64_t>(two).subspan(k / 64), n - k, c.p, Stream{c.s.seed, c.s.offset + k, c.s.generator});
    compare_words("make_mask split at a multiple of 64", got, two);
  }
  // The effective drop probability: each bit is a decision with threshold drop_threshold(p); p = 0 keeps all,
  // a threshold of 2^32 drops all.
  const uint64_t t = simdrop::drop_threshold(c.p);
  if (t == 0 || t == (uint64_t{1} << 32))
    for (size_t i = 0; i < n; ++i)
      if (bit(got, i) != (t == 0)) fail("make_mask: p with threshold 0 or 2^32 did not keep all / drop all");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_default_grain = simdrop::grain_size();
  g_default_stream = simdrop::stream_threshold();
  g_isas = simdrop::supported_isas();
  g_verbose = std::getenv("SIMDROP_FUZZ_VERBOSE") != nullptr;
  // Calibrate both size classes once, now, so that no execution pays for it (0.1-0.3 s).
  (void)simdrop::calibrate();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  if (g_isas.empty()) LLVMFuzzerInitialize(nullptr, nullptr);
  const Case c = decode(data, size);
  g_case = &c;
  if (g_verbose) std::fprintf(stderr, "case: %s\n", describe(c).c_str());
  if (c.op == Op::make_mask) {
    run_make_mask(c);
  } else {
    switch (c.dtype) {
      case 0: run_typed<float>(c); break;
      case 1: run_typed<double>(c); break;
      case 2: run_typed<bfloat16>(c); break;
      default: run_typed<float16>(c); break;
    }
  }
  if (simdrop::grain_size() != g_default_grain || simdrop::stream_threshold() != g_default_stream ||
      simdrop::forced_isa().has_value())
    fail("fuzzer bug: a runtime setting was not restored");
  g_case = nullptr;
  return 0;
}
