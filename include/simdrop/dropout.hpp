// simdrop: element-wise inverted dropout on the CPU.
//
// Every keep decision is a pure function of (seed, offset + i, p): results do not depend on the
// thread count, the ISA path, the architecture (x86-64 or 64-bit ARM), pointer alignment or how a tensor is
// split into calls. The one thing left to the hardware: a NaN that an operation creates from non-NaN inputs
// (0 * inf, inf - inf) is the CPU's default NaN, negative on x86 and positive on ARM.
#pragma once

#include <cstddef>
#include <cstdint>
#include <simdrop/half.hpp>
#include <simdrop/stream.hpp>
#include <span>

namespace simdrop {

// The drop threshold t = round(p * 2^32) in [0, 2^32]: element i is dropped iff its 32-bit uniform u_i < t.
// Throws std::invalid_argument naming "p" when p is NaN or outside [0, 1].
std::uint64_t drop_threshold(double p);

// The drop probability actually used for p: drop_threshold(p) / 2^32 (p resolved to 2^-32).
double effective_drop_probability(double p);

// Writes the keep-mask of elements [0, n): bit (i % 64) of mask[i / 64] is 1 iff element i is kept;
// bits past n in the last word are 0; words past mask_words(n) are not touched.
void make_mask(std::span<std::uint64_t> mask, std::size_t n, double p, Stream s);

// y[i] = kept ? x[i] * scale : +0.0 with scale = T(1 / (1 - p)). x and y may be the same buffer.
// A non-empty mask receives the keep-mask of the call (layout as make_mask).
void dropout_forward(std::span<const float> x, std::span<float> y, double p, Stream s,
                     std::span<std::uint64_t> mask = {});
void dropout_forward(std::span<const double> x, std::span<double> y, double p, Stream s,
                     std::span<std::uint64_t> mask = {});

// dx[i] = kept ? dy[i] * scale : +0.0, with the keep-mask stored by dropout_forward or make_mask.
void dropout_backward(std::span<const float> dy, std::span<const std::uint64_t> mask, std::span<float> dx, double p);
void dropout_backward(std::span<const double> dy, std::span<const std::uint64_t> mask, std::span<double> dx, double p);

// The same, with the mask regenerated from the stream of the forward call (nothing stored);
// bit-identical to the stored-mask form.
void dropout_backward(std::span<const float> dy, std::span<float> dx, double p, Stream s);
void dropout_backward(std::span<const double> dy, std::span<double> dx, double p, Stream s);

// The 16-bit element types (simdrop/half.hpp) take every element-wise function with the same arguments.
// The keep bits are fp32's for the same stream, p and positions; each value is computed in float on the
// widened inputs exactly as the fp32 kernel computes it and rounded once to the type (to nearest, ties to
// even, subnormals kept): y = kept ? round(float(x) * float(1 / (1 - p))) : +0.0.
void dropout_forward(std::span<const bfloat16> x, std::span<bfloat16> y, double p, Stream s,
                     std::span<std::uint64_t> mask = {});
void dropout_forward(std::span<const float16> x, std::span<float16> y, double p, Stream s,
                     std::span<std::uint64_t> mask = {});
void dropout_backward(std::span<const bfloat16> dy, std::span<const std::uint64_t> mask, std::span<bfloat16> dx,
                      double p);
void dropout_backward(std::span<const float16> dy, std::span<const std::uint64_t> mask, std::span<float16> dx,
                      double p);
void dropout_backward(std::span<const bfloat16> dy, std::span<bfloat16> dx, double p, Stream s);
void dropout_backward(std::span<const float16> dy, std::span<float16> dx, double p, Stream s);

}  // namespace simdrop
