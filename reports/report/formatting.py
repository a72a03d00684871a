"""How the report writes figures, sizes and implementations: G el/s, ratios, sizes in bytes or elements, the
order of implementations in a table, a roofline cell."""
from .runs import X86_ISA_PATHS, dtype_bytes

# The order of implementations in tables and pictures, and the baselines simdrop is held against.
IMPL_ORDER = ["simdrop", "simdrop_philox7", "simdrop_ars5", "simdrop_unfused",
              *(f"simdrop_{i}" for i in X86_ISA_PATHS),
              "copy", "composed", "torch", "eigen", "naive"]
BASELINES = ["naive", "eigen", "torch"]


def g(v):
    return "n/a" if v is None else (f"{v / 1e9:.3g}" if v < 1e11 else f"{v / 1e9:.0f}")


def ratio(a, b, digits=3):
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.{digits}g}x"


def size_label(n, dtype):
    if dtype == "-":  # the mask op: elements, then the bit mask's bytes
        return f"{n:,} elements"
    return bytes_label(n * dtype_bytes(dtype))


def bytes_label(b):
    """b bytes as "256 KiB", "1.5 MiB", "100 B"; "unknown" for 0."""
    if not b:
        return "unknown"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= scale:
            return f"{b / scale:g} {unit}"
    return f"{b} B"


def impl_sorted(impls):
    return sorted(impls, key=lambda i: (IMPL_ORDER.index(i) if i in IMPL_ORDER else 99, i))


def roofline_cell(value):
    """A roofline for a table: "1.02 (<= 1.1)", or "**1.32 (over 1.1)**"; "n/a" for None."""
    if value is None:
        return "n/a"
    v, target = value
    return f"{v:.2f} (<= {target:g})" if v <= target else f"**{v:.2f} (over {target:g})**"
