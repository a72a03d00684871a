// Idiomatic Eigen 3.4: Map over the buffers, a keep array built with NullaryExpr from a std::mt19937,
// the scale-select as one array expression. Single-threaded, as Eigen's element-wise code is. The 16-bit types
// are Eigen::bfloat16 / Eigen::half arrays over the same storage, scaled in float as mixed-precision Eigen code
// writes it: x.cast<float>() * scale, cast back.
#pragma once

#include <Eigen/Core>

#include <memory>
#include <random>

#include "harness.hpp"

namespace simdrop::bench {

// Eigen's scalar of the same bits as T.
template <class T>
struct EigenScalar {
  using type = T;
};
template <>
struct EigenScalar<bfloat16> {
  using type = Eigen::bfloat16;
};
template <>
struct EigenScalar<float16> {
  using type = Eigen::half;
};

template <class T>
std::optional<Prepared> make_eigen(Op op, Workload<T>& w) {
  if (op == Op::backward_regen) return std::nullopt;
  using E = typename EigenScalar<T>::type;
  static_assert(sizeof(E) == sizeof(T));
  using Array = Eigen::Array<E, Eigen::Dynamic, 1>;
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
    Eigen::Map<const Array> x(reinterpret_cast<const E*>(w.in.data()), n);
    Eigen::Map<Array> y(reinterpret_cast<E*>(w.out.data()), n);
    if constexpr (is_half_v<T>)
      y = st->mask.select((x.template cast<float>() * w.scale).template cast<E>(), E(0.0f));
    else
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
