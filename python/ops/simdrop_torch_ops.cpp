// simdrop's dropout family as PyTorch operators: torch.ops.simdrop.* (Python, TorchScript), in the dispatcher.
//
// Each op is a schema (TORCH_LIBRARY) with three kernels (TORCH_LIBRARY_IMPL), as PyTorch's own operators are:
//  * CPU: checks the arguments, then runs the library (all checks before anything is allocated or written);
//  * Meta: the same checks, then an output of the right shape, dtype and memory format without touching data
//    (what meta tensors, shape inference and fake-tensor tracing run on);
//  * Autograd: a torch::autograd::Function around a call below autograd (so it reaches CPU or Meta). Only
//    (p, seed, offset, algorithm) are saved for backward, never a tensor: the backward pass regenerates the mask.
//    A backward pass is itself differentiable (its Jacobian is the same diagonal), so double backward works.
//
// Randomness: an op given a seed gives exactly the bits of the C++ call with Stream{seed, offset, algorithm}
// over the tensor's elements in row-major (logical) order. Seeds and offsets are the schema's `int` (int64),
// read as the uint64 with the same bits: the Python layer passes 2^63 <= s < 2^64 as s - 2^64. With seed=None
// the op draws one seed from torch's CPU generator (`generator`, else the default one): random64() mod 2^63,
// the value torch.empty((), dtype=torch.int64).random_(generator=g) gives. So torch.manual_seed decides the
// masks and torch.utils.checkpoint, which restores the generator before recomputing, recomputes the same mask.
// The draw happens once per call, in the Autograd kernel where autograd records the call (it must know the
// seed for backward), else in the CPU kernel.
//
// The library is called through its public API (simdrop/dropout.hpp, family.hpp, runtime.hpp); the element types
// and the op names come from its lists (src/element.hpp, src/ops.hpp), so a new type or variant is one entry there.
#include <torch/library.h>

#include <string>

#include "autograd_kernels.hpp"
#include "common.hpp"
#include "cpu_kernels.hpp"
#include "output_cache.hpp"

using namespace simdrop_torch;

// The schemas. The element-wise forward ops take F.dropout's (input, p=0.5) and keyword-only stream arguments;
// `name_` is the in-place form. Backward ops take the stream the forward call used (the seed it drew).
TORCH_LIBRARY(simdrop, m) {
  constexpr const char* kStream =
      "*, int? seed=None, int offset=0, str algorithm=\"philox4x32_10\", Generator? generator=None";
  constexpr const char* kBackwardStream = "float p, int seed, int offset=0, str algorithm=\"philox4x32_10\"";
  for (std::size_t k = 0; k < kKinds; ++k) {
    const OpNames& n = names_of(k);
    m.def((n.forward + "(Tensor input, float p=0.5, " + kStream + ") -> Tensor").c_str());
    m.def((n.inplace + "(Tensor(a!) self, float p=0.5, " + kStream + ") -> Tensor(a!)").c_str());
    m.def((n.backward + "(Tensor grad, " + kBackwardStream + ") -> Tensor").c_str());
  }
  m.def((std::string("bias_dropout_add(Tensor x, Tensor bias, Tensor residual, float p=0.5, ") + kStream +
         ") -> Tensor").c_str());
  m.def((std::string("bias_dropout_add_backward(Tensor grad, ") + kBackwardStream + ") -> (Tensor, Tensor)").c_str());
  // No tensor argument, so no dispatch key: one kernel for every backend.
  m.def((std::string("keep_mask(int n, ") + kBackwardStream + ") -> Tensor").c_str(), TORCH_FN(keep_mask));
  m.def("draw_seed(Generator? generator=None) -> int", TORCH_FN(draw_seed));
  m.def("empty_cache() -> int", TORCH_FN(empty_cache));
  m.def("version() -> str", []() { return std::string(simdrop::version()); });
}

namespace simdrop_torch {
template <Kind K>
void register_kind(torch::Library& m, const char* dispatch) {
  const auto k = static_cast<std::size_t>(K);
  const std::string key(dispatch);
  if (key == "CPU") {
    m.impl(names_of(k).forward.c_str(), TORCH_FN(forward_cpu<K>));
    m.impl(names_of(k).inplace.c_str(), TORCH_FN(inplace_cpu<K>));
    m.impl(names_of(k).backward.c_str(), TORCH_FN(backward_cpu<K>));
  } else if (key == "Meta") {
    m.impl(names_of(k).forward.c_str(), TORCH_FN(forward_meta<K>));
    m.impl(names_of(k).inplace.c_str(), TORCH_FN(inplace_meta<K>));
    m.impl(names_of(k).backward.c_str(), TORCH_FN(backward_meta<K>));
  } else {
    m.impl(names_of(k).forward.c_str(), TORCH_FN(forward_autograd<K>));
    m.impl(names_of(k).inplace.c_str(), TORCH_FN(inplace_autograd<K>));
    m.impl(names_of(k).backward.c_str(), TORCH_FN(backward_autograd<K>));
  }
}
void register_all(torch::Library& m, const char* dispatch) {
  register_kind<Kind::dropout>(m, dispatch);
  register_kind<Kind::channel>(m, dispatch);
  register_kind<Kind::alpha>(m, dispatch);
  register_kind<Kind::gaussian>(m, dispatch);
}
}  // namespace simdrop_torch

TORCH_LIBRARY_IMPL(simdrop, CPU, m) {
  register_all(m, "CPU");
  m.impl("bias_dropout_add", TORCH_FN(bias_dropout_add_cpu_op));
  m.impl("bias_dropout_add_backward", TORCH_FN(bias_dropout_add_backward_cpu));
}

TORCH_LIBRARY_IMPL(simdrop, Meta, m) {
  register_all(m, "Meta");
  m.impl("bias_dropout_add", TORCH_FN(bias_dropout_add_meta));
  m.impl("bias_dropout_add_backward", TORCH_FN(bias_dropout_add_backward_meta));
}

TORCH_LIBRARY_IMPL(simdrop, Autograd, m) {
  register_all(m, "Autograd");
  m.impl("bias_dropout_add", TORCH_FN(bias_dropout_add_autograd));
  m.impl("bias_dropout_add_backward", TORCH_FN(bias_dropout_add_backward_autograd));
}
