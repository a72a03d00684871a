// The family's obvious compositions, as a program without fused kernels runs them: one full pass over
// memory per step, each step parallel over oneTBB like a framework's element-wise ops, with simdrop's
// own mask and dropout where the composition has a dropout step.
//   channel / shared: plane (row) mask, a vector of per-plane factors, then a broadcast multiply
//   alpha:            mask pass, then the affine pass
//   gaussian:         std::normal_distribution from a std::mt19937_64 per block of 64 Ki elements
//   bias_dropout_add: t = x + bias, then dropout(t) in place, then y = residual + t (three passes)
// The 16-bit types are computed per step in float on widened values and rounded to the type at each step's
// store, as a framework's 16-bit element-wise ops do.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <simdrop/simdrop.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

#include "harness.hpp"

namespace simdrop::bench {

// f(begin, end) over [0, n) in parallel chunks (of at least `grain` items).
template <class F>
void parallel_chunks(std::size_t n, const F& f, std::size_t grain = 64) {
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, grain),
                    [&](const tbb::blocked_range<std::size_t>& r) { f(r.begin(), r.end()); });
}

template <class T>
std::optional<Prepared> make_composed(Op op, Workload<T>& w) {
  using W = compute_t<T>;
  const FamilyShape sh = family_shape(w.n);
  const Stream s{w.seed, 0};
  const double data_bytes = 2.0 * w.n * sizeof(T);
  auto check = [op, &w] { return check_family(op, w, w.out.data()); };
  switch (op) {
    case Op::channel:
    case Op::shared: {
      const bool planes = op == Op::channel;
      const std::size_t groups = planes ? sh.batch * sh.channels : sh.row;
      auto bits = std::make_shared<Buffer<std::uint64_t>>(mask_words(groups));
      auto factor = std::make_shared<Buffer<W>>(groups);
      return Prepared{[&w, sh, s, planes, groups, bits, factor] {
                        make_mask(*bits, groups, w.p, s);
                        for (std::size_t k = 0; k < groups; ++k)
                          (*factor)[k] = ((*bits)[k / 64] >> (k % 64)) & 1u ? w.scale : W(0);
                        // Rows of the broadcast: a plane (channel) or a step (shared), in parallel.
                        const std::size_t rows = planes ? groups : sh.steps, len = planes ? sh.spatial : sh.row;
                        parallel_chunks(rows, [&](std::size_t r0, std::size_t r1) {
                          for (std::size_t r = r0; r < r1; ++r) {
                            const T* x = w.in.data() + r * len;
                            T* y = w.out.data() + r * len;
                            if (planes) {
                              const W f = (*factor)[r];
                              for (std::size_t j = 0; j < len; ++j) y[j] = narrow<T>(widen(x[j]) * f);
                            } else {
                              for (std::size_t j = 0; j < len; ++j) y[j] = narrow<T>(widen(x[j]) * (*factor)[j]);
                            }
                          }
                        });
                      },
                      check, data_bytes, 0.0, "mask, factors, broadcast multiply"};
    }
    case Op::alpha: {
      auto bits = std::make_shared<Buffer<std::uint64_t>>(mask_words(w.n));
      const AlphaCoefficients c = alpha_dropout_coefficients(w.n == 0 ? 0.5 : w.p);
      const W a = static_cast<W>(c.a), b = static_cast<W>(c.b);
      const T dropped = narrow<T>(static_cast<W>(c.dropped));
      return Prepared{[&w, s, bits, a, b, dropped] {
                        make_mask(*bits, w.n, w.p, s);
                        // Whole mask words per chunk: 64 elements share a word.
                        parallel_chunks((w.n + 63) / 64, [&](std::size_t w0, std::size_t w1) {
                          for (std::size_t word = w0; word < w1; ++word) {
                            const std::uint64_t m = (*bits)[word];
                            const std::size_t base = 64 * word, len = std::min<std::size_t>(64, w.n - base);
                            for (std::size_t k = 0; k < len; ++k)
                              w.out[base + k] = (m >> k) & 1u ? narrow<T>(a * widen(w.in[base + k]) + b) : dropped;
                          }
                        });
                      },
                      check, data_bytes + 2 * (w.n / 8.0), 1.0 / 8, "mask pass, then affine pass"};
    }
    case Op::gaussian: {
      const W sigma = static_cast<W>(std::sqrt(w.p / (1 - w.p)));
      return Prepared{[&w, sigma] {
                        parallel_chunks(w.n, [&](std::size_t b, std::size_t e) {
                          std::mt19937_64 gen(w.seed ^ (b * 0x9E3779B97F4A7C15ull));  // a generator per chunk
                          std::normal_distribution<W> normal(W(1), sigma);
                          for (std::size_t i = b; i < e; ++i) w.out[i] = narrow<T>(widen(w.in[i]) * normal(gen));
                        }, 65536);
                      },
                      check, data_bytes, 0.0, "std::normal_distribution per block"};
    }
    case Op::bias_dropout_add: {
      w.prepare_residual();
      auto t = std::make_shared<Buffer<T>>(w.n);
      return Prepared{[&w, sh, s, t] {
                        parallel_chunks(sh.rows, [&](std::size_t r0, std::size_t r1) {  // the bias broadcast by rows
                          for (std::size_t r = r0; r < r1; ++r)
                            for (std::size_t c = 0; c < sh.cols; ++c)
                              (*t)[r * sh.cols + c] = narrow<T>(widen(w.in[r * sh.cols + c]) + widen(w.bias[c]));
                        });
                        dropout_forward(std::span<const T>(*t), std::span<T>(*t), w.p, s);
                        parallel_chunks(w.n, [&](std::size_t b, std::size_t e) {
                          for (std::size_t i = b; i < e; ++i) w.out[i] = narrow<T>(widen(w.residual[i]) + widen((*t)[i]));
                        }, 65536);
                      },
                      check, 7.0 * w.n * sizeof(T), 0.0, "bias add, dropout, residual add: three passes"};
    }
    default:
      return std::nullopt;
  }
}

}  // namespace simdrop::bench
