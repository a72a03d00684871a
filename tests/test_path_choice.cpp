// The path choice never changes an output: every op gives the same bits under every forced path, under
// the calibrated choice, and under mixtures of paths per kind of work and size class.
#include <catch2/catch.hpp>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "runtime/dispatch.hpp"
#include "support.hpp"

using namespace simdrop;
using namespace simdrop::test;

namespace {

const Stream kStream{0xC0FFEE, 4242};
constexpr double kP = 0.3;

// Every op's outputs (forward with mask out, both backward forms, make_mask and the family) over x,
// concatenated as bits.
std::vector<std::uint64_t> all_outputs(const std::vector<float>& x) {
  const std::size_t n = x.size();
  std::vector<std::uint64_t> out;
  auto add = [&](const std::vector<float>& v) {
    for (float f : v) out.push_back(std::bit_cast<std::uint32_t>(f));
  };
  const std::span<const float> in(x);
  std::vector<float> y(n), dx(n);
  std::vector<std::uint64_t> mask(mask_words(n));
  dropout_forward(in, std::span<float>(y), kP, kStream, mask);
  add(y);
  out.insert(out.end(), mask.begin(), mask.end());
  dropout_backward(in, mask, std::span<float>(dx), kP);
  add(dx);
  dropout_backward(in, std::span<float>(dx), kP, kStream);
  add(dx);
  std::vector<std::uint64_t> made(mask_words(n));
  make_mask(made, n, kP, kStream);
  out.insert(out.end(), made.begin(), made.end());
  // channel (nchw, planes of n / 8 elements) and time-shared (8 steps of n / 8 columns); n is a multiple of 8
  std::vector<std::uint64_t> planes(1);
  channel_dropout_forward(in, std::span<float>(y), 2, 4, n / 8, Layout::nchw, kP, kStream, planes);
  add(y);
  shared_dropout_forward(in, std::span<float>(y), 8, n / 8, kP, kStream);
  add(y);
  alpha_dropout_forward(in, std::span<float>(y), kP, kStream, mask);
  add(y);
  gaussian_dropout_forward(in, std::span<float>(y), kP, kStream);
  add(y);
  const std::vector<float> bias(x.begin(), x.begin() + n / 8), residual(x.rbegin(), x.rend());
  bias_dropout_add_forward(in, bias, residual, std::span<float>(y), kP, kStream, mask);
  add(y);
  return out;
}

}  // namespace

TEST_CASE("the path choice never changes an output", "[runtime][reproducibility]") {
  // The cache class below 64 KiB of output and the memory class above it: both sizes run both classes'
  // choices (and, above it, streaming stores).
  StreamScope threshold(std::size_t{1} << 16);
  for (std::size_t n : {std::size_t{3000} * 8, std::size_t{12289} * 8}) {
    const std::vector<float> x = test_values<float>(n, 7);
    std::vector<std::uint64_t> expected;
    {
      IsaScope scalar(Isa::scalar);
      expected = all_outputs(x);
    }
    for (Isa isa : supported_isas()) {
      IsaScope forced(isa);
      INFO("forced " << isa_name(isa) << ", n = " << n);
      CHECK(all_outputs(x) == expected);
    }
    {
      IsaScope forced(supported_isas().back());  // leave any SIMDROP_ISA aside for the automatic runs
      set_isa_automatic();
      INFO("calibrated choice, n = " << n);
      CHECK(all_outputs(x) == expected);
      // Mixtures: each work kind and size class on a path drawn at random (fixed seed), ten times.
      std::mt19937 gen(11);
      const auto isas = supported_isas();
      for (int round = 0; round < 10; ++round) {
        std::string mix;
        for (Work w : {Work::mask, Work::fused, Work::apply, Work::gaussian})
          for (SizeClass c : {SizeClass::cache, SizeClass::memory}) {
            const Isa isa = isas[gen() % isas.size()];
            detail::set_choice(w, c, isa);
            mix += std::string(work_name(w)) + "/" + std::string(size_class_name(c)) + "=" +
                   std::string(isa_name(isa)) + " ";
          }
        INFO("mixture " << mix << "n = " << n);
        CHECK(all_outputs(x) == expected);
      }
      calibrate();  // the measured choice again for whatever runs next in this process
    }
  }
}

TEST_CASE("streaming stores only out of place and prefetching only beyond L2", "[runtime]") {
  // Outputs of the memory size class stream, except where the output is one of the inputs (it is in the
  // caches then, and streaming stores would only evict it); every input counts (bias-dropout-residual has two).
  StreamScope threshold(std::size_t{1} << 16);
  const float a[1] = {}, b[1] = {};
  const std::size_t big = std::size_t{1} << 16, small = big - 1;
  CHECK(detail::beyond_caches(big));
  CHECK_FALSE(detail::beyond_caches(small));
  CHECK(detail::use_streaming(big, a, {b}));
  CHECK_FALSE(detail::use_streaming(big, a, {a}));
  CHECK_FALSE(detail::use_streaming(big, a, {b, a}));
  CHECK_FALSE(detail::use_streaming(small, a, {b}));
  // The pipelined kernels prefetch where the output alone is larger than L2 (1 MiB where L2 is unknown).
  const std::size_t l2 = cache_sizes().l2 != 0 ? cache_sizes().l2 : std::size_t{1} << 20;
  CHECK_FALSE(detail::use_prefetch(l2));
  CHECK(detail::use_prefetch(l2 + 1));
}
