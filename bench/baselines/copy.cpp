#include "baselines/copy.hpp"

#include <emmintrin.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <simdrop/runtime.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>

namespace simdrop::bench {
namespace {

// Plain scaled copy, cloned per ISA (the CPU picks at load time).
__attribute__((target_clones("default", "avx2", "avx512f"))) void scale_plain(const float* x, float* y,
                                                                                 std::size_t n, float s) {
  for (std::size_t i = 0; i < n; ++i) y[i] = x[i] * s;
}
__attribute__((target_clones("default", "avx2", "avx512f"))) void scale_plain(const double* x, double* y,
                                                                                 std::size_t n, double s) {
  for (std::size_t i = 0; i < n; ++i) y[i] = x[i] * s;
}

// y = a + b, cloned per ISA like scale_plain.
__attribute__((target_clones("default", "avx2", "avx512f"))) void add_plain(const float* a, const float* b, float* y,
                                                                               std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}
__attribute__((target_clones("default", "avx2", "avx512f"))) void add_plain(const double* a, const double* b,
                                                                               double* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

// Streaming (non-temporal) stores, 16 bytes at a time: y must be 16-byte aligned.
template <class T>
void scale_stream(const T* x, T* y, std::size_t n, T s) {
  constexpr std::size_t kLanes = 16 / sizeof(T);
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    if constexpr (sizeof(T) == 4)
      _mm_stream_ps(y + i, _mm_mul_ps(_mm_loadu_ps(x + i), _mm_set1_ps(s)));
    else
      _mm_stream_pd(y + i, _mm_mul_pd(_mm_loadu_pd(x + i), _mm_set1_pd(s)));
  }
  for (; i < n; ++i) y[i] = x[i] * s;
  _mm_sfence();
}

// Runs f(begin, end) over the same blocks simdrop uses (grain_size() elements, serial below two).
template <class F>
void over_blocks(std::size_t n, const F& f) {
  const std::size_t grain = grain_size(), blocks = (n + grain - 1) / grain;
  if (blocks < 2) return f(std::size_t{0}, n);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, blocks, 1), [&](const tbb::blocked_range<std::size_t>& r) {
    for (std::size_t b = r.begin(); b != r.end(); ++b) f(b * grain, std::min(n, (b + 1) * grain));
  });
}

// Median-free quick choice: the faster of two variants over a few runs each.
template <class A, class B>
bool first_is_faster(const A& a, const B& b) {
  using clock = std::chrono::steady_clock;
  auto best = [](const auto& f) {
    auto fastest = clock::duration::max();
    for (int r = 0; r < 5; ++r) {
      const auto t0 = clock::now();
      f();
      fastest = std::min(fastest, clock::now() - t0);
    }
    return fastest;
  };
  return best(a) <= best(b);
}

}  // namespace

template <class T>
std::optional<Prepared> make_copy(Op op, Workload<T>& w) {
  if (op == Op::mask) {
    auto words = std::make_shared<Buffer<std::uint64_t>>((w.n + 63) / 64);
    return Prepared{[words] {
                      over_blocks(words->size(), [&](std::size_t b, std::size_t e) {
                        std::fill(words->begin() + b, words->begin() + e, 0x5555555555555555ull);
                      });
                    },
                    [] { return Check{}; }, w.n / 8.0, 0.0, "writes the mask's bytes"};
  }
  if (op == Op::bias_dropout_add) {
    // Two inputs, one output: the floor is y = x + residual.
    w.prepare_residual();
    return Prepared{[&w] {
                      over_blocks(w.n, [&](std::size_t b, std::size_t e) {
                        add_plain(w.in.data() + b, w.residual.data() + b, w.out.data() + b, e - b);
                      });
                    },
                    [&w] {
                      for (std::size_t i = 0; i < w.n; ++i)
                        if (w.out[i] != w.in[i] + w.residual[i])
                          return Check{"element " + std::to_string(i) + ": not x + residual"};
                      return Check{};
                    },
                    3.0 * w.n * sizeof(T), 0.0, "y = x + residual, plain stores"};
  }
  auto plain = [&w] {
    over_blocks(w.n, [&](std::size_t b, std::size_t e) { scale_plain(w.in.data() + b, w.out.data() + b, e - b, w.scale); });
  };
  auto stream = [&w] {
    over_blocks(w.n, [&](std::size_t b, std::size_t e) { scale_stream(w.in.data() + b, w.out.data() + b, e - b, w.scale); });
  };
  const bool use_plain = first_is_faster(plain, stream);
  Prepared prepared{nullptr, [&w] { return check_copy(w, w.out.data()); }, 2.0 * w.n * sizeof(T), 0.0,
                    use_plain ? "plain stores" : "streaming stores"};
  if (use_plain)
    prepared.run = plain;
  else
    prepared.run = stream;
  return prepared;
}

template std::optional<Prepared> make_copy(Op, Workload<float>&);
template std::optional<Prepared> make_copy(Op, Workload<double>&);

}  // namespace simdrop::bench
