"""simdrop in PyTorch: dropout whose masks are a pure function of (seed, offset + element index, p).

    import simdrop.torch as sdt
    y = sdt.dropout(x, p, seed, offset=0, training=True, generator="philox4x32_10")

``sdt.dropout(x, p, seed, offset)`` gives exactly the bits of the C++ ``simdrop::dropout_forward`` with
``Stream{seed, offset}`` over x's elements in row-major order, so a shard of rows [a, b) of a 2-d x dropped at
offset ``offset + a * row`` equals the same rows of the whole tensor's result: tensor-parallel ranks agree on
masks with no RNG state to exchange. The backward pass regenerates the mask from (p, seed, offset): nothing
is saved for backward but those numbers. The ops run on ``torch.get_num_threads()`` threads; results do not
depend on the thread count.

Tensors: float32 and float64 (bfloat16 and float16 where the library has them), CPU, any shape. A
non-contiguous input is copied to a contiguous one first (channel_dropout keeps channels_last and
channels_last_3d tensors as they are, on the nhwc path, and copies other strides). Other devices, integer
dtypes, p outside [0, 1] (NaN included; [0, 1) for alpha and Gaussian dropout) and a negative seed or offset
raise ValueError or TypeError naming the argument; nothing is written.

The ops themselves are ``torch.ops.simdrop.*`` (usable from TorchScript): dropout, channel_dropout,
alpha_dropout, gaussian_dropout, bias_dropout_add, their ``*_backward`` passes, and keep_mask(n, p, seed,
offset) (make_mask's bits as a bool tensor).
"""
import math
import os

import torch

__all__ = ["dropout", "channel_dropout", "alpha_dropout", "gaussian_dropout", "bias_dropout_add", "keep_mask",
           "Dropout", "Dropout2d", "Dropout3d", "AlphaDropout", "GaussianDropout", "library_path"]

_LIBRARY_NAME = "libsimdrop_torch_ops.so"
GENERATORS = ("philox4x32_10", "philox4x32_7", "ars5")


def _find_library():
    """The op library: $SIMDROP_TORCH_OPS_LIBRARY, else the one beside this file."""
    path = os.environ.get("SIMDROP_TORCH_OPS_LIBRARY")
    if path:
        return path
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), _LIBRARY_NAME)


library_path = _find_library()
if not os.path.exists(library_path):
    raise ImportError(f"simdrop.torch: the op library {library_path} is missing (build simdrop with "
                      f"-DSIMDROP_WITH_TORCH_OPS=ON, or set SIMDROP_TORCH_OPS_LIBRARY)")
torch.ops.load_library(library_path)
_ops = torch.ops.simdrop


def _check_p(p, name, one_allowed=True):
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"simdrop.torch.{name}: p must be a float, got {type(p).__name__}")
    ok = 0.0 <= p <= 1.0 if one_allowed else 0.0 <= p < 1.0  # False for NaN
    if not ok:
        raise ValueError(f"simdrop.torch.{name}: p must be in {'[0, 1]' if one_allowed else '[0, 1)'}, got {p}")


def _index(value, what, name):
    """A Python int from an int or an int64 tensor of one element (a module's buffers)."""
    if isinstance(value, torch.Tensor):
        value = int(value.item())
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"simdrop.torch.{name}: {what} must be an int, got {type(value).__name__}")
    if not 0 <= value < 2**63:
        raise ValueError(f"simdrop.torch.{name}: {what} must be in [0, 2**63), got {value}")
    return value


def dropout(x, p, seed, offset=0, training=True, generator="philox4x32_10"):
    """Inverted dropout: y = kept ? x * float(1 / (1 - p)) : 0; element i uses stream position offset + i."""
    if not training:
        return x
    return _ops.dropout(x, float(p), seed, offset, generator)


def channel_dropout(x, p, seed, offset=0, training=True, generator="philox4x32_10"):
    """nn.Dropout2d / Dropout3d: x is (N, C, *); plane n * C + c is kept iff keep bit n * C + c is set."""
    if not training:
        return x
    return _ops.channel_dropout(x, float(p), seed, offset, generator)


def alpha_dropout(x, p, seed, offset=0, training=True, generator="philox4x32_10"):
    """nn.AlphaDropout (SELU networks): kept -> a * x + b, dropped -> a * alpha' + b; p in [0, 1)."""
    if not training:
        return x
    return _ops.alpha_dropout(x, float(p), seed, offset, generator)


def gaussian_dropout(x, p, seed, offset=0, training=True, generator="philox4x32_10"):
    """Gaussian dropout: y = x * (1 + sqrt(p / (1 - p)) * z), z standard normal from the stream; p in [0, 1)."""
    if not training:
        return x
    return _ops.gaussian_dropout(x, float(p), seed, offset, generator)


def bias_dropout_add(x, bias, residual, p, seed, offset=0, training=True, generator="philox4x32_10"):
    """residual + dropout(x + bias), bias broadcast over x's last dimension; in eval mode residual + x + bias."""
    if not training:
        return residual + (x + bias)
    return _ops.bias_dropout_add(x, bias, residual, float(p), seed, offset, generator)


def keep_mask(n, p, seed, offset=0, generator="philox4x32_10"):
    """The keep decisions of stream positions offset .. offset + n - 1 as a bool tensor (simdrop::make_mask)."""
    return _ops.keep_mask(n, float(p), seed, offset, generator)


def _draw_seed():
    """A seed in [0, 2**63) from torch's default generator (so torch.manual_seed makes it repeatable)."""
    return int(torch.empty((), dtype=torch.int64).random_().item())


class _StreamDropout(torch.nn.Module):
    """A dropout module on a counter-based stream. seed and offset are int64 buffers (in the state_dict, so a
    resumed checkpoint continues the same masks); each training-mode call uses positions offset, offset + 1, ...
    and advances offset by the positions it used. Eval mode returns the input itself."""

    _one_allowed = True

    def __init__(self, p=0.5, seed=None, generator="philox4x32_10"):
        super().__init__()
        name = type(self).__name__
        _check_p(p, name, self._one_allowed)
        if generator not in GENERATORS:
            raise ValueError(f"simdrop.torch.{name}: generator must be one of {GENERATORS}, got {generator!r}")
        self.p = float(p)
        self.generator = generator
        seed = _draw_seed() if seed is None else _index(seed, "seed", name)
        self.register_buffer("seed", torch.tensor(seed, dtype=torch.int64))
        self.register_buffer("offset", torch.tensor(0, dtype=torch.int64))

    def _positions(self, x):
        return x.numel()

    def forward(self, x):
        if not self.training:
            return x
        seed, offset = int(self.seed), int(self.offset)
        y = self._op(x, self.p, seed, offset, self.generator)
        self.offset.add_(self._positions(x))
        return y

    def extra_repr(self):
        return f"p={self.p}, generator={self.generator}"


class Dropout(_StreamDropout):
    """nn.Dropout on simdrop's stream: y = kept ? x / (1 - p) : 0; advances offset by x.numel() per call."""
    _op = staticmethod(_ops.dropout)


class Dropout2d(_StreamDropout):
    """nn.Dropout2d on simdrop's stream: whole (n, c) planes of an (N, C, *) input; advances offset by N * C."""
    _op = staticmethod(_ops.channel_dropout)

    def _positions(self, x):
        return x.shape[0] * x.shape[1]


class Dropout3d(Dropout2d):
    """nn.Dropout3d on simdrop's stream (the same op as Dropout2d: x is (N, C, *))."""


class AlphaDropout(_StreamDropout):
    """nn.AlphaDropout on simdrop's stream (p in [0, 1)); advances offset by x.numel() per call."""
    _op = staticmethod(_ops.alpha_dropout)
    _one_allowed = False


class GaussianDropout(_StreamDropout):
    """Gaussian dropout on simdrop's stream (p in [0, 1)); advances offset by x.numel() per call."""
    _op = staticmethod(_ops.gaussian_dropout)
    _one_allowed = False
