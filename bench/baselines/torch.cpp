#include "baselines/torch.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>
#include <memory>

namespace simdrop::bench {

template <class T>
std::optional<Prepared> make_torch(Op op, Workload<T>& w) {
  if (op == Op::backward_regen) return std::nullopt;  // PyTorch keeps its mask; it has no regenerating form
  at::set_num_threads(w.threads);
  torch::manual_seed(w.seed);
  const auto dtype = sizeof(T) == 4 ? torch::kFloat32 : torch::kFloat64;
  const auto options = torch::TensorOptions().dtype(dtype);
  // The input is shared between cases and read-only: every op below reads x and writes new tensors.
  const torch::Tensor x = torch::from_blob(const_cast<T*>(w.in.data()), {static_cast<std::int64_t>(w.n)}, options);
  auto result = std::make_shared<torch::Tensor>();
  auto check_out = [&w, result] { return check_dropout(w, result->template data_ptr<T>()); };
  auto family_check = [op, &w, result] { return check_family(op, w, result->template data_ptr<T>()); };
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

std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

template std::optional<Prepared> make_torch(Op, Workload<float>&);
template std::optional<Prepared> make_torch(Op, Workload<double>&);

}  // namespace simdrop::bench
