// The ops' CPU kernels (the library over the tensor's memory) and Meta kernels (the same checks, the output's
// metadata and no data), as the schemas in simdrop_torch_ops.cpp type them.
#pragma once

#include <array>
#include <string>

#include "common.hpp"
#include "output_cache.hpp"

namespace simdrop_torch {
// ---- The element-wise ops ---------------------------------------------------------------------------------

// The ops with a diagonal Jacobian; each one's backward pass is its own adjoint.
enum class Kind : int64_t { dropout = 0, channel = 1, alpha = 2, gaussian = 3 };
constexpr std::size_t kKinds = 4;
// The library's variant of each kind: the op names are the variant's (src/ops.hpp), `name_` the in-place form
// and `name_backward` the backward pass.
constexpr std::array<simdrop::detail::Variant, kKinds> kVariants = {
    simdrop::detail::Variant::dropout, simdrop::detail::Variant::channel, simdrop::detail::Variant::alpha,
    simdrop::detail::Variant::gaussian};
struct OpNames {
  std::string forward, inplace, backward;
};
const OpNames& names_of(std::size_t kind) {
  static const std::array<OpNames, kKinds> names = [] {
    std::array<OpNames, kKinds> n;
    for (std::size_t k = 0; k < kKinds; ++k) {
      const std::string v(simdrop::detail::variant_name(kVariants[k]));
      n[k] = {v, v + "_", v + "_backward"};
    }
    return n;
  }();
  return names[kind];
}
const char* name_of(Kind kind, bool backward) {
  const OpNames& n = names_of(static_cast<std::size_t>(kind));
  return backward ? n.backward.c_str() : n.forward.c_str();
}
bool one_allowed(Kind kind) { return !simdrop::detail::p_below_one(kVariants[static_cast<std::size_t>(kind)]); }

// Channel dropout's view of x: (N, C, *) as batch, channels, spatial, and the layout its memory has.
// Contiguous -> nchw; channels_last (4-d) or channels_last_3d (5-d) -> nhwc, output in the same format;
// any other strides go through a contiguous copy.
struct ChannelShape {
  std::size_t batch, channels, spatial;
  simdrop::Layout layout;
  at::MemoryFormat format;
};
ChannelShape channel_shape(const at::Tensor& x, const char* op, const char* arg) {
  TORCH_CHECK_VALUE(x.dim() >= 2, "simdrop.", op, ": ", arg,
                    " must have shape (N, C, *) with at least 2 dimensions, got ", x.sizes());
  const auto batch = static_cast<std::size_t>(x.size(0));
  const auto channels = static_cast<std::size_t>(x.size(1));
  std::size_t spatial = 1;
  for (int64_t d = 2; d < x.dim(); ++d) spatial *= static_cast<std::size_t>(x.size(d));
  if (!x.is_contiguous()) {
    if (x.dim() == 4 && x.is_contiguous(at::MemoryFormat::ChannelsLast))
      return {batch, channels, spatial, simdrop::Layout::nhwc, at::MemoryFormat::ChannelsLast};
    if (x.dim() == 5 && x.is_contiguous(at::MemoryFormat::ChannelsLast3d))
      return {batch, channels, spatial, simdrop::Layout::nhwc, at::MemoryFormat::ChannelsLast3d};
  }
  return {batch, channels, spatial, simdrop::Layout::nchw, at::MemoryFormat::Contiguous};
}

// Every check of an element-wise op (forward or backward), before anything is allocated.
void check_diagonal(Kind kind, bool backward, const at::Tensor& input, double p, int64_t offset,
                    c10::string_view algorithm) {
  const char* op = name_of(kind, backward);
  const char* arg = backward ? "grad" : "input";
  check_tensor(input, op, arg);
  check_p(p, op, one_allowed(kind));
  (void)parse_algorithm(algorithm, op);
  std::uint64_t positions = static_cast<std::uint64_t>(input.numel());
  if (kind == Kind::channel) {
    const ChannelShape shape = channel_shape(input, op, arg);
    positions = shape.batch * shape.channels;
  }
  check_positions(offset, positions, op);
}

// The memory format an op's output takes from its input: channels_last in, channels_last out (as PyTorch's
// element-wise ops do); anything else gives a contiguous output.
at::MemoryFormat output_format(const at::Tensor& input) {
  if (input.dim() == 4 && !input.is_contiguous() && input.is_contiguous(at::MemoryFormat::ChannelsLast))
    return at::MemoryFormat::ChannelsLast;
  if (input.dim() == 5 && !input.is_contiguous() && input.is_contiguous(at::MemoryFormat::ChannelsLast3d))
    return at::MemoryFormat::ChannelsLast3d;
  return at::MemoryFormat::Contiguous;
}

// out = op(in) over whole buffers; in and out are dense in the layout `shape` (channel) or row-major (the
// rest) and may be the same tensor (in place).
void run_diagonal(Kind kind, bool backward, const at::Tensor& in, const at::Tensor& out, double p,
                  const simdrop::Stream& s) {
  if (out.numel() == 0) return;
  const char* op = name_of(kind, backward);
  with_element_type(in, op, backward ? "grad" : "input", [&]<class T>(std::type_identity<T>) {
    const auto x = in_span<T>(in);
    const auto y = out_span<T>(out);
    if (kind == Kind::channel) {
      const ChannelShape sh = channel_shape(in, op, "input");
      run_simdrop(op, [&] {
        if (backward)
          simdrop::channel_dropout_backward(x, y, sh.batch, sh.channels, sh.spatial, sh.layout, p, s);
        else
          simdrop::channel_dropout_forward(x, y, sh.batch, sh.channels, sh.spatial, sh.layout, p, s);
      });
      return;
    }
    run_simdrop(op, [&] {
      switch (kind) {
        case Kind::dropout:
          backward ? simdrop::dropout_backward(x, y, p, s) : simdrop::dropout_forward(x, y, p, s);
          break;
        case Kind::alpha:
          backward ? simdrop::alpha_dropout_backward(x, y, p, s) : simdrop::alpha_dropout_forward(x, y, p, s);
          break;
        case Kind::gaussian:
          backward ? simdrop::gaussian_dropout_backward(x, y, p, s) : simdrop::gaussian_dropout_forward(x, y, p, s);
          break;
        case Kind::channel:
          break;
      }
    });
  });
}

// The CPU kernel of an element-wise op, out of place. Element-wise ops run on the row-major order (so that
// the bits do not depend on the layout): a channels_last input goes through a row-major copy and its output
// is given back channels_last. Channel dropout runs on channels_last memory directly.
at::Tensor diagonal_cpu(Kind kind, bool backward, const at::Tensor& input, double p, int64_t seed, int64_t offset,
                        c10::string_view algorithm) {
  check_diagonal(kind, backward, input, p, offset, algorithm);
  const simdrop::Stream s = make_stream(seed, offset, algorithm, name_of(kind, backward));
  if (kind == Kind::channel) {
    const ChannelShape shape = channel_shape(input, name_of(kind, backward), "input");
    const at::Tensor in = input.contiguous(shape.format);  // a copy only for strides neither nchw nor nhwc
    at::Tensor out = new_output(in.sizes(), in.options().memory_format(shape.format));
    run_diagonal(kind, backward, in, out, p, s);
    return out;
  }
  const at::Tensor in = input.contiguous();  // a copy only for a non-contiguous tensor
  at::Tensor out = new_output(in.sizes(), in.options().memory_format(at::MemoryFormat::Contiguous));
  run_diagonal(kind, backward, in, out, p, s);
  const at::MemoryFormat format = output_format(input);
  return format == at::MemoryFormat::Contiguous ? out : out.contiguous(format);
}

// In place: on self's own memory where the kernel can run on it, else through a copy written back.
at::Tensor& diagonal_cpu_(Kind kind, at::Tensor& self, double p, int64_t seed, int64_t offset,
                          c10::string_view algorithm) {
  check_diagonal(kind, false, self, p, offset, algorithm);
  const simdrop::Stream s = make_stream(seed, offset, algorithm, names_of(static_cast<std::size_t>(kind)).inplace.c_str());
  const bool direct = kind == Kind::channel
                          ? self.is_contiguous(channel_shape(self, name_of(kind, false), "input").format)
                          : self.is_contiguous();
  if (direct) {
    run_diagonal(kind, false, self, self, p, s);
  } else {
    at::Tensor tmp = self.contiguous();
    run_diagonal(kind, false, tmp, tmp, p, s);
    self.copy_(tmp);
  }
  return self;
}

// ---- bias_dropout_add -------------------------------------------------------------------------------------

// x (..., cols), bias (cols), residual of x's shape, one dtype.
void check_bias_dropout_add(const at::Tensor& x, const at::Tensor& bias, const at::Tensor& residual, double p,
                            int64_t offset, c10::string_view algorithm) {
  const char* op = "bias_dropout_add";
  check_tensor(x, op, "x");
  check_tensor(bias, op, "bias");
  check_tensor(residual, op, "residual");
  TORCH_CHECK_VALUE(x.dim() >= 1, "simdrop.", op, ": x must have at least 1 dimension, got a scalar");
  TORCH_CHECK_VALUE(bias.dim() == 1 && bias.size(0) == x.size(-1), "simdrop.", op, ": bias must have shape (",
                    x.size(-1), ",) (x's last dimension), got ", bias.sizes());
  TORCH_CHECK_VALUE(residual.sizes() == x.sizes(), "simdrop.", op, ": residual must have x's shape ", x.sizes(),
                    ", got ", residual.sizes());
  TORCH_CHECK_TYPE(bias.scalar_type() == x.scalar_type() && residual.scalar_type() == x.scalar_type(), "simdrop.", op,
                   ": x, bias and residual must have one dtype, got ", x.scalar_type(), ", ", bias.scalar_type(),
                   " and ", residual.scalar_type());
  TORCH_CHECK_VALUE(bias.device() == x.device() && residual.device() == x.device(), "simdrop.", op,
                    ": x, bias and residual must be on one device, got ", x.device(), ", ", bias.device(), " and ",
                    residual.device());
  check_p(p, op, true);
  (void)parse_algorithm(algorithm, op);
  check_positions(offset, static_cast<std::uint64_t>(x.numel()), op);
}

void check_bias_dropout_add_backward(const at::Tensor& grad, double p, int64_t offset, c10::string_view algorithm) {
  const char* op = "bias_dropout_add_backward";
  check_tensor(grad, op, "grad");
  TORCH_CHECK_VALUE(grad.dim() >= 1, "simdrop.", op, ": grad must have at least 1 dimension, got a scalar");
  check_p(p, op, true);
  (void)parse_algorithm(algorithm, op);
  check_positions(offset, static_cast<std::uint64_t>(grad.numel()), op);
}

at::Tensor bias_dropout_add_cpu(const at::Tensor& x, const at::Tensor& bias, const at::Tensor& residual, double p,
                                int64_t seed, int64_t offset, c10::string_view algorithm) {
  const char* op = "bias_dropout_add";
  check_bias_dropout_add(x, bias, residual, p, offset, algorithm);
  const simdrop::Stream s = make_stream(seed, offset, algorithm, op);
  const at::Tensor xc = x.contiguous(), bc = bias.contiguous(), rc = residual.contiguous();
  at::Tensor y = new_output(xc.sizes(), xc.options().memory_format(at::MemoryFormat::Contiguous));
  if (y.numel() == 0) return y;
  with_element_type(xc, op, "x", [&]<class T>(std::type_identity<T>) {
    run_simdrop(op, [&] {
      simdrop::bias_dropout_add_forward(in_span<T>(xc), in_span<T>(bc), in_span<T>(rc), out_span<T>(y), p, s);
    });
  });
  return y;
}

// (dx, dbias) of bias_dropout_add from dy; the residual's gradient is dy itself.
std::tuple<at::Tensor, at::Tensor> bias_dropout_add_backward_cpu(const at::Tensor& grad, double p, int64_t seed,
                                                                 int64_t offset, c10::string_view algorithm) {
  const char* op = "bias_dropout_add_backward";
  check_bias_dropout_add_backward(grad, p, offset, algorithm);
  const simdrop::Stream s = make_stream(seed, offset, algorithm, op);
  const at::Tensor dy = grad.contiguous();
  at::Tensor dx = new_output(dy.sizes(), dy.options().memory_format(at::MemoryFormat::Contiguous));
  at::Tensor dbias = at::zeros({dy.size(-1)}, dy.options());
  if (dy.numel() == 0) return {dx, dbias};
  with_element_type(dy, op, "grad", [&]<class T>(std::type_identity<T>) {
    run_simdrop(op,
                [&] { simdrop::bias_dropout_add_backward(in_span<T>(dy), out_span<T>(dx), out_span<T>(dbias), p, s); });
  });
  return {dx, dbias};
}

// The keep-mask of stream positions [offset, offset + n) as a bool tensor: simdrop::make_mask, unpacked.
at::Tensor keep_mask(int64_t n, double p, int64_t seed, int64_t offset, c10::string_view algorithm) {
  const char* op = "keep_mask";
  TORCH_CHECK_VALUE(n >= 0, "simdrop.", op, ": n must be >= 0, got ", n);
  check_p(p, op, true);
  const simdrop::Stream s = make_stream(seed, offset, algorithm, op);
  std::vector<std::uint64_t> words(simdrop::mask_words(static_cast<std::size_t>(n)));
  run_simdrop(op, [&] { simdrop::make_mask(words, static_cast<std::size_t>(n), p, s); });
  at::Tensor keep = at::empty({n}, at::TensorOptions().dtype(at::kBool));
  bool* out = keep.data_ptr<bool>();
  for (int64_t i = 0; i < n; ++i) out[i] = (words[static_cast<std::size_t>(i) / 64] >> (i % 64)) & 1u;
  return keep;
}

// ---- CPU kernels as the schemas type them ---------------------------------------------------------------

template <Kind K>
at::Tensor forward_cpu(const at::Tensor& input, double p, OptSeed seed, int64_t offset, c10::string_view algorithm,
                       OptGenerator generator) {
  check_diagonal(K, false, input, p, offset, algorithm);  // before the draw: a refused call leaves the generator alone
  return diagonal_cpu(K, false, input, p, resolve_seed(seed, generator, p, input.numel()), offset, algorithm);
}

template <Kind K>
at::Tensor& inplace_cpu(at::Tensor& self, double p, OptSeed seed, int64_t offset, c10::string_view algorithm,
                        OptGenerator generator) {
  check_diagonal(K, false, self, p, offset, algorithm);
  return diagonal_cpu_(K, self, p, resolve_seed(seed, generator, p, self.numel()), offset, algorithm);
}

template <Kind K>
at::Tensor backward_cpu(const at::Tensor& grad, double p, int64_t seed, int64_t offset, c10::string_view algorithm) {
  return diagonal_cpu(K, true, grad, p, seed, offset, algorithm);
}

at::Tensor bias_dropout_add_cpu_op(const at::Tensor& x, const at::Tensor& bias, const at::Tensor& residual, double p,
                                   OptSeed seed, int64_t offset, c10::string_view algorithm, OptGenerator generator) {
  check_bias_dropout_add(x, bias, residual, p, offset, algorithm);
  return bias_dropout_add_cpu(x, bias, residual, p, resolve_seed(seed, generator, p, x.numel()), offset, algorithm);
}

// ---- Meta kernels: the checks and the output's metadata, no data -----------------------------------------

template <Kind K>
at::Tensor forward_meta(const at::Tensor& input, double p, OptSeed, int64_t offset, c10::string_view algorithm,
                        OptGenerator) {
  check_diagonal(K, false, input, p, offset, algorithm);
  return at::empty(input.sizes(), input.options().memory_format(output_format(input)));
}

template <Kind K>
at::Tensor& inplace_meta(at::Tensor& self, double p, OptSeed, int64_t offset, c10::string_view algorithm,
                         OptGenerator) {
  check_diagonal(K, false, self, p, offset, algorithm);
  return self;
}

template <Kind K>
at::Tensor backward_meta(const at::Tensor& grad, double p, int64_t, int64_t offset, c10::string_view algorithm) {
  check_diagonal(K, true, grad, p, offset, algorithm);
  return at::empty(grad.sizes(), grad.options().memory_format(output_format(grad)));
}

at::Tensor bias_dropout_add_meta(const at::Tensor& x, const at::Tensor& bias, const at::Tensor& residual, double p,
                                 OptSeed, int64_t offset, c10::string_view algorithm, OptGenerator) {
  check_bias_dropout_add(x, bias, residual, p, offset, algorithm);
  return at::empty(x.sizes(), x.options());
}

std::tuple<at::Tensor, at::Tensor> bias_dropout_add_backward_meta(const at::Tensor& grad, double p, int64_t,
                                                                  int64_t offset, c10::string_view algorithm) {
  check_bias_dropout_add_backward(grad, p, offset, algorithm);
  return {at::empty(grad.sizes(), grad.options()), at::empty({grad.size(-1)}, grad.options())};
}

}  // namespace simdrop_torch
