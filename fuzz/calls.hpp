// The calls: the runtime settings a case runs under (ISA, grain, streaming stores; restored on scope exit), the
// check that a call throws nothing but std::invalid_argument, and the call of each entry point.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "guard.hpp"

namespace simdrop::fuzz {

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

inline std::optional<size_t> stream_setting(int mode) {
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

// One call of the entry point kOps[op] (not make_mask, which run_make_mask calls itself) on the buffers of v.
template <class T>
void invoke(size_t op, const View<T>& v, const Shape& sh, double p, Stream s) {
  namespace sd = simdrop;
  const std::span<const uint64_t> cm(v.mask.data(), v.mask.size());
  const Direction d = kOps[op].direction;
  switch (kOps[op].variant) {
    case Variant::dropout:
      if (d == Direction::forward) return sd::dropout_forward(v.in, v.out, p, s, v.mask);
      if (d == Direction::backward_stored) return sd::dropout_backward(v.in, cm, v.out, p);
      if (d == Direction::backward_regenerated) return sd::dropout_backward(v.in, v.out, p, s);
      break;
    case Variant::channel:
      if (d == Direction::forward)
        return sd::channel_dropout_forward(v.in, v.out, sh.a, sh.b, sh.c, sh.layout, p, s, v.mask);
      if (d == Direction::backward_stored)
        return sd::channel_dropout_backward(v.in, cm, v.out, sh.a, sh.b, sh.c, sh.layout, p);
      if (d == Direction::backward_regenerated)
        return sd::channel_dropout_backward(v.in, v.out, sh.a, sh.b, sh.c, sh.layout, p, s);
      break;
    case Variant::shared:
      if (d == Direction::forward) return sd::shared_dropout_forward(v.in, v.out, sh.a, sh.b, p, s, v.mask);
      if (d == Direction::backward_stored) return sd::shared_dropout_backward(v.in, cm, v.out, sh.a, sh.b, p);
      if (d == Direction::backward_regenerated) return sd::shared_dropout_backward(v.in, v.out, sh.a, sh.b, p, s);
      break;
    case Variant::alpha:
      if (d == Direction::forward) return sd::alpha_dropout_forward(v.in, v.out, p, s, v.mask);
      if (d == Direction::backward_stored) return sd::alpha_dropout_backward(v.in, cm, v.out, p);
      if (d == Direction::backward_regenerated) return sd::alpha_dropout_backward(v.in, v.out, p, s);
      break;
    case Variant::gaussian:
      if (d == Direction::forward) return sd::gaussian_dropout_forward(v.in, v.out, p, s);
      if (d == Direction::backward_regenerated) return sd::gaussian_dropout_backward(v.in, v.out, p, s);
      break;
    case Variant::bias_dropout_add:
      if (d == Direction::forward) return sd::bias_dropout_add_forward(v.in, v.bias, v.res, v.out, p, s, v.mask);
      if (d == Direction::backward_stored) return sd::bias_dropout_add_backward(v.in, cm, v.out, v.dbias, p);
      if (d == Direction::backward_regenerated) return sd::bias_dropout_add_backward(v.in, v.out, v.dbias, p, s);
      break;
  }
  fail(std::string("fuzzer bug: no call for ") + std::string(kOps[op].name));
}

// make_mask's bits, on the widest path: the keep bits that the checks of the definitions start from. (make_mask
// itself is checked against the scalar path as its own op; the scalar path is the slow one under coverage
// instrumentation, so it runs once per input, as the reference.)
inline std::vector<uint64_t> mask_of(size_t bits, double p, Stream s) {
  std::vector<uint64_t> m(simdrop::mask_words(bits));
  simdrop::ScopedIsa fast(g_isas.back());
  simdrop::make_mask(m, bits, p, s);
  return m;
}

}  // namespace simdrop::fuzz
