#include "baselines/copy.hpp"

#if defined(__x86_64__) || defined(__i386__)
#define SIMDROP_BENCH_X86 1
#include <immintrin.h>
#elif defined(__aarch64__)
#define SIMDROP_BENCH_X86 0
#include <arm_neon.h>
#else
#define SIMDROP_BENCH_X86 0
#endif
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <simdrop/runtime.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace simdrop::bench {
namespace {

// y = x * s (r null) or y = x + r over [0, n): the loop every way below starts from. Inlined into its
// callers, so it is compiled for each caller's target. The 16-bit types' floor moves their bits as uint16_t:
// y = x (s unused), or y = x + r as 16-bit integers (the same bytes read and written as a 16-bit add).
template <class T>
[[gnu::always_inline]] inline void plain_loop(const T* x, const T* r, T* y, std::size_t n, T s) {
  if (r) {
    for (std::size_t i = 0; i < n; ++i) y[i] = static_cast<T>(x[i] + r[i]);
  } else {
    if constexpr (std::is_integral_v<T>)
      for (std::size_t i = 0; i < n; ++i) y[i] = x[i];
    else
      for (std::size_t i = 0; i < n; ++i) y[i] = x[i] * s;
  }
}

// plain_loop vectorised by the compiler, cloned per ISA on x86 (the CPU picks the clone at load time); built
// for the baseline elsewhere (aarch64: NEON is part of the baseline).
#if SIMDROP_BENCH_X86
#define SIMDROP_BENCH_CLONES __attribute__((target_clones("default", "avx2", "avx512f")))
#else
#define SIMDROP_BENCH_CLONES
#endif
SIMDROP_BENCH_CLONES void plain(const float* x, const float* r, float* y, std::size_t n, float s) {
  plain_loop(x, r, y, n, s);
}
SIMDROP_BENCH_CLONES void plain(const double* x, const double* r, double* y, std::size_t n, double s) {
  plain_loop(x, r, y, n, s);
}
SIMDROP_BENCH_CLONES void plain(const std::uint16_t* x, const std::uint16_t* r, std::uint16_t* y, std::size_t n,
                                std::uint16_t s) {
  plain_loop(x, r, y, n, s);
}

// x's bytes, unscaled: the same bytes as y = x * s, moved by the C library.
template <class T>
void copy_bytes(const T* x, const T*, T* y, std::size_t n, T) {
  std::memcpy(y, x, n * sizeof(T));
}

// The streaming ways, one namespace per store width (stream_stores.inc says what each defines).
#if SIMDROP_BENCH_X86
#pragma GCC push_options
#pragma GCC target("sse2")
namespace stream128 {
constexpr std::size_t kVectorBytes = 16;
#include "baselines/stream_stores.inc"
}  // namespace stream128
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx")
namespace stream256 {
constexpr std::size_t kVectorBytes = 32;
#include "baselines/stream_stores.inc"
}  // namespace stream256
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f")
namespace stream512 {
constexpr std::size_t kVectorBytes = 64;
#include "baselines/stream_stores.inc"
}  // namespace stream512
#pragma GCC pop_options
#elif defined(__aarch64__)
// AArch64: non-temporal pair stores (STNP of two 128-bit registers, 32 bytes), the baseline ISA.
namespace stnp {
constexpr std::size_t kVectorBytes = 32;
#include "baselines/stream_stores.inc"
}  // namespace stnp
#endif

// One way to write the floor's output: kernel(x, r, y, n, s) writes y = x * s (r null) or y = x + r.
template <class T>
struct Way {
  const char* name;
  void (*kernel)(const T* x, const T* r, T* y, std::size_t n, T s);
  bool scales;  // false: copies x unscaled, a floor of y = x * s only
};

// The ways this CPU can run, for the sum (adds) or for the scaled copy.
template <class T>
std::vector<Way<T>> ways(bool adds) {
  std::vector<Way<T>> out = {{"plain", plain, true}};
  if (!adds) out.push_back({"memcpy", copy_bytes<T>, false});
#if SIMDROP_BENCH_X86
  out.push_back({"stream128", stream128::stream<T>, true});
  if (__builtin_cpu_supports("avx")) out.push_back({"stream256", stream256::stream<T>, true});
  if (__builtin_cpu_supports("avx512f")) out.push_back({"stream512", stream512::stream<T>, true});
#elif defined(__aarch64__)
  out.push_back({"stnp", stnp::stream<T>, true});
#endif
  return out;
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

// The index of the fastest of `runs`: they run in turn, `rounds` times over, and each one's best time counts
// (so that a slow moment of the machine falls on every candidate alike). 0 for a single candidate.
std::size_t fastest(const std::vector<std::function<void()>>& runs, int rounds = 3) {
  using clock = std::chrono::steady_clock;
  if (runs.size() < 2) return 0;
  std::vector<clock::duration> best(runs.size(), clock::duration::max());
  for (int r = 0; r < rounds; ++r)
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const auto t0 = clock::now();
      runs[i]();
      best[i] = std::min(best[i], clock::now() - t0);
    }
  return static_cast<std::size_t>(std::min_element(best.begin(), best.end()) - best.begin());
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
                    [] { return Check{}; }, w.n / 8.0, 0.0, "plain"};
  }
  // The 16-bit types are moved as their bits (uint16_t): a copy, or a 16-bit integer add for the sum.
  using Bits = std::conditional_t<is_half_v<T>, std::uint16_t, T>;
  static_assert(sizeof(Bits) == sizeof(T));
  Bits s;
  if constexpr (is_half_v<T>)
    s = 1;
  else
    s = w.scale;
  // bias_dropout_add reads two inputs and writes one: its floor is y = x + residual.
  const bool adds = op == Op::bias_dropout_add;
  if (adds) w.prepare_residual();
  const Bits* residual = adds ? reinterpret_cast<const Bits*>(w.residual.data()) : nullptr;
  const std::vector<Way<Bits>> candidates = ways<Bits>(adds);
  std::vector<std::function<void()>> runs;
  for (const Way<Bits>& way : candidates)
    runs.push_back([&w, residual, s, kernel = way.kernel] {
      const Bits* in = reinterpret_cast<const Bits*>(w.in.data());
      Bits* out = reinterpret_cast<Bits*>(w.out.data());
      over_blocks(w.n, [&](std::size_t b, std::size_t e) {
        kernel(in + b, residual ? residual + b : nullptr, out + b, e - b, s);
      });
    });
  const std::size_t best = fastest(runs);
  const compute_t<T> factor = candidates[best].scales && !is_half_v<T> ? w.scale : compute_t<T>(1);
  const T* residual_t = adds ? w.residual.data() : nullptr;
  return Prepared{runs[best], [&w, factor, residual_t] { return check_floor(w, w.out.data(), factor, residual_t); },
                  (adds ? 3.0 : 2.0) * w.n * sizeof(T), 0.0, candidates[best].name};
}

// One line per element type of ElementTypes (src/element.hpp); a type missing here is a link error.
template std::optional<Prepared> make_copy(Op, Workload<float>&);
template std::optional<Prepared> make_copy(Op, Workload<double>&);
template std::optional<Prepared> make_copy(Op, Workload<bfloat16>&);
template std::optional<Prepared> make_copy(Op, Workload<float16>&);

}  // namespace simdrop::bench
