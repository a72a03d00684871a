// Every ISA path bit-identical to the scalar reference: masks, forward and backward, fp32 and fp64,
// awkward sizes, misaligned buffers, offsets across group and counter-word boundaries, every p.
#include <catch2/catch.hpp>
#include <cstring>
#include <limits>

#include "reference/reference.hpp"
#include "support.hpp"

using namespace simdrop;
using namespace simdrop::test;

namespace {

const std::size_t kSizes[] = {0, 1, 7, 63, 64, 65, 255, 256, 257, 1000, 4099, std::size_t{1} << 20};
const double kProbabilities[] = {0, 0.01, 0.3, 0.5, 0.9, 1};
// Offsets: aligned, inside a 128-lane group, near a group boundary, a whole word before one (the
// pipelined forward then starts after a one-word head, mask out included), where the group's low counter
// word wraps (group 2^32 starts at 2^39), and near the end of the stream.
const std::uint64_t kOffsets[] = {0, 5, 127, 192, 1000003, (std::uint64_t{1} << 39) - 77};

std::vector<std::uint64_t> reference_mask_of(std::size_t n, double p, Stream s) {
  std::vector<std::uint64_t> m(mask_words(n));
  detail::reference_mask(m.data(), n, s.seed, s.offset, drop_threshold(p), s.generator);
  return m;
}

template <class T>
std::vector<T> with_specials(std::size_t n) {
  auto v = test_values<T>(n, 7);
  const T specials[] = {std::numeric_limits<T>::quiet_NaN(),
                        std::numeric_limits<T>::infinity(),
                        -std::numeric_limits<T>::infinity(),
                        T(-0.0),
                        T(0),
                        std::numeric_limits<T>::denorm_min(),
                        std::numeric_limits<T>::max()};
  for (std::size_t i = 0; i < n; i += 13) v[i] = specials[(i / 13) % 7];
  return v;
}

// Forward, in-place forward and both backward forms of every ISA path against one reference result.
template <class T>
void check_forward_backward(std::size_t n, double p, Stream s, std::size_t misalign) {
  const auto expected_mask = reference_mask_of(n, p, s);
  const std::vector<T> storage = with_specials<T>(n + misalign);
  const std::span<const T> x = std::span<const T>(storage).subspan(misalign, n);
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  std::vector<T> expected(n);
  detail::reference_apply(x.data(), expected.data(), expected_mask.data(), n, scale);

  for (Isa isa : tested_isas())
    for (bool stream : {false, true}) {
      IsaScope scope(isa);
      StreamScope streaming(stream ? 0 : SIZE_MAX);  // streaming stores (aligned y) and plain ones
      INFO("isa " << isa_name(isa) << " streaming " << stream);
      Misaligned<T> y_buffer(n, misalign, T(42));  // misalign 0: aligned, so every path's streaming stores run
      std::span<T> y = y_buffer.view;
      std::vector<std::uint64_t> mask(mask_words(n) + 1, 0xdeadbeefull);
      dropout_forward(x, y, p, s, std::span<std::uint64_t>(mask).first(mask_words(n)));
      REQUIRE(same_bits<T>(y, expected));
      REQUIRE(std::equal(expected_mask.begin(), expected_mask.end(), mask.begin()));
      REQUIRE(mask.back() == 0xdeadbeefull);  // words past mask_words(n) untouched

      std::vector<T> in_place(x.begin(), x.end());
      dropout_forward(std::span<const T>(in_place), std::span<T>(in_place), p, s);
      REQUIRE(same_bits<T>(in_place, expected));

      Misaligned<T> dx_buffer(n, 0, T(42));
      std::span<T> dx = dx_buffer.view;
      dropout_backward(x, std::span<const std::uint64_t>(expected_mask), dx, p);
      REQUIRE(same_bits<T>(dx, expected));
      std::fill(dx.begin(), dx.end(), T(42));
      dropout_backward(x, dx, p, s);
      REQUIRE(same_bits<T>(dx, expected));
    }
}

}  // namespace

TEST_CASE("the scalar reference is the definition: u_g assembled from bit-planes, dropped iff u_g < t", "[reference]") {
  const std::uint64_t seed = 0x5eed, group = 12345;
  std::uint32_t u[detail::kGroupLanes];
  detail::reference_group_uniforms(seed, group, detail::kDomainKeepMask, u);
  const auto key = detail::philox_key(seed);
  for (std::uint32_t lane : {0u, 1u, 31u, 32u, 77u, 127u}) {
    std::uint32_t expected = 0;
    for (std::uint32_t plane = 0; plane < 32; ++plane) {
      const auto w = detail::philox_4x32({static_cast<std::uint32_t>(group), 0, plane, 0}, key);
      expected = (expected << 1) | ((w[lane / 32] >> (lane % 32)) & 1u);
    }
    REQUIRE(u[lane] == expected);
    const std::uint64_t g = group * 128 + lane;
    CHECK(detail::reference_keep(seed, g, u[lane]));               // u == t: kept
    CHECK_FALSE(detail::reference_keep(seed, g, u[lane] + 1ull));  // u < t: dropped
  }
}

TEST_CASE("every ISA path makes the reference's mask", "[isa]") {
  const Generator generator = GENERATE(Generator::philox4x32_10, Generator::philox4x32_7, Generator::ars5);
  for (std::size_t size : kSizes)
    for (double p : kProbabilities)
      for (std::uint64_t offset : kOffsets) {
        const std::size_t n = capped_size(size);
        const Stream s{0x9e3779b97f4a7c15ull ^ n, offset, generator};
        const auto expected = reference_mask_of(n, p, s);
        for (Isa isa : tested_isas()) {
          IsaScope scope(isa);
          INFO("isa " << isa_name(isa) << " n " << n << " p " << p << " offset " << offset);
          REQUIRE(mask_of(n, p, s) == expected);
        }
      }
}

TEST_CASE("every ISA path matches the reference at thresholds equal to drawn uniforms (exact ties)", "[isa]") {
  // t = u exactly keeps that element and t = u + 1 drops it: all 32 bits of the comparison matter.
  const std::uint64_t seed = 99;
  std::uint32_t u[detail::kGroupLanes];
  detail::reference_group_uniforms(seed, 3, detail::kDomainKeepMask, u);
  for (Isa isa : tested_isas()) {
    IsaScope scope(isa);
    for (std::uint32_t lane = 0; lane < 128; lane += 9)
      for (std::uint64_t t : {std::uint64_t{u[lane]}, std::uint64_t{u[lane]} + 1}) {
        const double p = std::ldexp(static_cast<double>(t), -32);
        REQUIRE(drop_threshold(p) == t);
        const std::size_t n = 5000;
        INFO("isa " << isa_name(isa) << " t " << t);
        REQUIRE(mask_of(n, p, {seed, 17}) == reference_mask_of(n, p, {seed, 17}));
      }
  }
}

TEST_CASE("every ISA path matches the reference for forward and both backward forms", "[isa]") {
  for (std::size_t size : kSizes)
    for (double p : kProbabilities)
      for (std::size_t misalign : {0, 1, 3}) {
        const std::size_t n = capped_size(size);
        INFO("n " << n << " p " << p << " misalign " << misalign);
        check_forward_backward<float>(n, p, {n + 1, 1000 * misalign}, misalign);
        check_forward_backward<double>(n, p, {n + 1, 1000 * misalign}, misalign);
        check_forward_backward<float>(n, p, {n + 1, 1000 * misalign, Generator::philox4x32_7}, misalign);
        check_forward_backward<double>(n, p, {n + 1, 1000 * misalign, Generator::ars5}, misalign);
      }
}

TEST_CASE("the last elements of the stream are reachable", "[isa]") {
  const std::uint64_t end_offset = std::numeric_limits<std::uint64_t>::max() - 999;  // offset + n == 2^64
  for (Isa isa : tested_isas()) {
    IsaScope scope(isa);
    INFO("isa " << isa_name(isa));
    REQUIRE(mask_of(1000, 0.3, {4, end_offset}) == reference_mask_of(1000, 0.3, {4, end_offset}));
  }
}

TEST_CASE("dropped elements are +0.0 whatever x was, kept ones exactly x * scale", "[isa]") {
  for (Isa isa : tested_isas()) {
    IsaScope scope(isa);
    const std::size_t n = 4096;
    std::vector<float> x(n, std::numeric_limits<float>::quiet_NaN()), y(n);
    std::vector<std::uint64_t> mask(mask_words(n));
    dropout_forward(std::span<const float>(x), std::span<float>(y), 0.5, {1, 0}, mask);
    const auto kept = count_kept(mask);
    REQUIRE(kept > 0);
    REQUIRE(kept < n);
    for (std::size_t i = 0; i < n; ++i) {
      if (bit(mask, i))
        REQUIRE(std::isnan(y[i]));
      else
        REQUIRE(std::bit_cast<std::uint32_t>(y[i]) == 0u);
    }
  }
}

TEST_CASE("p == 0 is the identity and p == 1 gives +0.0 everywhere", "[isa]") {
  for (Isa isa : tested_isas()) {
    IsaScope scope(isa);
    const auto x = with_specials<double>(1000);
    std::vector<double> y(x.size());
    dropout_forward(std::span<const double>(x), std::span<double>(y), 0.0, {3, 0});
    REQUIRE(same_bits<double>(y, x));
    std::vector<std::uint64_t> mask(mask_words(x.size()));
    dropout_forward(std::span<const double>(x), std::span<double>(y), 1.0, {3, 0}, mask);
    for (double v : y) REQUIRE(std::bit_cast<std::uint64_t>(v) == 0u);
    REQUIRE(count_kept(mask) == 0);
  }
}
