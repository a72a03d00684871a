#include "baselines/torch.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>
#include <memory>
#include <type_traits>

namespace simdrop::bench {

namespace {

// PyTorch's dtype of the same bits as T (an element type without one here does not compile).
template <class T>
constexpr torch::ScalarType scalar_type() {
  if constexpr (std::is_same_v<T, float>)
    return torch::kFloat32;
  else if constexpr (std::is_same_v<T, double>)
    return torch::kFloat64;
  else if constexpr (std::is_same_v<T, bfloat16>)
    return torch::kBFloat16;
  else if constexpr (std::is_same_v<T, float16>)
    return torch::kFloat16;
  else
    static_assert(sizeof(T) == 0, "no PyTorch dtype for this element type");
}

// The tensor's data as T (c10::BFloat16 / c10::Half storage holds the same bits as simdrop's types).
template <class T>
const T* data_of(const torch::Tensor& t) {
  return static_cast<const T*>(t.data_ptr());
}

template <class T>
std::optional<Prepared> make(Op op, Workload<T>& w) {
  if (op == Op::backward_regen) return std::nullopt;  // PyTorch keeps its mask; it has no regenerating form
  at::set_num_threads(w.threads);
  torch::manual_seed(w.seed);
  const auto dtype = scalar_type<T>();
  const auto options = torch::TensorOptions().dtype(dtype);
  // The input is shared between cases and read-only: every op below reads x and writes new tensors.
  const torch::Tensor x = torch::from_blob(const_cast<T*>(w.in.data()), {static_cast<std::int64_t>(w.n)}, options);
  auto result = std::make_shared<torch::Tensor>();
  auto check_out = [&w, result] { return check_dropout(w, data_of<T>(*result)); };
  auto family_check = [op, &w, result] { return check_family(op, w, data_of<T>(*result)); };
  const double data_bytes = 2.0 * w.n * sizeof(T), mask_bytes = 1.0 * w.n * sizeof(T);
  switch (op) {
    case Op::mask:
      // The mask PyTorch draws for dropout: a tensor of the input's dtype filled by bernoulli_(1 - p).
      return Prepared{[&w, x, result] { *result = at::empty_like(x).bernoulli_(1 - w.p); },
                      [&w, result] {
                        return check_keep_count(static_cast<std::size_t>(result->sum().template item<double>()), w.n, w.p);
                      },
                      mask_bytes, sizeof(T), "mask tensor of input dtype"};
    case Op::forward:
      return Prepared{[&w, x, result] { *result = torch::dropout(x, w.p, /*train=*/true); }, check_out,
                      data_bytes + mask_bytes, sizeof(T), "torch::dropout (train)"};
    case Op::backward_mask: {
      // Autograd's dropout backward: the gradient times the saved noise (bernoulli(1 - p) / (1 - p)).
      auto noise = std::make_shared<torch::Tensor>(at::empty_like(x).bernoulli_(1 - w.p).div_(1 - w.p));
      return Prepared{[x, noise, result] { *result = x * *noise; }, check_out, data_bytes + mask_bytes, sizeof(T),
                      "grad * saved noise"};
    }
    case Op::channel: {
      const FamilyShape sh = family_shape(w.n);
      const torch::Tensor x3 = x.view({static_cast<std::int64_t>(sh.batch), static_cast<std::int64_t>(sh.channels),
                                       static_cast<std::int64_t>(sh.spatial)});
      return Prepared{[&w, x3, result] { *result = torch::feature_dropout(x3, w.p, /*train=*/true).contiguous(); },
                      family_check, data_bytes, 0.0, "torch::feature_dropout (train)"};
    }
    case Op::shared: {
      // Locked dropout as PyTorch code writes it: a [1, row] noise tensor broadcast over the steps.
      const FamilyShape sh = family_shape(w.n);
      const torch::Tensor x2 = x.view({static_cast<std::int64_t>(sh.steps), static_cast<std::int64_t>(sh.row)});
      return Prepared{[&w, x2, result] {
                        const auto noise = at::empty({1, x2.size(1)}, x2.options()).bernoulli_(1 - w.p).div_(1 - w.p);
                        *result = (x2 * noise).contiguous();
                      },
                      family_check, data_bytes, 0.0, "x * bernoulli [1, row] noise"};
    }
    case Op::alpha:
      return Prepared{[&w, x, result] { *result = torch::alpha_dropout(x, w.p, /*train=*/true); }, family_check,
                      data_bytes + mask_bytes, sizeof(T), "torch::alpha_dropout (train)"};
    case Op::gaussian: {
      const double sigma = std::sqrt(w.p / (1 - w.p));
      return Prepared{[x, sigma, result] { *result = x * torch::randn_like(x).mul_(sigma).add_(1); }, family_check,
                      data_bytes, 0.0, "x * (1 + sigma randn)"};
    }
    case Op::bias_dropout_add: {
      w.prepare_residual();
      const FamilyShape sh = family_shape(w.n);
      const auto rows = static_cast<std::int64_t>(sh.rows), cols = static_cast<std::int64_t>(sh.cols);
      const torch::Tensor x2 = x.view({rows, cols});
      const torch::Tensor bias = torch::from_blob(w.bias.data(), {cols}, options);
      const torch::Tensor residual = torch::from_blob(w.residual.data(), {rows, cols}, options);
      return Prepared{[&w, x2, bias, residual, result] {
                        *result = residual + torch::dropout(x2 + bias, w.p, /*train=*/true);
                      },
                      family_check, 3.0 * w.n * sizeof(T) + mask_bytes, sizeof(T), "residual + dropout(x + bias)"};
    }
    default:
      return std::nullopt;
  }
}

}  // namespace

template <class T>
std::optional<Prepared> make_torch(Op op, Workload<T>& w) {
  if (w.n == 0) return make(op, w);  // the probe of has_op: nothing runs
  // Prepare and run it once here: where PyTorch has no CPU kernel of this dtype for the op (at preparation, as the
  // saved noise of backward_mask, or in the run) it throws c10::Error, and the case is reported as skipped with
  // PyTorch's message (its first line, without the C++ backtrace).
  try {
    std::optional<Prepared> prepared = make(op, w);
    if (prepared) {
      prepared->run();
      prepared->ran = true;
    }
    return prepared;
  } catch (const c10::Error& e) {
    std::string why = e.what_without_backtrace();
    why = why.substr(0, why.find('\n'));
    Prepared refused;
    refused.run = [] {};
    refused.check = [] { return Check{}; };
    refused.skipped = "PyTorch " + torch_version() + " refuses " + std::string(c10::toString(scalar_type<T>())) +
                      ": " + why;
    return refused;
  }
}

std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

// One line per element type of ElementTypes (src/element.hpp); a type missing here is a link error.
template std::optional<Prepared> make_torch(Op, Workload<float>&);
template std::optional<Prepared> make_torch(Op, Workload<double>&);
template std::optional<Prepared> make_torch(Op, Workload<bfloat16>&);
template std::optional<Prepared> make_torch(Op, Workload<float16>&);

}  // namespace simdrop::bench
