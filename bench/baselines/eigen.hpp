// Idiomatic Eigen 3.4: Map over the buffers, a keep array built with NullaryExpr from a std::mt19937,
// the scale-select as one array expression. Single-threaded, as Eigen's element-wise code is.
#pragma once

#include <Eigen/Core>

#include <memory>
#include <random>

#include "harness.hpp"

namespace simdrop::bench {

template <class T>
std::optional<Prepared> make_eigen(Op op, Workload<T>& w) {
  if (op == Op::backward_regen) return std::nullopt;
  using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
  using KeepArray = Eigen::Array<bool, Eigen::Dynamic, 1>;
  struct State {
    std::mt19937 gen;
    std::bernoulli_distribution keep;
    KeepArray mask;
    void draw(Eigen::Index n) {
      mask = KeepArray::NullaryExpr(n, [this] { return keep(gen); });
    }
  };
  auto st = std::make_shared<State>(
      State{std::mt19937(static_cast<std::uint32_t>(w.seed)), std::bernoulli_distribution(1.0 - w.p), KeepArray(w.n)});
  const auto n = static_cast<Eigen::Index>(w.n);
  auto apply = [&w, st, n] {
    Eigen::Map<const Array> x(w.in.data(), n);
    Eigen::Map<Array> y(w.out.data(), n);
    y = st->mask.select(x * w.scale, T(0));
  };
  const double data_bytes = 2.0 * w.n * sizeof(T), mask_bytes = static_cast<double>(w.n);
  auto check_out = [&w] { return check_dropout(w, w.out.data()); };
  switch (op) {
    case Op::mask:
      return Prepared{[st, n] { st->draw(n); },
                      [&w, st] { return check_keep_count(static_cast<std::size_t>(st->mask.count()), w.n, w.p); },
                      mask_bytes, 1.0, "bool array"};
    case Op::forward:
      return Prepared{[st, n, apply] {
                        st->draw(n);
                        apply();
                      },
                      check_out, data_bytes + mask_bytes, 1.0, "bool array stored"};
    case Op::backward_mask:
      st->draw(n);
      return Prepared{apply, check_out, data_bytes + mask_bytes, 1.0, "from bool array"};
    default:
      return std::nullopt;
  }
}

}  // namespace simdrop::bench
