"""simdrop.torch against an independent NumPy oracle (keep_oracle.py) of the keep-bit definition, over the
whole 64-bit seed and stream range, written against the API of issue #20 (/work/notes/api20.md):
keyword-only seed= / offset= / algorithm= / generator=, seeds and offsets in [0, 2**64), the ops' int64
seeds and offsets read as the uint64's bits, and seed=None drawing one seed as sdt.draw_seed does.

Run: PYTHONPATH=<build>/python /usr/bin/python3 -m pytest tests/python/test_torch_oracle.py

The oracle shares no code with the binding or the library (it is Philox4x32-10 in NumPy, checked at import
against Random123's known answers), so a binding that drops or mangles seed or offset bits (a 32- or 63-bit
truncation, a sign slip at 2**63, a wrong carry when lo32 of the group counter wraps) cannot agree with it.
Bits are compared as integers (float32 as int32, float64 as int64), so +0.0 and -0.0 differ; no tolerances.
"""
import numpy as np
import pytest
import torch

import keep_oracle as oracle
import simdrop.torch as sdt

P = 0.3
TWO32, TWO63, TWO64 = 1 << 32, 1 << 63, 1 << 64
INT_VIEW = {np.dtype(np.float32): np.int32, np.dtype(np.float64): np.int64}

# The edges of every word a 64-bit value passes through: lo32 / hi32 of the key, the int64 sign bit the ops
# reinterpret, and the last values of the range.
EDGES = [0, 1, TWO32 - 1, TWO32, TWO32 + 1, TWO63 - 1, TWO63, TWO64 - 129, TWO64 - 1]
SEEDS = EDGES
# Offsets: the edges, plus calls within which offset + i crosses 2**32, the int64 sign bit (2**63) and
# 2**39 (where lo32 of the group counter G = (offset + i) // 128 wraps and carries into hi32). None of
# these is a multiple of 128 except 0 and 2**32, so most calls start and end inside a 128-lane group.
OFFSETS = EDGES + [TWO32 - 500, (1 << 39) - 300, TWO63 - 450]
SIZES = [1, 127, 128, 129, 1000]


def int_bits(a):
    """An array's bits as integers, so that equality is exact (signed zeros, NaN payloads)."""
    a = np.ascontiguousarray(a)
    return a.view(INT_VIEW[a.dtype])


def assert_same_bits(actual, expected):
    actual = actual.detach().numpy() if isinstance(actual, torch.Tensor) else actual
    assert actual.shape == expected.shape and actual.dtype == expected.dtype, (actual.shape, actual.dtype,
                                                                               expected.shape, expected.dtype)
    diff = np.flatnonzero(int_bits(actual) != int_bits(expected))
    assert diff.size == 0, f"{diff.size} elements differ, first at flat index {diff[0]}"


def as_int64(u):
    """The int64 with the bits of uint64 u: what torch.ops.simdrop.* take for seeds and offsets."""
    return u - TWO64 if u >= TWO63 else u


def sizes_fitting(offset):
    """SIZES whose positions offset .. offset + n - 1 exist, plus the size that ends exactly at 2**64."""
    sizes = [n for n in SIZES if offset + n <= TWO64]
    if offset + max(SIZES) > TWO64:
        sizes.append(TWO64 - offset)
    return sorted(set(sizes))


def sample(shape, dtype, salt):
    """Nonzero inputs (so a kept element is never +-0 and dropped ones show as +0.0), both signs."""
    rng = np.random.default_rng(salt)
    x = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return x.astype(dtype)


# ---- the oracle can tell the cases apart (so that the binding tests below can fail) ----------------------

def test_oracle_distinguishes_truncated_seeds():
    # A binding that kept only the low 32 or 63 bits of a seed would compute the mask of s mod 2**32 or
    # s mod 2**63; for every seed of SEEDS where that is another seed, the oracle's masks must differ.
    truncations = 0
    for s in SEEDS:
        mask = oracle.keep_bits(1000, P, s, 0)
        for modulus in (TWO32, TWO63):
            if s % modulus != s:
                truncations += 1
                assert not np.array_equal(mask, oracle.keep_bits(1000, P, s % modulus, 0)), (s, modulus)
    assert truncations == 9  # 2**32 - 1 and below: none; 2**32 .. 2**63 - 1: one each (3); the rest: two each (6)


@pytest.mark.parametrize("offset", [o for o in OFFSETS if o >= TWO32], ids=hex)
def test_oracle_distinguishes_truncated_offsets(offset):
    # Near 2**64 a call has few positions left (one at 2**64 - 1), so the test is over all seeds together.
    for modulus in (TWO32, TWO63):
        if offset % modulus == offset:
            continue
        n = min(1000, TWO64 - offset)
        true = np.concatenate([oracle.keep_bits(n, P, s, offset) for s in SEEDS])
        truncated = np.concatenate([oracle.keep_bits(n, P, s, offset % modulus) for s in SEEDS])
        assert not np.array_equal(true, truncated), (offset, modulus)


def test_oracle_refuses_positions_past_two_to_the_64():
    # The library refuses offset + n > 2**64 (check_stream); the oracle does not invent a wrap-around.
    assert oracle.keep_bits(1, P, 5, TWO64 - 1).shape == (1,)
    with pytest.raises(ValueError):
        oracle.keep_bits(2, P, 5, TWO64 - 1)
    with pytest.raises(ValueError):
        oracle.keep_bits(1, P, 5, TWO64)


# ---- keep_mask and dropout against the oracle, over the 64-bit range ---------------------------------------

@pytest.mark.parametrize("offset", OFFSETS, ids=hex)
def test_keep_mask_and_dropout_bits(offset):
    sizes = sizes_fitting(offset)
    for s in SEEDS:
        expected = oracle.keep_bits(max(sizes), P, s, offset)
        for n in sizes:
            keep = sdt.keep_mask(n, P, seed=s, offset=offset)
            assert keep.dtype == torch.bool and keep.shape == (n,)
            # The mask of n elements is the first n of a longer one: position offset + i, whatever n is.
            assert np.array_equal(keep.numpy(), expected[:n]), (s, offset, n)
            for dtype in (np.float32, np.float64):
                x = sample((n,), dtype, salt=n)
                y = sdt.dropout(torch.from_numpy(x), P, seed=s, offset=offset)
                assert_same_bits(y, oracle.dropout_values(x, P, s, offset))


@pytest.mark.parametrize("p", [0.0, 2.0**-33, 0.1, 0.5, 0.9, 1.0 - 2.0**-33, 1.0])
def test_probabilities_at_large_seed_and_offset(p):
    # p = 2**-33 and 1 - 2**-33 are ties of round(p * 2**32), resolved away from zero (t = 1 and 2**32).
    s, offset, n = TWO64 - 977, TWO63 - 500, 1000
    assert np.array_equal(sdt.keep_mask(n, p, seed=s, offset=offset).numpy(), oracle.keep_bits(n, p, s, offset))
    for dtype in (np.float32, np.float64):
        x = sample((8, 125), dtype, salt=7)
        assert_same_bits(sdt.dropout(torch.from_numpy(x), p, seed=s, offset=offset),
                         oracle.dropout_values(x, p, s, offset))


def test_row_major_logical_order_of_a_strided_input():
    # Element i is the i-th element in row-major order of the tensor as seen, not as stored.
    x = sample((40, 25), np.float32, salt=3)
    xt = torch.from_numpy(x).t()  # (25, 40), not contiguous
    s, offset = TWO64 - 1, TWO32 - 500
    assert_same_bits(sdt.dropout(xt, P, seed=s, offset=offset),
                     oracle.dropout_values(np.ascontiguousarray(x.T), P, s, offset))


def test_positions_past_the_end_are_refused():
    # offset + n > 2**64 names positions that do not exist: refused (not wrapped to 0, not truncated).
    with pytest.raises((ValueError, RuntimeError)):
        sdt.keep_mask(2, P, seed=1, offset=TWO64 - 1)
    with pytest.raises((ValueError, RuntimeError)):
        sdt.dropout(torch.ones(129), P, seed=1, offset=TWO64 - 128)


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (TWO64, ValueError), (True, TypeError)])
def test_seed_and_offset_range(bad, error):
    with pytest.raises(error):
        sdt.keep_mask(4, P, seed=bad, offset=0)
    with pytest.raises(error):
        sdt.keep_mask(4, P, seed=0, offset=bad)
    with pytest.raises(error):
        sdt.dropout(torch.ones(4), P, seed=bad)
    with pytest.raises(error):
        sdt.dropout(torch.ones(4), P, seed=0, offset=bad)


# ---- channel dropout and bias_dropout_add ----------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("s, offset", [(TWO64 - 3, TWO64 - 5 * 30), (TWO63 + 12345, TWO63 - 70), (TWO32 + 7, (1 << 39) - 75)],
                         ids=["ends-at-2^64", "crosses-2^63", "group-lo32-wraps"])
def test_channel_dropout_plane_bits(dtype, s, offset):
    x = sample((5, 30, 4, 3), dtype, salt=11)
    planes = oracle.channel_keep_bits(5, 30, P, s, offset)
    # Both outcomes occur, so the test sees whole planes kept and whole planes zeroed.
    assert planes.any() and not planes.all()
    expected = oracle.channel_dropout_values(x, P, s, offset)
    assert_same_bits(sdt.channel_dropout(torch.from_numpy(x), P, seed=s, offset=offset), expected)
    assert_same_bits(sdt.dropout2d(torch.from_numpy(x), P, seed=s, offset=offset), expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("s, offset", [(TWO64 - 1, TWO64 - 37 * 53), (TWO63, TWO63 - 1000)],
                         ids=["ends-at-2^64", "crosses-2^63"])
def test_bias_dropout_add_values(dtype, s, offset):
    x = sample((37, 53), dtype, salt=13)
    bias = sample((53,), dtype, salt=17)
    residual = sample((37, 53), dtype, salt=19)
    residual[0, :5] = -0.0  # a dropped element there must give +0.0 (residual + 0)
    expected = oracle.bias_dropout_add_values(x, bias, residual, P, s, offset)
    got = sdt.bias_dropout_add(torch.from_numpy(x), torch.from_numpy(bias), torch.from_numpy(residual), P,
                               seed=s, offset=offset)
    assert_same_bits(got, expected)


# ---- the ops: int64 seeds and offsets are the uint64's bits ---------------------------------------------

@pytest.mark.parametrize("s, offset", [(TWO63, 0), (TWO64 - 1, TWO64 - 1000), (TWO63 + TWO32 + 5, TWO63 - 300)],
                         ids=hex)
def test_ops_take_negative_int64_as_uint64_bits(s, offset):
    x = torch.from_numpy(sample((1000,), np.float32, salt=23))
    expected = oracle.dropout_values(x.numpy(), P, s, offset)
    via_op = torch.ops.simdrop.dropout(x, P, seed=as_int64(s), offset=as_int64(offset))
    assert_same_bits(via_op, expected)
    assert_same_bits(sdt.dropout(x, P, seed=s, offset=offset), expected)
    keep = torch.ops.simdrop.keep_mask(1000, P, as_int64(s), as_int64(offset))
    assert np.array_equal(keep.numpy(), oracle.keep_bits(1000, P, s, offset))


# ---- seed=None: the seed is drawn from torch's generator, exactly as sdt.draw_seed ------------------------

def drawn_seed(generator=None):
    """The seed a seed=None call draws (api20.md): one int64 random_() draw, in [0, 2**63)."""
    return int(torch.empty((), dtype=torch.int64).random_(generator=generator))


def test_module_draws_one_seed_from_the_default_generator():
    torch.manual_seed(20)
    x = sample((33, 31), np.float32, salt=29)
    state = torch.get_rng_state()
    module = sdt.Dropout(0.3)
    assert module.training
    y = module(torch.from_numpy(x))
    after = torch.get_rng_state()
    torch.set_rng_state(state)
    s = drawn_seed()
    # One draw exactly: the generator is where one random_() leaves it.
    assert torch.equal(torch.get_rng_state(), after)
    assert_same_bits(y, oracle.dropout_values(x, 0.3, s, 0))
    torch.set_rng_state(state)
    assert sdt.draw_seed() == s
    # A second call draws a fresh seed: a different mask (the oracle says these two seeds' masks differ).
    torch.set_rng_state(after)
    s2 = drawn_seed()
    torch.set_rng_state(after)
    assert not np.array_equal(oracle.keep_bits(x.size, 0.3, s, 0), oracle.keep_bits(x.size, 0.3, s2, 0))
    assert_same_bits(module(torch.from_numpy(x)), oracle.dropout_values(x, 0.3, s2, 0))


def test_functional_seed_none_uses_the_default_generator():
    torch.manual_seed(21)
    x = sample((1000,), np.float64, salt=31)
    state = torch.get_rng_state()
    y = sdt.dropout(torch.from_numpy(x), 0.3)
    torch.set_rng_state(state)
    assert_same_bits(y, oracle.dropout_values(x, 0.3, drawn_seed(), 0))


@pytest.mark.parametrize("k", [0, 1, 2**40 + 3])
def test_explicit_generator(k):
    x = sample((1000,), np.float32, salt=37)
    default_state = torch.get_rng_state()
    y = sdt.dropout(torch.from_numpy(x), 0.3, generator=torch.Generator().manual_seed(k))
    # The seed comes from the given generator; the default one is not touched.
    assert torch.equal(torch.get_rng_state(), default_state)
    s = drawn_seed(torch.Generator().manual_seed(k))
    assert s == sdt.draw_seed(torch.Generator().manual_seed(k))
    assert_same_bits(y, oracle.dropout_values(x, 0.3, s, 0))
    # With an offset, the same drawn seed continues its stream there.
    y_off = sdt.dropout(torch.from_numpy(x), 0.3, offset=TWO64 - 1000, generator=torch.Generator().manual_seed(k))
    assert_same_bits(y_off, oracle.dropout_values(x, 0.3, s, TWO64 - 1000))
    # A module given the generator draws from it too.
    module = sdt.Dropout(0.3, generator=torch.Generator().manual_seed(k))
    assert_same_bits(module(torch.from_numpy(x)), oracle.dropout_values(x, 0.3, s, 0))
