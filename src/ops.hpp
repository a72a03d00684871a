// The list of simdrop's operations, written once: every entry point of the public API (simdrop/dropout.hpp,
// simdrop/family.hpp) with what a caller needs to know to drive it generically. The benchmark (its op names,
// and the "simdrop_ops" key of its JSON, which the report reads), the differential fuzzer (its op byte and
// call rules) and the PyTorch ops (their names) take their lists from here.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace simdrop::detail {

// The dropout variant an operation belongs to (a file of src/variants/, or the core's src/dropout.cpp).
enum class Variant : std::uint8_t { dropout, channel, shared, alpha, gaussian, bias_dropout_add };

// What an operation computes: the mask alone, a forward pass, or a backward pass from a stored mask or with
// the mask regenerated from the forward's stream.
enum class Direction : std::uint8_t { mask, forward, backward_stored, backward_regenerated };

// What the operation does with a keep-mask argument.
enum class MaskRole : std::uint8_t {
  none,          // it takes none (Gaussian dropout: no mask exists)
  out_optional,  // a forward pass: an empty span, or a mask it writes
  in_required,   // a backward pass from the mask the forward stored
  out_required,  // make_mask: the mask is its output
};

struct OpInfo {
  std::string_view name;      // as the fuzzer and the tests spell it: the function, and its backward form
  std::string_view corpus;    // fuzz/make_corpus.py's short name (its seed files name ops so)
  std::string_view bench;     // simdrop_bench's op name, or empty where the benchmark does not time it
  Variant variant;
  Direction direction;
  MaskRole mask;
};

// Every operation, in the fuzzer's op-byte order (the corpus files depend on it: append, never reorder).
inline constexpr std::array kOps = {
    OpInfo{"make_mask", "make_mask", "mask", Variant::dropout, Direction::mask, MaskRole::out_required},
    OpInfo{"dropout_forward", "forward", "forward", Variant::dropout, Direction::forward, MaskRole::out_optional},
    OpInfo{"dropout_backward(mask)", "backward-mask", "backward_mask", Variant::dropout, Direction::backward_stored,
           MaskRole::in_required},
    OpInfo{"dropout_backward(regenerated)", "backward-regen", "backward_regen", Variant::dropout,
           Direction::backward_regenerated, MaskRole::none},
    OpInfo{"channel_dropout_forward", "channel-forward", "channel", Variant::channel, Direction::forward,
           MaskRole::out_optional},
    OpInfo{"channel_dropout_backward(mask)", "channel-backward-mask", "", Variant::channel,
           Direction::backward_stored, MaskRole::in_required},
    OpInfo{"channel_dropout_backward(regenerated)", "channel-backward-regen", "", Variant::channel,
           Direction::backward_regenerated, MaskRole::none},
    OpInfo{"shared_dropout_forward", "shared-forward", "shared", Variant::shared, Direction::forward,
           MaskRole::out_optional},
    OpInfo{"shared_dropout_backward(mask)", "shared-backward-mask", "", Variant::shared, Direction::backward_stored,
           MaskRole::in_required},
    OpInfo{"shared_dropout_backward(regenerated)", "shared-backward-regen", "", Variant::shared,
           Direction::backward_regenerated, MaskRole::none},
    OpInfo{"alpha_dropout_forward", "alpha-forward", "alpha", Variant::alpha, Direction::forward,
           MaskRole::out_optional},
    OpInfo{"alpha_dropout_backward(mask)", "alpha-backward-mask", "", Variant::alpha, Direction::backward_stored,
           MaskRole::in_required},
    OpInfo{"alpha_dropout_backward(regenerated)", "alpha-backward-regen", "", Variant::alpha,
           Direction::backward_regenerated, MaskRole::none},
    OpInfo{"gaussian_dropout_forward", "gaussian-forward", "gaussian", Variant::gaussian, Direction::forward,
           MaskRole::none},
    OpInfo{"gaussian_dropout_backward", "gaussian-backward", "", Variant::gaussian, Direction::backward_regenerated,
           MaskRole::none},
    OpInfo{"bias_dropout_add_forward", "bda-forward", "bias_dropout_add", Variant::bias_dropout_add,
           Direction::forward, MaskRole::out_optional},
    OpInfo{"bias_dropout_add_backward(mask)", "bda-backward-mask", "", Variant::bias_dropout_add,
           Direction::backward_stored, MaskRole::in_required},
    OpInfo{"bias_dropout_add_backward(regenerated)", "bda-backward-regen", "", Variant::bias_dropout_add,
           Direction::backward_regenerated, MaskRole::none},
};

// The variant's name in PyTorch-facing and report-facing text ("dropout", "channel_dropout", ...).
constexpr std::string_view variant_name(Variant v) noexcept {
  switch (v) {
    case Variant::dropout:
      return "dropout";
    case Variant::channel:
      return "channel_dropout";
    case Variant::shared:
      return "shared_dropout";
    case Variant::alpha:
      return "alpha_dropout";
    case Variant::gaussian:
      return "gaussian_dropout";
    case Variant::bias_dropout_add:
      return "bias_dropout_add";
  }
  return "?";
}

// p = 1 has no meaning for alpha and Gaussian dropout (their scale divides by 1 - p).
constexpr bool p_below_one(Variant v) noexcept { return v == Variant::alpha || v == Variant::gaussian; }

// Whether an operation takes a stream (all but the backward passes from a stored mask).
constexpr bool takes_stream(const OpInfo& op) noexcept { return op.mask != MaskRole::in_required; }

// The index in kOps of the operation named `name` (either spelling), if any.
constexpr std::optional<std::size_t> op_index(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kOps.size(); ++i)
    if (kOps[i].name == name || kOps[i].corpus == name) return i;
  return std::nullopt;
}

// The other backward form of a backward operation (stored mask <-> regenerated), where the variant has both.
constexpr std::optional<std::size_t> counterpart(std::size_t op) noexcept {
  const OpInfo& o = kOps[op];
  if (o.direction != Direction::backward_stored && o.direction != Direction::backward_regenerated)
    return std::nullopt;
  const Direction other =
      o.direction == Direction::backward_stored ? Direction::backward_regenerated : Direction::backward_stored;
  for (std::size_t i = 0; i < kOps.size(); ++i)
    if (kOps[i].variant == o.variant && kOps[i].direction == other) return i;
  return std::nullopt;
}

}  // namespace simdrop::detail
