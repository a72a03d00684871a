// simdrop's differential fuzzer: one input is one call of one public entry point (core or family, any
// element type), checked bit for bit against the same call on the scalar path, against its split into two
// calls, and against the definitions in simdrop/dropout.hpp and simdrop/family.hpp. Any mismatch prints
// the case to stderr and calls abort(), so libFuzzer records the input as a crash.
//
// Built two ways (fuzz/CMakeLists.txt): simdrop_fuzz (libFuzzer, clang) and simdrop_fuzz_replay (this file
// plus replay_main.cpp, any compiler; the ctest fuzz_corpus_replay runs it on fuzz/corpus).
//
// This file is the entry point; the fuzzer's rooms, each included by the next:
//   op_rules.hpp  the op and dtype bytes as indices into src/ops.hpp's kOps and src/element.hpp's ElementTypes,
//                 and the call rules the fuzzer adds (which ops take a bias, write dbias, can be split)
//   case.hpp      the decoded Case, the runtime settings found at start, the failure report
//   decoder.hpp   the input format below: bytes -> Case (sizes, shapes, p, offsets)
//   values.hpp    element bits and the generated input values
//   guard.hpp     the buffers, in guarded regions, and the checks of their guards
//   validity.hpp  which calls must throw std::invalid_argument
//   calls.hpp     runtime settings, the call of each entry point
//   compare.hpp   bit-exact comparisons and the documented definitions
//   runner.hpp    one case run and checked (run_typed, run_make_mask)
//
// ---- Input format (version 1; fuzz/make_corpus.py writes it) ------------------------------------------------
// A fixed header of 50 bytes, then a tail. Every field is read by a cursor that yields zero past the end of
// the input, so every byte string (the empty one too) is a valid case; integers are little-endian; "% k"
// means the field is taken modulo k. Keep this format stable: the corpus files are meaningful only in it.
//
//   off len field
//    0   1  op                % kOps.size() (18 today): an index into src/ops.hpp's kOps (0 make_mask,
//                             1 dropout_forward, ...; op_rules.hpp pins the order of the first 18)
//    1   1  dtype             % 4 (the number of ElementTypes): an index into src/element.hpp's ElementTypes
//                             (0 f32, 1 f64, 2 bf16, 3 f16; pinned likewise); make_mask ignores it
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

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include <simdrop/simdrop.hpp>

#include "decoder.hpp"
#include "runner.hpp"

using simdrop::fuzz::fail;
using simdrop::fuzz::g_default_grain;
using simdrop::fuzz::g_default_stream;
using simdrop::fuzz::g_isas;
using simdrop::fuzz::g_verbose;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_default_grain = simdrop::grain_size();
  g_default_stream = simdrop::stream_threshold();
  g_isas = simdrop::supported_isas();
  g_verbose = std::getenv("SIMDROP_FUZZ_VERBOSE") != nullptr;
  // Calibrate both size classes once, now, so that no execution pays for it (0.1-0.3 s).
  (void)simdrop::calibrate();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fz = simdrop::fuzz;
  if (g_isas.empty()) LLVMFuzzerInitialize(nullptr, nullptr);
  const fz::Case c = fz::decode(data, size);
  fz::g_case = &c;
  if (g_verbose) std::fprintf(stderr, "case: %s\n", fz::describe(c).c_str());
  if (c.op == fz::kMakeMask)
    fz::run_make_mask(c);
  else
    fz::with_element_type(c.dtype, [&](auto t) { fz::run_typed<typename decltype(t)::type>(c); });
  if (simdrop::grain_size() != g_default_grain || simdrop::stream_threshold() != g_default_stream ||
      simdrop::forced_isa().has_value())
    fail("fuzzer bug: a runtime setting was not restored");
  fz::g_case = nullptr;
  return 0;
}
