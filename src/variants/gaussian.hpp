// Gaussian dropout: y = x * (1 + sigma * z), z a standard normal from the stream's domain 1, block by block
// on the path chosen for Gaussian work.
#pragma once

#include <algorithm>
#include <cmath>
#include <simdrop/family.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "checks.hpp"
#include "fused.hpp"
#include "mask.hpp"
#include "parallel.hpp"
#include "runtime/dispatch.hpp"

namespace simdrop {
namespace detail {

template <class T>
void gaussian_call(std::span<const T> in, std::span<T> out, double p, Stream s, Names names) {
  check_probability_below_one(p, "gaussian dropout");
  check_elementwise(in, out, s, {}, names);
  const TypedKernels<T>& k = kernels_for<T>(Work::gaussian, out.size_bytes()).template of<T>();
  const float sigma = static_cast<float>(std::sqrt(p / (1.0 - p)));
  for_each_block(in.size(), [&](std::size_t b, std::size_t e) {
    k.gaussian(in.data() + b, out.data() + b, e - b, Pass{s.seed, s.offset + b, 0, s.generator, nullptr, false}, sigma);
  });
}

}  // namespace detail

}  // namespace simdrop
