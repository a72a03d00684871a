// Elements in memory and in registers. Part of kernel_impl.hpp (one ISA path per translation unit).
//
// A kernel for element type T computes on batches of its compute type (CB<T>: float lanes for the 16-bit
// types) and moves them with load_elems / store_elems, which widen and narrow the 16-bit types on the way
// (the narrowing is element.hpp's: round to nearest even, subnormals kept, NaN quieted). kBatchBytes<T>: the
// bytes of T one batch covers (its streaming stores need y aligned to that).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#include "kernels/arch/generic.hpp"
#include "element.hpp"

namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE {
namespace {

template <class T>
using CB = xsimd::batch<compute_t<T>, Arch>;
template <class T>
inline constexpr std::size_t kBatchBytes = CB<T>::size * sizeof(T);

template <class T>
inline CB<T> load_elems(const T* p) noexcept {
  if constexpr (is_half_v<T>)
    return arch::load_half<Arch>(p, Arch{});
  else
    return CB<T>::load_unaligned(p);
}

// Narrows v to T and stores it at y, with a streaming store when Stream (y then aligned to kBatchBytes<T>).
template <bool Stream, class T>
inline void store_elems(T* y, CB<T> v) noexcept {
  if constexpr (is_half_v<T>)
    arch::store_half<Arch, Stream>(y, v, Arch{});
  else if constexpr (Stream)
    arch::store_stream<Arch>(y, v, Arch{});
  else
    v.store_unaligned(y);
}

// Runs Kernel<true> (streaming stores) where asked and y is aligned to the batch, else Kernel<false>:
// the one place every kernel decides its store kind. Streaming stores skip the read-for-ownership of y
// and leave the caches to x.
template <class T, class Kernel>
inline void with_store_mode(bool stream, const T* y, const Kernel& kernel) noexcept {
  if (stream && reinterpret_cast<std::uintptr_t>(y) % kBatchBytes<T> == 0) {
    kernel(std::true_type{});
    arch::stream_fence<Arch>(Arch{});  // order the streaming stores before anything this thread does next
  } else {
    kernel(std::false_type{});
  }
}

}  // namespace
}  // namespace simdrop::detail::SIMDROP_KERNEL_NAMESPACE
