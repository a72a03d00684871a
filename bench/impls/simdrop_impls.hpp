// simdrop through its public API: fused (`simdrop`; `simdrop_philox7` and `simdrop_ars5` with the
// Philox4x32-7 and ARS-5 stream options; `simdrop_<isa>` is make_simdrop with the harness forcing one ISA
// path) and as separate mask and apply passes (`simdrop_unfused`, to show what fusion buys), plus a test-only
// wrong kernel (`broken_keep_all`) that the validation must reject.
#pragma once

#include <simdrop/simdrop.hpp>

#include <bit>
#include <memory>

#include "harness.hpp"

namespace simdrop::bench {

template <class T, Generator G = Generator::philox4x32_10>
std::optional<Prepared> make_simdrop(Op op, Workload<T>& w) {
  // The stored-mask backward pass does not draw random numbers: one generator covers it.
  if (G != Generator::philox4x32_10 && op == Op::backward_mask) return std::nullopt;
  auto bits = std::make_shared<Buffer<std::uint64_t>>(mask_words(w.n));
  const Stream s{w.seed, 0, G};
  const double data_bytes = 2.0 * w.n * sizeof(T), mask_bytes = w.n / 8.0;
  auto check_out = [&w] { return check_dropout(w, w.out.data()); };
  switch (op) {
    case Op::mask:
      return Prepared{[&w, bits, s] { make_mask(*bits, w.n, w.p, s); },
                      [&w, bits] {
                        std::size_t kept = 0;
                        for (auto word : *bits) kept += static_cast<std::size_t>(std::popcount(word));
                        return check_keep_count(kept, w.n, w.p);
                      },
                      mask_bytes, 1.0 / 8, "bit mask"};
    case Op::forward:
      return Prepared{[&w, bits, s] { dropout_forward(std::span<const T>(w.in), std::span<T>(w.out), w.p, s, *bits); },
                      check_out, data_bytes + mask_bytes, 1.0 / 8, "fused, bit mask stored"};
    case Op::backward_mask:
      make_mask(*bits, w.n, w.p, s);
      return Prepared{[&w, bits] {
                        dropout_backward(std::span<const T>(w.in), std::span<const std::uint64_t>(*bits),
                                         std::span<T>(w.out), w.p);
                      },
                      check_out, data_bytes + mask_bytes, 1.0 / 8, "from bit mask"};
    case Op::backward_regen:
      return Prepared{[&w, s] { dropout_backward(std::span<const T>(w.in), std::span<T>(w.out), w.p, s); }, check_out,
                      data_bytes, 0.0, "fused, mask regenerated"};
  }
  return std::nullopt;
}

template <class T>
std::optional<Prepared> make_simdrop_unfused(Op op, Workload<T>& w) {
  if (op != Op::forward && op != Op::backward_regen) return std::nullopt;
  auto bits = std::make_shared<Buffer<std::uint64_t>>(mask_words(w.n));
  const Stream s{w.seed, 0};
  // The whole mask is written, then read back by the apply pass.
  return Prepared{[&w, bits, s] {
                    make_mask(*bits, w.n, w.p, s);
                    dropout_backward(std::span<const T>(w.in), std::span<const std::uint64_t>(*bits),
                                     std::span<T>(w.out), w.p);
                  },
                  [&w] { return check_dropout(w, w.out.data()); }, 2.0 * w.n * sizeof(T) + 2 * (w.n / 8.0),
                  op == Op::forward ? 1.0 / 8 : 0.0, "mask pass, then apply pass"};
}

// Test only (registered with --include_broken): keeps every element, which validation must reject.
template <class T>
std::optional<Prepared> make_broken_keep_all(Op op, Workload<T>& w) {
  if (op != Op::forward) return std::nullopt;
  return Prepared{[&w] {
                    for (std::size_t i = 0; i < w.n; ++i) w.out[i] = narrow<T>(widen(w.in[i]) * w.scale);
                  },
                  [&w] { return check_dropout(w, w.out.data()); }, 2.0 * w.n * sizeof(T), 0.0, "wrong on purpose"};
}

}  // namespace simdrop::bench
