// The keep-mask: the threshold a p becomes, and the mask of a stream (make_mask), generated block by block on
// the path chosen for mask work. Every other pass reaches the same bits through the kernels' mask primitive.
#include "mask.hpp"

#include <cmath>
#include <simdrop/dropout.hpp>

#include "checks.hpp"
#include "parallel.hpp"
#include "runtime/dispatch.hpp"

namespace simdrop {

namespace detail {

void generate_mask(std::uint64_t* mask, std::size_t n, std::uint64_t t, Stream s) {
  const KernelTable& k = kernels_for(Work::mask, 0, false);
  for_each_block(
      n, [&](std::size_t b, std::size_t e) { k.mask(mask + b / 64, e - b, s.seed, s.offset + b, t, s.generator); });
}

}  // namespace detail

std::uint64_t drop_threshold(double p) {
  detail::check_probability(p);
  return static_cast<std::uint64_t>(std::round(std::ldexp(p, 32)));
}

double effective_drop_probability(double p) { return std::ldexp(static_cast<double>(drop_threshold(p)), -32); }

void make_mask(std::span<std::uint64_t> mask, std::size_t n, double p, Stream s) {
  detail::check_probability(p);
  detail::check_mask_size(mask.size(), n);
  detail::check_stream(s, n);
  detail::generate_mask(mask.data(), n, drop_threshold(p), s);
}

}  // namespace simdrop
