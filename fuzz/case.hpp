// The decoded case (one call of one entry point with its arguments and buffer layout), the runtime settings the
// fuzzer found, and the failure report: the case in words on stderr, then abort() for libFuzzer to record.
#pragma once

#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "op_rules.hpp"

namespace simdrop::fuzz {

enum class Bad : std::uint8_t { none, p, offset, short_mask, overlap_io, overlap_mask, generator, shape };
inline constexpr const char* kBadNames[] = {"none",          "invalid p",     "offset past 2^64", "short mask",
                                     "in/out overlap", "mask/out overlap", "unknown generator", "wrong shape"};

// One decoded input: one call, its arguments and how its buffers are laid out (fuzz_differential.cpp
// documents the fields).
struct Case {
  size_t op = kMakeMask;  // an index into kOps
  size_t dtype = 0;       // an index into ElementTypes
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

// The runtime's settings as the fuzzer found them (LLVMFuzzerInitialize), which every case must leave as they are.
inline size_t g_default_grain = 65536;
inline bool g_verbose = false;  // SIMDROP_FUZZ_VERBOSE set: each case and its outcome on stderr
inline size_t g_default_stream = 0;
inline std::vector<Isa> g_isas;
inline const Case* g_case = nullptr;  // the case being run, for failure messages

// ---- Failure reports ------------------------------------------------------------------------------------

inline std::string describe(const Case& c) {
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "op %s, dtype %s, n %zu (shape %zu %zu %zu %s; passed %zu %zu %zu), p %a, offset %" PRIu64
                " (0x%016" PRIx64 "), seed 0x%016" PRIx64 ", generator %d, isa %s, grain %zu, stream mode %d, "
                "misalignment in %zu out %zu third %zu mask %zu, in place %d%s, mask %s (+%zu words), "
                "bad %s, split %s at %zu, values mode %d seed %u, tail %zu bytes",
                std::string(kOps[c.op].name).c_str(), c.op == kMakeMask ? "-" : element_name_at(c.dtype), c.shape.n,
                c.shape.a, c.shape.b, c.shape.c, c.shape.layout == Layout::nchw ? "nchw" : "nhwc", c.passed.a,
                c.passed.b, c.passed.c, c.p, c.s.offset, c.s.offset, c.s.seed, static_cast<int>(c.s.generator),
                c.isa ? std::string(simdrop::isa_name(*c.isa)).c_str() : "calibrated", c.grain, c.stream_mode,
                c.mis_in, c.mis_out, c.mis_third, c.mis_mask, c.in_place ? 1 : 0,
                c.bda_on_residual ? " (bda on residual)" : "", c.mask_present ? "present" : "absent",
                c.mask_extra, kBadNames[static_cast<int>(c.bad)], c.split ? "on" : "off", c.split_at,
                c.value_mode, static_cast<unsigned>(c.value_seed), c.tail_size);
  return buf;
}

[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "\n==== simdrop differential fuzzer: MISMATCH ====\n%s\ncase: %s\n", what.c_str(),
               g_case != nullptr ? describe(*g_case).c_str() : "(none)");
  std::fflush(stderr);
  std::abort();
}

}  // namespace simdrop::fuzz
