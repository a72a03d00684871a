// The dropout family against its stated definitions (family_support.hpp), on every ISA path, bit for
// bit: channel (both layouts), time-shared, alpha, Gaussian and bias-dropout-residual, forward and both
// backward forms, fp32 and fp64, with awkward shapes, misaligned buffers and stream offsets.
#include <catch2/catch.hpp>
#include <cmath>
#include <numbers>

#include "family_support.hpp"
#include "reference/normal.hpp"

using namespace simdrop;
using namespace simdrop::test;

namespace {

const Stream kStreams[] = {{0x5eed, 0}, {0xC0FFEE, 5}, {77, (std::uint64_t{1} << 39) - 77}};

template <class T>
std::vector<T> values(std::size_t n, std::uint32_t seed) {
  return test_values<T>(n, seed);
}

template <class T>
void check_channel(std::size_t batch, std::size_t channels, std::size_t spatial, Layout layout, double p, Stream s) {
  const std::size_t n = batch * channels * spatial, planes = batch * channels;
  const auto x = values<T>(n, 11);
  const auto expected = expected_channel<T>(x, batch, channels, spatial, layout, p, s);
  const auto expected_planes = reference_bits(planes, p, s);
  for (Isa isa : tested_isas())
    for (bool streaming : {false, true}) {
      IsaScope scope(isa);
      StreamScope stores(streaming ? 0 : SIZE_MAX);  // streaming stores (y aligned) or plain ones
      INFO("isa " << isa_name(isa) << " streaming " << streaming << " batch " << batch << " channels " << channels
                  << " spatial " << spatial << " layout " << (layout == Layout::nchw ? "nchw" : "nhwc") << " p " << p
                  << " offset " << s.offset);
      Misaligned<T> y(n, streaming ? 0 : 1, T(42));
      std::vector<std::uint64_t> mask(mask_words(planes) + 1, 0xdeadbeefull);
      channel_dropout_forward(std::span<const T>(x), y.view, batch, channels, spatial, layout, p, s,
                              std::span<std::uint64_t>(mask).first(mask_words(planes)));
      REQUIRE(same_bits<T>(y.view, expected));
      REQUIRE(std::equal(expected_planes.begin(), expected_planes.end(), mask.begin()));
      REQUIRE(mask.back() == 0xdeadbeefull);
      std::vector<T> dx(n, T(42));
      channel_dropout_backward(std::span<const T>(x), std::span<const std::uint64_t>(expected_planes), std::span<T>(dx),
                               batch, channels, spatial, layout, p);
      REQUIRE(same_bits<T>(dx, expected));
      std::vector<T> in_place(x);
      channel_dropout_backward(std::span<const T>(in_place), std::span<T>(in_place), batch, channels, spatial, layout,
                               p, s);
      REQUIRE(same_bits<T>(in_place, expected));
    }
}

}  // namespace

TEST_CASE("channel dropout drops the planes make_mask(batch * channels) drops, on every path", "[family][channel]") {
  struct Shape {
    std::size_t batch, channels, spatial;
  };
  // Planes shorter and longer than a word, channels below and above a SIMD batch, and a tensor larger
  // than a fused step and a oneTBB block.
  const Shape shapes[] = {{1, 1, 1},   {2, 3, 5},     {4, 3, 64},   {3, 7, 129}, {2, 64, 49},
                          {5, 130, 9}, {1, 2, 70000}, {8, 33, 997}, {300, 1, 1}, {2, 1000, 3}};
  for (const Shape& sh : shapes)
    for (Layout layout : {Layout::nchw, Layout::nhwc})
      for (double p : {0.0, 0.3, 0.9, 1.0}) {
        check_channel<float>(sh.batch, sh.channels, sh.spatial, layout, p, kStreams[1]);
        if (p == 0.3) {
          check_channel<double>(sh.batch, sh.channels, sh.spatial, layout, p, kStreams[2]);
          check_channel<float>(sh.batch, sh.channels, sh.spatial, layout, p, kStreams[0]);
        }
      }
}

TEST_CASE("channel dropout's layouts agree: nhwc is the transpose of nchw", "[family][channel]") {
  const std::size_t batch = 3, channels = 5, spatial = 77;
  const auto x = values<float>(batch * channels * spatial, 4);
  std::vector<float> x_nhwc(x.size()), y_nchw(x.size()), y_nhwc(x.size());
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t c = 0; c < channels; ++c)
      for (std::size_t h = 0; h < spatial; ++h)
        x_nhwc[(b * spatial + h) * channels + c] = x[(b * channels + c) * spatial + h];
  const Stream s{99, 12};
  channel_dropout_forward(std::span<const float>(x), std::span<float>(y_nchw), batch, channels, spatial, Layout::nchw,
                          0.5, s);
  channel_dropout_forward(std::span<const float>(x_nhwc), std::span<float>(y_nhwc), batch, channels, spatial,
                          Layout::nhwc, 0.5, s);
  std::size_t dropped_planes = 0;
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t c = 0; c < channels; ++c) {
      dropped_planes += y_nchw[(b * channels + c) * spatial] == 0.0f;
      for (std::size_t h = 0; h < spatial; ++h)
        REQUIRE(y_nhwc[(b * spatial + h) * channels + c] == y_nchw[(b * channels + c) * spatial + h]);
    }
  CHECK(dropped_planes > 0);
  CHECK(dropped_planes < batch * channels);
}

TEST_CASE("time-shared dropout applies make_mask(row) to every step, on every path", "[family][shared]") {
  struct Shape {
    std::size_t steps, row;
  };
  const Shape shapes[] = {{1, 1}, {3, 5}, {7, 64}, {5, 65}, {100, 3}, {2, 4099}, {33, 1000}, {1, 70000}, {4000, 17}};
  for (const Shape& sh : shapes)
    for (double p : {0.0, 0.25, 0.7, 1.0})
      for (const Stream& s : kStreams) {
        const std::size_t n = sh.steps * sh.row;
        const auto x = values<float>(n, 5);
        const auto xd = values<double>(n, 6);
        const auto expected = expected_shared<float>(x, sh.row, p, s);
        const auto expected_d = expected_shared<double>(xd, sh.row, p, s);
        const auto columns = reference_bits(sh.row, p, s);
        for (Isa isa : tested_isas()) {
          IsaScope scope(isa);
          INFO("isa " << isa_name(isa) << " steps " << sh.steps << " row " << sh.row << " p " << p);
          Misaligned<float> y(n, 3, 42.0f);
          std::vector<std::uint64_t> mask(mask_words(sh.row));
          shared_dropout_forward(std::span<const float>(x), y.view, sh.steps, sh.row, p, s, mask);
          REQUIRE(same_bits<float>(y.view, expected));
          REQUIRE(mask == columns);
          std::vector<float> dx(n);
          shared_dropout_backward(std::span<const float>(x), std::span<const std::uint64_t>(mask), std::span<float>(dx),
                                  sh.steps, sh.row, p);
          REQUIRE(same_bits<float>(dx, expected));
          std::vector<double> yd(n), dxd(n);
          shared_dropout_forward(std::span<const double>(xd), std::span<double>(yd), sh.steps, sh.row, p, s);
          REQUIRE(same_bits<double>(yd, expected_d));
          shared_dropout_backward(std::span<const double>(xd), std::span<double>(dxd), sh.steps, sh.row, p, s);
          REQUIRE(same_bits<double>(dxd, expected_d));
        }
      }
}

TEST_CASE("alpha dropout's coefficients are the formula's, and keep mean 0 and variance 1 exactly in theory",
          "[family][alpha]") {
  for (double p : {0.0, 0.05, 0.1, 0.3, 0.5, 0.9, 0.999}) {
    const AlphaCoefficients c = alpha_dropout_coefficients(p);
    const long double ap = kAlphaPrime, pl = p;
    const long double a = 1.0L / std::sqrt((1 - pl) * (1 + pl * ap * ap));
    CHECK(c.a == Approx(static_cast<double>(a)).epsilon(1e-14));
    CHECK(c.b == Approx(static_cast<double>(-a * ap * pl)).epsilon(1e-14).margin(1e-300));
    CHECK(c.dropped == Approx(static_cast<double>(a * ap - a * ap * pl)).epsilon(1e-13).margin(1e-15));
    // For x ~ N(0, 1): E[y] = q b + p (a alpha' + b) = 0 and E[y^2] = q (a^2 + b^2) + p (a alpha' + b)^2 = 1.
    const double q = 1 - p;
    CHECK(q * c.b + p * c.dropped == Approx(0).margin(1e-14));
    CHECK(q * (c.a * c.a + c.b * c.b) + p * c.dropped * c.dropped == Approx(1).epsilon(1e-13));
  }
  // p = 0 is the identity.
  const AlphaCoefficients id = alpha_dropout_coefficients(0);
  CHECK(id.a == 1.0);
  CHECK(id.b == 0.0);
}

TEST_CASE("alpha dropout: kept a x + b, dropped a alpha' + b, on every path, with both backward forms",
          "[family][alpha]") {
  for (std::size_t n : {0, 1, 63, 64, 65, 1000, 4099, 70001})
    for (double p : {0.0, 0.1, 0.5, 0.95})
      for (const Stream& s : kStreams) {
        const auto x = values<float>(n, 8);
        const auto xd = values<double>(n, 9);
        const auto expected = expected_alpha<float>(x, p, s);
        const auto expected_d = expected_alpha<double>(xd, p, s);
        const auto keep = reference_bits(n, p, s);
        const AlphaCoefficients c = alpha_dropout_coefficients(p);
        std::vector<float> expected_dx(n);
        for (std::size_t i = 0; i < n; ++i) expected_dx[i] = bit(keep, i) ? static_cast<float>(c.a) * x[i] : 0.0f;
        for (Isa isa : tested_isas())
          for (bool streaming : {false, true}) {
            IsaScope scope(isa);
            StreamScope stores(streaming ? 0 : SIZE_MAX);  // streaming stores (where y is aligned) or plain ones
            INFO("isa " << isa_name(isa) << " streaming " << streaming << " n " << n << " p " << p << " offset "
                        << s.offset);
            Misaligned<float> y(n, streaming ? 0 : 1, 42.0f);
            std::vector<std::uint64_t> mask(mask_words(n));
            alpha_dropout_forward(std::span<const float>(x), y.view, p, s, mask);
            REQUIRE(same_bits<float>(y.view, expected));
            REQUIRE(mask == keep);
            std::vector<double> yd(xd);
            alpha_dropout_forward(std::span<const double>(yd), std::span<double>(yd), p, s);  // in place
            REQUIRE(same_bits<double>(yd, expected_d));
            std::vector<float> dx(n, 42.0f);
            alpha_dropout_backward(std::span<const float>(x), std::span<const std::uint64_t>(keep),
                                   std::span<float>(dx), p);
            REQUIRE(same_bits<float>(dx, expected_dx));
            std::fill(dx.begin(), dx.end(), 42.0f);
            alpha_dropout_backward(std::span<const float>(x), std::span<float>(dx), p, s);
            REQUIRE(same_bits<float>(dx, expected_dx));
          }
      }
}

TEST_CASE("the normals are Box-Muller's of the stated words, to 3e-6", "[family][gaussian]") {
  // simdrop's own float log and sine/cosine against the C library's in double, on the same words and the
  // same float u1 = (float(wa) + 1/2) 2^-32: what remains is the polynomials' and float's error
  // (r = sqrt(-2 log u1) <= 6.8 with ~1e-7 relative error, and the angle quantised to 2 pi / 2^25).
  double worst = 0;
  for (Generator gen : {Generator::philox4x32_10, Generator::philox4x32_7, Generator::ars5})
    for (std::uint64_t g = 0; g < 40000; ++g) {
      const std::uint64_t seed = 0xFEED, pos = g * 104729 + (g % 7) * (std::uint64_t{1} << 40);
      const std::uint64_t block = pos / 4;
      const auto w = detail::generator_block(
          gen, {static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32), 0, 1}, seed);
      const std::size_t pair = (pos % 4) / 2;
      const float u1 = (static_cast<float>(w[2 * pair]) + 0.5f) * 0x1p-32f;
      const double angle = 2 * std::numbers::pi * (w[2 * pair + 1] * 0x1p-32);
      const double r = std::sqrt(-2 * std::log(double(u1)));
      const double libm = pos % 2 == 0 ? r * std::cos(angle) : r * std::sin(angle);
      const double z = detail::reference_normal(seed, pos, gen);
      worst = std::max(worst, std::abs(z - libm));
      REQUIRE(std::abs(z - libm) <= 3e-6);
    }
  INFO("largest difference " << worst);
  CHECK(worst > 0);  // the comparison did compare different computations
  // The extremes: word 0 gives the largest radius, sqrt(-2 log(2^-33)) = 6.7637 (the bound the API states),
  // at angle 0; the largest word gives radius 0; angles in every quadrant are right.
  float z_cos = 0, z_sin = 0;
  detail::normal_math::box_muller<detail::normal_math::ScalarOps>(0, 0, z_cos, z_sin);
  CHECK(z_cos == Approx(std::sqrt(-2 * std::log(0x1p-33))).epsilon(1e-6));
  CHECK(z_cos < 6.77f);
  CHECK(z_sin == 0.0f);
  for (std::uint32_t quadrant = 0; quadrant < 4; ++quadrant) {
    const std::uint32_t wb = (quadrant << 30) | 0x12345678u;
    detail::normal_math::box_muller<detail::normal_math::ScalarOps>(0x00012345u, wb, z_cos, z_sin);
    const double r = std::sqrt(-2 * std::log((0x00012345u + 0.5) * 0x1p-32));
    const double angle = 2 * std::numbers::pi * (wb * 0x1p-32);
    CHECK(z_cos == Approx(r * std::cos(angle)).margin(3e-6));
    CHECK(z_sin == Approx(r * std::sin(angle)).margin(3e-6));
  }
  detail::normal_math::box_muller<detail::normal_math::ScalarOps>(0xFFFFFFFFu, 0x9u, z_cos, z_sin);
  CHECK(z_cos == 0.0f);
  CHECK(z_sin == 0.0f);
}

TEST_CASE("gaussian dropout: y = x * (1 + sigma z), on every path and generator, forward and backward",
          "[family][gaussian]") {
  for (std::size_t n : {0, 1, 3, 5, 31, 32, 33, 64, 67, 1000, 4099, 20011})
    for (double p : {0.0, 0.1, 0.5, 0.9})
      for (const Stream& base : kStreams)
        for (Generator gen : {Generator::philox4x32_10, Generator::philox4x32_7, Generator::ars5}) {
          if (gen != Generator::philox4x32_10 && (n > 4099 || p == 0.9)) continue;  // the slow reference
          const Stream s{base.seed, base.offset, gen};
          const auto x = values<float>(n, 10);
          const auto xd = values<double>(n, 12);
          const auto expected = expected_gaussian<float>(x, p, s);
          const auto expected_d = expected_gaussian<double>(xd, p, s);
          for (Isa isa : tested_isas()) {
            IsaScope scope(isa);
            INFO("isa " << isa_name(isa) << " n " << n << " p " << p << " offset " << s.offset << " generator "
                        << static_cast<int>(gen));
            Misaligned<float> y(n, 1, 42.0f);
            gaussian_dropout_forward(std::span<const float>(x), y.view, p, s);
            REQUIRE(same_bits<float>(y.view, expected));
            std::vector<double> dxd(n, 42.0);
            gaussian_dropout_backward(std::span<const double>(xd), std::span<double>(dxd), p, s);
            REQUIRE(same_bits<double>(dxd, expected_d));
          }
        }
}

TEST_CASE("bias-dropout-residual: residual + (kept ? (x + bias) * scale : 0), with dx and dbias, on every path",
          "[family][bias_dropout_add]") {
  struct Shape {
    std::size_t rows, cols;
  };
  // Rows below and above a batch, a multiple of 64 columns (dbias fused with dx) or not, more than one
  // 256-row block of dbias partial sums.
  const Shape shapes[] = {{1, 1},    {3, 5},    {64, 1},    {7, 16},   {5, 17}, {9, 100},
                          {3, 1031}, {80, 768}, {2, 40000}, {600, 64}, {530, 7}};
  for (const Shape& sh : shapes)
    for (double p : {0.0, 0.1, 0.5, 1.0})
      for (const Stream& s : kStreams) {
        const std::size_t n = sh.rows * sh.cols;
        const auto x = values<float>(n, 13), residual = values<float>(n, 14), bias = values<float>(sh.cols, 15);
        const auto expected = expected_bias_dropout_add<float>(x, bias, residual, p, s);
        const auto keep = reference_bits(n, p, s);
        // Backward: dy = residual's values, dx = kept ? dy * scale : 0, dbias = column sums of dx.
        std::vector<float> expected_dx(n);
        detail::reference_apply(residual.data(), expected_dx.data(), keep.data(), n, scale_for<float>(p));
        const auto expected_dbias = expected_column_sums<float>(expected_dx, sh.cols);
        for (Isa isa : tested_isas())
          for (bool streaming : {false, true}) {
            IsaScope scope(isa);
            StreamScope stores(streaming ? 0 : SIZE_MAX);
            INFO("isa " << isa_name(isa) << " streaming " << streaming << " rows " << sh.rows << " cols " << sh.cols
                        << " p " << p);
            Misaligned<float> y(n, streaming ? 0 : 1, 42.0f);
            std::vector<std::uint64_t> mask(mask_words(n));
            bias_dropout_add_forward(std::span<const float>(x), std::span<const float>(bias),
                                     std::span<const float>(residual), y.view, p, s, mask);
            REQUIRE(same_bits<float>(y.view, expected));
            REQUIRE(mask == keep);
            std::vector<float> in_place(residual);  // residual += dropout(x + bias)
            bias_dropout_add_forward(std::span<const float>(x), std::span<const float>(bias),
                                     std::span<const float>(in_place), std::span<float>(in_place), p, s);
            REQUIRE(same_bits<float>(in_place, expected));

            std::vector<float> dx(n, 42.0f), dbias(sh.cols, 42.0f);
            bias_dropout_add_backward(std::span<const float>(residual), std::span<const std::uint64_t>(keep),
                                      std::span<float>(dx), std::span<float>(dbias), p);
            REQUIRE(same_bits<float>(dx, expected_dx));
            REQUIRE(same_bits<float>(dbias, expected_dbias));
            std::fill(dx.begin(), dx.end(), 42.0f), std::fill(dbias.begin(), dbias.end(), 42.0f);
            bias_dropout_add_backward(std::span<const float>(residual), std::span<float>(dx), std::span<float>(dbias),
                                      p, s);
            REQUIRE(same_bits<float>(dx, expected_dx));
            REQUIRE(same_bits<float>(dbias, expected_dbias));
          }
        if (n > 40000) continue;
        // fp64 on the default path, where dbias's blocked summation order shows in the last bits.
        const auto xd = values<double>(n, 16), rd = values<double>(n, 17), bd = values<double>(sh.cols, 18);
        std::vector<double> yd(n), dxd(n), dbiasd(sh.cols);
        bias_dropout_add_forward(std::span<const double>(xd), std::span<const double>(bd), std::span<const double>(rd),
                                 std::span<double>(yd), p, s);
        REQUIRE(same_bits<double>(yd, expected_bias_dropout_add<double>(xd, bd, rd, p, s)));
        bias_dropout_add_backward(std::span<const double>(rd), std::span<const std::uint64_t>(keep),
                                  std::span<double>(dxd), std::span<double>(dbiasd), p);
        REQUIRE(same_bits<double>(dbiasd, expected_column_sums<double>(dxd, sh.cols)));
      }
}
