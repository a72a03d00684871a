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
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/EmptyTensor.h>
#include <c10/core/CPUAllocator.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <tbb/task_arena.h>
#include <torch/autograd.h>
#include <torch/csrc/autograd/VariableTypeUtils.h>
#include <torch/library.h>

#ifdef __linux__
#include <sys/mman.h>
#endif

#include <array>
#include <cstdlib>
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
#include <simdrop/half.hpp>

#include "element.hpp"  // the library's element-type list (src/)
#include "ops.hpp"      // the library's list of operations (src/)

namespace {

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

// ---- Outputs ----------------------------------------------------------------------------------------------

// The ops' large outputs come from a small cache of buffers that the binding keeps, as PyTorch's CUDA caching
// allocator does on GPUs. Why: PyTorch's CPU allocator hands every large tensor fresh pages from the kernel
// (glibc unmaps a freed 64 MiB block at once; so does jemalloc with its default decay), and first touching them
// costs a page fault and the kernel's zeroing per page. For a 64 MiB fp32 forward + backward that was ~10 ms of
// a ~40 ms step on a 2-core VM (the C++ library's own passes: ~29 ms), and with 2 threads the faults serialise.
// Buffers of at least kCachedMin bytes are 2 MiB-aligned, asked for transparent huge pages once (a hint: where
// THP is off nothing changes) and, when their tensor dies, kept for the next output of the same rounded size,
// up to $SIMDROP_TORCH_CACHE_MIB idle MiB (default 256; 0 turns the cache off); empty_cache() returns them all.
// The tensors are ordinary resizable CPU tensors (their storage names this allocator); smaller outputs and
// everything else use PyTorch's CPU allocator.
class OutputCache final : public c10::Allocator {
 public:
  static constexpr std::size_t kAlign = std::size_t{2} << 20;
  static constexpr std::size_t kCachedMin = std::size_t{2} << 20;

  static OutputCache& instance() {
    static OutputCache* cache = new OutputCache;  // never destroyed: tensors may outlive static destruction
    return *cache;
  }

  c10::DataPtr allocate(std::size_t n) const override {
    if (n < kCachedMin || limit_ == 0) return c10::GetCPUAllocator()->allocate(n);
    const std::size_t bytes = (n + kAlign - 1) / kAlign * kAlign;
    void* ptr = take(bytes);
    if (!ptr) {
      ptr = std::aligned_alloc(kAlign, bytes);
      TORCH_CHECK(ptr != nullptr, "simdrop: out of memory allocating ", bytes, " bytes");
#if defined(__linux__) && defined(MADV_HUGEPAGE)
      (void)madvise(ptr, bytes, MADV_HUGEPAGE);
#endif
    }
    report(ptr, static_cast<int64_t>(bytes));
    return {ptr, new Block{ptr, bytes}, &release, c10::Device(c10::DeviceType::CPU)};
  }

  // Frees every idle buffer; returns the bytes freed.
  std::size_t empty() const {
    std::lock_guard<std::mutex> guard(lock_);
    std::size_t freed = 0;
    for (auto& [bytes, ptr] : idle_) {
      std::free(ptr);
      freed += bytes;
    }
    idle_.clear();
    idle_bytes_ = 0;
    return freed;
  }

 private:
  struct Block {
    void* ptr;
    std::size_t bytes;
  };

  OutputCache() {
    const char* env = std::getenv("SIMDROP_TORCH_CACHE_MIB");
    limit_ = env ? std::strtoull(env, nullptr, 10) << 20 : std::size_t{256} << 20;
  }

  // torch.profiler's memory view (profile_memory=True) sees these buffers as it sees its own allocator's.
  void report(void* ptr, int64_t delta) const {
    int64_t in_use = 0, reserved = 0;
    {
      std::lock_guard<std::mutex> guard(lock_);
      in_use_bytes_ += delta;
      in_use = static_cast<int64_t>(in_use_bytes_);
      reserved = static_cast<int64_t>(in_use_bytes_ + idle_bytes_);
    }
    c10::reportMemoryUsageToProfiler(ptr, delta, in_use, reserved, c10::Device(c10::DeviceType::CPU));
  }

  void* take(std::size_t bytes) const {
    std::lock_guard<std::mutex> guard(lock_);
    const auto it = idle_.find(bytes);
    if (it == idle_.end()) return nullptr;
    void* ptr = it->second;
    idle_.erase(it);
    idle_bytes_ -= bytes;
    return ptr;
  }

  static void release(void* ctx) {
    const std::unique_ptr<Block> block(static_cast<Block*>(ctx));
    OutputCache& cache = instance();
    cache.report(block->ptr, -static_cast<int64_t>(block->bytes));
    {
      std::lock_guard<std::mutex> guard(cache.lock_);
      if (cache.idle_bytes_ + block->bytes <= cache.limit_) {
        cache.idle_.emplace(block->bytes, block->ptr);
        cache.idle_bytes_ += block->bytes;
        return;
      }
    }
    std::free(block->ptr);
  }

  std::size_t limit_ = 0;
  mutable std::mutex lock_;
  mutable std::multimap<std::size_t, void*> idle_;
  mutable std::size_t idle_bytes_ = 0;
  mutable std::size_t in_use_bytes_ = 0;
};

// A new tensor for an op's output (uninitialised), from the cache above.
at::Tensor new_output(at::IntArrayRef sizes, const at::TensorOptions& options) {
  return at::detail::empty_generic(sizes, &OutputCache::instance(), c10::DispatchKeySet(c10::DispatchKey::CPU),
                                   options.dtype().toScalarType(), options.memory_format_opt());
}

int64_t empty_cache() { return static_cast<int64_t>(OutputCache::instance().empty()); }

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

// Runs f on at most at::get_num_threads() threads: always inside an arena of that many slots (1 means the
// calling thread alone; outside an arena oneTBB would use every core, and some of the library's loops, the
// column sums of bias_dropout_add's backward among them, go parallel at any size). The result never depends
// on the thread count. A std::invalid_argument from the library (which throws before writing anything)
// becomes a ValueError naming the op.
template <class F>
void run_simdrop(const char* op, F&& f) {
  try {
    arena_of(std::max(1, at::get_num_threads())).execute(f);
  } catch (const std::invalid_argument& e) {
    TORCH_CHECK_VALUE(false, "simdrop.", op, ": ", e.what());
  }
}

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

}  // namespace

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

namespace {
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
}  // namespace

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
