#include "harness.hpp"

#include <simdrop/simdrop.hpp>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace simdrop::bench {

FamilyShape family_shape(std::size_t n) {
  FamilyShape s{};
  s.spatial = std::max<std::size_t>(1, std::min<std::size_t>(n, 1024));
  s.channels = std::max<std::size_t>(1, std::min<std::size_t>(64, n / s.spatial));
  s.batch = n / (s.channels * s.spatial);
  s.row = s.cols = s.spatial;
  s.steps = s.rows = n / s.row;
  return s;
}

const char* dtype_name(Dtype d) {
  const char* name = "?";
  with_dtype(d, [&]<class T>(std::type_identity<T>) { name = element_name<T>(); });
  return name;
}

std::size_t dtype_bytes(Dtype d) {
  std::size_t bytes = 0;
  with_dtype(d, [&]<class T>(std::type_identity<T>) { bytes = sizeof(T); });
  return bytes;
}

std::string ops_context() {
  std::string s;
  for (std::size_t k = 0; k < kTimedOpIndices.size(); ++k) {
    const Op op = static_cast<Op>(k);
    s += (s.empty() ? "" : ",") + std::string(op_name(op)) +
         (op_info(op).variant == detail::Variant::dropout ? ":core" : ":family");
  }
  return s;
}

std::string dtypes_context() {
  std::string s;
  for (Dtype d : kDtypes) s += (s.empty() ? "" : ",") + std::string(dtype_name(d));
  return s;
}

std::string Case::name() const {
  std::ostringstream s;
  s << op_name(op) << '/' << impl;
  if (op != Op::mask) s << '/' << dtype_name(dtype);
  s << "/n:" << n << "/p:" << p_percent << "/threads:" << threads;
  return s.str();
}

template <class T>
std::shared_ptr<const Buffer<T>> input_values(std::size_t n) {
  // The sizes used last first: the grid alternates between two sizes (in cache and DRAM), and two kept per type
  // cost at most two 256 MiB arrays. Called from the benchmark's main thread only.
  static std::vector<std::shared_ptr<const Buffer<T>>> kept;
  for (auto it = kept.begin(); it != kept.end(); ++it)
    if ((*it)->size() == n) {
      std::rotate(kept.begin(), it, it + 1);
      return kept.front();
    }
  auto values = std::make_shared<Buffer<T>>(n);
  // splitmix64 per index: fast for 256 MiB arrays, and the same values whatever the size.
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 1 << 16), [&](const tbb::blocked_range<std::size_t>& r) {
    for (std::size_t i = r.begin(); i != r.end(); ++i) {
      std::uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ull;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      z ^= z >> 31;
      // Computed in compute_t<T> (T itself for fp32 and fp64) and rounded once to T.
      using W = compute_t<T>;
      const W unit = static_cast<W>(static_cast<std::int64_t>(z >> 11)) * static_cast<W>(0x1p-53);
      const W magnitude = W(0.125) + W(1.875) * unit;
      (*values)[i] = narrow<T>((z & 1u) ? magnitude : -magnitude);
    }
  });
  kept.insert(kept.begin(), values);
  if (kept.size() > 2) kept.pop_back();
  return values;
}

template <class T>
Workload<T>::Workload(std::size_t n_, double p_, int threads_)
    : n(n_),
      p(p_),
      threads(threads_),
      scale(scale_of<T>(p_)),
      input(input_values<T>(n_)),
      in(*input),
      out(n_) {}

// The same values as `in` from other points of the splitmix sequence.
template <class T>
void Workload<T>::prepare_residual() {
  if (n == 0 || !residual.empty()) return;
  const FamilyShape shape = family_shape(n);
  residual.resize(n);
  bias.resize(shape.cols);
  for (std::size_t i = 0; i < n; ++i) residual[i] = in[(i * 7 + 3) % n];
  for (std::size_t c = 0; c < shape.cols; ++c) bias[c] = narrow<T>(widen(in[(c * 13 + 5) % n]) * compute_t<T>(0.5));
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

namespace {
// check_dropout's sums over a range of elements, and the first element whose kept value is wrong (or the
// range's end).
struct DropoutSums {
  std::size_t kept = 0, first_wrong = 0;
  double x = 0, y = 0, x2 = 0, x4 = 0, d2 = 0;
};
}  // namespace

template <class T>
Check check_dropout(const Workload<T>& w, const T* out) {
  using W = compute_t<T>;
  const double tolerance = 4 * epsilon<T>();
  // Sums per chunk of 64 Ki elements, on the caller's threads, added in chunk order: the same sums whatever the
  // threads.
  constexpr std::size_t kChunk = std::size_t{1} << 16;
  std::vector<DropoutSums> chunks((w.n + kChunk - 1) / kChunk);
  const T* in = w.in.data();
  const W scale = w.scale;
  tbb::parallel_for(std::size_t{0}, chunks.size(), [&](std::size_t c) {
    const std::size_t end = std::min(w.n, (c + 1) * kChunk);
    DropoutSums s;
    s.first_wrong = end;
    for (std::size_t i = c * kChunk; i < end; ++i) {
      // A dropped value is 0 (PyTorch's multiply gives -0.0 for negative x; simdrop's +0.0 is tested in tests/).
      // The expected value is simdrop's definition: x * scale computed in W and rounded once to T.
      const W x = widen(in[i]), y = widen(out[i]), expected = widen(narrow<T>(x * scale));
      const bool kept = y != W(0);
      s.kept += kept;
      if (kept && !(std::abs(double(y) - double(expected)) <= tolerance * std::abs(double(expected))))
        s.first_wrong = std::min(s.first_wrong, i);
      const double x2 = double(x) * x;
      s.x += x, s.y += y, s.x2 += x2, s.x4 += x2 * x2, s.d2 += (double(y) - x) * (double(y) - x);
    }
    chunks[c] = s;
  });
  std::size_t kept = 0;
  double sum_x = 0, sum_y = 0, sum_x2 = 0, sum_x4 = 0, sum_d2 = 0;
  for (std::size_t c = 0; c < chunks.size(); ++c) {
    const DropoutSums& s = chunks[c];
    if (s.first_wrong < std::min(w.n, (c + 1) * kChunk)) {
      const std::size_t i = s.first_wrong;
      std::ostringstream m;
      m << "element " << i << ": kept value " << widen(out[i]) << " is not x * scale = "
        << widen(narrow<T>(widen(w.in[i]) * w.scale));
      return Check{m.str()};
    }
    kept += s.kept, sum_x += s.x, sum_y += s.y, sum_x2 += s.x2, sum_x4 += s.x4, sum_d2 += s.d2;
  }
  Check c = keep_stats(static_cast<double>(kept), static_cast<double>(w.n), w.p);
  const double p = w.p, q = 1 - w.p;
  // With a kept element scaled by s: E[y_i] = q s x_i, which is x_i for the exact s = 1/q, so the sum of y is within
  // a few sd = sqrt(sum x^2 p/q) of sum x. d = y - x is x (s - 1) (kept, prob. q) or -x (dropped, prob. p): with
  // a = (s - 1)^2, E[d^2] = x^2 (q a + p) (x^2 p/q for s = 1/q) and Var[d^2] = x^4 (q a^2 + p - (q a + p)^2), so
  // the sum of d^2 has a z-score against its expectation. Both z-scores are taken at the exact scale and at the
  // scale rounded to T, and the smaller |z| kept (for fp32 and fp64 the two scales are the same).
  const double var = sum_x2 * p / q;
  c.mean_z = var > 0 ? (sum_y - sum_x) / std::sqrt(var) : 0;
  c.var_ratio = var > 0 ? sum_d2 / var : 1;
  auto var_z_at = [&](double s) {
    const double a = (s - 1) * (s - 1), e_d2 = q * a + p, e_d4 = q * a * a + p;
    const double var_d2 = sum_x4 * (e_d4 - e_d2 * e_d2);
    return var_d2 > 0 ? (sum_d2 - sum_x2 * e_d2) / std::sqrt(var_d2) : 0;
  };
  auto mean_z_at = [&](double s) { return var > 0 ? (sum_y - q * s * sum_x) / std::sqrt(var) : 0; };
  const double exact = q > 0 ? 1 / q : 1, rounded = widen(narrow<T>(static_cast<W>(exact)));
  c.var_z = var_z_at(exact);
  if (std::abs(var_z_at(rounded)) < std::abs(c.var_z)) c.var_z = var_z_at(rounded);
  if (std::abs(mean_z_at(rounded)) < std::abs(c.mean_z)) c.mean_z = mean_z_at(rounded);
  if (c.error.empty() && !(std::abs(c.mean_z) <= 6.0))
    c.error = "output mean is " + std::to_string(c.mean_z) + " sigma from the input's";
  if (c.error.empty() && !(std::abs(c.var_z) <= 6.0))
    c.error = "output variance is " + std::to_string(c.var_z) + " sigma from x^2 p/(1-p)";
  return c;
}

template <class T>
Check check_floor(const Workload<T>& w, const T* out, compute_t<T> factor, const T* residual) {
  for (std::size_t i = 0; i < w.n; ++i) {
    bool right;
    if constexpr (is_half_v<T>)  // the floor moves bits: a copy, or the 16-bit integer sum of the bits
      right = out[i].bits == (residual ? static_cast<std::uint16_t>(w.in[i].bits + residual[i].bits)
                                       : factor == 1 ? w.in[i].bits : narrow<T>(widen(w.in[i]) * factor).bits);
    else
      right = out[i] == (residual ? w.in[i] + residual[i] : w.in[i] * factor);
    if (!right) return Check{"element " + std::to_string(i) + (residual ? ": not x + residual" : ": not x * factor")};
  }
  return {};
}

namespace {

// |got - want| within 4 ulp of T relative to scale_of_error, in double (got and want widened).
template <class T>
bool near(T got, double want, double scale_of_error) {
  return std::abs(double(widen(got)) - want) <= 4 * epsilon<T>() * scale_of_error;
}

std::string element_error(std::size_t i, const std::string& what) {
  return "element " + std::to_string(i) + ": " + what;
}

}  // namespace

template <class T>
Check check_family(Op op, const Workload<T>& w, const T* out) {
  using W = compute_t<T>;
  const FamilyShape sh = family_shape(w.n);
  const T* x = w.in.data();
  // The values simdrop's definition gives: the expression in W on widened inputs, rounded once to T.
  auto value = [](W v) { return double(widen(narrow<T>(v))); };
  auto is_zero = [](T v) { return widen(v) == W(0); };
  std::size_t kept = 0;
  switch (op) {
    case Op::channel:  // nchw: plane k is elements [k spatial, (k + 1) spatial)
    case Op::shared: {  // column j is elements j, j + row, ...
      const bool planes = op == Op::channel;
      const std::size_t groups = planes ? sh.batch * sh.channels : sh.row;
      // Each group's keep bit from its first element, then every element in memory order (a column-wise walk of
      // a DRAM-size array would miss the caches at every element).
      std::vector<unsigned char> keep(groups);
      for (std::size_t k = 0; k < groups; ++k) kept += keep[k] = !is_zero(out[planes ? k * sh.spatial : k]);
      for (std::size_t i = 0; i < w.n; ++i) {
        // Within 4 ulp of x * scale (the rounding to T is half an ulp of it).
        const double want = double(widen(x[i]) * w.scale);
        if (keep[planes ? i / sh.spatial : i % sh.row] ? !near(out[i], want, std::abs(want)) : !is_zero(out[i]))
          return Check{element_error(i, std::string(planes ? "plane" : "column") + " not kept or dropped whole")};
      }
      return check_keep_count(kept, groups, w.p);
    }
    case Op::alpha: {
      // An element whose kept value a x + b is within the tolerance of the dropped value (x near alpha': likelier
      // in 16 bits) tells nothing about its keep bit; such elements, known from x alone, are left out of the keep
      // count, which stays unbiased.
      const AlphaCoefficients c = alpha_dropout_coefficients(w.p);
      const W a = static_cast<W>(c.a), b = static_cast<W>(c.b);
      const double dropped = value(static_cast<W>(c.dropped));
      std::size_t informative = 0;
      for (std::size_t i = 0; i < w.n; ++i) {
        const W xi = widen(x[i]);
        const double want = value(a * xi + b), err = std::abs(double(a * xi)) + std::abs(double(b));
        const bool kept_value = near(out[i], want, err), dropped_value = near(out[i], dropped, std::abs(dropped));
        if (!kept_value && !dropped_value) return Check{element_error(i, "neither a x + b nor a alpha' + b")};
        if (near(narrow<T>(static_cast<W>(dropped)), want, err)) continue;  // either, whatever the keep bit
        ++informative;
        kept += kept_value;
      }
      return check_keep_count(kept, informative, w.p);
    }
    case Op::gaussian: {
      // e = y / x has mean 1 and variance s2 = p / (1 - p): sum(e - 1) has sd sqrt(n s2); sum (e - 1)^2 has
      // expectation n s2 and sd s2 sqrt(2 n) for normal noise.
      const double s2 = w.p / (1 - w.p), n = static_cast<double>(w.n);
      double d1 = 0, d2 = 0;
      for (std::size_t i = 0; i < w.n; ++i) {
        const double d = double(widen(out[i])) / double(widen(x[i])) - 1;
        d1 += d, d2 += d * d;
      }
      Check c;
      c.has_stats = true;
      c.keep_fraction = 1;  // Gaussian dropout keeps every element
      c.mean_z = s2 > 0 ? d1 / std::sqrt(n * s2) : 0;
      c.var_ratio = s2 > 0 ? d2 / (n * s2) : 1;
      c.var_z = s2 > 0 ? (d2 - n * s2) / (s2 * std::sqrt(2 * n)) : 0;
      if (!(std::abs(c.mean_z) <= 6.0)) c.error = "noise mean is " + std::to_string(c.mean_z) + " sigma from 1";
      if (c.error.empty() && !(std::abs(c.var_z) <= 6.0))
        c.error = "noise variance is " + std::to_string(c.var_z) + " sigma from p / (1 - p)";
      return c;
    }
    case Op::bias_dropout_add: {
      const T* r = w.residual.data();
      // An element whose residual is itself within the tolerance of the kept value (|t| small against |r|:
      // likelier in 16 bits) tells nothing about its keep bit; such elements, known from the inputs alone, are
      // left out of the keep count, which stays unbiased.
      std::size_t informative = 0;
      for (std::size_t i = 0; i < w.n; ++i) {
        const W ri = widen(r[i]), ti = (widen(x[i]) + widen(w.bias[i % sh.cols])) * w.scale;
        const double want = value(ri + ti), err = std::abs(double(ri)) + std::abs(double(ti));
        const bool is_residual = widen(out[i]) == ri;  // dropped: residual + 0
        if (!is_residual && !near(out[i], want, err))
          return Check{element_error(i, "neither residual nor residual + (x + bias) * scale")};
        if (near(r[i], want, err)) continue;  // either, whatever the keep bit
        ++informative;
        kept += !is_residual;
      }
      return check_keep_count(kept, informative, w.p);
    }
    default:
      return Check{"not a family op"};
  }
}

// One line per element type of ElementTypes (src/element.hpp) and template; a type missing here is a link error.
template std::shared_ptr<const Buffer<float>> input_values(std::size_t);
template std::shared_ptr<const Buffer<double>> input_values(std::size_t);
template std::shared_ptr<const Buffer<bfloat16>> input_values(std::size_t);
template std::shared_ptr<const Buffer<float16>> input_values(std::size_t);
template struct Workload<float>;
template struct Workload<double>;
template struct Workload<bfloat16>;
template struct Workload<float16>;
template Check check_dropout(const Workload<float>&, const float*);
template Check check_dropout(const Workload<double>&, const double*);
template Check check_dropout(const Workload<bfloat16>&, const bfloat16*);
template Check check_dropout(const Workload<float16>&, const float16*);
template Check check_floor(const Workload<float>&, const float*, float, const float*);
template Check check_floor(const Workload<double>&, const double*, double, const double*);
template Check check_floor(const Workload<bfloat16>&, const bfloat16*, float, const bfloat16*);
template Check check_floor(const Workload<float16>&, const float16*, float, const float16*);
template Check check_family(Op, const Workload<float>&, const float*);
template Check check_family(Op, const Workload<double>&, const double*);
template Check check_family(Op, const Workload<bfloat16>&, const bfloat16*);
template Check check_family(Op, const Workload<float16>&, const float16*);

}  // namespace simdrop::bench
