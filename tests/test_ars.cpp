// ARS-5: the portable reference (a byte-wise AES round) against AES-NI and Random123's ars4x32_R(5) on x86, and
// against ARMv8's AES instructions (AESE, AESMC) on aarch64. This file is built with -maes on x86 and with
// -march=armv8-a+crypto on aarch64; the checks that execute AES instructions run where the CPU has them.
#include <catch2/catch.hpp>

#if defined(__x86_64__) || defined(__i386__)
#include <Random123/ars.h>
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

#include <random>

#include "reference/ars.hpp"

using simdrop::detail::ArsBlock;

#if defined(__x86_64__) || defined(__i386__)
TEST_CASE("ARS-5 agrees with Random123 (AES-NI) on random counters and keys", "[ars]") {
  if (!__builtin_cpu_supports("aes")) {
    WARN("this CPU has no AES-NI: the oracle cannot run; the ISA tests still hold every path to the reference");
    return;
  }
  std::mt19937 gen(5);
  auto next = [&] { return static_cast<std::uint32_t>(gen()); };
  r123::ARS4x32_R<5> oracle;
  for (int trial = 0; trial < 20000; ++trial) {
    const r123::ARS4x32_R<5>::ctr_type c = {{next(), next(), next(), next()}};
    const r123::ARS4x32_R<5>::key_type k = {{next(), next(), next(), next()}};
    const auto expected = oracle(c, k);
    const ArsBlock got = simdrop::detail::ars5({c.v[0], c.v[1], c.v[2], c.v[3]}, {k.v[0], k.v[1], k.v[2], k.v[3]});
    for (int w = 0; w < 4; ++w) REQUIRE(got[w] == expected.v[w]);
  }
}

TEST_CASE("the byte-wise AES round equals AESENC and AESENCLAST", "[ars]") {
  if (!__builtin_cpu_supports("aes")) {
    WARN("this CPU has no AES-NI: nothing to compare the byte-wise round with");
    return;
  }
  std::mt19937 gen(6);
  auto next = [&] { return static_cast<std::uint32_t>(gen()); };
  for (int trial = 0; trial < 20000; ++trial) {
    const ArsBlock s{next(), next(), next(), next()}, k{next(), next(), next(), next()};
    const __m128i sv = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data()));
    const __m128i kv = _mm_loadu_si128(reinterpret_cast<const __m128i*>(k.data()));
    for (bool last : {false, true}) {
      ArsBlock hw;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(hw.data()), last ? _mm_aesenclast_si128(sv, kv) : _mm_aesenc_si128(sv, kv));
      REQUIRE(simdrop::detail::aes_round(s, k, last) == hw);
    }
  }
}
#elif defined(__aarch64__)
TEST_CASE("the byte-wise AES round equals ARMv8's AESE and AESMC", "[ars]") {
  // AESE adds the round key first (then SubBytes and ShiftRows), AESENC last: AESENC(x, k) is
  // AESMC(AESE(x, 0)) ^ k and AESENCLAST(x, k) is AESE(x, 0) ^ k.
  if ((getauxval(AT_HWCAP) & HWCAP_AES) == 0) {
    WARN("this CPU has no AES instructions: nothing to compare the byte-wise round with");
    return;
  }
  std::mt19937 gen(6);
  auto next = [&] { return static_cast<std::uint32_t>(gen()); };
  for (int trial = 0; trial < 20000; ++trial) {
    const ArsBlock s{next(), next(), next(), next()}, k{next(), next(), next(), next()};
    const uint8x16_t sv = vreinterpretq_u8_u32(vld1q_u32(s.data()));
    const uint8x16_t kv = vreinterpretq_u8_u32(vld1q_u32(k.data()));
    for (bool last : {false, true}) {
      uint8x16_t t = vaeseq_u8(sv, vdupq_n_u8(0));
      if (!last) t = vaesmcq_u8(t);
      ArsBlock hw;
      vst1q_u32(hw.data(), vreinterpretq_u32_u8(veorq_u8(t, kv)));
      REQUIRE(simdrop::detail::aes_round(s, k, last) == hw);
    }
  }
}
#endif

TEST_CASE("the byte-wise AES round matches FIPS-197's first round", "[ars]") {
  // FIPS-197 appendix B: after SubBytes, ShiftRows and MixColumns of round 1 the state is
  // 04 66 81 e5 e0 cb 19 9a 48 f8 d3 7a 28 06 26 4c (input 19 3d e3 be a0 f4 e2 2b 9a c6 8d 2a e9 f8 48 08).
  // With a zero round key, AESENC gives exactly that state.
  const std::uint8_t in[16] = {0x19, 0x3d, 0xe3, 0xbe, 0xa0, 0xf4, 0xe2, 0x2b,
                               0x9a, 0xc6, 0x8d, 0x2a, 0xe9, 0xf8, 0x48, 0x08};
  const std::uint8_t expected[16] = {0x04, 0x66, 0x81, 0xe5, 0xe0, 0xcb, 0x19, 0x9a,
                                     0x48, 0xf8, 0xd3, 0x7a, 0x28, 0x06, 0x26, 0x4c};
  ArsBlock s{}, e{};
  for (int i = 0; i < 16; ++i) {
    s[i / 4] |= std::uint32_t{in[i]} << (8 * (i % 4));
    e[i / 4] |= std::uint32_t{expected[i]} << (8 * (i % 4));
  }
  CHECK(simdrop::detail::aes_round(s, {0, 0, 0, 0}, false) == e);
}
