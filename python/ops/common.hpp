// What every kernel of the torch ops shares: the element types (the library's list, each with its torch dtype),
// the argument checks, the seed a call draws and the stream it makes.
#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>

#include <cstdint>
#include <limits>
#include <mutex>
#include <simdrop/dropout.hpp>
#include <simdrop/family.hpp>
#include <simdrop/half.hpp>
#include <span>
#include <string>
#include <type_traits>

#include "element.hpp"  // the library's element-type list (src/)
#include "ops.hpp"      // the library's list of operations (src/)

namespace simdrop_torch {
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using OptSeed = c10::optional<int64_t>;
using OptGenerator = c10::optional<at::Generator>;

// ---- Element types: the library's list (src/element.hpp), each with its torch dtype --------------------

// The torch dtype of each of the library's element types (c10::BFloat16 and c10::Half are one uint16_t each,
// as simdrop::bfloat16 and simdrop::float16 are), and its name in messages.
template <class T>
struct TorchDtype;
template <>
struct TorchDtype<float> {
  static constexpr at::ScalarType type = at::kFloat;
  static constexpr const char* name = "float32";
};
template <>
struct TorchDtype<double> {
  static constexpr at::ScalarType type = at::kDouble;
  static constexpr const char* name = "float64";
};
template <>
struct TorchDtype<simdrop::bfloat16> {
  static constexpr at::ScalarType type = at::kBFloat16;
  static constexpr const char* name = "bfloat16";
};
template <>
struct TorchDtype<simdrop::float16> {
  static constexpr at::ScalarType type = at::kHalf;
  static constexpr const char* name = "float16";
};

// Calls f(std::type_identity<T>{}) with T the element type of t's dtype, for every type of ElementTypes; a
// dtype simdrop has no kernels for is a TypeError naming the op and the argument.
template <class F>
void with_element_type(const at::Tensor& t, const char* op, const char* arg, F&& f) {
  bool found = false;
  std::string names;
  simdrop::detail::for_each_element_type([&]<class T>(std::type_identity<T> id) {
    names += std::string(names.empty() ? "" : ", ") + TorchDtype<T>::name;
    if (!found && t.scalar_type() == TorchDtype<T>::type) {
      found = true;
      f(id);
    }
  });
  TORCH_CHECK_TYPE(found, "simdrop.", op, ": ", arg, " must be a floating-point tensor of dtype ", names, ", got ",
                   t.scalar_type());
}

template <class T>
std::span<const T> in_span(const at::Tensor& t) {
  static_assert(sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8);
  return {reinterpret_cast<const T*>(t.data_ptr()), static_cast<std::size_t>(t.numel())};
}
template <class T>
std::span<T> out_span(const at::Tensor& t) {
  return {reinterpret_cast<T*>(t.data_ptr()), static_cast<std::size_t>(t.numel())};
}

// ---- Argument checks (the CPU and Meta kernels both run them first) --------------------------------------

// A defined, strided tensor of a dtype simdrop has kernels for; otherwise a ValueError / TypeError.
void check_tensor(const at::Tensor& t, const char* op, const char* arg) {
  TORCH_CHECK_VALUE(t.defined(), "simdrop.", op, ": ", arg, " is an undefined tensor");
  TORCH_CHECK_VALUE(t.layout() == at::kStrided, "simdrop.", op, ": ", arg, " must be a dense (strided) tensor, got ",
                    t.layout());
  with_element_type(t, op, arg, [](auto) {});
}

simdrop::Generator parse_algorithm(c10::string_view name, const char* op) {
  if (name == "philox4x32_10") return simdrop::Generator::philox4x32_10;
  if (name == "philox4x32_7") return simdrop::Generator::philox4x32_7;
  if (name == "ars5") return simdrop::Generator::ars5;
  TORCH_CHECK_VALUE(false, "simdrop.", op, ": algorithm must be \"philox4x32_10\", \"philox4x32_7\" or \"ars5\", got \"",
                    std::string(name), "\"");
}

// p in [0, 1] (or [0, 1) where p = 1 has no meaning: alpha and Gaussian dropout), NaN refused.
void check_p(double p, const char* op, bool one_allowed) {
  const bool ok = one_allowed ? (p >= 0.0 && p <= 1.0) : (p >= 0.0 && p < 1.0);  // false for NaN
  TORCH_CHECK_VALUE(ok, "simdrop.", op, ": p must be in ", one_allowed ? "[0, 1]" : "[0, 1)", ", got ", p);
}

// Positions offset .. offset + count - 1 must exist (the stream ends at 2^64 - 1; the library refuses a call
// that passes it). Checked here too, so that a refused call draws no seed.
void check_positions(int64_t offset, std::uint64_t count, const char* op) {
  const auto first = static_cast<std::uint64_t>(offset);
  TORCH_CHECK_VALUE(count == 0 || count - 1 <= std::numeric_limits<std::uint64_t>::max() - first, "simdrop.", op,
                    ": offset ", first, " + ", count, " positions passes the end of the stream (2^64)");
}

// The seed a call with seed=None uses: one draw from torch's CPU generator, as Tensor.random_() on an int64
// tensor takes it (random64() mod 2^63), under the generator's lock.
int64_t draw_seed(OptGenerator generator) {
  auto* gen = at::get_generator_or_default<at::CPUGeneratorImpl>(generator, at::detail::getDefaultCPUGenerator());
  std::lock_guard<std::mutex> lock(gen->mutex_);
  return static_cast<int64_t>(gen->random64() % (std::uint64_t{1} << 63));
}

// A call draws only when its result depends on the seed: not for p = 0 or p = 1 (every element kept or every
// one dropped) nor for an empty tensor, as F.dropout draws nothing then.
int64_t resolve_seed(const OptSeed& seed, const OptGenerator& generator, double p, int64_t positions) {
  if (seed.has_value()) return *seed;
  if (p == 0.0 || p == 1.0 || positions == 0) return 0;
  return draw_seed(generator);
}

// int64 seed and offset as the uint64 with the same bits.
simdrop::Stream make_stream(int64_t seed, int64_t offset, c10::string_view algorithm, const char* op) {
  return {static_cast<std::uint64_t>(seed), static_cast<std::uint64_t>(offset), parse_algorithm(algorithm, op)};
}

}  // namespace simdrop_torch
