// bfloat16 and float16: the converters against the IEEE 754 rules, every entry point on every ISA path bit
// for bit against the written-out definitions (family_support.hpp, computed in float and rounded once), the
// keep bits equal to fp32's, the statistics of inverted dropout, and bad input.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>

#include "family_support.hpp"
#include "reference/family_reference.hpp"
#include "support.hpp"

using namespace simdrop;
using namespace simdrop::test;
using Catch::Matchers::Contains;

namespace {

// ---- An IEEE 754 reference for the 16-bit formats, written from the rules -----------------------------
// A format: 1 sign bit, E exponent bits (bias 2^(E-1) - 1), F fraction bits. Values are decoded into doubles
// (exact: 11 or 8 significant bits), and rounding picks the nearest finite value by comparing distances in
// double (exact: the candidates and the input are all doubles of few bits), ties to the even bit pattern,
// with the overflow rule: a value at or beyond max + ulp(max) / 2 rounds to infinity (the tie goes to
// infinity because max's fraction is odd).
template <class T>
struct Format {
  static constexpr int kFraction = std::is_same_v<T, bfloat16> ? 7 : 10;
  static constexpr int kExponent = 15 - kFraction;
  static constexpr int kBias = (1 << (kExponent - 1)) - 1;
  static constexpr std::uint16_t kInf = static_cast<std::uint16_t>(((1u << kExponent) - 1) << kFraction);

  // The value of a non-negative pattern below kInf.
  static double decode_finite(std::uint16_t bits) {
    const int e = bits >> kFraction, m = bits & ((1 << kFraction) - 1);
    if (e == 0) return std::ldexp(static_cast<double>(m), 1 - kBias - kFraction);
    return std::ldexp(static_cast<double>((1 << kFraction) + m), e - kBias - kFraction);
  }
  // Every finite non-negative value, ascending; index = bit pattern.
  static const std::vector<double>& ladder() {
    static const std::vector<double> values = [] {
      std::vector<double> v(kInf);
      for (std::uint16_t b = 0; b < kInf; ++b) v[b] = decode_finite(b);
      return v;
    }();
    return values;
  }
  // Round-to-nearest-even of a non-NaN double.
  static std::uint16_t round(double d) {
    const std::uint16_t sign = std::signbit(d) ? 0x8000 : 0;
    const double a = std::fabs(d);
    const auto& v = ladder();
    const std::size_t last = v.size() - 1;
    if (std::isinf(a)) return sign | kInf;
    if (a >= v[last]) {
      const double halfway = v[last] + (v[last] - v[last - 1]) / 2;
      return static_cast<std::uint16_t>(sign | (a < halfway ? last : kInf));
    }
    const std::size_t k = static_cast<std::size_t>(std::upper_bound(v.begin(), v.end(), a) - v.begin()) - 1;
    const double below = a - v[k], above = v[k + 1] - a;
    const std::size_t pick = below < above ? k : above < below ? k + 1 : (k % 2 == 0 ? k : k + 1);
    return static_cast<std::uint16_t>(sign | pick);
  }
};

template <class T>
std::uint16_t narrow_bits(float f) {
  if constexpr (std::is_same_v<T, bfloat16>)
    return to_bfloat16(f).bits;
  else
    return to_float16(f).bits;
}

template <class T>
bool is_nan_bits(std::uint16_t b) {
  return (b & 0x7FFF) > Format<T>::kInf;
}

// A double rounded once to T by the reference (for dbias, summed in double). A NaN (a column holding +inf
// and -inf: scaled values beyond the type's range) becomes the float NaN narrowed, as the library does.
template <class T>
T round_from_double(double v) {
  if (std::isnan(v)) return round_to<T>(static_cast<float>(v));
  return T{Format<T>::round(v)};
}

// ---- Test data ------------------------------------------------------------------------------------------

// n values: random bit patterns (every class: normal, subnormal, zero, infinity, NaN), with the named
// specials every 11th element: +-0, the smallest and largest subnormal, the largest finite (float16: 65504,
// whose scaled value rounds to infinity), +-infinity, a quiet NaN, and values that are halfway cases once
// scaled.
template <class T>
std::vector<T> values16(std::size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<T> v(n);
  const std::uint16_t max_finite = Format<T>::kInf - 1, max_sub = (1u << Format<T>::kFraction) - 1;
  const std::uint16_t specials[] = {0x0000, 0x8000, 0x0001, max_sub, max_finite, static_cast<std::uint16_t>(0x8000 | max_finite),
                                    Format<T>::kInf, static_cast<std::uint16_t>(0x8000 | Format<T>::kInf),
                                    static_cast<std::uint16_t>(Format<T>::kInf | (1u << (Format<T>::kFraction - 1))),
                                    narrow_bits<T>(1.0f), narrow_bits<T>(-3.0f)};
  for (std::size_t i = 0; i < n; ++i) v[i].bits = static_cast<std::uint16_t>(gen());
  for (std::size_t i = 0; i < n; i += 11) v[i].bits = specials[(i / 11) % std::size(specials)];
  return v;
}

// Finite values only (no NaN, no infinity): for the two-input formulas, where two NaNs meeting would leave
// the payload to the operand order.
template <class T>
std::vector<T> finite16(std::size_t n, std::uint32_t seed) {
  auto v = values16<T>(n, seed);
  for (auto& e : v)
    if ((e.bits & 0x7FFF) >= Format<T>::kInf) e.bits &= static_cast<std::uint16_t>(~(1u << (14)));  // a finite value
  return v;
}

const Stream kStreams16[] = {{0x5eed, 0}, {0xC0FFEE, 5}, {77, 192}, {9, (std::uint64_t{1} << 39) - 77}};

}  // namespace

// ---- The converters -------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("every 16-bit pattern widens exactly and narrows back to itself", "[half][converters]", bfloat16,
                   float16) {
  using F = Format<TestType>;
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const TestType h{static_cast<std::uint16_t>(b)};
    const float f = to_float(h);
    const std::uint16_t magnitude = b & 0x7FFF;
    INFO("bits " << b);
    if (magnitude > F::kInf) {  // NaN: widens to a NaN of the same sign, narrows back to a NaN
      REQUIRE(std::isnan(f));
      REQUIRE(std::signbit(f) == ((b & 0x8000) != 0));
      REQUIRE(is_nan_bits<TestType>(narrow_bits<TestType>(f)));
      continue;
    }
    const double expected = magnitude == F::kInf ? std::numeric_limits<double>::infinity() : F::decode_finite(magnitude);
    REQUIRE(static_cast<double>(f) == ((b & 0x8000) ? -expected : expected));
    REQUIRE(std::signbit(f) == ((b & 0x8000) != 0));  // -0 stays -0
    REQUIRE(narrow_bits<TestType>(f) == b);
  }
}

TEMPLATE_TEST_CASE("narrowing rounds to nearest even, keeps subnormals, overflows to infinity, quiets NaN",
                   "[half][converters]", bfloat16, float16) {
  using F = Format<TestType>;
  std::mt19937 gen(2024);
  std::size_t checked = 0;
  auto check = [&](float f) {
    const std::uint16_t got = narrow_bits<TestType>(f);
    if (std::isnan(f)) {
      // A NaN: quiet (the fraction's top bit set), the sign and the top of the payload kept.
      const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
      const std::uint16_t payload_top = static_cast<std::uint16_t>((u & 0x7FFFFFu) >> (23 - F::kFraction));
      const std::uint16_t quiet = static_cast<std::uint16_t>(1u << (F::kFraction - 1));
      REQUIRE(got == static_cast<std::uint16_t>(((u >> 16) & 0x8000u) | F::kInf | quiet | payload_top));
    } else {
      INFO("float bits " << std::bit_cast<std::uint32_t>(f));
      REQUIRE(got == F::round(static_cast<double>(f)));
    }
    ++checked;
  };
  // Every float exponent (both signs), random fractions: every binade, subnormal floats included.
  for (std::uint32_t e = 0; e < 256; ++e)
    for (std::uint32_t sign : {0u, 1u})
      for (int k = 0; k < 4000; ++k) check(std::bit_cast<float>(static_cast<std::uint32_t>(sign << 31 | e << 23 | (gen() & 0x7FFFFFu))));
  // Halfway cases between neighbouring 16-bit values, and the floats just beside them (ties go to even).
  const auto& ladder = F::ladder();
  for (std::size_t k = 0; k + 1 < ladder.size(); ++k) {
    const float mid = static_cast<float>((ladder[k] + ladder[k + 1]) / 2);  // exact: few significant bits
    for (float f : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, INFINITY)}) check(f), check(-f);
  }
  // Overflow: around max + ulp / 2, and up to float's largest.
  const double top = ladder.back() + (ladder.back() - ladder[ladder.size() - 2]) / 2;
  for (float f : {static_cast<float>(top), std::nextafter(static_cast<float>(top), 0.0f),
                  std::nextafter(static_cast<float>(top), INFINITY), std::numeric_limits<float>::max(), INFINITY})
    check(f), check(-f);
  // NaN payloads: every float NaN with a random fraction, signalling and quiet.
  for (int k = 0; k < 100000; ++k) {
    const std::uint32_t fraction = (gen() & 0x7FFFFFu) | 1u;
    check(std::bit_cast<float>(static_cast<std::uint32_t>(0x7F800000u | fraction | (gen() & 1u) << 31)));
  }
  CHECK(checked > 2000000);
}

TEMPLATE_TEST_CASE("the converters are constexpr", "[half][converters]", bfloat16, float16) {
  if constexpr (std::is_same_v<TestType, bfloat16>) {
    static_assert(to_bfloat16(1.0f).bits == 0x3F80 && to_float(bfloat16{0x3F80}) == 1.0f);
    static_assert(to_bfloat16(1.00390625f).bits == 0x3F80);  // a tie: to the even pattern
  } else {
    static_assert(to_float16(1.0f).bits == 0x3C00 && to_float(float16{0x3C00}) == 1.0f);
    static_assert(to_float16(65520.0f).bits == 0x7C00 && to_float16(0x1p-24f).bits == 0x0001);
  }
  SUCCEED("checked at compile time");
}

// ---- The core on every path ---------------------------------------------------------------------------

TEMPLATE_TEST_CASE("16-bit forward and both backward forms: kept round(x * scale), dropped +0, on every path",
                   "[half][isa]", bfloat16, float16) {
  using T = TestType;
  for (std::size_t n : {0, 1, 7, 63, 64, 65, 257, 1000, 4099, 70001})
    for (double p : {0.0, 0.3, 0.5, 1.0})
      for (const Stream& s : kStreams16)
        for (std::size_t misalign : {0, 3}) {
          if (n > 4099 && (p != 0.3 || s.offset > 5)) continue;
          const std::vector<T> storage = values16<T>(n + misalign, 31);
          const std::span<const T> x = std::span<const T>(storage).subspan(misalign, n);
          const auto keep = reference_bits(n, p, s);
          const float scale = scale_for<T>(p);
          std::vector<T> expected(n);
          for (std::size_t i = 0; i < n; ++i) expected[i] = round_to<T>(bit(keep, i) ? wide(x[i]) * scale : 0.0f);
          // The keep bits are fp32's.
          std::vector<std::uint64_t> fp32_mask(mask_words(n));
          std::vector<float> x32(n), y32(n);
          dropout_forward(std::span<const float>(x32), std::span<float>(y32), p, s, fp32_mask);
          REQUIRE(fp32_mask == keep);
          for (Isa isa : tested_isas())
            for (bool streaming : {false, true}) {
              IsaScope scope(isa);
              StreamScope stores(streaming ? 0 : SIZE_MAX);
              INFO("isa " << isa_name(isa) << " streaming " << streaming << " n " << n << " p " << p << " offset "
                          << s.offset << " misalign " << misalign);
              Misaligned<T> y(n, misalign, T{0x4242});
              std::vector<std::uint64_t> mask(mask_words(n) + 1, 0xdeadbeefull);
              dropout_forward(x, y.view, p, s, std::span<std::uint64_t>(mask).first(mask_words(n)));
              REQUIRE(same_bits<T>(y.view, expected));
              REQUIRE(std::equal(keep.begin(), keep.end(), mask.begin()));
              REQUIRE(mask.back() == 0xdeadbeefull);
              std::vector<T> in_place(x.begin(), x.end());
              dropout_forward(std::span<const T>(in_place), std::span<T>(in_place), p, s);
              REQUIRE(same_bits<T>(in_place, expected));
              Misaligned<T> dx(n, misalign, T{0x4242});
              dropout_backward(x, std::span<const std::uint64_t>(keep), dx.view, p);
              REQUIRE(same_bits<T>(dx.view, expected));
              std::fill(dx.view.begin(), dx.view.end(), T{0x4242});
              dropout_backward(x, dx.view, p, s);
              REQUIRE(same_bits<T>(dx.view, expected));
            }
        }
}

// ---- The family on every path ----------------------------------------------------------------------------

TEMPLATE_TEST_CASE("16-bit channel and time-shared dropout match their definitions on every path",
                   "[half][family]", bfloat16, float16) {
  using T = TestType;
  struct Shape {
    std::size_t batch, channels, spatial;
  };
  const Shape shapes[] = {{2, 3, 5}, {4, 3, 64}, {2, 64, 49}, {5, 130, 9}, {1, 2, 7000}};
  for (const Shape& sh : shapes)
    for (Layout layout : {Layout::nchw, Layout::nhwc})
      for (double p : {0.3, 1.0}) {
        const Stream s = kStreams16[1];
        const std::size_t n = sh.batch * sh.channels * sh.spatial, planes = sh.batch * sh.channels;
        const auto x = values16<T>(n, 41);
        const auto expected = expected_channel<T>(x, sh.batch, sh.channels, sh.spatial, layout, p, s);
        const auto expected_planes = reference_bits(planes, p, s);
        // Time-shared: steps = batch * channels rows of `spatial` columns.
        const auto expected_shared_y = expected_shared<T>(x, sh.spatial, p, s);
        const auto columns = reference_bits(sh.spatial, p, s);
        for (Isa isa : tested_isas())
          for (bool streaming : {false, true}) {
            IsaScope scope(isa);
            StreamScope stores(streaming ? 0 : SIZE_MAX);
            INFO("isa " << isa_name(isa) << " streaming " << streaming << " shape " << sh.batch << "x" << sh.channels
                        << "x" << sh.spatial << " p " << p);
            Misaligned<T> y(n, streaming ? 0 : 1, T{0x4242});
            std::vector<std::uint64_t> mask(mask_words(planes));
            channel_dropout_forward(std::span<const T>(x), y.view, sh.batch, sh.channels, sh.spatial, layout, p, s,
                                    mask);
            REQUIRE(same_bits<T>(y.view, expected));
            REQUIRE(mask == expected_planes);
            std::vector<T> dx(n, T{0x4242});
            channel_dropout_backward(std::span<const T>(x), std::span<const std::uint64_t>(mask), std::span<T>(dx),
                                     sh.batch, sh.channels, sh.spatial, layout, p);
            REQUIRE(same_bits<T>(dx, expected));
            std::fill(dx.begin(), dx.end(), T{0x4242});
            channel_dropout_backward(std::span<const T>(x), std::span<T>(dx), sh.batch, sh.channels, sh.spatial,
                                     layout, p, s);
            REQUIRE(same_bits<T>(dx, expected));

            std::vector<std::uint64_t> column_mask(mask_words(sh.spatial));
            std::fill(dx.begin(), dx.end(), T{0x4242});
            shared_dropout_forward(std::span<const T>(x), std::span<T>(dx), planes, sh.spatial, p, s, column_mask);
            REQUIRE(same_bits<T>(dx, expected_shared_y));
            REQUIRE(column_mask == columns);
            std::fill(dx.begin(), dx.end(), T{0x4242});
            shared_dropout_backward(std::span<const T>(x), std::span<const std::uint64_t>(columns), std::span<T>(dx),
                                    planes, sh.spatial, p);
            REQUIRE(same_bits<T>(dx, expected_shared_y));
            std::fill(dx.begin(), dx.end(), T{0x4242});
            shared_dropout_backward(std::span<const T>(x), std::span<T>(dx), planes, sh.spatial, p, s);
            REQUIRE(same_bits<T>(dx, expected_shared_y));
          }
      }
}

TEMPLATE_TEST_CASE("16-bit alpha and Gaussian dropout match their definitions on every path", "[half][family]",
                   bfloat16, float16) {
  using T = TestType;
  for (std::size_t n : {1, 33, 1000, 4099, 20011})
    for (double p : {0.0, 0.3, 0.9})
      for (const Stream& s : kStreams16) {
        if (n > 4099 && s.offset != 5) continue;
        const auto x = values16<T>(n, 51);
        const auto expected_alpha_y = expected_alpha<T>(x, p, s);
        const auto expected_gaussian_y = expected_gaussian<T>(x, p, s);
        const auto keep = reference_bits(n, p, s);
        const float a = static_cast<float>(alpha_dropout_coefficients(p).a);
        std::vector<T> expected_alpha_dx(n);
        for (std::size_t i = 0; i < n; ++i) expected_alpha_dx[i] = round_to<T>(bit(keep, i) ? wide(x[i]) * a : 0.0f);
        for (Isa isa : tested_isas())
          for (bool streaming : {false, true}) {
            IsaScope scope(isa);
            StreamScope stores(streaming ? 0 : SIZE_MAX);
            INFO("isa " << isa_name(isa) << " streaming " << streaming << " n " << n << " p " << p << " offset "
                        << s.offset);
            Misaligned<T> y(n, streaming ? 0 : 1, T{0x4242});
            std::vector<std::uint64_t> mask(mask_words(n));
            alpha_dropout_forward(std::span<const T>(x), y.view, p, s, mask);
            REQUIRE(same_bits<T>(y.view, expected_alpha_y));
            REQUIRE(mask == keep);
            std::vector<T> dx(n, T{0x4242});
            alpha_dropout_backward(std::span<const T>(x), std::span<const std::uint64_t>(keep), std::span<T>(dx), p);
            REQUIRE(same_bits<T>(dx, expected_alpha_dx));
            std::fill(dx.begin(), dx.end(), T{0x4242});
            alpha_dropout_backward(std::span<const T>(x), std::span<T>(dx), p, s);
            REQUIRE(same_bits<T>(dx, expected_alpha_dx));

            std::fill(y.view.begin(), y.view.end(), T{0x4242});
            gaussian_dropout_forward(std::span<const T>(x), y.view, p, s);
            REQUIRE(same_bits<T>(y.view, expected_gaussian_y));
            std::vector<T> in_place(x);
            gaussian_dropout_backward(std::span<const T>(in_place), std::span<T>(in_place), p, s);
            REQUIRE(same_bits<T>(in_place, expected_gaussian_y));
          }
      }
}

TEMPLATE_TEST_CASE("16-bit bias-dropout-residual: the fp32 expression rounded once, dbias rounded once from double",
                   "[half][family]", bfloat16, float16) {
  using T = TestType;
  struct Shape {
    std::size_t rows, cols;
  };
  const Shape shapes[] = {{3, 5}, {7, 16}, {9, 100}, {80, 768}, {600, 64}, {530, 7}};
  for (const Shape& sh : shapes)
    for (double p : {0.0, 0.1, 1.0}) {
      const Stream s = kStreams16[2];
      const std::size_t n = sh.rows * sh.cols;
      // Finite inputs: NaN meeting NaN would leave the payload to the operand order (family.hpp).
      const auto x = finite16<T>(n, 61), residual = finite16<T>(n, 62), bias = finite16<T>(sh.cols, 63);
      const auto expected = expected_bias_dropout_add<T>(x, bias, residual, p, s);
      const auto keep = reference_bits(n, p, s);
      std::vector<T> expected_dx(n);
      for (std::size_t i = 0; i < n; ++i)
        expected_dx[i] = round_to<T>(bit(keep, i) ? wide(residual[i]) * scale_for<T>(p) : 0.0f);
      const auto expected_dbias =
          expected_column_sums<T>(std::span<const T>(expected_dx), sh.cols, round_from_double<T>);
      for (Isa isa : tested_isas())
        for (bool streaming : {false, true}) {
          IsaScope scope(isa);
          StreamScope stores(streaming ? 0 : SIZE_MAX);
          INFO("isa " << isa_name(isa) << " streaming " << streaming << " rows " << sh.rows << " cols " << sh.cols
                      << " p " << p);
          Misaligned<T> y(n, streaming ? 0 : 1, T{0x4242});
          std::vector<std::uint64_t> mask(mask_words(n));
          bias_dropout_add_forward(std::span<const T>(x), std::span<const T>(bias), std::span<const T>(residual),
                                   y.view, p, s, mask);
          REQUIRE(same_bits<T>(y.view, expected));
          REQUIRE(mask == keep);
          std::vector<T> dx(n, T{0x4242}), dbias(sh.cols, T{0x4242});
          bias_dropout_add_backward(std::span<const T>(residual), std::span<const std::uint64_t>(keep),
                                    std::span<T>(dx), std::span<T>(dbias), p);
          REQUIRE(same_bits<T>(dx, expected_dx));
          // dbias is defined from dx; where an emulator's F16C rounding let dx differ at exact ties (same_bits),
          // from the dx this path made.
          REQUIRE(same_bits<T>(dbias, float16_ties_accepted() == 0 ? expected_dbias
                                                                   : expected_column_sums<T>(std::span<const T>(dx),
                                                                                             sh.cols, round_from_double<T>)));
          std::fill(dx.begin(), dx.end(), T{0x4242}), std::fill(dbias.begin(), dbias.end(), T{0x4242});
          bias_dropout_add_backward(std::span<const T>(residual), std::span<T>(dx), std::span<T>(dbias), p, s);
          REQUIRE(same_bits<T>(dx, expected_dx));
          // dbias is defined from dx; where an emulator's F16C rounding let dx differ at exact ties (same_bits),
          // from the dx this path made.
          REQUIRE(same_bits<T>(dbias, float16_ties_accepted() == 0 ? expected_dbias
                                                                   : expected_column_sums<T>(std::span<const T>(dx),
                                                                                             sh.cols, round_from_double<T>)));
        }
    }
}

// ---- Statistics ------------------------------------------------------------------------------------------

// n = 2^20 copies of one value x through forward. Each output is k = round(x * scale) with probability
// q = 1 - p' (p' = effective_drop_probability(p)) and +0 otherwise, so E[y] = q k and Var[y] = q (1 - q) k^2;
// with k = x / q (the scale unrounded) these are x and p/(1-p) x^2. With m the kept fraction, the sample mean
// is k m (standard error s_m = sqrt(q (1 - q) / n) |k|) and the sample variance is exactly k^2 (m - m^2), so it
// differs from k^2 q (1 - q) by k^2 ((1 - 2q)(m - q) - (m - q)^2). Thresholds: m within 6 standard errors of q
// (a fixed seed per case: a false alarm has probability ~2e-9, and a kernel that kept or dropped 0.1% too
// many at n = 2^20 moves the mean by ~7 standard errors), and the variance within the bound that implies. Separately,
// |q k - x| is at most q times half an ulp of k: the one rounding of the definition.
TEMPLATE_TEST_CASE("16-bit inverted dropout keeps E[y] = x and Var[y] = p/(1-p) x^2 within 6 sigma",
                   "[half][statistics]", bfloat16, float16) {
  using T = TestType;
  const std::size_t n = std::size_t{1} << 20;
  std::uint64_t seed = 100;
  for (double p : {0.1, 0.3, 0.5, 0.8})
    for (float xv : {1.0f, -0.7f, 3.3f}) {
      const T x0 = round_to<T>(xv);
      const std::vector<T> x(n, x0);
      std::vector<T> y(n);
      dropout_forward(std::span<const T>(x), std::span<T>(y), p, Stream{++seed, 12345});
      const double k = to_float(round_to<T>(to_float(x0) * scale_for<T>(p)));
      const double q = 1 - effective_drop_probability(p);
      double sum = 0, sum_sq = 0;
      for (const T& v : y) {
        const double d = to_float(v);
        REQUIRE((d == k || std::bit_cast<std::uint16_t>(v) == 0));  // kept value or +0.0
        sum += d, sum_sq += d * d;
      }
      const double mean = sum / n, variance = sum_sq / n - mean * mean;
      INFO("p " << p << " x " << to_float(x0) << " k " << k << " mean " << mean << " variance " << variance);
      CHECK(std::fabs(mean - q * k) <= 6 * std::sqrt(q * (1 - q) / n) * std::fabs(k));
      const double sm = std::sqrt(q * (1 - q) / n);  // standard error of the kept fraction
      CHECK(std::fabs(variance - q * (1 - q) * k * k) <= k * k * (std::fabs(1 - 2 * q) * 6 * sm + 36 * sm * sm) + 1e-12 * k * k);
      const double x_exact = to_float(x0);
      const double half_ulp = std::fabs(k) * std::ldexp(1.0, -(Format<T>::kFraction + 1));
      CHECK(std::fabs(q * k - x_exact) <= q * half_ulp + 1e-9 * std::fabs(x_exact));
      CHECK(std::fabs(q * (1 - q) * k * k - p / (1 - p) * x_exact * x_exact) <=
            (q * (1 - q)) * (2 * std::fabs(k) * half_ulp + half_ulp * half_ulp) + 1e-9 * x_exact * x_exact);
    }
}

// ---- Bad input ------------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("16-bit entry points reject bad input by name and write nothing", "[half][bad-input]", bfloat16,
                   float16) {
  using T = TestType;
  const std::size_t n = 1000;
  const auto x = values16<T>(n, 71);
  const T sentinel{0x1234};
  std::vector<T> y(n, sentinel);
  std::vector<std::uint64_t> mask(mask_words(n), 0x5555ull);
  auto untouched = [&] {
    return std::all_of(y.begin(), y.end(), [&](T v) { return v.bits == sentinel.bits; }) &&
           std::all_of(mask.begin(), mask.end(), [](std::uint64_t w) { return w == 0x5555ull; });
  };
  const std::span<const T> xs(x);
  const std::span<T> ys(y);
  CHECK_THROWS_WITH(dropout_forward(xs, ys, std::nan(""), {}, mask), Contains("p:"));
  CHECK_THROWS_WITH(dropout_forward(xs, ys, 1.5, {}, mask), Contains("p:"));
  CHECK_THROWS_WITH(dropout_forward(xs, ys.first(n - 1), 0.3, {}), Contains("y"));
  CHECK_THROWS_WITH(dropout_forward(xs, ys, 0.3, {}, std::span<std::uint64_t>(mask).first(mask_words(n) - 1)),
                    Contains("mask"));
  CHECK_THROWS_WITH(dropout_forward(std::span<const T>(y).subspan(1, n - 1), ys.first(n - 1), 0.3, {}),
                    Contains("x") && Contains("y"));
  CHECK_THROWS_WITH(dropout_forward(xs, ys, 0.3, Stream{1, ~std::uint64_t{0} - 10}), Contains("s:"));
  CHECK_THROWS_WITH(dropout_backward(xs, std::span<const std::uint64_t>(mask).first(1), ys, 0.3), Contains("mask"));
  CHECK_THROWS_WITH(alpha_dropout_forward(xs, ys, 1.0, {}, mask), Contains("p:"));
  CHECK_THROWS_WITH(gaussian_dropout_forward(xs, ys, -0.1, {}), Contains("p:"));
  CHECK_THROWS_WITH(channel_dropout_forward(xs, ys, 3, 7, 11, Layout::nchw, 0.3, {}), Contains("x"));
  CHECK_THROWS_WITH(shared_dropout_forward(xs, ys, 7, 100, 0.3, {}), Contains("x"));
  const std::vector<T> bias(7, sentinel);
  CHECK_THROWS_WITH(bias_dropout_add_forward(xs, std::span<const T>(bias), xs, ys, 0.3, {}), Contains("x"));
  std::vector<T> dbias(3, sentinel);
  CHECK_THROWS_WITH(bias_dropout_add_backward(xs, ys, std::span<T>(dbias), 0.3, Stream{}), Contains("dy"));
  CHECK(untouched());
  CHECK(std::all_of(dbias.begin(), dbias.end(), [&](T v) { return v.bits == sentinel.bits; }));
}
