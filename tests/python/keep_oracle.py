"""An independent NumPy oracle of simdrop's keep decisions (docs/design.md, "What defines a keep decision").

Written from the definition, not from the library: no torch, no simdrop import, so a binding test that
compares against it cannot be fooled by a bug the binding shares with the library's Python layer.

    * Element g = offset + i belongs to 128-lane group G = g // 128, lane l = g % 128.
    * Bit-plane j (0 = most significant) of group G is the Philox4x32-10 block
      philox(counter = (lo32(G), hi32(G), j, 0), key = (lo32(seed), hi32(seed))); lane l takes bit l % 32
      of word l // 32. (Counter word 3 is a domain: 0 for keep masks.)
    * u = sum_j bit_j 2^(31 - j); the element is dropped iff u < t, t = round(p 2^32) (half away from zero,
      as std::round), 0 <= t <= 2^32.

Stream positions are 64-bit: offset + i must stay below 2^64. The C++ library refuses a call whose
positions pass the end of the stream (src/checks.cpp, check_stream: "passes the end of the stream (2^64)"),
it never wraps; so the oracle refuses too (ValueError) rather than inventing a wrap-around.

Vectorised over groups and planes with uint64 arithmetic: 10^5 elements take a few milliseconds.
"""
import math
import numbers

import numpy as np

__all__ = ["philox4x32_10", "drop_threshold", "uniforms", "keep_bits", "dropout_values", "channel_keep_bits",
           "channel_dropout_values", "bias_dropout_add_values", "KEEP_DOMAIN"]

_U32 = 0xFFFFFFFF
_STREAM_END = 1 << 64  # positions 0 .. 2^64 - 1 exist
GROUP_LANES = 128
KEEP_DOMAIN = 0  # counter word 3 of keep-mask blocks

# Philox4x32 constants (Salmon et al., SC'11; Random123's PHILOX_M4x32_0/1 and PHILOX_W32_0/1).
_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_MASK32 = np.uint64(_U32)
_SHIFT32 = np.uint64(32)


def philox4x32_10(counter, key):
    """Philox4x32-10 of counters (four arrays of 32-bit words, broadcastable) under key (two 32-bit ints).

    Returns the four output words as uint32 arrays. The words are carried in uint64 so that a 32 x 32-bit
    product is exact; its high half is then one shift away."""
    c0, c1, c2, c3 = (np.asarray(w).astype(np.uint64) & _MASK32 for w in counter)
    c0, c1, c2, c3 = np.broadcast_arrays(c0, c1, c2, c3)
    k0, k1 = int(key[0]) & _U32, int(key[1]) & _U32
    for r in range(10):
        if r > 0:  # the key is bumped before every round but the first (Random123's philox4x32bumpkey)
            k0 = (k0 + _W0) & _U32
            k1 = (k1 + _W1) & _U32
        p0 = _M0 * c0
        p1 = _M1 * c2
        c0, c1, c2, c3 = ((p1 >> _SHIFT32) ^ c1 ^ np.uint64(k0), p1 & _MASK32,
                          (p0 >> _SHIFT32) ^ c3 ^ np.uint64(k1), p0 & _MASK32)
    return tuple(w.astype(np.uint32) for w in (c0, c1, c2, c3))


def _self_check():
    """Random123's published known-answer vectors for philox4x32_10 (kat_vectors; also in the library's
    tests/test_philox.cpp). Run at import, so that a wrong round never produces a 'reference'."""
    vectors = [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((_U32,) * 4, (_U32, _U32), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
         (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
    ]
    for counter, key, expected in vectors:
        got = tuple(int(w) for w in philox4x32_10(counter, key))
        if got != expected:
            raise AssertionError(f"keep_oracle: philox4x32_10{counter, key} = {[hex(w) for w in got]}, "
                                 f"Random123's known answer is {[hex(w) for w in expected]}")


_self_check()


def _check_p(p):
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"p must be a real number, got {type(p).__name__}")
    p = float(p)
    if not 0.0 <= p <= 1.0:  # False for NaN too
        raise ValueError(f"p must be in [0, 1], got {p}")
    return p


def _check_u64(value, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    value = int(value)
    if not 0 <= value < _STREAM_END:
        raise ValueError(f"{what} must be in [0, 2**64), got {value}")
    return value


def drop_threshold(p):
    """t = round(p * 2^32), halves away from zero (std::round); p * 2^32 is exact in double.

    Not floor(x + 0.5): that sum can itself round up (x = 0.5 - 2^-54 gives 1)."""
    x = math.ldexp(_check_p(p), 32)
    whole = math.floor(x)
    return whole + (1 if x - whole >= 0.5 else 0)  # x - whole is exact (Sterbenz)


def uniforms(n, seed, offset, domain=KEEP_DOMAIN):
    """The 32-bit uniforms u of stream positions offset .. offset + n - 1 (uint32 array of n)."""
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    seed = _check_u64(seed, "seed")
    offset = _check_u64(offset, "offset")
    if n == 0:
        return np.zeros(0, dtype=np.uint32)
    if offset + n > _STREAM_END:
        # The library refuses this (check_stream); there is no position 2^64 to wrap to.
        raise ValueError(f"offset {offset} + {n} elements passes the end of the stream (2^64)")
    first_group = offset // GROUP_LANES
    last_group = (offset + n - 1) // GROUP_LANES
    groups = np.uint64(first_group) + np.arange(last_group - first_group + 1, dtype=np.uint64)
    # One block per (group, plane): rows are groups, columns planes 0 (most significant) .. 31.
    lo = (groups & _MASK32)[:, None]
    hi = (groups >> _SHIFT32)[:, None]
    planes = np.arange(32, dtype=np.uint64)[None, :]
    words = np.stack(philox4x32_10((lo, hi, planes, np.uint64(domain)), (seed & _U32, seed >> 32)), axis=-1)
    # words[g, j, w]: lane l of plane j is bit l % 32 of word l // 32 -> bits[g, j, l].
    bits = (words[..., :, None] >> np.arange(32, dtype=np.uint32)) & np.uint32(1)
    bits = bits.reshape(len(groups), 32, GROUP_LANES)
    weights = (np.uint32(1) << (np.uint32(31) - np.arange(32, dtype=np.uint32)))[None, :, None]
    u = (bits * weights).sum(axis=1, dtype=np.uint32)  # distinct powers of two: the sum is an or
    start = offset % GROUP_LANES
    return u.reshape(-1)[start:start + n]


def keep_bits(n, p, seed, offset=0):
    """Keep decisions (bool array of n) of stream positions offset .. offset + n - 1: kept iff u >= t."""
    t = drop_threshold(p)
    return uniforms(n, seed, offset).astype(np.uint64) >= np.uint64(t)  # t may be 2^32: compare in 64 bits


def _scale(p, dtype):
    """T(1 / (1 - p)): computed in double, rounded once to T (may overflow to inf where every bit drops)."""
    with np.errstate(over="ignore"):
        return dtype.type(1.0 / (1.0 - p))


def _check_float_array(x, name="x"):
    x = np.asarray(x)
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, got {x.dtype}")
    return x


def dropout_values(x, p, seed, offset=0):
    """dropout_forward by definition: element i (C order) kept -> x * T(1/(1-p)) in T, dropped -> +0.0."""
    x = _check_float_array(x)
    p = _check_p(p)
    keep = keep_bits(x.size, p, seed, offset).reshape(x.shape)
    if p == 1.0:  # 1/(1-p) has no value; every element is dropped anyway (t = 2^32)
        return np.zeros_like(x)
    with np.errstate(over="ignore", invalid="ignore"):  # x * scale may overflow or be inf * 0: IEEE results
        return np.where(keep, x * _scale(p, x.dtype), x.dtype.type(0.0))


def channel_keep_bits(batch, channels, p, seed, offset=0):
    """Plane keep bits of an (N, C, *) input: plane (n, c) uses position offset + n * C + c. Shape (N, C)."""
    return keep_bits(batch * channels, p, seed, offset).reshape(batch, channels)


def channel_dropout_values(x, p, seed, offset=0):
    """Channel (2d/3d) dropout of an (N, C, *) array: whole planes kept (times T(1/(1-p))) or +0.0."""
    x = _check_float_array(x)
    p = _check_p(p)
    if x.ndim < 2:
        raise ValueError(f"x must be (N, C, *), got shape {x.shape}")
    keep = channel_keep_bits(x.shape[0], x.shape[1], p, seed, offset).reshape(x.shape[:2] + (1,) * (x.ndim - 2))
    if p == 1.0:
        return np.zeros_like(x)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(keep, x * _scale(p, x.dtype), x.dtype.type(0.0))


def bias_dropout_add_values(x, bias, residual, p, seed, offset=0):
    """residual + (kept ? (x + bias) * T(1/(1-p)) : 0), bias over x's last dimension, keep bits over x's C-order
    elements; every operation in T, in that order (the library builds with -ffp-contract=off: no FMA)."""
    x = _check_float_array(x)
    bias = _check_float_array(bias, "bias")
    residual = _check_float_array(residual, "residual")
    if bias.dtype != x.dtype or residual.dtype != x.dtype or residual.shape != x.shape:
        raise ValueError("bias and residual must have x's dtype; residual x's shape")
    if bias.shape != x.shape[-1:]:
        raise ValueError(f"bias must be 1-d over x's last dimension {x.shape[-1:]}, got {bias.shape}")
    p = _check_p(p)
    keep = keep_bits(x.size, p, seed, offset).reshape(x.shape)
    zero = x.dtype.type(0.0)
    # 0 is added even for dropped elements: residual -0.0 becomes +0.0, as in the library's kernel.
    with np.errstate(over="ignore", invalid="ignore"):
        dropped = np.zeros_like(x) if p == 1.0 else np.where(keep, (x + bias) * _scale(p, x.dtype), zero)
        return residual + dropped
