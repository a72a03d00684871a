#include "baselines/torch.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <memory>

namespace simdrop::bench {

template <class T>
std::optional<Prepared> make_torch(Op op, Workload<T>& w) {
  if (op == Op::backward_regen) return std::nullopt;  // PyTorch keeps its mask; it has no regenerating form
  at::set_num_threads(w.threads);
  torch::manual_seed(w.seed);
  const auto dtype = sizeof(T) == 4 ? torch::kFloat32 : torch::kFloat64;
  const auto options = torch::TensorOptions().dtype(dtype);
  const torch::Tensor x = torch::from_blob(w.in.data(), {static_cast<std::int64_t>(w.n)}, options);
  auto result = std::make_shared<torch::Tensor>();
  auto check_out = [&w, result] { return check_dropout(w, result->template data_ptr<T>()); };
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
