#include "harness.hpp"

#include <cmath>
#include <limits>
#include <sstream>

namespace simdrop::bench {

const char* op_name(Op op) {
  switch (op) {
    case Op::mask:
      return "mask";
    case Op::forward:
      return "forward";
    case Op::backward_mask:
      return "backward_mask";
    case Op::backward_regen:
      return "backward_regen";
  }
  return "?";
}

const char* dtype_name(Dtype d) { return d == Dtype::f32 ? "f32" : "f64"; }

std::string Case::name() const {
  std::ostringstream s;
  s << op_name(op) << '/' << impl;
  if (op != Op::mask) s << '/' << dtype_name(dtype);
  s << "/n:" << n << "/p:" << p_percent << "/threads:" << threads;
  return s.str();
}

template <class T>
Workload<T>::Workload(std::size_t n_, double p_, int threads_)
    : n(n_), p(p_), threads(threads_), scale(static_cast<T>(1.0 / (1.0 - p_))), in(n_), out(n_) {
  // splitmix64 per index: fast for 256 MiB arrays, and the same values whatever the size.
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const T magnitude = T(0.125) + T(1.875) * static_cast<T>(z >> 11) * static_cast<T>(0x1p-53);
    in[i] = (z & 1u) ? magnitude : -magnitude;
  }
}

namespace {
Check keep_stats(double kept, double n, double p) {
  Check c;
  c.has_stats = true;
  const double q = 1 - p;
  c.keep_fraction = kept / n;
  c.keep_z = (kept - n * q) / std::sqrt(n * p * q);
  if (!(std::abs(c.keep_z) <= 6.0)) {
    std::ostringstream s;
    s << "keep fraction " << c.keep_fraction << " is " << c.keep_z << " sigma from " << q;
    c.error = s.str();
  }
  return c;
}
}  // namespace

Check check_keep_count(std::size_t kept, std::size_t n, double p) {
  return keep_stats(static_cast<double>(kept), static_cast<double>(n), p);
}

template <class T>
Check check_dropout(const Workload<T>& w, const T* out) {
  const T tolerance = 4 * std::numeric_limits<T>::epsilon();
  std::size_t kept = 0;
  double sum_x = 0, sum_y = 0, sum_x2 = 0, sum_x4 = 0, sum_d2 = 0;
  for (std::size_t i = 0; i < w.n; ++i) {
    const T x = w.in[i], y = out[i];
    if (y != T(0)) {
      ++kept;
      const T expected = x * w.scale;
      if (!(std::abs(y - expected) <= tolerance * std::abs(expected))) {
        Check c;
        std::ostringstream s;
        s << "element " << i << ": kept value " << y << " is not x * scale = " << expected;
        c.error = s.str();
        return c;
      }
    }  // a dropped value is 0 (PyTorch's multiply gives -0.0 for negative x; simdrop's +0.0 is tested in tests/)
    const double x2 = double(x) * x;
    sum_x += x, sum_y += y, sum_x2 += x2, sum_x4 += x2 * x2, sum_d2 += (double(y) - x) * (double(y) - x);
  }
  Check c = keep_stats(static_cast<double>(kept), static_cast<double>(w.n), w.p);
  // E[y_i] = x_i and Var[y_i] = x_i^2 p / q: the sum of y is within a few sd = sqrt(sum x^2 p/q) of sum x.
  const double var = sum_x2 * w.p / (1 - w.p);
  c.mean_z = var > 0 ? (sum_y - sum_x) / std::sqrt(var) : 0;
  c.var_ratio = var > 0 ? sum_d2 / var : 1;
  // d = y - x is x p/q (kept, prob. q) or -x (dropped, prob. p): E[d^2] = x^2 p/q and
  // Var[d^2] = x^4 (p^4/q^3 + p - p^2/q^2), so the sum of d^2 has a z-score against its expectation.
  const double p = w.p, q = 1 - w.p;
  const double var_d2 = q > 0 ? sum_x4 * (p * p * p * p / (q * q * q) + p - p * p / (q * q)) : 0;
  c.var_z = var_d2 > 0 ? (sum_d2 - var) / std::sqrt(var_d2) : 0;
  if (c.error.empty() && !(std::abs(c.mean_z) <= 6.0))
    c.error = "output mean is " + std::to_string(c.mean_z) + " sigma from the input's";
  if (c.error.empty() && !(std::abs(c.var_z) <= 6.0))
    c.error = "output variance is " + std::to_string(c.var_z) + " sigma from x^2 p/(1-p)";
  return c;
}

template <class T>
Check check_copy(const Workload<T>& w, const T* out) {
  for (std::size_t i = 0; i < w.n; ++i)
    if (out[i] != w.in[i] * w.scale) return Check{"element " + std::to_string(i) + ": copy is not x * scale"};
  return {};
}

template struct Workload<float>;
template struct Workload<double>;
template Check check_dropout(const Workload<float>&, const float*);
template Check check_dropout(const Workload<double>&, const double*);
template Check check_copy(const Workload<float>&, const float*);
template Check check_copy(const Workload<double>&, const double*);

}  // namespace simdrop::bench
