// The benchmark harness: what one benchmark case is, its buffers, the validation that runs before
// timing, and the interface every implementation (simdrop and the baselines) provides.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <simdrop/half.hpp>
#include <simdrop/runtime.hpp>

namespace simdrop::bench {

// The core ops, then the dropout family's forward passes (simdrop/family.hpp).
enum class Op { mask, forward, backward_mask, backward_regen, channel, shared, alpha, gaussian, bias_dropout_add };
inline constexpr Op kCoreOps[] = {Op::mask, Op::forward, Op::backward_mask, Op::backward_regen};
inline constexpr Op kFamilyOps[] = {Op::channel, Op::shared, Op::alpha, Op::gaussian, Op::bias_dropout_add};

// The element types, in one list: X(name, type) for each. A new dtype is one line here; the enum, the names,
// the registration and the explicit instantiations all come from this list.
#define SIMDROP_BENCH_DTYPES(X) \
  X(f32, float)                 \
  X(f64, double)                \
  X(bf16, ::simdrop::bfloat16)  \
  X(f16, ::simdrop::float16)

enum class Dtype {
#define SIMDROP_BENCH_DTYPE_ENUM(name, T) name,
  SIMDROP_BENCH_DTYPES(SIMDROP_BENCH_DTYPE_ENUM)
#undef SIMDROP_BENCH_DTYPE_ENUM
};
inline constexpr Dtype kDtypes[] = {
#define SIMDROP_BENCH_DTYPE_LIST(name, T) Dtype::name,
    SIMDROP_BENCH_DTYPES(SIMDROP_BENCH_DTYPE_LIST)
#undef SIMDROP_BENCH_DTYPE_LIST
};

const char* op_name(Op op);
const char* dtype_name(Dtype d);
std::size_t dtype_bytes(Dtype d);  // sizeof the element type

// The arithmetic of an element type: values are computed in Wide<T> (float for the 16-bit types, as simdrop
// computes them, else T itself), widen() is exact and narrow() rounds once (to nearest, ties to even).
template <class T>
inline constexpr bool is_16_bit = std::is_same_v<T, bfloat16> || std::is_same_v<T, float16>;
template <class T>
using Wide = std::conditional_t<is_16_bit<T>, float, T>;
inline constexpr float widen(float v) { return v; }
inline constexpr double widen(double v) { return v; }
inline constexpr float widen(bfloat16 v) { return to_float(v); }
inline constexpr float widen(float16 v) { return to_float(v); }
template <class T>
constexpr T narrow(Wide<T> v) {
  if constexpr (std::is_same_v<T, bfloat16>)
    return to_bfloat16(v);
  else if constexpr (std::is_same_v<T, float16>)
    return to_float16(v);
  else
    return v;
}
// The distance from 1 to the next value of T (its unit of 4-ulp tolerances): 2^-7 for bfloat16, 2^-10 for float16.
template <class T>
constexpr double epsilon() {
  if constexpr (std::is_same_v<T, bfloat16>)
    return 0x1p-7;
  else if constexpr (std::is_same_v<T, float16>)
    return 0x1p-10;
  else
    return std::numeric_limits<T>::epsilon();
}

// The shapes the family's cases use for n elements (n a power of two): channel is nchw with planes of
// spatial = 1024 and 64 channels; time-shared has rows of 1024; bias-dropout-residual has 1024 columns
// (each capped at n, channels at n / spatial).
struct FamilyShape {
  std::size_t batch, channels, spatial;
  std::size_t steps, row;
  std::size_t rows, cols;
};
FamilyShape family_shape(std::size_t n);

// One benchmark: <op>/<impl>/<dtype>/n:<elements>/p:<percent>/threads:<T>.
struct Case {
  Op op;
  std::string impl;
  Dtype dtype;
  std::size_t n;
  int p_percent;
  int threads;
  std::optional<Isa> path;  // simdrop's ISA path, forced while the case runs; empty: the library's choice
  std::string name() const;
};

// 64-byte aligned storage, as a tensor library allocates it.
template <class T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64})); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t{64}); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const noexcept { return true; }
};
template <class T>
using Buffer = std::vector<T, AlignedAllocator<T>>;

// The input values of n elements (x, or dy for the backward ops): nonzero, in +-[0.125, 2], so a zero output
// means a dropped element; element i's value does not depend on n. Made in parallel (on every thread the
// caller's oneTBB arena allows), and shared: the inputs of the last two sizes are kept for the cases after.
template <class T>
std::shared_ptr<const Buffer<T>> input_values(std::size_t n);

// The buffers of one case: the input (input_values(n), read-only) and the output.
template <class T>
struct Workload {
  Workload(std::size_t n, double p, int threads);
  std::size_t n;
  double p;
  int threads;
  Wide<T> scale;  // Wide<T>(1 / (1 - p)): the 16-bit types scale in float, as simdrop does
  std::uint64_t seed = 0x5EED;
  std::shared_ptr<const Buffer<T>> input;
  const Buffer<T>& in;  // *input
  Buffer<T> out;
  // Bias-dropout-residual's other inputs, made by prepare_residual() (values like `in`'s).
  Buffer<T> residual, bias;
  void prepare_residual();
};

// What a validation found; error is empty when the output is right.
struct Check {
  std::string error;
  bool has_stats = false;
  double keep_fraction = 0, keep_z = 0, mean_z = 0, var_ratio = 0, var_z = 0;
};

// An implementation prepared for one case: run() is one timed iteration, check() validates the result
// of the last run().
struct Prepared {
  std::function<void()> run;
  std::function<Check()> check;
  double bytes_per_iteration = 0;     // every byte read and written, the mask included
  double mask_bytes_per_element = 0;  // mask memory the op keeps for a backward pass
  std::string label;
  // Non-empty: the implementation refuses this case (PyTorch without a kernel for the dtype), and why. The case
  // is reported as an error "skipped: <reason>" instead of a time.
  std::string skipped;
  // The factory ran run() once already (to find out whether it is refused): its output is there for check().
  bool ran = false;
};

// Validations, run once before timing. Thresholds: 6 standard deviations of the keep count
// (binomial, sd sqrt(n p q)); kept values within 4 ulp (of T) of simdrop's definition, narrow(widen(in) * scale)
// (baselines round the scale their own way); dropped values exactly zero (+0.0 or -0.0). The mean and variance
// z-scores hold a row to the exact scale or to the scale rounded to T, whichever it is nearer (PyTorch's 16-bit
// dropout multiplies by a noise tensor of the input's dtype: its scale is rounded to bf16 / fp16).
template <class T>
Check check_dropout(const Workload<T>& w, const T* out);
Check check_keep_count(std::size_t kept, std::size_t n, double p);
// The floor's output, exactly: out[i] == in[i] * factor, or in[i] + residual[i] where residual is not null.
// For the 16-bit types the floor moves bits: out[i] == in[i] (factor 1), or the 16-bit integer sum of the bits.
template <class T>
Check check_floor(const Workload<T>& w, const T* out, Wide<T> factor, const T* residual);
// The family: structure exact (whole planes / columns, the formula's values within 4 ulp of T), keep counts
// within 6 sd; Gaussian: the mean and variance of y / x within 6 sd of 1 and p / (1 - p).
template <class T>
Check check_family(Op op, const Workload<T>& w, const T* out);

// Factories: std::nullopt where the implementation has no such op.
template <class T>
using Factory = std::function<std::optional<Prepared>(Op, Workload<T>&)>;

}  // namespace simdrop::bench
