// simdrop's dropout family as PyTorch ops: torch.ops.simdrop.* (Python, TorchScript), with autograd.
//
// Every op takes (p, seed, offset, generator) and gives exactly the bits of the C++ call with
// Stream{seed, offset, generator} over the tensor's elements in row-major (logical) order. Backward passes
// regenerate the mask from those numbers: nothing but (p, seed, offset, generator) is saved for backward,
// no tensor. Each backward pass is itself differentiable (the Jacobians are diagonal, so a backward pass is
// its own adjoint), so double backward works too.
//
// Only the public API is used (simdrop/dropout.hpp, family.hpp, runtime.hpp). Element types are mapped in one
// place, with_element_type(); bfloat16 and float16 join when the library has <simdrop/half.hpp>.
#include <ATen/Parallel.h>
#include <tbb/task_arena.h>
#include <torch/autograd.h>
#include <torch/library.h>

#ifdef __linux__
#include <sys/mman.h>
#endif

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <simdrop/dropout.hpp>
#include <simdrop/family.hpp>
#include <simdrop/runtime.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#if __has_include(<simdrop/half.hpp>)
#include <simdrop/half.hpp>
#define SIMDROP_TORCH_HAVE_HALF 1
#endif

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// ---- Element types: the one place a torch dtype becomes a simdrop element type --------------------------

// Calls f(std::type_identity<T>{}) with T the element type simdrop uses for t's dtype; a dtype simdrop has no
// kernels for is a TypeError naming the op and the argument.
template <class F>
void with_element_type(const at::Tensor& t, const char* op, const char* arg, F&& f) {
  switch (t.scalar_type()) {
    case at::kFloat:
      return f(std::type_identity<float>{});
    case at::kDouble:
      return f(std::type_identity<double>{});
#ifdef SIMDROP_TORCH_HAVE_HALF
    // c10::BFloat16 and c10::Half are one uint16_t each, as simdrop::bfloat16 and simdrop::float16 are.
    case at::kBFloat16:
      return f(std::type_identity<simdrop::bfloat16>{});
    case at::kHalf:
      return f(std::type_identity<simdrop::float16>{});
#endif
    default:
      TORCH_CHECK_TYPE(false, "simdrop.", op, ": ", arg, " must be a floating-point tensor of dtype ",
#ifdef SIMDROP_TORCH_HAVE_HALF
                       "float32, float64, bfloat16 or float16",
#else
                       "float32 or float64",
#endif
                       ", got ", t.scalar_type());
  }
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

// ---- Argument checks (all of them before anything is allocated or written) ----------------------------

// A defined, strided CPU tensor of a dtype simdrop has kernels for; otherwise a ValueError / TypeError.
void check_tensor(const at::Tensor& t, const char* op, const char* arg) {
  TORCH_CHECK_VALUE(t.defined(), "simdrop.", op, ": ", arg, " is an undefined tensor");
  TORCH_CHECK_VALUE(t.device().is_cpu() && t.layout() == at::kStrided, "simdrop.", op, ": ", arg,
                    " must be a dense CPU tensor, got device ", t.device(), " and layout ", t.layout(),
                    " (simdrop's kernels run on the CPU only)");
  with_element_type(t, op, arg, [](auto) {});
}

simdrop::Generator parse_generator(const std::string& name, const char* op) {
  if (name == "philox4x32_10") return simdrop::Generator::philox4x32_10;
  if (name == "philox4x32_7") return simdrop::Generator::philox4x32_7;
  if (name == "ars5") return simdrop::Generator::ars5;
  TORCH_CHECK_VALUE(false, "simdrop.", op,
                    ": generator must be \"philox4x32_10\", \"philox4x32_7\" or \"ars5\", got \"", name, "\"");
}

// p in [0, 1] (or [0, 1) where p = 1 has no meaning: alpha and Gaussian dropout), NaN refused.
void check_p(double p, const char* op, bool one_allowed) {
  const bool ok = one_allowed ? (p >= 0.0 && p <= 1.0) : (p >= 0.0 && p < 1.0);  // false for NaN
  TORCH_CHECK_VALUE(ok, "simdrop.", op, ": p must be in ", one_allowed ? "[0, 1]" : "[0, 1)", ", got ", p);
}

simdrop::Stream make_stream(int64_t seed, int64_t offset, const std::string& generator, const char* op) {
  TORCH_CHECK_VALUE(seed >= 0, "simdrop.", op, ": seed must be >= 0, got ", seed);
  TORCH_CHECK_VALUE(offset >= 0, "simdrop.", op, ": offset must be >= 0, got ", offset);
  return {static_cast<std::uint64_t>(seed), static_cast<std::uint64_t>(offset), parse_generator(generator, op)};
}

// ---- Outputs ----------------------------------------------------------------------------------------------

// A new tensor for an op's output. PyTorch's CPU allocator returns fresh pages for large tensors, and first
// touching them costs a page fault per 4 KiB, which on some hosts takes longer than the dropout itself (a
// 64 MiB output: ~50-90 ms of faults against ~10 ms of work, measured on a 2-core VM). Where transparent huge
// pages are in madvise mode, asking for them on the output's whole 2 MiB pages cuts that ~10x. A hint only:
// where it fails or THP is off, nothing changes.
at::Tensor new_output(at::IntArrayRef sizes, const at::TensorOptions& options) {
  at::Tensor out = at::empty(sizes, options);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
  const std::size_t bytes = static_cast<std::size_t>(out.numel()) * out.element_size();
  if (bytes >= 2 * kHuge) {
    const auto begin = reinterpret_cast<std::uintptr_t>(out.data_ptr());
    const std::uintptr_t first = (begin + kHuge - 1) / kHuge * kHuge, last = (begin + bytes) / kHuge * kHuge;
    if (last > first) (void)madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
  }
#endif
  return out;
}

// ---- Threads: as many as torch.get_num_threads() says ---------------------------------------------------

// A oneTBB arena of `threads` slots, one per thread count, kept for the process's life.
tbb::task_arena& arena_of(int threads) {
  static std::mutex lock;
  static std::map<int, std::unique_ptr<tbb::task_arena>> arenas;
  std::lock_guard<std::mutex> guard(lock);
  auto& arena = arenas[threads];
  if (!arena) arena = std::make_unique<tbb::task_arena>(threads);
  return *arena;
}

// Runs f on at most at::get_num_threads() threads (one arena slot per thread, so 1 means the calling thread
// alone; outside an arena oneTBB would use every core). Calls under two of simdrop's tasks run on the calling
// thread anyway, so they skip the arena. The result never depends on the thread count. A std::invalid_argument
// from the library (which throws before writing anything) becomes a ValueError naming the op.
template <class F>
void run_simdrop(const char* op, std::int64_t elements, F&& f) {
  try {
    const int threads = std::max(1, at::get_num_threads());
    if (static_cast<std::size_t>(elements) < 2 * simdrop::grain_size())
      f();
    else
      arena_of(threads).execute(f);
  } catch (const std::invalid_argument& e) {
    TORCH_CHECK_VALUE(false, "simdrop.", op, ": ", e.what());
  }
}

// ---- The ops, without autograd ---------------------------------------------------------------------------

// The kinds of element-wise ops with a diagonal Jacobian; each one's backward pass is its own adjoint.
enum class Kind : int64_t { dropout = 0, channel = 1, alpha = 2, gaussian = 3 };

const char* name_of(Kind kind, bool backward) {
  switch (kind) {
    case Kind::dropout:
      return backward ? "dropout_backward" : "dropout";
    case Kind::channel:
      return backward ? "channel_dropout_backward" : "channel_dropout";
    case Kind::alpha:
      return backward ? "alpha_dropout_backward" : "alpha_dropout";
    case Kind::gaussian:
      return backward ? "gaussian_dropout_backward" : "gaussian_dropout";
  }
  return "?";
}

// Channel dropout's view of x: (N, C, *) as batch, channels, spatial, and the layout its memory has.
// Contiguous -> nchw; channels_last (4-d) or channels_last_3d (5-d) -> nhwc, output in the same format;
// any other strides are copied to contiguous first.
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

// y = op(x) (forward) or dx = op's backward(dy), regenerated from the stream. All checks come first.
at::Tensor diagonal_kernel(Kind kind, bool backward, const at::Tensor& input, double p, int64_t seed, int64_t offset,
                           const std::string& generator) {
  const char* op = name_of(kind, backward);
  const char* arg = backward ? "grad" : "x";
  check_tensor(input, op, arg);
  check_p(p, op, kind == Kind::dropout || kind == Kind::channel);
  const simdrop::Stream s = make_stream(seed, offset, generator, op);
  if (kind == Kind::channel) {
    const ChannelShape shape = channel_shape(input, op, arg);
    const at::Tensor in = input.contiguous(shape.format);  // a copy only for strides neither nchw nor nhwc
    at::Tensor out = new_output(in.sizes(), in.options().memory_format(shape.format));
    if (out.numel() == 0) return out;
    with_element_type(in, op, arg, [&]<class T>(std::type_identity<T>) {
      run_simdrop(op, in.numel(), [&] {
        if (backward)
          simdrop::channel_dropout_backward(in_span<T>(in), out_span<T>(out), shape.batch, shape.channels,
                                            shape.spatial, shape.layout, p, s);
        else
          simdrop::channel_dropout_forward(in_span<T>(in), out_span<T>(out), shape.batch, shape.channels, shape.spatial,
                                           shape.layout, p, s);
      });
    });
    return out;
  }
  const at::Tensor in = input.contiguous();  // a copy only for a non-contiguous tensor
  at::Tensor out = new_output(in.sizes(), in.options().memory_format(at::MemoryFormat::Contiguous));
  if (out.numel() == 0) return out;
  with_element_type(in, op, arg, [&]<class T>(std::type_identity<T>) {
    run_simdrop(op, in.numel(), [&] {
      const auto x = in_span<T>(in);
      const auto y = out_span<T>(out);
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
  return out;
}

// bias_dropout_add's checks: x (..., cols), bias (cols), residual of x's shape, one dtype.
void check_bias_dropout_add(const at::Tensor& x, const at::Tensor& bias, const at::Tensor& residual, double p) {
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
  check_p(p, op, true);
}

at::Tensor bias_dropout_add_kernel(const at::Tensor& x, const at::Tensor& bias, const at::Tensor& residual, double p,
                                   int64_t seed, int64_t offset, const std::string& generator) {
  const char* op = "bias_dropout_add";
  check_bias_dropout_add(x, bias, residual, p);
  const simdrop::Stream s = make_stream(seed, offset, generator, op);
  const at::Tensor xc = x.contiguous(), bc = bias.contiguous(), rc = residual.contiguous();
  at::Tensor y = new_output(xc.sizes(), xc.options().memory_format(at::MemoryFormat::Contiguous));
  if (y.numel() == 0) return y;
  with_element_type(xc, op, "x", [&]<class T>(std::type_identity<T>) {
    run_simdrop(op, xc.numel(), [&] {
      simdrop::bias_dropout_add_forward(in_span<T>(xc), in_span<T>(bc), in_span<T>(rc), out_span<T>(y), p, s);
    });
  });
  return y;
}

// (dx, dbias) of bias_dropout_add from dy; the residual's gradient is dy itself.
std::tuple<at::Tensor, at::Tensor> bias_dropout_add_backward_kernel(const at::Tensor& grad, double p, int64_t seed,
                                                                    int64_t offset, const std::string& generator) {
  const char* op = "bias_dropout_add_backward";
  check_tensor(grad, op, "grad");
  TORCH_CHECK_VALUE(grad.dim() >= 1, "simdrop.", op, ": grad must have at least 1 dimension, got a scalar");
  check_p(p, op, true);
  const simdrop::Stream s = make_stream(seed, offset, generator, op);
  const at::Tensor dy = grad.contiguous();
  at::Tensor dx = new_output(dy.sizes(), dy.options().memory_format(at::MemoryFormat::Contiguous));
  at::Tensor dbias = at::zeros({dy.size(-1)}, dy.options());
  if (dy.numel() == 0) return {dx, dbias};
  with_element_type(dy, op, "grad", [&]<class T>(std::type_identity<T>) {
    run_simdrop(op, dy.numel(),
                [&] { simdrop::bias_dropout_add_backward(in_span<T>(dy), out_span<T>(dx), out_span<T>(dbias), p, s); });
  });
  return {dx, dbias};
}

// ---- Autograd: only (kind, p, seed, offset, generator) are saved ----------------------------------------

bool needs_graph(std::initializer_list<at::Tensor> tensors) {
  if (!at::GradMode::is_enabled()) return false;
  for (const auto& t : tensors)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void save_stream(AutogradContext* ctx, Kind kind, double p, int64_t seed, int64_t offset,
                 const std::string& generator) {
  ctx->saved_data["kind"] = static_cast<int64_t>(kind);
  ctx->saved_data["p"] = p;
  ctx->saved_data["seed"] = seed;
  ctx->saved_data["offset"] = offset;
  ctx->saved_data["generator"] = generator;
}

// A diagonal op's backward pass dx = J dy (J diagonal, regenerated); its own backward is J again.
struct DiagonalBackward : torch::autograd::Function<DiagonalBackward> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& grad, int64_t kind, double p, int64_t seed,
                            int64_t offset, std::string generator) {
    save_stream(ctx, static_cast<Kind>(kind), p, seed, offset, generator);
    return diagonal_kernel(static_cast<Kind>(kind), true, grad, p, seed, offset, generator);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads);
};

at::Tensor apply_diagonal_backward(AutogradContext* ctx, const at::Tensor& grad) {
  const auto& d = ctx->saved_data;
  return DiagonalBackward::apply(grad, d.at("kind").toInt(), d.at("p").toDouble(), d.at("seed").toInt(),
                                 d.at("offset").toInt(), d.at("generator").toStringRef());
}

variable_list DiagonalBackward::backward(AutogradContext* ctx, variable_list grads) {
  if (!grads[0].defined()) return {at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  return {apply_diagonal_backward(ctx, grads[0]), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
}

struct DiagonalForward : torch::autograd::Function<DiagonalForward> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, int64_t kind, double p, int64_t seed,
                            int64_t offset, std::string generator) {
    save_stream(ctx, static_cast<Kind>(kind), p, seed, offset, generator);
    return diagonal_kernel(static_cast<Kind>(kind), false, x, p, seed, offset, generator);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    at::Tensor dx = grads[0].defined() ? apply_diagonal_backward(ctx, grads[0]) : at::Tensor();
    return {dx, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

at::Tensor diagonal_op(Kind kind, bool backward, const at::Tensor& x, double p, int64_t seed, int64_t offset,
                       const std::string& generator) {
  if (!needs_graph({x})) return diagonal_kernel(kind, backward, x, p, seed, offset, generator);
  if (backward) return DiagonalBackward::apply(x, static_cast<int64_t>(kind), p, seed, offset, generator);
  return DiagonalForward::apply(x, static_cast<int64_t>(kind), p, seed, offset, generator);
}

// bias_dropout_add's backward (dy -> dx, dbias); its own backward is g_dy = J (g_dx + g_dbias), J being
// dropout's diagonal with the same stream (the two share make_mask(rows * cols, p, s)).
struct BiasDropoutAddBackward : torch::autograd::Function<BiasDropoutAddBackward> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& grad, double p, int64_t seed, int64_t offset,
                               std::string generator) {
    save_stream(ctx, Kind::dropout, p, seed, offset, generator);
    ctx->saved_data["shape"] = grad.sizes().vec();
    auto [dx, dbias] = bias_dropout_add_backward_kernel(grad, p, seed, offset, generator);
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

std::tuple<at::Tensor, at::Tensor> bias_dropout_add_backward_op(const at::Tensor& grad, double p, int64_t seed,
                                                                int64_t offset, const std::string& generator) {
  if (!needs_graph({grad})) return bias_dropout_add_backward_kernel(grad, p, seed, offset, generator);
  auto out = BiasDropoutAddBackward::apply(grad, p, seed, offset, generator);
  return {out[0], out[1]};
}

struct BiasDropoutAdd : torch::autograd::Function<BiasDropoutAdd> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& bias,
                            const at::Tensor& residual, double p, int64_t seed, int64_t offset, std::string generator) {
    save_stream(ctx, Kind::dropout, p, seed, offset, generator);
    return bias_dropout_add_kernel(x, bias, residual, p, seed, offset, generator);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const at::Tensor& dy = grads[0];
    if (!dy.defined()) return variable_list(7);
    const auto& d = ctx->saved_data;
    auto [dx, dbias] = bias_dropout_add_backward_op(dy, d.at("p").toDouble(), d.at("seed").toInt(),
                                                    d.at("offset").toInt(), d.at("generator").toStringRef());
    return {dx, dbias, dy, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

at::Tensor bias_dropout_add_op(const at::Tensor& x, const at::Tensor& bias, const at::Tensor& residual, double p,
                               int64_t seed, int64_t offset, const std::string& generator) {
  if (!needs_graph({x, bias, residual})) return bias_dropout_add_kernel(x, bias, residual, p, seed, offset, generator);
  return BiasDropoutAdd::apply(x, bias, residual, p, seed, offset, generator);
}

// The keep-mask of elements [0, n) as a bool tensor: simdrop::make_mask, unpacked (for tests and inspection).
at::Tensor keep_mask_op(int64_t n, double p, int64_t seed, int64_t offset, const std::string& generator) {
  const char* op = "keep_mask";
  TORCH_CHECK_VALUE(n >= 0, "simdrop.", op, ": n must be >= 0, got ", n);
  check_p(p, op, true);
  const simdrop::Stream s = make_stream(seed, offset, generator, op);
  std::vector<std::uint64_t> words(simdrop::mask_words(static_cast<std::size_t>(n)));
  run_simdrop(op, n, [&] { simdrop::make_mask(words, static_cast<std::size_t>(n), p, s); });
  at::Tensor keep = at::empty({n}, at::TensorOptions().dtype(at::kBool));
  bool* out = keep.data_ptr<bool>();
  for (int64_t i = 0; i < n; ++i) out[i] = (words[static_cast<std::size_t>(i) / 64] >> (i % 64)) & 1u;
  return keep;
}

#define SIMDROP_STREAM_ARGS "float p, int seed, int offset=0, str generator=\"philox4x32_10\""

}  // namespace

// The schemas; every op is a catch-all (CompositeImplicitAutograd) kernel that checks its tensors itself, so a
// CUDA or meta tensor gets simdrop's ValueError naming the argument, not a missing-kernel error.
TORCH_LIBRARY(simdrop, m) {
  m.def("dropout(Tensor x, " SIMDROP_STREAM_ARGS ") -> Tensor",
        [](const at::Tensor& x, double p, int64_t seed, int64_t offset, std::string generator) {
          return diagonal_op(Kind::dropout, false, x, p, seed, offset, generator);
        });
  m.def("dropout_backward(Tensor grad, " SIMDROP_STREAM_ARGS ") -> Tensor",
        [](const at::Tensor& grad, double p, int64_t seed, int64_t offset, std::string generator) {
          return diagonal_op(Kind::dropout, true, grad, p, seed, offset, generator);
        });
  m.def("channel_dropout(Tensor x, " SIMDROP_STREAM_ARGS ") -> Tensor",
        [](const at::Tensor& x, double p, int64_t seed, int64_t offset, std::string generator) {
          return diagonal_op(Kind::channel, false, x, p, seed, offset, generator);
        });
  m.def("channel_dropout_backward(Tensor grad, " SIMDROP_STREAM_ARGS ") -> Tensor",
        [](const at::Tensor& grad, double p, int64_t seed, int64_t offset, std::string generator) {
          return diagonal_op(Kind::channel, true, grad, p, seed, offset, generator);
        });
  m.def("alpha_dropout(Tensor x, " SIMDROP_STREAM_ARGS ") -> Tensor",
        [](const at::Tensor& x, double p, int64_t seed, int64_t offset, std::string generator) {
          return diagonal_op(Kind::alpha, false, x, p, seed, offset, generator);
        });
  m.def("alpha_dropout_backward(Tensor grad, " SIMDROP_STREAM_ARGS ") -> Tensor",
        [](const at::Tensor& grad, double p, int64_t seed, int64_t offset, std::string generator) {
          return diagonal_op(Kind::alpha, true, grad, p, seed, offset, generator);
        });
  m.def("gaussian_dropout(Tensor x, " SIMDROP_STREAM_ARGS ") -> Tensor",
        [](const at::Tensor& x, double p, int64_t seed, int64_t offset, std::string generator) {
          return diagonal_op(Kind::gaussian, false, x, p, seed, offset, generator);
        });
  m.def("gaussian_dropout_backward(Tensor grad, " SIMDROP_STREAM_ARGS ") -> Tensor",
        [](const at::Tensor& grad, double p, int64_t seed, int64_t offset, std::string generator) {
          return diagonal_op(Kind::gaussian, true, grad, p, seed, offset, generator);
        });
  m.def("bias_dropout_add(Tensor x, Tensor bias, Tensor residual, " SIMDROP_STREAM_ARGS ") -> Tensor",
        [](const at::Tensor& x, const at::Tensor& bias, const at::Tensor& residual, double p, int64_t seed,
           int64_t offset,
           std::string generator) { return bias_dropout_add_op(x, bias, residual, p, seed, offset, generator); });
  m.def("bias_dropout_add_backward(Tensor grad, " SIMDROP_STREAM_ARGS ") -> (Tensor, Tensor)",
        [](const at::Tensor& grad, double p, int64_t seed, int64_t offset, std::string generator) {
          return bias_dropout_add_backward_op(grad, p, seed, offset, generator);
        });
  m.def("keep_mask(int n, " SIMDROP_STREAM_ARGS ") -> Tensor",
        [](int64_t n, double p, int64_t seed, int64_t offset, std::string generator) {
          return keep_mask_op(n, p, seed, offset, generator);
        });
  m.def("version() -> str", []() { return std::string(simdrop::version()); });
}
