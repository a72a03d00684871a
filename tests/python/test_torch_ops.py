"""simdrop.torch: exact bits against the C++ definition, the sharding identity, autograd (gradcheck and
gradgradcheck in float64 for every op), PyTorch's own expectations, bad input, thread-count independence,
non-contiguous inputs, the modules and TorchScript.

Run: PYTHONPATH=<build>/python /usr/bin/python3 -m pytest tests/python/test_torch_ops.py (ctest does this).
Bits are compared as integers (so +0.0 and -0.0 differ); no tolerances, except where a formula's
coefficients are computed in Python (alpha dropout's a, b), which says so.
"""
import copy
import gc
import io
import inspect
import math
import os
import subprocess
import sys
import weakref

import pytest
import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

import simdrop.torch as sdt

DTYPES = [torch.float32, torch.float64]
INT_VIEW = {torch.float32: torch.int32, torch.float64: torch.int64}
SEED, OFFSET = 20261128, 12345


def bits(t):
    """The tensor's bits as integers (contiguous copy), so that equality is exact (signed zeros, NaN)."""
    return t.contiguous().view(INT_VIEW[t.dtype])


def assert_same_bits(actual, expected):
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    assert torch.equal(bits(actual), bits(expected)), "bits differ"


def scale_of(p, dtype):
    """scale = T(1 / (1 - p)), the library's definition (1/(1-p) in double, rounded to T)."""
    return torch.tensor(1.0 / (1.0 - p), dtype=dtype)


def expected_dropout(x, p, seed, offset, generator="philox4x32_10"):
    """dropout_forward by its definition: keep bits from make_mask (keep_mask), kept -> x * scale, else +0."""
    keep = sdt.keep_mask(x.numel(), p, seed, offset, algorithm=generator).view(x.shape)
    if p == 1.0:
        return torch.zeros_like(x)
    return torch.where(keep, x * scale_of(p, x.dtype), torch.zeros_like(x))


# ---- exact bits against the C++ definition ---------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("generator", sdt.ALGORITHMS)
@pytest.mark.parametrize("p", [0.0, 0.1, 0.3, 0.5, 0.9, 1.0])
def test_dropout_is_make_mask_times_scale(dtype, generator, p):
    torch.manual_seed(1)
    for shape in [(1,), (63,), (64,), (65,), (7, 13), (3, 5, 67)]:
        x = torch.randn(shape, dtype=dtype)
        y = sdt.dropout(x, p, seed=SEED, offset=OFFSET, algorithm=generator)
        assert_same_bits(y, expected_dropout(x, p, SEED, OFFSET, generator))


def test_keep_mask_rate_and_generators_differ():
    # 2^16 decisions at p = 0.3: dropped fraction within 6 sigma (sigma = sqrt(0.21 / 65536) ~ 0.0018).
    n = 1 << 16
    masks = {g: sdt.keep_mask(n, 0.3, SEED, 0, algorithm=g) for g in sdt.ALGORITHMS}
    for keep in masks.values():
        assert abs((~keep).double().mean().item() - 0.3) < 6 * math.sqrt(0.21 / n)
    assert not torch.equal(masks["philox4x32_10"], masks["philox4x32_7"])
    assert not torch.equal(masks["philox4x32_10"], masks["ars5"])
    # Position offset + i: the mask at offset 100 is the mask at 0 shifted by 100.
    assert torch.equal(sdt.keep_mask(n - 100, 0.3, SEED, 100), masks["philox4x32_10"][100:])


@pytest.mark.parametrize("dtype", DTYPES)
def test_channel_dropout_is_plane_mask(dtype):
    torch.manual_seed(2)
    p = 0.4
    for shape in [(2, 3), (4, 5, 7), (3, 6, 4, 5), (2, 3, 2, 3, 4)]:
        x = torch.randn(shape, dtype=dtype)
        planes = shape[0] * shape[1]
        keep = sdt.keep_mask(planes, p, SEED, OFFSET).view(shape[0], shape[1], *([1] * (len(shape) - 2)))
        expected = torch.where(keep, x * scale_of(p, dtype), torch.zeros_like(x))
        assert_same_bits(sdt.channel_dropout(x, p, seed=SEED, offset=OFFSET), expected)


@pytest.mark.parametrize("dtype", DTYPES)
def test_alpha_dropout_mask_and_values(dtype):
    torch.manual_seed(3)
    p = 0.2
    x = torch.randn(1000, dtype=dtype)
    keep = sdt.keep_mask(x.numel(), p, SEED, OFFSET)
    # The backward of ones is a * kept: its zeros are exactly the dropped elements.
    da = torch.ops.simdrop.alpha_dropout_backward(torch.ones_like(x), p, SEED, OFFSET)
    assert torch.equal(da != 0, keep)
    ap = -1.7580993408473766
    a = ((1 - p) * (1 + p * ap * ap)) ** -0.5
    b = -a * ap * p
    # a and b are computed here in Python, possibly an ulp away from the library's: values to 4 ulp.
    assert torch.allclose(da[keep], torch.full_like(da[keep], a), rtol=4 * torch.finfo(dtype).eps, atol=0)
    y = sdt.alpha_dropout(x, p, True, seed=SEED, offset=OFFSET)
    assert torch.allclose(y, torch.where(keep, a * x + b, torch.full_like(x, a * ap + b)),
                          rtol=8 * torch.finfo(dtype).eps, atol=8 * torch.finfo(dtype).eps)
    # All dropped elements hold one constant.
    assert torch.unique(bits(y[~keep])).numel() == 1


def test_gaussian_dropout_noise_is_shared_by_fp32_fp64_and_backward():
    torch.manual_seed(4)
    p = 0.3
    x32 = torch.randn(4099)
    e = sdt.gaussian_dropout(torch.ones(4099), p, seed=SEED, offset=OFFSET)  # the noise e itself (float)
    assert_same_bits(sdt.gaussian_dropout(x32, p, seed=SEED, offset=OFFSET), x32 * e)
    assert_same_bits(torch.ops.simdrop.gaussian_dropout_backward(x32, p, SEED, OFFSET), x32 * e)
    # fp64 multiplies by double(e), the float noise.
    x64 = torch.randn(4099, dtype=torch.float64)
    assert_same_bits(sdt.gaussian_dropout(x64, p, seed=SEED, offset=OFFSET), x64 * e.double())
    # E[e] = 1, Var[e] = p / (1 - p): mean within 6 sigma of 1.
    sigma = math.sqrt(p / (1 - p))
    assert abs(e.double().mean().item() - 1) < 6 * sigma / math.sqrt(e.numel())
    assert sdt.gaussian_dropout(x32, 0.0, seed=SEED, offset=OFFSET).equal(x32)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_dropout_add_definition(dtype):
    torch.manual_seed(5)
    p = 0.25
    rows, cols = 37, 19
    x, residual = torch.randn(rows, cols, dtype=dtype), torch.randn(rows, cols, dtype=dtype)
    bias = torch.randn(cols, dtype=dtype)
    keep = sdt.keep_mask(rows * cols, p, SEED, OFFSET).view(rows, cols)
    y = sdt.bias_dropout_add(x, bias, residual, p, seed=SEED, offset=OFFSET)
    expected = residual + torch.where(keep, (x + bias) * scale_of(p, dtype), torch.zeros_like(x))
    assert_same_bits(y, expected)
    dy = torch.randn(rows, cols, dtype=dtype)
    dx, dbias = torch.ops.simdrop.bias_dropout_add_backward(dy, p, SEED, OFFSET)
    assert_same_bits(dx, expected_dropout(dy, p, SEED, OFFSET))
    acc = torch.zeros(cols, dtype=torch.float64)  # dbias: the rows of dx summed in order, in double
    for r in range(rows):
        acc += dx[r].double()
    assert_same_bits(dbias, acc.to(dtype))


# ---- the sharding identity: a shard at offset + start index is the whole tensor's slice -----------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_sharding_identity(dtype):
    torch.manual_seed(6)
    rows, row = 24, 129
    x = torch.randn(rows, row, dtype=dtype)
    for op in (sdt.dropout, sdt.alpha_dropout, sdt.gaussian_dropout):
        whole = op(x, 0.3, True, seed=SEED, offset=OFFSET)
        for a, b in [(0, 5), (5, 6), (6, 24), (11, 17)]:
            assert_same_bits(op(x[a:b], 0.3, True, seed=SEED, offset=OFFSET + a * row), whole[a:b])
    # Channel dropout shards the batch: n planes of C channels each use C positions.
    xc = torch.randn(8, 3, 5, 5, dtype=dtype)
    whole = sdt.channel_dropout(xc, 0.5, seed=SEED, offset=OFFSET)
    assert_same_bits(sdt.channel_dropout(xc[2:7], 0.5, seed=SEED, offset=OFFSET + 2 * 3), whole[2:7])
    bias, residual = torch.randn(row, dtype=dtype), torch.randn(rows, row, dtype=dtype)
    whole = sdt.bias_dropout_add(x, bias, residual, 0.3, seed=SEED, offset=OFFSET)
    assert_same_bits(sdt.bias_dropout_add(x[3:9], bias, residual[3:9], 0.3, seed=SEED, offset=OFFSET + 3 * row), whole[3:9])


# ---- autograd --------------------------------------------------------------------------------------------

def _ops_for_gradcheck():
    k = dict(seed=SEED, offset=OFFSET)
    return {
        "dropout": lambda x: sdt.dropout(x, 0.3, **k),
        "dropout_philox7": lambda x: sdt.dropout(x, 0.3, algorithm="philox4x32_7", **k),
        "dropout_inplace": lambda x: sdt.dropout(x * 1, 0.3, inplace=True, **k),
        "channel_dropout": lambda x: sdt.channel_dropout(x, 0.5, **k),
        "channel_dropout_inplace": lambda x: sdt.channel_dropout(x * 1, 0.5, inplace=True, **k),
        "alpha_dropout": lambda x: sdt.alpha_dropout(x, 0.3, True, **k),
        "alpha_dropout_inplace": lambda x: sdt.alpha_dropout(x * 1, 0.3, True, True, **k),
        "gaussian_dropout": lambda x: sdt.gaussian_dropout(x, 0.3, **k),
        "gaussian_dropout_inplace": lambda x: sdt.gaussian_dropout(x * 1, 0.3, inplace=True, **k),
        "dropout_backward": lambda x: torch.ops.simdrop.dropout_backward(x, 0.3, SEED, OFFSET),
        "channel_dropout_backward": lambda x: torch.ops.simdrop.channel_dropout_backward(x, 0.5, SEED, OFFSET),
        "alpha_dropout_backward": lambda x: torch.ops.simdrop.alpha_dropout_backward(x, 0.3, SEED, OFFSET),
        "gaussian_dropout_backward": lambda x: torch.ops.simdrop.gaussian_dropout_backward(x, 0.3, SEED, OFFSET),
    }


@pytest.mark.parametrize("name", list(_ops_for_gradcheck()))
def test_gradcheck_float64(name):
    op = _ops_for_gradcheck()[name]
    torch.manual_seed(7)
    x = torch.randn(4, 3, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(op, (x,))
    assert torch.autograd.gradgradcheck(op, (x,))
    # Channels-last input: the same gradients.
    xcl = torch.randn(2, 3, 4, 5, dtype=torch.float64).to(memory_format=torch.channels_last).requires_grad_()
    assert torch.autograd.gradcheck(op, (xcl,))


def test_gradcheck_bias_dropout_add_float64():
    torch.manual_seed(8)
    x = torch.randn(6, 7, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(7, dtype=torch.float64, requires_grad=True)
    residual = torch.randn(6, 7, dtype=torch.float64, requires_grad=True)
    op = lambda x, b, r: sdt.bias_dropout_add(x, b, r, 0.3, seed=SEED, offset=OFFSET)  # noqa: E731
    assert torch.autograd.gradcheck(op, (x, bias, residual))
    assert torch.autograd.gradgradcheck(op, (x, bias, residual))
    bwd = lambda dy: torch.ops.simdrop.bias_dropout_add_backward(dy, 0.3, SEED, OFFSET)  # noqa: E731
    dy = torch.randn(6, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(bwd, (dy,))
    assert torch.autograd.gradgradcheck(bwd, (dy,))


def test_torch_expectations():
    torch.manual_seed(9)
    p = 0.3
    x = torch.randn(50, 40, requires_grad=True)
    y = sdt.dropout(x, p, seed=SEED, offset=OFFSET)
    assert y.shape == x.shape and y.dtype == x.dtype and y.requires_grad and y.grad_fn is not None
    y.backward(torch.ones_like(y))
    keep = sdt.keep_mask(x.numel(), p, SEED, OFFSET).view(x.shape)
    assert torch.equal(x.grad[keep], torch.full_like(x.grad[keep], scale_of(p, torch.float32).item()))
    assert torch.equal(x.grad[~keep], torch.zeros_like(x.grad[~keep]))
    assert 0 < keep.sum() < keep.numel()
    # Eval mode (training=False) is the identity: the input itself, as F.dropout gives it.
    for f in (sdt.dropout, sdt.channel_dropout, sdt.dropout1d, sdt.dropout3d, sdt.alpha_dropout,
              sdt.gaussian_dropout):
        assert f(x, p, False) is x
    assert F.dropout(x, p, False) is x
    # alpha_dropout's training defaults to False, as F.alpha_dropout's does.
    assert sdt.alpha_dropout(x, p) is x
    # Without requires_grad, no graph; under no_grad neither.
    assert not sdt.dropout(x.detach(), p).requires_grad
    with torch.no_grad():
        assert sdt.dropout(x, p).grad_fn is None
    # Empty tensors are fine.
    assert sdt.dropout(torch.empty(0, 3), p).shape == (0, 3)


def test_nothing_kept_for_backward_but_the_stream():
    """The graph keeps no tensor: none through save_for_backward (autograd's pack hook sees none) and neither
    the input nor the output otherwise (weak references die once the caller drops them); F.dropout, the
    control, saves its mask. What a node keeps is (kind, p, seed, offset, algorithm): numbers, as the README says."""
    def calls(x, bias, residual):
        return [lambda: sdt.dropout(x, 0.3), lambda: sdt.channel_dropout(x, 0.3),
                lambda: sdt.alpha_dropout(x, 0.3, True), lambda: sdt.gaussian_dropout(x, 0.3),
                lambda: sdt.bias_dropout_add(x, bias, residual, 0.3)]

    a = torch.randn(6, 8, requires_grad=True)
    bias, residual = torch.randn(8, requires_grad=True), torch.randn(6, 8, requires_grad=True)
    for i in range(5):
        x = a * 2  # a non-leaf, so that only the graph could keep it alive
        saved = []
        with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
            y = calls(x, bias, residual)[i]()
        assert saved == []
        loss = (y * 1).sum()  # MulBackward saves its other operand (the scalar), not y
        x_ref, y_ref = weakref.ref(x), weakref.ref(y)
        del x, y
        gc.collect()
        assert x_ref() is None and y_ref() is None, f"call {i} keeps a tensor alive"
        loss.backward()
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        F.dropout(a * 2, 0.3).sum().backward()
    assert len(saved) > 0  # the hook does see what PyTorch's own dropout saves


# ---- randomness the PyTorch way: torch's generator decides the masks ----------------------------------

def test_manual_seed_decides_the_masks_and_construction_draws_nothing():
    x = torch.randn(1000)
    torch.manual_seed(21)
    a = sdt.dropout(x, 0.5)
    torch.manual_seed(21)
    b = sdt.dropout(x, 0.5)
    c = sdt.dropout(x, 0.5)
    assert_same_bits(a, b)
    assert not torch.equal(bits(b), bits(c))  # each call draws a new seed
    # The seed drawn is draw_seed's, which is Tensor.random_()'s value on an int64 tensor.
    torch.manual_seed(21)
    s = int(torch.empty((), dtype=torch.int64).random_())
    torch.manual_seed(21)
    assert sdt.draw_seed() == s
    assert_same_bits(a, sdt.dropout(x, 0.5, seed=s, offset=0))
    # Constructing a module draws nothing: the next layer's initialisation is as without it.
    torch.manual_seed(22)
    w1 = torch.nn.Linear(4, 4).weight
    torch.manual_seed(22)
    sdt.Dropout(0.5), sdt.Dropout2d(0.5), sdt.AlphaDropout(0.5), sdt.GaussianDropout(0.5)
    w2 = torch.nn.Linear(4, 4).weight
    assert torch.equal(w1, w2)


def test_generator_argument_is_used_and_the_default_generator_left_alone():
    x = torch.randn(500)
    torch.manual_seed(23)
    state = torch.get_rng_state()
    y1 = sdt.dropout(x, 0.4, generator=torch.Generator().manual_seed(5))
    assert torch.equal(torch.get_rng_state(), state)  # the default generator did not move
    y2 = sdt.dropout(x, 0.4, generator=torch.Generator().manual_seed(5))
    assert_same_bits(y1, y2)
    s = sdt.draw_seed(torch.Generator().manual_seed(5))
    assert_same_bits(y1, sdt.dropout(x, 0.4, seed=s))
    m = sdt.Dropout(0.4, generator=torch.Generator().manual_seed(5))
    assert_same_bits(m(x), y1)


def test_calls_without_randomness_draw_nothing_as_f_dropout():
    """F.dropout draws nothing for p = 0, p = 1 or an empty input (p = 0 gives the input itself); nor does simdrop,
    so a layer switched off with p = 0 does not shift later random ops."""
    x = torch.randn(4, 5)
    torch.manual_seed(34)
    state = torch.get_rng_state()
    for fn in (sdt.dropout, sdt.channel_dropout, sdt.dropout1d, sdt.dropout3d, sdt.alpha_dropout,
               sdt.gaussian_dropout):
        assert fn(x, 0.0, True) is x and fn(x, 0.0, True, True) is x
        empty = torch.empty(0, 3, 2) if fn is sdt.dropout1d else torch.empty(0, 3, 2, 2)
        assert fn(empty, 0.3, True).numel() == 0
    for fn in (sdt.dropout, sdt.channel_dropout, sdt.dropout1d):
        assert bool((fn(x, 1.0, True) == 0).all())
    assert torch.equal(sdt.bias_dropout_add(x, x[0], x, 1.0), x)  # residual + 0
    for cls in (sdt.Dropout, sdt.Dropout1d, sdt.AlphaDropout, sdt.GaussianDropout):
        assert cls(0.0)(x) is x and torch.jit.script(cls(0.0))(x) is x
    assert torch.equal(torch.get_rng_state(), state)
    assert F.dropout(x, 0.0) is x  # the behaviour copied


def test_module_with_a_generator_copies_and_pickles():
    """deepcopy and torch.save of a model whose dropout has its own generator: the copy gets a generator of its
    own in the same state, so it draws what the original would."""
    m = sdt.Dropout(0.5, generator=torch.Generator().manual_seed(35))
    copied = copy.deepcopy(m)
    buffer = io.BytesIO()
    torch.save(torch.nn.Sequential(m), buffer)
    buffer.seek(0)
    loaded = torch.load(buffer)[0]
    assert copied.generator is not m.generator and loaded.generator is not m.generator
    x = torch.randn(100)
    y = m(x)
    assert_same_bits(copied(x), y)
    assert_same_bits(loaded(x), y)


def test_refused_call_draws_nothing():
    torch.manual_seed(24)
    x, xg = torch.randn(4), torch.randn(4, requires_grad=True)
    state = torch.get_rng_state()
    with pytest.raises(ValueError):
        sdt.dropout(x, 1.5)
    with pytest.raises(ValueError):
        torch.ops.simdrop.dropout(x, 1.5)
    with pytest.raises(ValueError):
        torch.ops.simdrop.dropout(xg, float("nan"))
    with pytest.raises(TypeError):
        torch.ops.simdrop.channel_dropout_(torch.ones(2, 3, dtype=torch.int32), 0.5)
    assert torch.equal(torch.get_rng_state(), state)


MODULES = [(sdt.Dropout, torch.nn.Dropout, (6, 10)), (sdt.Dropout1d, torch.nn.Dropout1d, (3, 4, 5)),
           (sdt.Dropout2d, torch.nn.Dropout2d, (2, 3, 4, 5)), (sdt.Dropout3d, torch.nn.Dropout3d, (2, 3, 2, 2, 2)),
           (sdt.AlphaDropout, torch.nn.AlphaDropout, (6, 10)), (sdt.GaussianDropout, None, (6, 10))]


@pytest.mark.parametrize("cls,torch_cls,shape", MODULES, ids=lambda c: getattr(c, "__name__", ""))
@pytest.mark.parametrize("reentrant", [True, False])
def test_checkpoint_gives_the_gradients_of_the_plain_run(cls, torch_cls, shape, reentrant):
    """torch.utils.checkpoint recomputes the forward in backward after restoring torch's RNG state: the
    recomputed masks must be the forward's, so the gradients equal those of the run without checkpointing."""
    torch.manual_seed(25)
    lin = torch.nn.Linear(shape[-1], shape[-1])
    x = torch.randn(shape, requires_grad=True)
    drop = cls(0.4)

    def block(t):
        return drop(torch.tanh(lin(t))) * 1.5

    dy = torch.randn(shape)
    torch.manual_seed(26)
    block(x).backward(dy)
    plain = (x.grad.clone(), lin.weight.grad.clone())
    x.grad, lin.weight.grad = None, None
    torch.manual_seed(26)
    checkpoint(block, x, use_reentrant=reentrant).backward(dy)
    assert_same_bits(x.grad, plain[0])
    assert_same_bits(lin.weight.grad, plain[1])
    # The control: another mask (the generator one draw further, as a checkpoint that did not restore it would
    # see) gives other gradients, so the comparison above can fail.
    x.grad = None
    torch.manual_seed(26)
    sdt.draw_seed()
    block(x).backward(dy)
    assert not torch.equal(x.grad, plain[0])


@pytest.mark.parametrize("cls,torch_cls,shape", [m for m in MODULES if m[1] is not None],
                         ids=lambda c: getattr(c, "__name__", ""))
def test_drop_in_for_torch_modules(cls, torch_cls, shape):
    """Constructor, repr, state_dict (an nn.Dropout checkpoint loads into simdrop's module and back), train and
    eval behaviour, and the module's masks are the functional form's with the seed it drew."""
    ours, theirs = cls(0.25, True), torch_cls(0.25, True)
    assert (ours.p, ours.inplace) == (theirs.p, theirs.inplace) == (0.25, True)
    assert repr(ours) == repr(theirs).replace(torch_cls.__name__, cls.__name__)
    net_t = torch.nn.Sequential(torch.nn.Linear(5, 5), torch_cls(0.1))
    net_s = torch.nn.Sequential(torch.nn.Linear(5, 5), cls(0.1))
    net_s.load_state_dict(net_t.state_dict())
    net_t.load_state_dict(net_s.state_dict())
    assert list(net_s.state_dict()) == list(net_t.state_dict()) == ["0.weight", "0.bias"]
    m = cls(0.25)
    x = torch.randn(shape)
    torch.manual_seed(27)
    y = m(x)
    torch.manual_seed(27)
    s = sdt.draw_seed()
    fn = {sdt.Dropout: sdt.dropout, sdt.Dropout1d: sdt.dropout1d, sdt.Dropout2d: sdt.dropout2d,
          sdt.Dropout3d: sdt.dropout3d, sdt.AlphaDropout: sdt.alpha_dropout}[cls]
    assert_same_bits(y, fn(x, 0.25, True, seed=s))
    m.eval()
    assert m(x) is x


def test_signatures_match_torch_functional():
    """The positional parameters (names, order, defaults) are torch.nn.functional's and torch.nn's; the rest
    is keyword-only."""
    pairs = [(sdt.dropout, F.dropout), (sdt.dropout1d, F.dropout1d), (sdt.dropout2d, F.dropout2d),
             (sdt.dropout3d, F.dropout3d), (sdt.alpha_dropout, F.alpha_dropout)]
    for ours, theirs in pairs:
        po = [(q.name, q.default) for q in inspect.signature(ours).parameters.values() if q.kind != q.KEYWORD_ONLY]
        pt = [(q.name, q.default) for q in inspect.signature(theirs).parameters.values()]
        assert po == pt, ours.__name__
    for cls, torch_cls, _ in MODULES:
        po = [(q.name, q.default) for q in inspect.signature(cls.__init__).parameters.values()
              if q.kind != q.KEYWORD_ONLY]
        assert po == [("self", inspect.Parameter.empty), ("p", 0.5), ("inplace", False)], cls.__name__
    # The natural port of F.dropout(x, self.p, self.training) does what it says: eval mode is the identity.
    x = torch.randn(100)
    assert sdt.dropout(x, 0.5, False) is x
    torch.manual_seed(28)
    a = sdt.dropout(x, 0.5, True)
    torch.manual_seed(28)
    assert_same_bits(a, sdt.dropout(x, 0.5))


# ---- inplace, memory formats, unbatched inputs ---------------------------------------------------------

INPLACE = [(sdt.dropout, (8, 9)), (sdt.channel_dropout, (3, 4, 5)), (sdt.alpha_dropout, (8, 9)),
           (sdt.gaussian_dropout, (8, 9)), (sdt.dropout1d, (4, 5)), (sdt.dropout3d, (2, 3, 2, 2))]


@pytest.mark.parametrize("fn,shape", INPLACE, ids=lambda c: getattr(c, "__name__", ""))
def test_inplace_writes_the_input_with_the_same_bits_and_gradients(fn, shape):
    torch.manual_seed(29)
    x = torch.randn(shape)
    expected = fn(x, 0.3, True, seed=SEED, offset=OFFSET)
    ptr, version = x.data_ptr(), x._version
    out = fn(x, 0.3, True, True, seed=SEED, offset=OFFSET)
    assert out is x and x.data_ptr() == ptr and x._version > version
    assert_same_bits(x, expected)
    # Autograd: the in-place op on a non-leaf gives the out-of-place op's gradient.
    a = torch.randn(shape, requires_grad=True)
    fn(a * 1, 0.3, True, seed=SEED, offset=OFFSET).sum().backward()
    g = a.grad.clone()
    a.grad = None
    fn(a * 1, 0.3, True, True, seed=SEED, offset=OFFSET).sum().backward()
    assert_same_bits(a.grad, g)
    # On a leaf that requires grad it is refused, as PyTorch's own in-place ops are.
    with pytest.raises(RuntimeError, match="leaf Variable"):
        fn(a, 0.3, True, True, seed=SEED)
    # A non-contiguous input is written through its own strides; the elements between are not touched.
    big = torch.randn(shape[0] * 2, *shape[1:])
    before = big.clone()
    fn(big[::2], 0.3, True, True, seed=SEED, offset=OFFSET)
    assert_same_bits(big[::2], fn(before[::2], 0.3, True, seed=SEED, offset=OFFSET))
    assert_same_bits(big[1::2], before[1::2])


def test_inplace_keeps_values_other_ops_saved_safe():
    """An in-place dropout after an op that saved its output for backward is caught by the version counter."""
    a = torch.randn(10, requires_grad=True)
    y = a.exp()  # ExpBackward saves y
    sdt.dropout(y, 0.5, inplace=True, seed=SEED)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@pytest.mark.parametrize("shape,fmt", [((3, 5, 4, 6), torch.channels_last), ((2, 4, 3, 2, 5), torch.channels_last_3d)])
def test_channels_last_in_channels_last_out(shape, fmt):
    torch.manual_seed(13)
    x = torch.randn(shape)
    xcl = x.to(memory_format=fmt)
    for fn in (sdt.dropout, sdt.channel_dropout, sdt.alpha_dropout, sdt.gaussian_dropout):
        y = fn(xcl, 0.5, True, seed=SEED, offset=OFFSET)
        assert y.is_contiguous(memory_format=fmt), fn.__name__
        assert_same_bits(y.contiguous(), fn(x, 0.5, True, seed=SEED, offset=OFFSET))  # layout-independent bits
        z = xcl.clone()
        fn(z, 0.5, True, True, seed=SEED, offset=OFFSET)
        assert z.is_contiguous(memory_format=fmt)
        assert_same_bits(z.contiguous(), y.contiguous())
    g = torch.ops.simdrop.channel_dropout_backward(xcl, 0.5, SEED, OFFSET)
    assert g.is_contiguous(memory_format=fmt)
    assert_same_bits(g.contiguous(), torch.ops.simdrop.channel_dropout_backward(x, 0.5, SEED, OFFSET))


def test_unbatched_inputs_read_as_torch_reads_them():
    torch.manual_seed(30)
    x2, x4 = torch.randn(6, 7), torch.randn(3, 2, 4, 5)
    # dropout1d: (C, L) is one sample of C channels; dropout3d: (C, D, H, W) is one sample.
    assert_same_bits(sdt.dropout1d(x2, 0.5, seed=SEED), sdt.channel_dropout(x2[None], 0.5, seed=SEED)[0])
    assert_same_bits(sdt.dropout3d(x4, 0.5, seed=SEED), sdt.channel_dropout(x4[None], 0.5, seed=SEED)[0])
    # dropout2d on a 3-d input: (N, C, L), with torch 1.13's warning.
    x3 = torch.randn(4, 3, 5)
    with pytest.warns(UserWarning, match="3D input"):
        y = sdt.dropout2d(x3, 0.5, seed=SEED)
    assert_same_bits(y, sdt.channel_dropout(x3, 0.5, seed=SEED))
    # The whole channel is dropped or kept, as torch's are: compare the pattern's shape with torch's.
    zero_channels = (sdt.dropout1d(torch.ones(64, 9), 0.5, seed=SEED) == 0).all(dim=1)
    assert bool(((sdt.dropout1d(torch.ones(64, 9), 0.5, seed=SEED) == 0).any(dim=1) == zero_channels).all())
    with pytest.raises(ValueError, match="dropout1d: input must be 2-d"):
        sdt.dropout1d(torch.ones(2, 3, 4, 5), 0.5)
    # The modules, eager and scripted, read them the same way.
    for cls, x in ((sdt.Dropout1d, x2), (sdt.Dropout3d, x4)):
        torch.manual_seed(31)
        eager = cls(0.5)(x)
        torch.manual_seed(31)
        scripted = torch.jit.script(cls(0.5))(x)
        assert eager.shape == x.shape
        assert_same_bits(eager, scripted)


# ---- the dispatcher: meta tensors, TorchScript ---------------------------------------------------------

def test_meta_tensors_get_shape_dtype_and_format_without_data():
    torch.manual_seed(32)
    state = torch.get_rng_state()
    ops = torch.ops.simdrop
    for fmt, shape in ((torch.contiguous_format, (2, 3, 4, 5)), (torch.channels_last, (2, 3, 4, 5))):
        x = torch.empty(shape, device="meta", dtype=torch.bfloat16).to(memory_format=fmt)
        for op in (ops.dropout, ops.channel_dropout, ops.alpha_dropout, ops.gaussian_dropout):
            y = op(x, 0.3)
            assert y.device.type == "meta" and y.shape == x.shape and y.dtype == x.dtype and y.stride() == x.stride()
            assert op(x.requires_grad_(), 0.3).requires_grad  # through the Autograd kernel too
            x = x.detach()
        assert ops.dropout_(x, 0.3) is x or ops.dropout_(x, 0.3).data_ptr() == x.data_ptr()
    g = torch.empty(5, 7, device="meta")
    dx, db = ops.bias_dropout_add_backward(g, 0.3, 1)
    assert dx.shape == (5, 7) and db.shape == (7,) and db.device.type == "meta"
    y = ops.bias_dropout_add(g, torch.empty(7, device="meta"), g, 0.3)
    assert y.shape == (5, 7) and y.device.type == "meta"
    assert sdt.dropout(g, 0.3).device.type == "meta"
    assert torch.equal(torch.get_rng_state(), state)  # shape inference draws nothing
    # The meta kernels check as the CPU kernels do.
    with pytest.raises(ValueError, match="p must be in"):
        ops.dropout(g, 1.5)
    with pytest.raises(ValueError, match="bias must have shape"):
        ops.bias_dropout_add(g, torch.empty(3, device="meta"), g, 0.3)
    with pytest.raises(TypeError, match="input must be a floating"):
        ops.dropout(torch.empty(3, device="meta", dtype=torch.int32), 0.3)


@pytest.mark.parametrize("cls,torch_cls,shape", MODULES, ids=lambda c: getattr(c, "__name__", ""))
def test_torchscript_modules_give_the_eager_bits(cls, torch_cls, shape):
    x = torch.randn(shape)
    for inplace in (False, True):
        eager, scripted = cls(0.3, inplace), torch.jit.script(cls(0.3, inplace))
        torch.manual_seed(33)
        a = eager(x.clone())
        torch.manual_seed(33)
        b = scripted(x.clone())
        assert_same_bits(a, b)
        scripted.eval()
        assert scripted(x) is x
    with pytest.raises(RuntimeError, match="cannot be scripted"):
        torch.jit.script(cls(0.3, generator=torch.Generator()))


def test_torchscript_calls_the_ops():
    @torch.jit.script
    def scripted(x: torch.Tensor, seed: int, offset: int) -> torch.Tensor:
        return torch.ops.simdrop.dropout(x, 0.3, seed=seed, offset=offset)

    x = torch.randn(100)
    assert_same_bits(scripted(x, SEED, OFFSET), sdt.dropout(x, 0.3, seed=SEED, offset=OFFSET))


# ---- bad input: a clear exception naming the argument, nothing written ---------------------------------

def _bad_calls():
    x = torch.randn(8, 4)
    return [
        ("integer dtype", lambda: sdt.dropout(torch.ones(8, dtype=torch.int64), 0.3), TypeError, "input must be a floating"),
        ("bool dtype", lambda: sdt.channel_dropout(torch.ones(2, 2, dtype=torch.bool), 0.3), TypeError, "input must"),
        ("complex dtype", lambda: sdt.alpha_dropout(torch.ones(4, dtype=torch.complex64), 0.3, True), TypeError,
         "input must"),
        ("sparse", lambda: sdt.dropout(torch.eye(3).to_sparse(), 0.3), ValueError, "dense CPU"),
        ("not a tensor", lambda: sdt.dropout([1.0, 2.0], 0.3), TypeError, "input must be a torch.Tensor"),
        ("p NaN", lambda: sdt.dropout(x, float("nan")), ValueError, "p must be in [0, 1]"),
        ("p < 0", lambda: sdt.dropout(x, -0.1), ValueError, "p must be in [0, 1]"),
        ("p > 1", lambda: sdt.channel_dropout(x, 1.5), ValueError, "p must be in [0, 1]"),
        ("p a bool", lambda: sdt.dropout(x, True), TypeError, "p must be a float"),
        ("alpha p = 1", lambda: sdt.alpha_dropout(x, 1.0, True), ValueError, "p must be in [0, 1)"),
        ("gaussian p = 1", lambda: sdt.gaussian_dropout(x, 1.0), ValueError, "p must be in [0, 1)"),
        ("training not a bool", lambda: sdt.dropout(x, 0.3, 1), TypeError, "training must be a bool"),
        ("inplace not a bool", lambda: sdt.dropout(x, 0.3, True, 0), TypeError, "inplace must be a bool"),
        ("seed a bool", lambda: sdt.dropout(x, 0.3, seed=True), TypeError, "seed must be an int, got bool"),
        ("seed a float", lambda: sdt.dropout(x, 0.3, seed=1.0), TypeError, "seed must be an int"),
        ("negative seed", lambda: sdt.dropout(x, 0.3, seed=-1), ValueError, "seed must be in [0, 2**64)"),
        ("seed 2**64", lambda: sdt.dropout(x, 0.3, seed=2**64), ValueError, "seed must be in [0, 2**64)"),
        ("negative offset", lambda: sdt.gaussian_dropout(x, 0.3, seed=1, offset=-7), ValueError, "offset must be in"),
        ("offset a bool", lambda: sdt.dropout(x, 0.3, offset=False), TypeError, "offset must be an int"),
        ("unknown algorithm", lambda: sdt.dropout(x, 0.3, algorithm="mt19937"), ValueError, "algorithm must be"),
        ("generator a string", lambda: sdt.dropout(x, 0.3, generator="ars5"), TypeError,
         "generator must be a torch.Generator"),
        ("op algorithm", lambda: torch.ops.simdrop.dropout(x, 0.3, algorithm="x"), ValueError, "algorithm must be"),
        ("channel 1-d", lambda: sdt.channel_dropout(torch.ones(5), 0.3), ValueError, "(N, C, *)"),
        ("bias shape", lambda: sdt.bias_dropout_add(x, torch.ones(3), x, 0.3), ValueError, "bias must have shape"),
        ("residual shape", lambda: sdt.bias_dropout_add(x, torch.ones(4), x[:2], 0.3), ValueError, "residual must"),
        ("mixed dtypes", lambda: sdt.bias_dropout_add(x, torch.ones(4, dtype=torch.float64), x, 0.3), TypeError,
         "one dtype"),
        ("module p", lambda: sdt.Dropout(p=float("nan")), ValueError, "p must be in [0, 1]"),
        ("module inplace", lambda: sdt.Dropout(0.5, 1), TypeError, "inplace must be a bool"),
        ("module algorithm", lambda: sdt.Dropout2d(0.5, algorithm="aes"), ValueError, "algorithm must be"),
        ("keep_mask n", lambda: sdt.keep_mask(True, 0.5, 1), TypeError, "n must be an int"),
    ]


@pytest.mark.parametrize("case", _bad_calls(), ids=lambda c: c[0])
def test_bad_input_raises_clear_error(case):
    _, call, kind, text = case
    with pytest.raises(kind) as info:
        call()
    assert text in str(info.value)


def test_bad_input_writes_nothing():
    torch.manual_seed(10)
    x, residual, bias = torch.randn(8, 4), torch.randn(8, 4), torch.randn(4)
    saved = [t.clone() for t in (x, residual, bias)]
    for call in (lambda: sdt.dropout(x, 2.0, inplace=True), lambda: sdt.bias_dropout_add(x, bias, residual, 0.5, seed=-1),
                 lambda: sdt.bias_dropout_add(x, bias, residual, float("nan")),
                 lambda: torch.ops.simdrop.dropout_(x, 0.5, algorithm="nope"),
                 lambda: torch.ops.simdrop.alpha_dropout_(x, 1.0)):
        with pytest.raises(ValueError):
            call()
    for before, after in zip(saved, (x, residual, bias)):
        assert_same_bits(after, before)


def test_cuda_tensor_refused_if_constructible():
    try:
        x = torch.ones(4, device="cuda")
    except (RuntimeError, AssertionError, AttributeError):
        pytest.skip("this torch build cannot make a CUDA tensor (the sparse case covers other backends)")
    with pytest.raises(ValueError, match="CPU tensor"):
        sdt.dropout(x, 0.3)


# ---- threads: the result does not depend on torch.get_num_threads(), and the count is honoured ---------

def test_thread_count_does_not_change_bits():
    torch.manual_seed(11)
    n = 3 << 18  # 786432 elements: many of simdrop's 65536-element tasks
    x = torch.randn(n)
    bias, residual = torch.randn(1024), torch.randn(n)
    k = dict(seed=SEED, offset=OFFSET)
    calls = {
        "dropout": lambda: sdt.dropout(x, 0.3, **k),
        "channel": lambda: sdt.channel_dropout(x.view(12, 64, 1024), 0.3, **k),
        "alpha": lambda: sdt.alpha_dropout(x, 0.3, True, **k),
        "gaussian": lambda: sdt.gaussian_dropout(x, 0.3, **k),
        "bias_dropout_add": lambda: sdt.bias_dropout_add(x.view(-1, 1024), bias, residual.view(-1, 1024), 0.3, **k),
        "bda_backward": lambda: torch.cat([t.flatten() for t in torch.ops.simdrop.bias_dropout_add_backward(
            x.view(-1, 1024), 0.3, SEED, OFFSET)]),
    }
    before = torch.get_num_threads()
    try:
        results = {}
        for threads in (1, 2):
            torch.set_num_threads(threads)
            assert torch.get_num_threads() == threads
            results[threads] = {k: f() for k, f in calls.items()}
        for k in calls:
            assert_same_bits(results[1][k], results[2][k])
    finally:
        torch.set_num_threads(before)


_THREAD_PROBE = r"""
import os, sys, torch
torch.set_num_threads(int(sys.argv[1]))
import simdrop.torch as sdt
def threads():
    return len(os.listdir("/proc/self/task"))
x = torch.randn(1 << 20)
torch.randn(1 << 20).exp()  # let torch start what it starts for its own ops
before = threads()
xg = x.clone().requires_grad_()
for y in (sdt.dropout(xg, 0.3), sdt.channel_dropout(xg.view(64, 64, 256), 0.3), sdt.alpha_dropout(xg, 0.3, True),
          sdt.gaussian_dropout(xg, 0.3)):
    y.backward(torch.ones_like(y))
b = torch.randn(256, requires_grad=True)
for rows in (4, 4096):  # bias_dropout_add's backward sums columns: small and large
    xb = torch.randn(rows, 256, requires_grad=True)
    sdt.bias_dropout_add(xb, b, torch.randn(rows, 256), 0.3).sum().backward()
sdt.dropout(x, 0.3, inplace=True)
sdt.keep_mask(1 << 20, 0.3, 1)
print(before, threads())
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self/task") or (os.cpu_count() or 1) < 2,
                    reason="needs Linux's /proc/self/task and at least 2 CPUs to tell 1 thread from more")
def test_every_op_honours_set_num_threads_one():
    """With torch.set_num_threads(1), no op forward or backward starts a thread (a oneTBB worker would stay in
    /proc/self/task). The control: with 2 threads the same script does start one, so the probe can see it."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    counts = {}
    for threads in (1, 2):
        out = subprocess.run([sys.executable, "-c", _THREAD_PROBE, str(threads)], env=env, check=True,
                             capture_output=True, text=True).stdout.split()
        counts[threads] = (int(out[0]), int(out[1]))
    assert counts[1][1] == counts[1][0], f"threads before/after with set_num_threads(1): {counts[1]}"
    assert counts[2][1] > counts[2][0], f"control: 2 threads started none: {counts[2]}"


def test_output_cache_reuses_large_buffers():
    """Outputs of 2 MiB and more come from the binding's cache: a freed output's buffer serves the next output
    of its size (no fresh pages), holds the right values, is an ordinary resizable tensor, is visible to
    torch.profiler's memory view, and empty_cache() frees the idle ones."""
    x = torch.randn(1 << 20)  # 4 MiB
    sdt.empty_cache()
    y = sdt.dropout(x, 0.3, seed=1)
    ptr = y.data_ptr()
    del y
    y = sdt.dropout(x, 0.3, seed=2)
    assert y.data_ptr() == ptr
    assert_same_bits(y, expected_dropout(x, 0.3, 2, 0))
    y.resize_(3 << 20)
    y[-1] = 1.0
    del y
    assert sdt.empty_cache() >= 12 << 20
    assert sdt.empty_cache() == 0
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        y = sdt.dropout(x, 0.3, seed=3)
    assert sum(max(0, e.cpu_memory_usage) for e in prof.events() if e.cpu_parent is None) >= x.numel() * 4
    # $SIMDROP_TORCH_CACHE_MIB=0: no cache (each output is PyTorch's allocator's; a freed one is not kept).
    probe = ("import torch, simdrop.torch as sdt; x = torch.randn(1 << 20); del x; "
             "[sdt.dropout(torch.randn(1 << 20), 0.3, seed=1) for _ in range(3)]; print(sdt.empty_cache())")
    for env, kept in (("0", False), ("64", True)):
        out = subprocess.run([sys.executable, "-c", probe], env=dict(os.environ, SIMDROP_TORCH_CACHE_MIB=env),
                             check=True, capture_output=True, text=True).stdout
        assert (int(out) > 0) == kept, (env, out)


# ---- non-contiguous inputs ---------------------------------------------------------------------------------

def test_non_contiguous_inputs_are_their_row_major_copies():
    torch.manual_seed(12)
    x = torch.randn(30, 40)
    for view in (x.t(), x[:, ::3], x[::2]):
        assert not view.is_contiguous()
        for op in (sdt.dropout, sdt.alpha_dropout, sdt.gaussian_dropout, sdt.channel_dropout):
            assert_same_bits(op(view, 0.3, True, seed=SEED, offset=OFFSET),
                             op(view.contiguous(), 0.3, True, seed=SEED, offset=OFFSET))


# ---- 16-bit tensors ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_16_bit_tensors_are_fp32_rounded_once(dtype, p):
    """bfloat16 / float16 tensors run the library's 16-bit kernels: fp32's keep bits, float(x) * float(scale)
    rounded once to the type (the float32 op on the widened input is exactly that before the rounding)."""
    x = torch.randn(10007, generator=torch.Generator().manual_seed(3)).to(dtype)
    k = dict(seed=SEED, offset=OFFSET)
    y = sdt.dropout(x, p, **k)
    expected = sdt.dropout(x.float(), p, **k).to(dtype)
    assert y.dtype == dtype
    assert torch.equal(y.view(torch.int16), expected.view(torch.int16))
    if 0.0 < p < 1.0:  # the backward regenerates the same mask
        xg = x.clone().requires_grad_(True)
        sdt.dropout(xg, p, **k).sum().backward()
        kept = sdt.keep_mask(x.numel(), p, SEED, OFFSET)
        scale = torch.tensor(1 / (1 - p), dtype=torch.float32).to(dtype)  # round(1.0 * float(scale))
        assert torch.equal(xg.grad[kept].view(torch.int16), scale.expand(int(kept.sum())).view(torch.int16))
        assert bool((xg.grad[~kept] == 0).all())
