// The code a person writes first: std::mt19937 + std::bernoulli_distribution, one element at a time,
// scalar, single-threaded, a byte per element of mask. The 16-bit types go through simdrop's converters
// element by element: widen, multiply in float, narrow.
#pragma once

#include <memory>
#include <random>

#include "harness.hpp"

namespace simdrop::bench {

template <class T>
std::optional<Prepared> make_naive(Op op, Workload<T>& w) {
  struct State {
    std::mt19937 gen;
    std::bernoulli_distribution keep;
    Buffer<std::uint8_t> mask;
  };
  auto st = std::make_shared<State>(State{std::mt19937(static_cast<std::uint32_t>(w.seed)),
                                          std::bernoulli_distribution(1.0 - w.p), Buffer<std::uint8_t>(w.n)});
  const double data_bytes = 2.0 * w.n * sizeof(T), mask_bytes = static_cast<double>(w.n);
  auto check_out = [&w] { return check_dropout(w, w.out.data()); };
  switch (op) {
    case Op::mask:
      return Prepared{[&w, st] {
                        for (std::size_t i = 0; i < w.n; ++i) st->mask[i] = st->keep(st->gen);
                      },
                      [&w, st] {
                        std::size_t kept = 0;
                        for (auto m : st->mask) kept += m;
                        return check_keep_count(kept, w.n, w.p);
                      },
                      mask_bytes, 1.0, "byte mask"};
    case Op::forward:
      return Prepared{[&w, st] {
                        for (std::size_t i = 0; i < w.n; ++i) {
                          st->mask[i] = st->keep(st->gen);
                          w.out[i] = st->mask[i] ? narrow<T>(widen(w.in[i]) * w.scale) : T{};
                        }
                      },
                      check_out, data_bytes + mask_bytes, 1.0, "byte mask stored"};
    case Op::backward_mask:
      for (std::size_t i = 0; i < w.n; ++i) st->mask[i] = st->keep(st->gen);
      return Prepared{[&w, st] {
                        for (std::size_t i = 0; i < w.n; ++i) w.out[i] = st->mask[i] ? narrow<T>(widen(w.in[i]) * w.scale) : T{};
                      },
                      check_out, data_bytes + mask_bytes, 1.0, "from byte mask"};
    case Op::backward_regen:
      // Regenerating means reseeding the generator with the forward's seed and drawing again.
      return Prepared{[&w, st] {
                        st->gen.seed(static_cast<std::uint32_t>(w.seed));
                        st->keep.reset();
                        for (std::size_t i = 0; i < w.n; ++i)
                          w.out[i] = st->keep(st->gen) ? narrow<T>(widen(w.in[i]) * w.scale) : T{};
                      },
                      check_out, data_bytes, 0.0, "generator reseeded"};
  }
  return std::nullopt;
}

}  // namespace simdrop::bench
