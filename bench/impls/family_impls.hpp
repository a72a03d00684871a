// The dropout family through simdrop's public API (simdrop/family.hpp), on the shapes of family_shape().
// Masks are stored where the API offers it, as a training step keeps them for its backward pass.
#pragma once

#include <simdrop/simdrop.hpp>

#include <cmath>
#include <memory>

#include "harness.hpp"

namespace simdrop::bench {

template <class T>
std::optional<Prepared> make_simdrop_family(Op op, Workload<T>& w) {
  const FamilyShape sh = family_shape(w.n);
  const Stream s{w.seed, 0};
  const double data_bytes = 2.0 * w.n * sizeof(T);
  auto check = [op, &w] { return check_family(op, w, w.out.data()); };
  auto in = [&w] { return std::span<const T>(w.in); };
  auto out = [&w] { return std::span<T>(w.out); };
  switch (op) {
    case Op::channel: {
      auto bits = std::make_shared<Buffer<std::uint64_t>>(mask_words(sh.batch * sh.channels));
      return Prepared{[&w, sh, s, bits, in, out] {
                        channel_dropout_forward(in(), out(), sh.batch, sh.channels, sh.spatial, Layout::nchw, w.p, s,
                                                *bits);
                      },
                      check, data_bytes, 0.0, "plane mask stored (nchw)"};
    }
    case Op::shared: {
      auto bits = std::make_shared<Buffer<std::uint64_t>>(mask_words(sh.row));
      return Prepared{[&w, sh, s, bits, in, out] { shared_dropout_forward(in(), out(), sh.steps, sh.row, w.p, s, *bits); },
                      check, data_bytes, 0.0, "row mask stored"};
    }
    case Op::alpha: {
      auto bits = std::make_shared<Buffer<std::uint64_t>>(mask_words(w.n));
      return Prepared{[&w, s, bits, in, out] { alpha_dropout_forward(in(), out(), w.p, s, *bits); }, check,
                      data_bytes + w.n / 8.0, 1.0 / 8, "fused, bit mask stored"};
    }
    case Op::gaussian:
      return Prepared{[&w, s, in, out] { gaussian_dropout_forward(in(), out(), w.p, s); }, check, data_bytes, 0.0,
                      "fused, noise regenerated for backward"};
    case Op::bias_dropout_add: {
      w.prepare_residual();
      auto bits = std::make_shared<Buffer<std::uint64_t>>(mask_words(w.n));
      return Prepared{[&w, s, bits, in, out] {
                        bias_dropout_add_forward(in(), std::span<const T>(w.bias), std::span<const T>(w.residual),
                                                 out(), w.p, s, *bits);
                      },
                      check, 3.0 * w.n * sizeof(T) + w.n / 8.0, 1.0 / 8, "fused, bit mask stored"};
    }
    default:
      return std::nullopt;
  }
}

}  // namespace simdrop::bench
