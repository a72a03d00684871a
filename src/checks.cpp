#include "checks.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace simdrop::detail {

void fail_argument(std::string_view name, const std::string& what) {
  throw std::invalid_argument(std::string(name) + ": " + what);
}

namespace {
[[noreturn]] void fail(std::string_view name, const std::string& what) { fail_argument(name, what); }
}  // namespace

void check_probability(double p, std::string_view name) {
  if (std::isnan(p)) fail(name, "drop probability is NaN");
  if (p < 0.0 || p > 1.0) fail(name, "drop probability must be in [0, 1], got " + std::to_string(p));
}

void check_probability_below_one(double p, std::string_view variant, std::string_view name) {
  check_probability(p, name);
  if (p == 1.0) fail(name, std::string(variant) + " needs p < 1 (its formula has no value at p = 1)");
}

void check_shape(std::size_t elements, std::string_view buffer, std::initializer_list<std::size_t> dims,
                 std::string_view dims_text) {
  std::size_t product = 1;
  bool overflow = false;
  std::string values;
  for (std::size_t d : dims) {
    overflow = overflow || __builtin_mul_overflow(product, d, &product);
    values += (values.empty() ? "" : " * ") + std::to_string(d);
  }
  if (overflow)
    fail(buffer, "shape " + std::string(dims_text) + " = " + values + " overflows the size type");
  if (product != elements)
    fail(buffer, "has " + std::to_string(elements) + " elements but " + std::string(dims_text) + " = " + values +
                     " = " + std::to_string(product));
}

void check_layout(Layout layout, std::string_view name) {
  if (layout != Layout::nchw && layout != Layout::nhwc)
    fail(name, "unknown layout " + std::to_string(static_cast<int>(layout)) + " (expected nchw or nhwc)");
}

void check_same_size(std::size_t a, std::size_t b, std::string_view name_a, std::string_view name_b) {
  if (a != b)
    fail(name_b, "has " + std::to_string(b) + " elements but " + std::string(name_a) + " has " + std::to_string(a));
}

void check_mask_size(std::size_t words, std::size_t n, std::string_view name) {
  if (words < mask_words(n))
    fail(name, "has " + std::to_string(words) + " words but " + std::to_string(n) + " elements need " +
                   std::to_string(mask_words(n)));
}

void check_no_overlap(const void* a, std::size_t a_bytes, const void* b, std::size_t b_bytes,
                      std::string_view name_a, std::string_view name_b, bool allow_same) {
  if (a_bytes == 0 || b_bytes == 0) return;
  const auto a0 = reinterpret_cast<std::uintptr_t>(a), b0 = reinterpret_cast<std::uintptr_t>(b);
  if (allow_same && a0 == b0 && a_bytes == b_bytes) return;
  if (a0 < b0 + b_bytes && b0 < a0 + a_bytes)
    fail(name_b, "overlaps " + std::string(name_a) +
                     (allow_same ? " without being the same buffer" : " (they must be separate buffers)"));
}

void check_stream(Stream s, std::size_t n, std::string_view name) {
  if (s.generator != Generator::philox4x32_10 && s.generator != Generator::philox4x32_7 &&
      s.generator != Generator::ars5)
    fail(name, "unknown generator " + std::to_string(static_cast<int>(s.generator)));
  if (n != 0 && static_cast<std::uint64_t>(n - 1) > std::numeric_limits<std::uint64_t>::max() - s.offset)
    fail(name, "offset " + std::to_string(s.offset) + " + " + std::to_string(n) +
                   " elements passes the end of the stream (2^64)");
}

}  // namespace simdrop::detail
