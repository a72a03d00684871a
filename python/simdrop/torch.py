"""simdrop in PyTorch: a drop-in for torch.nn.functional's dropout family and torch.nn's dropout modules.

    import simdrop.torch as sdt
    y = sdt.dropout(x, p=0.5, training=True, inplace=False)          # as F.dropout
    model = torch.nn.Sequential(..., sdt.Dropout(0.1), ...)            # as torch.nn.Dropout

Randomness, the PyTorch way: a call without ``seed=`` draws one seed from torch's CPU generator (the default
one, or ``generator=`` a torch.Generator), so ``torch.manual_seed`` decides the masks, and
``torch.utils.checkpoint`` (which restores that generator before recomputing a forward) recomputes the same
masks. The seed a call draws is ``sdt.draw_seed(generator)``: ``torch.empty((), dtype=torch.int64).random_()``'s
value. Modules keep no random state: their ``state_dict`` is empty, as torch.nn.Dropout's.

The explicit form, for sharded and reproducible use: ``seed=`` and ``offset=`` (integers in [0, 2**64)) give
exactly the bits of the C++ ``Stream{seed, offset}``: element i of the input, in row-major order, uses stream
position ``offset + i``. So a shard of rows [a, b) of a 2-d x, dropped at ``offset + a * row_length``, equals the
same rows of the whole tensor's result: tensor-parallel ranks agree on masks without exchanging any state.

The backward pass regenerates the mask from (p, seed, offset): nothing is saved for backward but those numbers.
Every op runs on at most ``torch.get_num_threads()`` threads and its result does not depend on the count.

Tensors: float32, float64, bfloat16 and float16, on the CPU (meta tensors give the output's shape, dtype and
memory format without computing), any shape; channels_last in gives channels_last out. Bad arguments raise
TypeError or ValueError naming the argument, and nothing is written or drawn.

The operators themselves are ``torch.ops.simdrop.*`` (for TorchScript): dropout, channel_dropout, alpha_dropout,
gaussian_dropout, their in-place forms (``dropout_``, ...) and ``*_backward`` passes, bias_dropout_add and its
backward, keep_mask and draw_seed. Their ``int`` seed and offset are int64 holding the uint64's bits.
"""
import numbers
import os
import warnings

import torch

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "channel_dropout", "alpha_dropout", "gaussian_dropout",
           "bias_dropout_add", "keep_mask", "draw_seed", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d",
           "AlphaDropout", "GaussianDropout", "ALGORITHMS", "empty_cache", "library_path"]

_LIBRARY_NAME = "libsimdrop_torch_ops.so"
ALGORITHMS = ("philox4x32_10", "philox4x32_7", "ars5")


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

# ---- argument checks (Python's view: types; the operators check values again for TorchScript callers) -----


def _check_p(p, name, one_allowed=True):
    if type(p) is float and (0.0 <= p < 1.0 or (one_allowed and p == 1.0)):
        return p  # the common case, checked first: the per-call overhead is a few microseconds
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"simdrop.torch.{name}: p must be a float, got {type(p).__name__}")
    ok = 0.0 <= p <= 1.0 if one_allowed else 0.0 <= p < 1.0  # False for NaN
    if not ok:
        raise ValueError(f"simdrop.torch.{name}: p must be in {'[0, 1]' if one_allowed else '[0, 1)'}, got {p}")
    return float(p)


def _check_flag(value, what, name):
    if value is not True and value is not False:
        raise TypeError(f"simdrop.torch.{name}: {what} must be a bool, got {type(value).__name__}")
    return value


def _u64_as_int64(value, what, name):
    """An integer in [0, 2**64) as the int64 with its bits (the operators' `int`). A bool is refused: torch.ops
    would take True for 1, which is how `sdt.dropout(x, p, self.training)` used to run with seed 1."""
    if value is None and what == "seed":
        return None
    if type(value) is int and 0 <= value < 2**63:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"simdrop.torch.{name}: {what} must be an int, got {type(value).__name__}")
    value = int(value)
    if not 0 <= value < 2**64:
        raise ValueError(f"simdrop.torch.{name}: {what} must be in [0, 2**64), got {value}")
    return value - 2**64 if value >= 2**63 else value


def _check_algorithm(algorithm, name):
    if algorithm not in ALGORITHMS:
        raise ValueError(f"simdrop.torch.{name}: algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    return algorithm


def _check_generator(generator, name):
    if generator is None:
        return None
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"simdrop.torch.{name}: generator must be a torch.Generator or None, got "
                        f"{type(generator).__name__} (the random algorithm is chosen by algorithm=)")
    if generator is not None and generator.device.type != "cpu":
        raise ValueError(f"simdrop.torch.{name}: generator must be a CPU generator, got one on {generator.device}")
    return generator


def _check_input(x, what, name):
    if type(x) is torch.Tensor and x.layout == torch.strided and not x.is_cuda:
        if x.device.type in ("cpu", "meta"):
            return
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"simdrop.torch.{name}: {what} must be a torch.Tensor, got {type(x).__name__}")
    if x.device.type not in ("cpu", "meta") or x.layout != torch.strided:
        raise ValueError(f"simdrop.torch.{name}: {what} must be a dense CPU tensor (or a meta tensor), got device "
                         f"{x.device} and layout {x.layout} (simdrop's kernels run on the CPU only)")


def _stream(name, seed, offset, algorithm, generator):
    return dict(seed=_u64_as_int64(seed, "seed", name), offset=_u64_as_int64(offset, "offset", name),
                algorithm=_check_algorithm(algorithm, name), generator=_check_generator(generator, name))


def _elementwise(op, op_, name, input, p, training, inplace, seed, offset, algorithm, generator, one_allowed=True):
    _check_input(input, "input", name)
    p = _check_p(p, name, one_allowed)
    training, inplace = _check_flag(training, "training", name), _check_flag(inplace, "inplace", name)
    stream = _stream(name, seed, offset, algorithm, generator)
    if not training or p == 0.0 or input.numel() == 0:
        return input  # as F.dropout: the input itself, and nothing drawn
    return op_(input, p, **stream) if inplace else op(input, p, **stream)


# ---- the functional forms: torch.nn.functional's signatures plus keyword-only stream arguments -----------

def dropout(input, p=0.5, training=True, inplace=False, *, seed=None, offset=0, algorithm="philox4x32_10",
            generator=None):
    """F.dropout: y = kept ? x * T(1 / (1 - p)) : +0.0, element i at stream position offset + i."""
    return _elementwise(_ops.dropout, _ops.dropout_, "dropout", input, p, training, inplace, seed, offset, algorithm,
                        generator)


def channel_dropout(input, p=0.5, training=True, inplace=False, *, seed=None, offset=0, algorithm="philox4x32_10",
                    generator=None):
    """Channel dropout of an (N, C, *) input: plane (n, c) is kept iff keep bit n * C + c is set (positions
    offset + n * C + c); a kept plane is scaled by 1 / (1 - p). dropout1d/2d/3d read their inputs as torch does."""
    return _elementwise(_ops.channel_dropout, _ops.channel_dropout_, "channel_dropout", input, p, training, inplace,
                        seed, offset, algorithm, generator)


def _feature_dropout(name, batched_dim, unbatched_dim, input, p, training, inplace, stream_kwargs):
    """torch 1.13's F.dropout1d/2d/3d rules for which dimensions are (N, C): an unbatched input (C, *) is one
    sample; dropout2d reads a 3-d input as (N, C, L) with torch's warning, and other ranks with torch's warning."""
    _check_input(input, "input", name)
    dim = input.dim()
    if name == "dropout1d" and dim not in (2, 3):
        raise ValueError(f"simdrop.torch.dropout1d: input must be 2-d (C, L) or 3-d (N, C, L), got {dim}-d")
    if name == "dropout2d":
        if dim not in (3, 4):
            warnings.warn(f"dropout2d: Received a {dim}-D input to dropout2d, which is deprecated and will result in "
                          "an error in a future release (as torch.nn.functional.dropout2d says).")
        if dim == 3:
            warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                          "behavior is desired - input is interpreted as shape (N, C, L) (as torch 1.13 does).")
        unbatched = False
    else:
        if name == "dropout3d" and dim not in (4, 5):
            warnings.warn(f"dropout3d: Received a {dim}-D input to dropout3d, which is deprecated and will result in "
                          "an error in a future release (as torch.nn.functional.dropout3d says).")
        unbatched = dim == unbatched_dim
    if not unbatched:
        return channel_dropout(input, p, training, inplace, **stream_kwargs)
    # One sample: the (1, C, *) view (in place, it writes the input's own memory).
    result = channel_dropout(input.unsqueeze(0), p, training, inplace, **stream_kwargs)
    if inplace or not training or p == 0 or input.numel() == 0:
        return input  # (channel_dropout gave the view back, or wrote through it)
    return result.squeeze(0)


def dropout1d(input, p=0.5, training=True, inplace=False, *, seed=None, offset=0, algorithm="philox4x32_10",
              generator=None):
    """F.dropout1d: (N, C, L) or unbatched (C, L)."""
    return _feature_dropout("dropout1d", 3, 2, input, p, training, inplace,
                            dict(seed=seed, offset=offset, algorithm=algorithm, generator=generator))


def dropout2d(input, p=0.5, training=True, inplace=False, *, seed=None, offset=0, algorithm="philox4x32_10",
              generator=None):
    """F.dropout2d: (N, C, H, W); a 3-d input is (N, C, L), as torch 1.13 reads it."""
    return _feature_dropout("dropout2d", 4, None, input, p, training, inplace,
                            dict(seed=seed, offset=offset, algorithm=algorithm, generator=generator))


def dropout3d(input, p=0.5, training=True, inplace=False, *, seed=None, offset=0, algorithm="philox4x32_10",
              generator=None):
    """F.dropout3d: (N, C, D, H, W) or unbatched (C, D, H, W)."""
    return _feature_dropout("dropout3d", 5, 4, input, p, training, inplace,
                            dict(seed=seed, offset=offset, algorithm=algorithm, generator=generator))


def alpha_dropout(input, p=0.5, training=False, inplace=False, *, seed=None, offset=0, algorithm="philox4x32_10",
                  generator=None):
    """F.alpha_dropout (SELU networks; training=False by default, as torch's): kept -> a * x + b, dropped ->
    a * alpha' + b; p in [0, 1)."""
    return _elementwise(_ops.alpha_dropout, _ops.alpha_dropout_, "alpha_dropout", input, p, training, inplace, seed,
                        offset, algorithm, generator, one_allowed=False)


def gaussian_dropout(input, p=0.5, training=True, inplace=False, *, seed=None, offset=0, algorithm="philox4x32_10",
                     generator=None):
    """Gaussian dropout: y = x * (1 + sqrt(p / (1 - p)) * z), z standard normal from the stream; p in [0, 1)."""
    return _elementwise(_ops.gaussian_dropout, _ops.gaussian_dropout_, "gaussian_dropout", input, p, training,
                        inplace, seed, offset, algorithm, generator, one_allowed=False)


def bias_dropout_add(x, bias, residual, p=0.5, training=True, *, seed=None, offset=0, algorithm="philox4x32_10",
                     generator=None):
    """residual + dropout(x + bias), bias broadcast over x's last dimension, in one pass; keep bits over x's
    row-major elements. In eval mode residual + (x + bias)."""
    name = "bias_dropout_add"
    for t, what in ((x, "x"), (bias, "bias"), (residual, "residual")):
        _check_input(t, what, name)
    p = _check_p(p, name)
    training = _check_flag(training, "training", name)
    stream = _stream(name, seed, offset, algorithm, generator)
    if not training:
        return residual + (x + bias)
    return _ops.bias_dropout_add(x, bias, residual, p, **stream)


def keep_mask(n, p, seed, offset=0, *, algorithm="philox4x32_10"):
    """The keep decisions of stream positions offset .. offset + n - 1 as a bool tensor (simdrop::make_mask)."""
    name = "keep_mask"
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"simdrop.torch.keep_mask: n must be an int, got {type(n).__name__}")
    if seed is None:
        raise TypeError("simdrop.torch.keep_mask: seed must be an int, got None")
    return _ops.keep_mask(int(n), _check_p(p, name), _u64_as_int64(seed, "seed", name),
                          _u64_as_int64(offset, "offset", name), _check_algorithm(algorithm, name))


def draw_seed(generator=None):
    """Draws the seed a call with seed=None would draw, from `generator` (default: torch's default CPU generator),
    advancing it: int(torch.empty((), dtype=torch.int64).random_(generator=generator))."""
    return _ops.draw_seed(_check_generator(generator, "draw_seed"))


def empty_cache():
    """Frees the idle output buffers the ops keep for reuse (outputs of 2 MiB and more: fresh pages from the
    kernel cost a page fault each; at most $SIMDROP_TORCH_CACHE_MIB idle MiB are kept, default 256, 0 for none),
    as torch.cuda.empty_cache() does for CUDA's caching allocator. Returns the bytes freed."""
    return _ops.empty_cache()


# ---- modules: torch.nn's constructor arguments (p=0.5, inplace=False) plus keyword-only extras ------------

class _Dropout(torch.nn.Module):
    """Base of the modules: p, inplace (as torch.nn's _DropoutNd), algorithm and generator. No buffers, so the
    state_dict is empty and an nn.Dropout checkpoint loads into it and back. torch.jit.script works when no
    generator is given (TorchScript 1.13 has no Generator type; scripting a module with one is refused)."""

    __constants__ = ["p", "inplace", "algorithm"]
    _one_allowed = True

    def __init__(self, p=0.5, inplace=False, *, algorithm="philox4x32_10", generator=None):
        super().__init__()
        name = type(self).__name__
        self.p = _check_p(p, name, self._one_allowed)
        self.inplace = _check_flag(inplace, "inplace", name)
        self.algorithm = _check_algorithm(algorithm, name)
        self.generator = _check_generator(generator, name)

    def __getstate__(self):
        # A torch.Generator cannot be pickled (deepcopy, torch.save of a whole model): keep its state instead,
        # and give the copy a generator of its own in that state.
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__.copy()
        state = dict(state)
        if state.get("generator") is not None:
            state["generator"] = ("torch.Generator state", state["generator"].get_state())
        return state

    def __setstate__(self, state):
        generator = state.get("generator")
        if isinstance(generator, tuple) and generator and generator[0] == "torch.Generator state":
            state = dict(state, generator=torch.Generator().set_state(generator[1]))
        super().__setstate__(state)

    def __prepare_scriptable__(self):
        if self.generator is not None:
            raise RuntimeError(f"simdrop.torch.{type(self).__name__}: a module with generator= cannot be scripted "
                               "(TorchScript in torch 1.13 has no Generator type); script it without one")
        return self

    def extra_repr(self):
        extra = "" if self.algorithm == ALGORITHMS[0] else f", algorithm={self.algorithm}"
        return f"p={self.p}, inplace={self.inplace}{extra}"


class Dropout(_Dropout):
    """torch.nn.Dropout on simdrop's stream: y = kept ? x / (1 - p) : 0."""

    def forward(self, input):
        if not torch.jit.is_scripting():
            return dropout(input, self.p, self.training, self.inplace, algorithm=self.algorithm,
                           generator=self.generator)
        if not self.training or self.p == 0.0 or input.numel() == 0:
            return input
        if self.inplace:
            return torch.ops.simdrop.dropout_(input, self.p, algorithm=self.algorithm)
        return torch.ops.simdrop.dropout(input, self.p, algorithm=self.algorithm)


class _ChannelDropout(_Dropout):
    """Channel dropout modules; _unbatched_dim is the rank torch reads as one sample (C, *)."""
    __constants__ = _Dropout.__constants__ + ["_unbatched_dim"]
    _functional = None
    _unbatched_dim = -1

    def forward(self, input):
        if not torch.jit.is_scripting():
            return type(self)._functional(input, self.p, self.training, self.inplace, algorithm=self.algorithm,
                                          generator=self.generator)
        if not self.training or self.p == 0.0 or input.numel() == 0:
            return input
        unbatched = input.dim() == self._unbatched_dim
        x = input.unsqueeze(0) if unbatched else input  # a view: in place writes the input's memory
        if self.inplace:
            torch.ops.simdrop.channel_dropout_(x, self.p, algorithm=self.algorithm)
            return input
        y = torch.ops.simdrop.channel_dropout(x, self.p, algorithm=self.algorithm)
        return y.squeeze(0) if unbatched else y


class Dropout1d(_ChannelDropout):
    """torch.nn.Dropout1d on simdrop's stream: whole channels of (N, C, L) or unbatched (C, L)."""
    _functional = staticmethod(dropout1d)
    _unbatched_dim = 2


class Dropout2d(_ChannelDropout):
    """torch.nn.Dropout2d on simdrop's stream: whole (n, c) planes of (N, C, H, W) (a 3-d input as torch reads it)."""
    _functional = staticmethod(dropout2d)


class Dropout3d(_ChannelDropout):
    """torch.nn.Dropout3d on simdrop's stream: (N, C, D, H, W) or unbatched (C, D, H, W)."""
    _functional = staticmethod(dropout3d)
    _unbatched_dim = 4


class AlphaDropout(_Dropout):
    """torch.nn.AlphaDropout on simdrop's stream (p in [0, 1))."""
    _one_allowed = False

    def forward(self, input):
        if not torch.jit.is_scripting():
            return alpha_dropout(input, self.p, self.training, self.inplace, algorithm=self.algorithm,
                                 generator=self.generator)
        if not self.training or self.p == 0.0 or input.numel() == 0:
            return input
        if self.inplace:
            return torch.ops.simdrop.alpha_dropout_(input, self.p, algorithm=self.algorithm)
        return torch.ops.simdrop.alpha_dropout(input, self.p, algorithm=self.algorithm)


class GaussianDropout(_Dropout):
    """Gaussian dropout on simdrop's stream (p in [0, 1)): y = x * (1 + sqrt(p / (1 - p)) z)."""
    _one_allowed = False

    def forward(self, input):
        if not torch.jit.is_scripting():
            return gaussian_dropout(input, self.p, self.training, self.inplace, algorithm=self.algorithm,
                                    generator=self.generator)
        if not self.training or self.p == 0.0 or input.numel() == 0:
            return input
        if self.inplace:
            return torch.ops.simdrop.gaussian_dropout_(input, self.p, algorithm=self.algorithm)
        return torch.ops.simdrop.gaussian_dropout(input, self.p, algorithm=self.algorithm)
