// The ops' Autograd kernels: a torch::autograd::Function around a call below autograd (through the dispatcher,
// so it reaches the CPU or the Meta kernel). Only (kind, p, seed, offset, algorithm) are saved for backward.
#pragma once

#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/autograd.h>
#include <torch/csrc/autograd/VariableTypeUtils.h>

#include <map>
#include <mutex>
#include <string>

#include "common.hpp"
#include "cpu_kernels.hpp"

namespace simdrop_torch {
// ---- Calls below autograd (to the CPU or Meta kernel, through the dispatcher) ---------------------------

using ForwardSig = at::Tensor(const at::Tensor&, double, OptSeed, int64_t, c10::string_view, OptGenerator);
using InplaceSig = at::Tensor&(at::Tensor&, double, OptSeed, int64_t, c10::string_view, OptGenerator);
using BackwardSig = at::Tensor(const at::Tensor&, double, int64_t, int64_t, c10::string_view);
using BiasSig = at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&, double, OptSeed, int64_t,
                           c10::string_view, OptGenerator);
using BiasBackwardSig = std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, double, int64_t, int64_t,
                                                           c10::string_view);

// The dispatcher's handle of simdrop::<name>, looked up once per name (at the first call, when every schema
// and kernel is registered).
template <class Sig>
const c10::TypedOperatorHandle<Sig>& handle(const char* name) {
  static std::mutex lock;
  static std::map<std::string, c10::TypedOperatorHandle<Sig>> handles;
  std::lock_guard<std::mutex> guard(lock);
  auto it = handles.find(name);
  if (it == handles.end())
    it = handles.emplace(name, c10::Dispatcher::singleton()
                                   .findSchemaOrThrow((std::string("simdrop::") + name).c_str(), "")
                                   .typed<Sig>()).first;
  return it->second;
}

template <class Sig, class... Args>
decltype(auto) call_below_autograd(const char* name, Args&&... args) {
  at::AutoDispatchBelowADInplaceOrView guard;
  return handle<Sig>(name).call(std::forward<Args>(args)...);
}

at::Tensor forward_below(Kind kind, const at::Tensor& input, double p, OptSeed seed, int64_t offset,
                         c10::string_view algorithm, OptGenerator generator = c10::nullopt) {
  return call_below_autograd<ForwardSig>(names_of(static_cast<std::size_t>(kind)).forward.c_str(), input, p, seed, offset,
                                         algorithm, generator);
}
at::Tensor& inplace_below(Kind kind, at::Tensor& self, double p, OptSeed seed, int64_t offset,
                          c10::string_view algorithm, OptGenerator generator = c10::nullopt) {
  return call_below_autograd<InplaceSig>(names_of(static_cast<std::size_t>(kind)).inplace.c_str(), self, p, seed, offset,
                                         algorithm, generator);
}
at::Tensor backward_below(Kind kind, const at::Tensor& grad, double p, int64_t seed, int64_t offset,
                          c10::string_view algorithm) {
  return call_below_autograd<BackwardSig>(names_of(static_cast<std::size_t>(kind)).backward.c_str(), grad, p, seed, offset,
                                          algorithm);
}

// ---- Autograd kernels: only (kind, p, seed, offset, algorithm) are saved --------------------------------

// The seed an op recorded by autograd uses: drawn here, once, so that backward knows it. A meta tensor draws
// nothing (shape inference must not move torch's generator).
int64_t graph_seed(const at::Tensor& input, const OptSeed& seed, const OptGenerator& generator, double p) {
  if (input.is_meta()) return seed.value_or(0);
  return resolve_seed(seed, generator, p, input.numel());
}

bool needs_graph(std::initializer_list<at::Tensor> tensors) {
  if (!at::GradMode::is_enabled()) return false;
  for (const auto& t : tensors)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void save_stream(AutogradContext* ctx, Kind kind, double p, int64_t seed, int64_t offset, c10::string_view algorithm) {
  ctx->saved_data["kind"] = static_cast<int64_t>(kind);
  ctx->saved_data["p"] = p;
  ctx->saved_data["seed"] = seed;
  ctx->saved_data["offset"] = offset;
  ctx->saved_data["algorithm"] = std::string(algorithm);
}

// A diagonal op's backward pass dx = J dy (J diagonal, regenerated); its own backward is J again.
struct DiagonalBackward : torch::autograd::Function<DiagonalBackward> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& grad, int64_t kind, double p, int64_t seed,
                            int64_t offset, std::string algorithm) {
    save_stream(ctx, static_cast<Kind>(kind), p, seed, offset, algorithm);
    return backward_below(static_cast<Kind>(kind), grad, p, seed, offset, algorithm);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads);
};

at::Tensor apply_diagonal_backward(AutogradContext* ctx, const at::Tensor& grad) {
  const auto& d = ctx->saved_data;
  return DiagonalBackward::apply(grad, d.at("kind").toInt(), d.at("p").toDouble(), d.at("seed").toInt(),
                                 d.at("offset").toInt(), d.at("algorithm").toStringRef());
}

variable_list DiagonalBackward::backward(AutogradContext* ctx, variable_list grads) {
  at::Tensor dgrad = grads[0].defined() ? apply_diagonal_backward(ctx, grads[0]) : at::Tensor();
  return {dgrad, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
}

struct DiagonalForward : torch::autograd::Function<DiagonalForward> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, int64_t kind, double p, int64_t seed,
                            int64_t offset, std::string algorithm) {
    save_stream(ctx, static_cast<Kind>(kind), p, seed, offset, algorithm);
    return forward_below(static_cast<Kind>(kind), x, p, seed, offset, algorithm);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    at::Tensor dx = grads[0].defined() ? apply_diagonal_backward(ctx, grads[0]) : at::Tensor();
    return {dx, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// In place: the backward pass needs the mask only, never x's old values, so overwriting x loses nothing.
// mark_dirty bumps x's version and moves its history onto this node (an in-place op on a leaf that requires
// grad is refused by autograd, as for PyTorch's own in-place ops).
struct DiagonalInplace : torch::autograd::Function<DiagonalInplace> {
  static at::Tensor forward(AutogradContext* ctx, at::Tensor self, int64_t kind, double p, int64_t seed,
                            int64_t offset, std::string algorithm) {
    save_stream(ctx, static_cast<Kind>(kind), p, seed, offset, algorithm);
    ctx->mark_dirty({self});
    inplace_below(static_cast<Kind>(kind), self, p, seed, offset, algorithm);
    return self;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return DiagonalForward::backward(ctx, std::move(grads));
  }
};

template <Kind K>
at::Tensor forward_autograd(const at::Tensor& input, double p, OptSeed seed, int64_t offset,
                            c10::string_view algorithm, OptGenerator generator) {
  if (!needs_graph({input})) return forward_below(K, input, p, seed, offset, algorithm, generator);
  check_diagonal(K, false, input, p, offset, algorithm);  // before the draw
  const int64_t s = graph_seed(input, seed, generator, p);
  return DiagonalForward::apply(input, static_cast<int64_t>(K), p, s, offset, std::string(algorithm));
}

template <Kind K>
at::Tensor& inplace_autograd(at::Tensor& self, double p, OptSeed seed, int64_t offset, c10::string_view algorithm,
                             OptGenerator generator) {
  if (!needs_graph({self})) {
    inplace_below(K, self, p, seed, offset, algorithm, generator);
    if (!self.is_inference()) torch::autograd::impl::bump_version(self);  // as ADInplaceOrView does for torch's ops
    return self;
  }
  check_diagonal(K, false, self, p, offset, algorithm);
  // PyTorch's own refusals for in-place ops: a leaf that requires grad, or a view of one.
  torch::autograd::check_inplace(self, true);
  const int64_t s = graph_seed(self, seed, generator, p);
  // The Function's output is self with a new history; `self` (the caller's tensor) shares it.
  DiagonalInplace::apply(self, static_cast<int64_t>(K), p, s, offset, std::string(algorithm));
  return self;
}

template <Kind K>
at::Tensor backward_autograd(const at::Tensor& grad, double p, int64_t seed, int64_t offset,
                             c10::string_view algorithm) {
  if (!needs_graph({grad})) return backward_below(K, grad, p, seed, offset, algorithm);
  return DiagonalBackward::apply(grad, static_cast<int64_t>(K), p, seed, offset, std::string(algorithm));
}

// bias_dropout_add's backward (dy -> dx, dbias); its own backward is g_dy = J (g_dx + g_dbias), J being
// dropout's diagonal with the same stream (the two share make_mask(rows * cols, p, s)).
std::tuple<at::Tensor, at::Tensor> bias_backward_below(const at::Tensor& grad, double p, int64_t seed, int64_t offset,
                                                       c10::string_view algorithm) {
  return call_below_autograd<BiasBackwardSig>("bias_dropout_add_backward", grad, p, seed, offset, algorithm);
}

struct BiasDropoutAddBackward : torch::autograd::Function<BiasDropoutAddBackward> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& grad, double p, int64_t seed, int64_t offset,
                               std::string algorithm) {
    save_stream(ctx, Kind::dropout, p, seed, offset, algorithm);
    ctx->saved_data["shape"] = grad.sizes().vec();
    auto [dx, dbias] = bias_backward_below(grad, p, seed, offset, algorithm);
    return {dx, dbias};
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    at::Tensor sum;
    if (grads[0].defined()) sum = grads[0];
    if (grads[1].defined())
      sum = sum.defined() ? sum.add(grads[1]) : grads[1].expand(ctx->saved_data["shape"].toIntVector());
    at::Tensor dy = sum.defined() ? apply_diagonal_backward(ctx, sum) : at::Tensor();
    return {dy, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

std::tuple<at::Tensor, at::Tensor> bias_dropout_add_backward_autograd(const at::Tensor& grad, double p, int64_t seed,
                                                                      int64_t offset, c10::string_view algorithm) {
  if (!needs_graph({grad})) return bias_backward_below(grad, p, seed, offset, algorithm);
  auto out = BiasDropoutAddBackward::apply(grad, p, seed, offset, std::string(algorithm));
  return {out[0], out[1]};
}

struct BiasDropoutAdd : torch::autograd::Function<BiasDropoutAdd> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& bias,
                            const at::Tensor& residual, double p, int64_t seed, int64_t offset, std::string algorithm) {
    save_stream(ctx, Kind::dropout, p, seed, offset, algorithm);
    return call_below_autograd<BiasSig>("bias_dropout_add", x, bias, residual, p, OptSeed(seed), offset, algorithm,
                                        OptGenerator());
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const at::Tensor& dy = grads[0];
    if (!dy.defined()) return variable_list(7);
    const auto& d = ctx->saved_data;
    auto [dx, dbias] = bias_dropout_add_backward_autograd(dy, d.at("p").toDouble(), d.at("seed").toInt(),
                                                          d.at("offset").toInt(), d.at("algorithm").toStringRef());
    return {dx, dbias, dy, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

at::Tensor bias_dropout_add_autograd(const at::Tensor& x, const at::Tensor& bias, const at::Tensor& residual,
                                     double p, OptSeed seed, int64_t offset, c10::string_view algorithm,
                                     OptGenerator generator) {
  if (!needs_graph({x, bias, residual}))
    return call_below_autograd<BiasSig>("bias_dropout_add", x, bias, residual, p, seed, offset, algorithm, generator);
  check_bias_dropout_add(x, bias, residual, p, offset, algorithm);
  const int64_t s = graph_seed(x, seed, generator, p);
  return BiasDropoutAdd::apply(x, bias, residual, p, s, offset, std::string(algorithm));
}

}  // namespace simdrop_torch
