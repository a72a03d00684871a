// The runner: one decoded case run through the library and held to the scalar path, to itself split in two,
// to the documented definitions and to the other backward form (run_typed), or make_mask's own checks.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "calls.hpp"
#include "compare.hpp"
#include "float16_ties.hpp"  // tests/: an x86 emulator's float16 rounding
#include "validity.hpp"
#include "values.hpp"

namespace simdrop::fuzz {

// ---- One typed case ------------------------------------------------------------------------------------

template <class T>
Data<T> make_data(const Case& c) {
  Data<T> d;
  uint64_t state = c.value_seed * 0x2545F4914F6CDD1Dull + static_cast<uint64_t>(c.value_mode);
  const size_t n = c.shape.n;
  d.in = make_values<T>(n, c.value_mode, state);
  if (c.tail != nullptr && n != 0) std::memcpy(d.in.data(), c.tail, std::min(c.tail_size, n * sizeof(T)));
  if (takes_bias_and_residual(c.op)) {
    d.res = make_values<T>(n, c.value_mode, state);
    d.bias = make_values<T>(c.shape.b, c.value_mode, state);
  }
  if (kOps[c.op].mask == MaskRole::in_required) {
    const size_t bits = mask_bits(c.op, c.shape);
    d.mask_in.resize(simdrop::mask_words(bits));
    const bool can_generate = !p_invalid(kMakeMask, c.p) && !stream_bad(c.s, bits);
    if (c.random_mask || !can_generate) {
      for (auto& w : d.mask_in) w = splitmix(state);
    } else {
      d.mask_in = mask_of(bits, c.p, c.s);
      d.mask_generated = true;
    }
  }
  return d;
}

inline Arrangement main_layout(const Case& c) {
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
  if (L.bad == Bad::overlap_mask && kOps[c.op].mask == MaskRole::none && !writes_dbias(c.op))
    L.bad = Bad::overlap_io;
  if (L.bad == Bad::overlap_io || L.bad == Bad::overlap_mask) L.in_place = false;
  return L;
}

inline Arrangement reference_layout(const Case& c) {
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
  const bool out_on_x = L.in_place && !(takes_bias_and_residual(c.op) && L.bda_on_residual);
  const bool out_on_res = L.in_place && takes_bias_and_residual(c.op) && L.bda_on_residual;
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
  const MaskRole role = kOps[c.op].mask;
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
  const bool nan_ok = kOps[c.op].variant == Variant::bias_dropout_add;

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
  else if (kOps[c.op].variant != Variant::gaussian)
    keep = mask_of(bits, c.p, c.s);
  if (mask_out) {
    compare_words("the forward's mask against make_mask", mask_words_out, keep);
    check_mask_tail("the forward's mask", mask_words_out, bits);
  }
  if (kOps[c.op].variant == Variant::gaussian) {
    // y = x * e with fp32's e (computed here as the output for x = 1), and backward == forward.
    std::vector<float> ones(n, 1.0f), e(n);
    {
      simdrop::ScopedIsa fast(g_isas.back());
      simdrop::gaussian_dropout_forward(std::span<const float>(ones), std::span<float>(e), c.p, c.s);
    }
    std::vector<T> want(n);
    for (size_t i = 0; i < n; ++i) want[i] = narrow<T>(widen(d.in[i]) * static_cast<compute_t<T>>(e[i]));
    compare<T>("the output against x * e (fp32's e)", out, want, /*nan_ok=*/true);
    std::vector<T> other(n);
    const size_t twin = find_op(Variant::gaussian, kOps[c.op].direction == Direction::forward
                                                       ? Direction::backward_regenerated
                                                       : Direction::forward);
    View<T> v;
    v.in = d.in;
    v.out = other;
    invoke<T>(twin, v, c.shape, c.p, c.s);
    compare<T>("gaussian forward against backward", out, other, false);
    return;
  }
  check_definition<T>(c, d.in, out, dbias, keep, d);

  // 4. Backward from the stored mask == backward regenerated from the stream.
  const std::optional<size_t> twin = detail::counterpart(c.op);
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

inline void run_make_mask(const Case& c) {
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
    simdrop::make_mask(std::span<uint64_t>(two).subspan(k / 64), n - k, c.p,
                       Stream{c.s.seed, c.s.offset + k, c.s.generator});
    compare_words("make_mask split at a multiple of 64", got, two);
  }
  // The effective drop probability: each bit is a decision with threshold drop_threshold(p); p = 0 keeps all,
  // a threshold of 2^32 drops all.
  const uint64_t t = simdrop::drop_threshold(c.p);
  if (t == 0 || t == (uint64_t{1} << 32))
    for (size_t i = 0; i < n; ++i)
      if (bit(got, i) != (t == 0)) fail("make_mask: p with threshold 0 or 2^32 did not keep all / drop all");
}


}  // namespace simdrop::fuzz
