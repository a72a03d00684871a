// The benchmark harness: what one benchmark case is, its buffers, the validation that runs before
// timing, and the interface every implementation (simdrop and the baselines) provides.
#pragma once

#include <algorithm>
#include <array>
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

#include "element.hpp"  // src/: the element types
#include "ops.hpp"      // src/: the list of operations

namespace simdrop::bench {

// The ops simdrop_bench times: the entries of kOps (src/ops.hpp) with a bench name, in kOps's order, an Op being
// its position among them; their names (op_name) are kOps's. The core (Variant::dropout) comes first, then the
// family's forward passes (simdrop/family.hpp). The enumerators are here for switch statements: that there is one
// per timed op, and each is the kOps entry it says (variant and direction), is checked below.
enum class Op { mask, forward, backward_mask, backward_regen, channel, shared, alpha, gaussian, bias_dropout_add };
// kOps's index of each timed op, in order.
inline constexpr auto kTimedOpIndices = [] {
  constexpr std::size_t count = std::ranges::count_if(detail::kOps, [](const auto& op) { return !op.bench.empty(); });
  std::array<std::size_t, count> indices{};
  for (std::size_t i = 0, k = 0; i < detail::kOps.size(); ++i)
    if (!detail::kOps[i].bench.empty()) indices[k++] = i;
  return indices;
}();
constexpr const detail::OpInfo& op_info(Op op) { return detail::kOps[kTimedOpIndices[static_cast<std::size_t>(op)]]; }
constexpr const char* op_name(Op op) { return op_info(op).bench.data(); }  // kOps's literals: NUL-terminated
// The core ops (Variant::dropout), then the family's, each in kOps's order: every timed op with core == Core.
template <bool Core>
constexpr auto timed_ops() {
  constexpr auto core = [](std::size_t k) { return op_info(static_cast<Op>(k)).variant == detail::Variant::dropout; };
  constexpr std::size_t count = [&] {
    std::size_t c = 0;
    for (std::size_t k = 0; k < kTimedOpIndices.size(); ++k) c += core(k) == Core;
    return c;
  }();
  std::array<Op, count> ops{};
  for (std::size_t k = 0, j = 0; k < kTimedOpIndices.size(); ++k)
    if (core(k) == Core) ops[j++] = static_cast<Op>(k);
  return ops;
}
inline constexpr auto kCoreOps = timed_ops<true>();
inline constexpr auto kFamilyOps = timed_ops<false>();

static_assert(kTimedOpIndices.size() == static_cast<std::size_t>(Op::bias_dropout_add) + 1,
              "kOps's timed ops (those with a bench name) and Op's enumerators differ in number");
constexpr bool op_is(Op op, detail::Variant v, detail::Direction d) {
  return op_info(op).variant == v && op_info(op).direction == d;
}
static_assert(
    [] {
      using detail::Direction, detail::Variant;
      return op_is(Op::mask, Variant::dropout, Direction::mask) &&
             op_is(Op::forward, Variant::dropout, Direction::forward) &&
             op_is(Op::backward_mask, Variant::dropout, Direction::backward_stored) &&
             op_is(Op::backward_regen, Variant::dropout, Direction::backward_regenerated) &&
             op_is(Op::channel, Variant::channel, Direction::forward) &&
             op_is(Op::shared, Variant::shared, Direction::forward) &&
             op_is(Op::alpha, Variant::alpha, Direction::forward) &&
             op_is(Op::gaussian, Variant::gaussian, Direction::forward) &&
             op_is(Op::bias_dropout_add, Variant::bias_dropout_add, Direction::forward);
    }(),
    "Op's enumerators are not kOps's timed ops in its order");

// The element types: ElementTypes (src/element.hpp), in its order. A Dtype is a type's position in that list; its
// name (f32, f64, bf16, f16) is element_name's. The arithmetic of a type is element.hpp's: values are computed in
// compute_t<T> (float for the 16-bit types, as simdrop computes them, else T itself), widen() is exact and
// narrow() rounds once (to nearest, ties to even).
using detail::compute_t;
using detail::element_name;
using detail::ElementTypes;
using detail::for_each_element_type;
using detail::is_half_v;
using detail::narrow;
using detail::scale_of;
using detail::widen;

enum class Dtype : std::uint8_t {};
// The Dtype of element type T (a T not in ElementTypes does not compile).
template <class T>
inline constexpr Dtype dtype_of = [] {
  std::size_t i = 0, found = SIZE_MAX;
  for_each_element_type([&]<class U>(std::type_identity<U>) {
    if (std::is_same_v<T, U>) found = i;
    ++i;
  });
  if (found == SIZE_MAX) throw "not an element type";
  return static_cast<Dtype>(found);
}();
inline constexpr auto kDtypes = [] {
  std::array<Dtype, []<class... T>(detail::TypeList<T...>) { return sizeof...(T); }(ElementTypes{})> d{};
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<Dtype>(i);
  return d;
}();
// Calls f(std::type_identity<T>{}) for the element type T of d.
template <class F>
void with_dtype(Dtype d, F&& f) {
  std::size_t i = 0;
  for_each_element_type([&](auto type) {
    if (static_cast<Dtype>(i++) == d) f(type);
  });
}
const char* dtype_name(Dtype d);   // element_name
std::size_t dtype_bytes(Dtype d);  // sizeof the element type

// The JSON context's lists, which the report reads its names from: simdrop_ops, the timed ops in kOps's order as
// "name:group" (group core: Variant::dropout; family: the rest), comma-separated; simdrop_dtypes, the element types'
// names in ElementTypes's order.
std::string ops_context();
std::string dtypes_context();

// The distance from 1 to the next value of T (its unit of 4-ulp tolerances: 2^-7 for bfloat16, 2^-10 for float16),
// from T's own rounding: the e = 2^-k for which 1 + e is a value of T and 1 + e / 2 rounds (to even) to 1.
template <class T>
constexpr double epsilon() {
  constexpr double e = [] {
    using W = compute_t<T>;
    W e = 1;
    while (widen(narrow<T>(W(1) + e / 2)) != W(1)) e /= 2;
    return e;
  }();
  return e;
}
static_assert(epsilon<float>() == std::numeric_limits<float>::epsilon() &&
              epsilon<double>() == std::numeric_limits<double>::epsilon());

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
  compute_t<T> scale;  // scale_of<T>(p), 1 / (1 - p) in compute_t<T>: the 16-bit types scale in float, as simdrop does
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
Check check_floor(const Workload<T>& w, const T* out, compute_t<T> factor, const T* residual);
// The family: structure exact (whole planes / columns, the formula's values within 4 ulp of T), keep counts
// within 6 sd; Gaussian: the mean and variance of y / x within 6 sd of 1 and p / (1 - p).
template <class T>
Check check_family(Op op, const Workload<T>& w, const T* out);

// Factories: std::nullopt where the implementation has no such op.
template <class T>
using Factory = std::function<std::optional<Prepared>(Op, Workload<T>&)>;

}  // namespace simdrop::bench
