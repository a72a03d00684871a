"""simdrop.torch: exact bits against the C++ definition, the sharding identity, autograd (gradcheck and
gradgradcheck in float64 for every op), PyTorch's own expectations, bad input, thread-count independence,
non-contiguous inputs, the modules and TorchScript.

Run: PYTHONPATH=<build>/python /usr/bin/python3 -m pytest tests/python/test_torch_ops.py (ctest does this).
Bits are compared as integers (so +0.0 and -0.0 differ); no tolerances, except where a formula's
coefficients are computed in Python (alpha dropout's a, b), which says so.
"""
import math

import pytest
import torch

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
    keep = sdt.keep_mask(x.numel(), p, seed, offset, generator).view(x.shape)
    if p == 1.0:
        return torch.zeros_like(x)
    return torch.where(keep, x * scale_of(p, x.dtype), torch.zeros_like(x))


# ---- exact bits against the C++ definition ---------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("generator", sdt.GENERATORS)
@pytest.mark.parametrize("p", [0.0, 0.1, 0.3, 0.5, 0.9, 1.0])
def test_dropout_is_make_mask_times_scale(dtype, generator, p):
    torch.manual_seed(1)
    for shape in [(1,), (63,), (64,), (65,), (7, 13), (3, 5, 67)]:
        x = torch.randn(shape, dtype=dtype)
        y = sdt.dropout(x, p, SEED, OFFSET, generator=generator)
        assert_same_bits(y, expected_dropout(x, p, SEED, OFFSET, generator))


def test_keep_mask_rate_and_generators_differ():
    # 2^16 decisions at p = 0.3: dropped fraction within 6 sigma (sigma = sqrt(0.21 / 65536) ~ 0.0018).
    n = 1 << 16
    masks = {g: sdt.keep_mask(n, 0.3, SEED, 0, g) for g in sdt.GENERATORS}
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
        assert_same_bits(sdt.channel_dropout(x, p, SEED, OFFSET), expected)


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
    y = sdt.alpha_dropout(x, p, SEED, OFFSET)
    assert torch.allclose(y, torch.where(keep, a * x + b, torch.full_like(x, a * ap + b)),
                          rtol=8 * torch.finfo(dtype).eps, atol=8 * torch.finfo(dtype).eps)
    # All dropped elements hold one constant.
    assert torch.unique(bits(y[~keep])).numel() == 1


def test_gaussian_dropout_noise_is_shared_by_fp32_fp64_and_backward():
    torch.manual_seed(4)
    p = 0.3
    x32 = torch.randn(4099)
    e = sdt.gaussian_dropout(torch.ones(4099), p, SEED, OFFSET)  # the noise e itself (float)
    assert_same_bits(sdt.gaussian_dropout(x32, p, SEED, OFFSET), x32 * e)
    assert_same_bits(torch.ops.simdrop.gaussian_dropout_backward(x32, p, SEED, OFFSET), x32 * e)
    # fp64 multiplies by double(e), the float noise.
    x64 = torch.randn(4099, dtype=torch.float64)
    assert_same_bits(sdt.gaussian_dropout(x64, p, SEED, OFFSET), x64 * e.double())
    # E[e] = 1, Var[e] = p / (1 - p): mean within 6 sigma of 1.
    sigma = math.sqrt(p / (1 - p))
    assert abs(e.double().mean().item() - 1) < 6 * sigma / math.sqrt(e.numel())
    assert sdt.gaussian_dropout(x32, 0.0, SEED, OFFSET).equal(x32)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_dropout_add_definition(dtype):
    torch.manual_seed(5)
    p = 0.25
    rows, cols = 37, 19
    x, residual = torch.randn(rows, cols, dtype=dtype), torch.randn(rows, cols, dtype=dtype)
    bias = torch.randn(cols, dtype=dtype)
    keep = sdt.keep_mask(rows * cols, p, SEED, OFFSET).view(rows, cols)
    y = sdt.bias_dropout_add(x, bias, residual, p, SEED, OFFSET)
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
        whole = op(x, 0.3, SEED, OFFSET)
        for a, b in [(0, 5), (5, 6), (6, 24), (11, 17)]:
            assert_same_bits(op(x[a:b], 0.3, SEED, OFFSET + a * row), whole[a:b])
    # Channel dropout shards the batch: n planes of C channels each use C positions.
    xc = torch.randn(8, 3, 5, 5, dtype=dtype)
    whole = sdt.channel_dropout(xc, 0.5, SEED, OFFSET)
    assert_same_bits(sdt.channel_dropout(xc[2:7], 0.5, SEED, OFFSET + 2 * 3), whole[2:7])
    bias, residual = torch.randn(row, dtype=dtype), torch.randn(rows, row, dtype=dtype)
    whole = sdt.bias_dropout_add(x, bias, residual, 0.3, SEED, OFFSET)
    assert_same_bits(sdt.bias_dropout_add(x[3:9], bias, residual[3:9], 0.3, SEED, OFFSET + 3 * row), whole[3:9])


# ---- autograd --------------------------------------------------------------------------------------------

def _ops_for_gradcheck():
    return {
        "dropout": lambda x: sdt.dropout(x, 0.3, SEED, OFFSET),
        "dropout_philox7": lambda x: sdt.dropout(x, 0.3, SEED, OFFSET, generator="philox4x32_7"),
        "channel_dropout": lambda x: sdt.channel_dropout(x, 0.5, SEED, OFFSET),
        "alpha_dropout": lambda x: sdt.alpha_dropout(x, 0.3, SEED, OFFSET),
        "gaussian_dropout": lambda x: sdt.gaussian_dropout(x, 0.3, SEED, OFFSET),
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
    # Channels-last input: the nhwc path, the same gradients.
    xcl = torch.randn(2, 3, 4, 5, dtype=torch.float64).to(memory_format=torch.channels_last).requires_grad_()
    assert torch.autograd.gradcheck(op, (xcl,))


def test_gradcheck_bias_dropout_add_float64():
    torch.manual_seed(8)
    x = torch.randn(6, 7, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(7, dtype=torch.float64, requires_grad=True)
    residual = torch.randn(6, 7, dtype=torch.float64, requires_grad=True)
    op = lambda x, b, r: sdt.bias_dropout_add(x, b, r, 0.3, SEED, OFFSET)  # noqa: E731
    assert torch.autograd.gradcheck(op, (x, bias, residual))
    assert torch.autograd.gradgradcheck(op, (x, bias, residual))
    bwd = lambda dy: torch.ops.simdrop.bias_dropout_add_backward(dy, 0.3, SEED, OFFSET)  # noqa: E731
    assert torch.autograd.gradcheck(bwd, (torch.randn(6, 7, dtype=torch.float64, requires_grad=True),))


def test_torch_expectations():
    torch.manual_seed(9)
    p = 0.3
    x = torch.randn(50, 40, requires_grad=True)
    y = sdt.dropout(x, p, SEED, OFFSET)
    assert y.shape == x.shape and y.dtype == x.dtype and y.requires_grad and y.grad_fn is not None
    y.backward(torch.ones_like(y))
    keep = sdt.keep_mask(x.numel(), p, SEED, OFFSET).view(x.shape)
    assert torch.equal(x.grad[keep], torch.full_like(x.grad[keep], scale_of(p, torch.float32).item()))
    assert torch.equal(x.grad[~keep], torch.zeros_like(x.grad[~keep]))
    assert 0 < keep.sum() < keep.numel()
    # Eval mode (training=False) is the identity: the input itself.
    assert sdt.dropout(x, p, SEED, training=False) is x
    assert sdt.channel_dropout(x, p, SEED, training=False) is x
    # Without requires_grad, no graph; under no_grad neither.
    assert not sdt.dropout(x.detach(), p, SEED).requires_grad
    with torch.no_grad():
        assert sdt.dropout(x, p, SEED).grad_fn is None
    # Empty tensors are fine.
    assert sdt.dropout(torch.empty(0, 3), p, SEED).shape == (0, 3)


def test_nothing_saved_for_backward():
    """Every op saves no tensor for backward (autograd's pack hook sees none); F.dropout, the control, does."""
    x = torch.randn(6, 8, requires_grad=True)
    bias, residual = torch.randn(8, requires_grad=True), torch.randn(6, 8, requires_grad=True)
    calls = [lambda: sdt.dropout(x, 0.3, SEED), lambda: sdt.channel_dropout(x, 0.3, SEED),
             lambda: sdt.alpha_dropout(x, 0.3, SEED), lambda: sdt.gaussian_dropout(x, 0.3, SEED),
             lambda: sdt.bias_dropout_add(x, bias, residual, 0.3, SEED)]
    for call in calls + [lambda: torch.nn.functional.dropout(x, 0.3)]:
        saved = []
        with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
            y = call()
        y.backward(torch.ones_like(y))
        if call in calls:
            assert saved == []
        else:
            assert len(saved) > 0  # the hook does see what PyTorch's own dropout saves


# ---- bad input: a clear exception naming the argument, nothing written ---------------------------------

def _bad_calls():
    x = torch.randn(8, 4)
    return [
        ("integer dtype", lambda: sdt.dropout(torch.ones(8, dtype=torch.int64), 0.3, 1), TypeError, "x must be a floating"),
        ("bool dtype", lambda: sdt.channel_dropout(torch.ones(2, 2, dtype=torch.bool), 0.3, 1), TypeError, "x must"),
        ("complex dtype", lambda: sdt.alpha_dropout(torch.ones(4, dtype=torch.complex64), 0.3, 1), TypeError, "x must"),
        ("meta device", lambda: sdt.dropout(torch.ones(8, device="meta"), 0.3, 1), ValueError, "CPU tensor"),
        ("sparse", lambda: sdt.dropout(torch.eye(3).to_sparse(), 0.3, 1), ValueError, "dense CPU"),
        ("p NaN", lambda: sdt.dropout(x, float("nan"), 1), ValueError, "p must be in [0, 1]"),
        ("p < 0", lambda: sdt.dropout(x, -0.1, 1), ValueError, "p must be in [0, 1]"),
        ("p > 1", lambda: sdt.channel_dropout(x, 1.5, 1), ValueError, "p must be in [0, 1]"),
        ("alpha p = 1", lambda: sdt.alpha_dropout(x, 1.0, 1), ValueError, "p must be in [0, 1)"),
        ("gaussian p = 1", lambda: sdt.gaussian_dropout(x, 1.0, 1), ValueError, "p must be in [0, 1)"),
        ("negative seed", lambda: sdt.dropout(x, 0.3, -1), ValueError, "seed must be >= 0"),
        ("negative offset", lambda: sdt.gaussian_dropout(x, 0.3, 1, -7), ValueError, "offset must be >= 0"),
        ("unknown generator", lambda: sdt.dropout(x, 0.3, 1, generator="mt19937"), ValueError, "generator must be"),
        ("channel 1-d", lambda: sdt.channel_dropout(torch.ones(5), 0.3, 1), ValueError, "(N, C, *)"),
        ("bias shape", lambda: sdt.bias_dropout_add(x, torch.ones(3), x, 0.3, 1), ValueError, "bias must have shape"),
        ("residual shape", lambda: sdt.bias_dropout_add(x, torch.ones(4), x[:2], 0.3, 1), ValueError, "residual must"),
        ("mixed dtypes", lambda: sdt.bias_dropout_add(x, torch.ones(4, dtype=torch.float64), x, 0.3, 1), TypeError,
         "one dtype"),
        ("module p", lambda: sdt.Dropout(p=float("nan"), seed=1), ValueError, "p must be in [0, 1]"),
        ("module seed", lambda: sdt.Dropout(p=0.5, seed=-3), ValueError, "seed must be in"),
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
    m = sdt.Dropout(0.5, seed=3)
    for call in (lambda: sdt.dropout(x, 2.0, 1), lambda: sdt.bias_dropout_add(x, bias, residual, 0.5, -1),
                 lambda: sdt.bias_dropout_add(x, bias, residual, float("nan"), 1)):
        with pytest.raises(ValueError):
            call()
    with pytest.raises(ValueError):
        m(torch.ones(3, device="meta"))
    for before, after in zip(saved, (x, residual, bias)):
        assert_same_bits(after, before)
    assert int(m.offset) == 0  # a failed call does not advance the module's stream


def test_cuda_tensor_refused_if_constructible():
    try:
        x = torch.ones(4, device="cuda")
    except (RuntimeError, AssertionError, AttributeError):
        pytest.skip("this torch build cannot make a CUDA tensor (the meta-device case covers other devices)")
    with pytest.raises(ValueError, match="CPU tensor"):
        sdt.dropout(x, 0.3, 1)


# ---- threads: the result does not depend on torch.get_num_threads() ------------------------------------

def test_thread_count_does_not_change_bits():
    torch.manual_seed(11)
    n = 3 << 18  # 786432 elements: many of simdrop's 65536-element tasks
    x = torch.randn(n)
    bias, residual = torch.randn(1024), torch.randn(n)
    calls = {
        "dropout": lambda: sdt.dropout(x, 0.3, SEED, OFFSET),
        "channel": lambda: sdt.channel_dropout(x.view(12, 64, 1024), 0.3, SEED, OFFSET),
        "alpha": lambda: sdt.alpha_dropout(x, 0.3, SEED, OFFSET),
        "gaussian": lambda: sdt.gaussian_dropout(x, 0.3, SEED, OFFSET),
        "bias_dropout_add": lambda: sdt.bias_dropout_add(x.view(-1, 1024), bias, residual.view(-1, 1024), 0.3, SEED,
                                                         OFFSET),
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


# ---- non-contiguous inputs ---------------------------------------------------------------------------------

def test_non_contiguous_inputs_are_their_row_major_copies():
    torch.manual_seed(12)
    x = torch.randn(30, 40)
    for view in (x.t(), x[:, ::3], x[::2]):
        assert not view.is_contiguous()
        for op in (sdt.dropout, sdt.alpha_dropout, sdt.gaussian_dropout, sdt.channel_dropout):
            assert_same_bits(op(view, 0.3, SEED, OFFSET), op(view.contiguous(), 0.3, SEED, OFFSET))


@pytest.mark.parametrize("shape,fmt", [((3, 5, 4, 6), torch.channels_last), ((2, 4, 3, 2, 5), torch.channels_last_3d)])
def test_channels_last_takes_the_nhwc_path(shape, fmt):
    torch.manual_seed(13)
    x = torch.randn(shape)
    xcl = x.to(memory_format=fmt)
    y = sdt.channel_dropout(xcl, 0.5, SEED, OFFSET)
    assert y.is_contiguous(memory_format=fmt)  # output keeps the input's memory format
    assert_same_bits(y.contiguous(), sdt.channel_dropout(x, 0.5, SEED, OFFSET))
    g = torch.ops.simdrop.channel_dropout_backward(xcl, 0.5, SEED, OFFSET)
    assert_same_bits(g.contiguous(), torch.ops.simdrop.channel_dropout_backward(x, 0.5, SEED, OFFSET))


# ---- modules -----------------------------------------------------------------------------------------------

def test_module_seed_from_torch_default_generator():
    torch.manual_seed(14)
    a = sdt.Dropout(0.5)
    torch.manual_seed(14)
    b = sdt.Dropout(0.5)
    c = sdt.Dropout(0.5)
    assert int(a.seed) == int(b.seed) != int(c.seed)
    assert int(a.seed) >= 0


@pytest.mark.parametrize("cls,shape,used", [
    (sdt.Dropout, (6, 10), 60), (sdt.Dropout2d, (4, 3, 5, 5), 12), (sdt.Dropout3d, (2, 3, 2, 2, 2), 6),
    (sdt.AlphaDropout, (6, 10), 60), (sdt.GaussianDropout, (6, 10), 60)])
def test_module_stream_state(cls, shape, used):
    torch.manual_seed(15)
    m = cls(0.3, seed=99)
    assert set(m.state_dict()) == {"seed", "offset"}
    x = torch.randn(shape)
    y1 = m(x)
    assert int(m.offset) == used
    y2 = m(x)
    assert int(m.offset) == 2 * used
    assert not torch.equal(bits(y1), bits(y2))  # a new part of the stream on each call
    functional = {sdt.Dropout: sdt.dropout, sdt.Dropout2d: sdt.channel_dropout, sdt.Dropout3d: sdt.channel_dropout,
                  sdt.AlphaDropout: sdt.alpha_dropout, sdt.GaussianDropout: sdt.gaussian_dropout}[cls]
    assert_same_bits(y2, functional(x, 0.3, 99, used))
    # A checkpoint taken after the first call continues with the second call's masks.
    resumed = cls(0.3, seed=1)
    m2 = cls(0.3, seed=99)
    m2(x)
    resumed.load_state_dict(m2.state_dict())
    assert_same_bits(resumed(x), y2)
    # Eval mode: the input itself, and the stream does not move.
    m.eval()
    assert m(x) is x and int(m.offset) == 2 * used


def test_module_in_a_model_trains():
    torch.manual_seed(16)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), sdt.Dropout(0.2), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    x = torch.randn(4, 8)
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    assert int(model[1].offset) == 4 * 16


# ---- TorchScript -----------------------------------------------------------------------------------------

def test_torchscript_calls_the_ops():
    @torch.jit.script
    def scripted(x: torch.Tensor, seed: int, offset: int) -> torch.Tensor:
        return torch.ops.simdrop.dropout(x, 0.3, seed, offset)

    x = torch.randn(100)
    assert_same_bits(scripted(x, SEED, OFFSET), sdt.dropout(x, 0.3, SEED, OFFSET))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_16_bit_tensors_are_fp32_rounded_once(dtype, p):
    """bfloat16 / float16 tensors run the library's 16-bit kernels: fp32's keep bits, float(x) * float(scale)
    rounded once to the type (the float32 op on the widened input is exactly that before the rounding)."""
    x = torch.randn(10007, generator=torch.Generator().manual_seed(3)).to(dtype)
    y = sdt.dropout(x, p, SEED, OFFSET)
    expected = sdt.dropout(x.float(), p, SEED, OFFSET).to(dtype)
    assert y.dtype == dtype
    assert torch.equal(y.view(torch.int16), expected.view(torch.int16))
    if 0.0 < p < 1.0:  # the backward regenerates the same mask
        xg = x.clone().requires_grad_(True)
        sdt.dropout(xg, p, SEED, OFFSET).sum().backward()
        kept = sdt.keep_mask(x.numel(), p, SEED, OFFSET)
        scale = torch.tensor(1 / (1 - p), dtype=torch.float32).to(dtype)  # round(1.0 * float(scale))
        assert torch.equal(xg.grad[kept].view(torch.int16), scale.expand(int(kept.sum())).view(torch.int16))
        assert bool((xg.grad[~kept] == 0).all())
