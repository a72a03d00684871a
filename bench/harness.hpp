// The benchmark harness: what one benchmark case is, its buffers, the validation that runs before
// timing, and the interface every implementation (simdrop and the baselines) provides.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include <simdrop/runtime.hpp>

namespace simdrop::bench {

// The core ops, then the dropout family's forward passes (simdrop/family.hpp).
enum class Op { mask, forward, backward_mask, backward_regen, channel, shared, alpha, gaussian, bias_dropout_add };
inline constexpr Op kCoreOps[] = {Op::mask, Op::forward, Op::backward_mask, Op::backward_regen};
inline constexpr Op kFamilyOps[] = {Op::channel, Op::shared, Op::alpha, Op::gaussian, Op::bias_dropout_add};
enum class Dtype { f32, f64 };

const char* op_name(Op op);
const char* dtype_name(Dtype d);

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
  T scale;
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
};

// Validations, run once before timing. Thresholds: 6 standard deviations of the keep count
// (binomial, sd sqrt(n p q)); kept values within 4 ulp of in * scale (baselines round the scale
// their own way); dropped values exactly zero (+0.0 or -0.0).
template <class T>
Check check_dropout(const Workload<T>& w, const T* out);
Check check_keep_count(std::size_t kept, std::size_t n, double p);
// The floor's output, exactly: out[i] == in[i] * factor, or in[i] + residual[i] where residual is not null.
template <class T>
Check check_floor(const Workload<T>& w, const T* out, T factor, const T* residual);
// The family: structure exact (whole planes / columns, the formula's values within 4 ulp), keep counts
// within 6 sd; Gaussian: the mean and variance of y / x within 6 sd of 1 and p / (1 - p).
template <class T>
Check check_family(Op op, const Workload<T>& w, const T* out);

// Factories: std::nullopt where the implementation has no such op.
template <class T>
using Factory = std::function<std::optional<Prepared>(Op, Workload<T>&)>;

}  // namespace simdrop::bench
