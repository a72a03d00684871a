"""Loading and validation of simdrop_bench runs, and what a run's context says.

A run names its ops and element types in its context (simdrop_ops, simdrop_dtypes: the bench writes them from
its op table, issue #21), and the report reads benchmark names against that list rather than one of its own:
a new op or dtype in the bench reaches the report without an edit here.
"""
import gzip
import json
import os
import re
import statistics
from collections import defaultdict


class InputError(Exception):
    """A bad input file: the message names the file and what is wrong."""


# The context keys that list the bench's ops (name:group, in the bench's order) and element types.
OPS_KEY, DTYPES_KEY = "simdrop_ops", "simdrop_dtypes"
# The groups an op can be in: the core ops (the summary's) and the dropout family's forward passes.
GROUPS = ("core", "family")
# An op, implementation, element type or ISA path as a benchmark name or the context writes it.
NAME_PART_RE = re.compile(r"[a-z0-9_]+")
# The prefix of an error message the bench writes for a case an implementation refuses (PyTorch without a kernel
# for a dtype): such rows are skipped, not failed.
SKIPPED = "skipped: "
# simdrop's SIMD paths: a run's own are the context's simdrop_supported_isas (the bench writes the paths it has,
# slowest first: "scalar,sse2,avx2" on x86, "scalar,neon" on aarch64; Run.paths); "simdrop_<path>" is simdrop
# with that path forced (the paths table). The x86 ones are the fallback for a run whose context does not list
# its paths.
X86_ISA_PATHS = ["scalar", "sse2", "avx2", "avx512"]
# The kinds of work (runtime.hpp's Work) the library chooses a path for, and the kind each op of the paths
# table is.
WORKS = ["mask", "fused", "apply", "gaussian"]
PATH_OPS = {"mask": "mask", "forward": "fused", "backward_mask": "apply"}
# Fallbacks for runs whose context lacks them (bytes).
DEFAULT_STREAM_THRESHOLD = 16 << 20


def dtype_bytes(dtype):
    """Bytes of one element of dtype: the bits its name ends with over 8 (f32 4, bf16 2, f64 8); "-", the mask
    op's (it has no element type: an fp32 workload), 4."""
    if dtype == "-":
        return 4
    return int(re.search(r"(\d+)$", dtype)[1]) // 8


def size_bytes(n, dtype):
    return n * dtype_bytes(dtype) if dtype != "-" else max(n // 8, 1)


class Catalog:
    """The ops and element types a run's context lists: core (the report's order: the bench's, with mask last,
    as every other op is read against it), family, ops (core then family), dtypes and half_dtypes (the 16-bit
    ones, issue 11's); name_re parses the bench's names "<op>/<impl>[/<dtype>]/n:N/p:P/threads:T"."""

    def __init__(self, path, context):
        missing = [k for k in (OPS_KEY, DTYPES_KEY) if not str(context.get(k, "")).strip()]
        if missing:
            raise InputError(f"{path}: its context has no {' or '.join(missing)} (the list of the bench's ops and "
                             "element types): the run predates the key, or is not simdrop_bench's; rerun the "
                             "benchmark to report on it")
        groups = {group: [] for group in GROUPS}
        for item in str(context[OPS_KEY]).split(","):
            name, _, group = item.strip().partition(":")
            if not NAME_PART_RE.fullmatch(name) or group not in groups or name in groups["core"] + groups["family"]:
                raise InputError(f"{path}: context {OPS_KEY} item {item.strip()!r} is not a new name:group "
                                 f"(group one of {', '.join(GROUPS)})")
            groups[group].append(name)
        self.core = [op for op in groups["core"] if op != "mask"] + [op for op in groups["core"] if op == "mask"]
        self.family = groups["family"]
        self.ops = self.core + self.family
        self.dtypes = [d.strip() for d in str(context[DTYPES_KEY]).split(",")]
        for d in self.dtypes:
            if not re.fullmatch(r"[a-z0-9_]*[a-z_]\d+", d) or int(re.search(r"\d+$", d)[0]) % 8:
                raise InputError(f"{path}: context {DTYPES_KEY} names {d!r}, not an element type whose name "
                                 "ends in its bits (f32, bf16, ...)")
        self.half_dtypes = [d for d in self.dtypes if dtype_bytes(d) == 2]
        self.name_re = re.compile(rf"^(?P<op>{'|'.join(self.ops)})"
                                  r"/(?P<impl>[a-z0-9_]+)"
                                  rf"(?:/(?P<dtype>{'|'.join(self.dtypes)}))?"
                                  r"/n:(?P<n>\d+)/p:(?P<p>\d+)/threads:(?P<threads>\d+)")

    def __eq__(self, other):
        return (self.core, self.family, self.dtypes) == (other.core, other.family, other.dtypes)

    def describe(self):
        return f"{OPS_KEY} {','.join(self.ops)}; {DTYPES_KEY} {','.join(self.dtypes)}"


class Run:
    """One JSON file: its context and, per benchmark, the repetitions' values."""

    def __init__(self, path, label):
        self.path, self.label = path, label
        try:
            # A run may be stored gzip-compressed (run.json.gz: the committed runs, to keep reports/ small).
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            raise InputError(f"{path}: no such file")
        except (OSError, EOFError) as e:
            raise InputError(f"{path}: cannot be read ({getattr(e, 'strerror', None) or e})")
        if not text.strip():
            raise InputError(f"{path}: empty file, not a simdrop_bench JSON")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}: not valid JSON at line {e.lineno} column {e.colno} ({e.msg}); "
                             "truncated or not a simdrop_bench --benchmark_out file?")
        if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list) \
                or not isinstance(data.get("context"), dict):
            raise InputError(f"{path}: not a Google Benchmark JSON (needs 'context' and a 'benchmarks' list)")
        self.context = data["context"]
        self.catalog = Catalog(path, self.context)
        listed = [i.strip() for i in str(self.context.get("simdrop_supported_isas", "")).split(",")]
        self.paths = [i for i in listed if NAME_PART_RE.fullmatch(i)] or list(X86_ISA_PATHS)
        self.samples = defaultdict(list)   # key -> [items_per_second of each repetition]
        self.bytes = {}                    # key -> bytes_per_second (median kept later)
        self.counters = defaultdict(list)  # key -> [benchmark entries]
        self.errors = {}
        self.labels = {}
        for b in data["benchmarks"]:
            if not isinstance(b, dict) or "name" not in b:
                raise InputError(f"{path}: a 'benchmarks' entry has no name: not a Google Benchmark JSON")
            m = self.catalog.name_re.match(b.get("run_name", b["name"]))
            if not m:
                continue
            key = (m["op"], m["impl"], m["dtype"] or "-", int(m["n"]), int(m["p"]), int(m["threads"]))
            if b.get("error_occurred"):
                self.errors[key] = b.get("error_message", "error")
                continue
            if b.get("run_type", "iteration") != "iteration":
                continue
            if "items_per_second" not in b:
                raise InputError(f"{path}: benchmark {b['name']} has no items_per_second counter")
            self.samples[key].append(float(b["items_per_second"]))
            self.bytes.setdefault(key, []).append(float(b.get("bytes_per_second", 0)))
            self.counters[key].append(b)
            self.labels[key] = b.get("label", "")
        if not self.samples and not self.errors:
            raise InputError(f"{path}: holds no simdrop_bench results (no <op>/<impl>/.../threads:<T> names)")

    def median(self, key):
        s = self.samples.get(key)
        return statistics.median(s) if s else None

    def keys(self, **want):
        out = []
        for k in self.samples:
            d = dict(zip(("op", "impl", "dtype", "n", "p", "threads"), k))
            if all(d[f] == v for f, v in want.items()):
                out.append(k)
        return sorted(out)

    def ctx_int(self, name, default=0):
        try:
            return int(self.context.get(name, default))
        except (TypeError, ValueError):
            return default

    def ctx_float(self, name):
        """The context's number `name`, or None where it is missing or not a number."""
        try:
            return float(self.context[name])
        except (KeyError, TypeError, ValueError):
            return None

    def max_threads(self):
        return max((k[5] for k in self.samples), default=1)

    def sizes(self, op, dtype):
        return sorted({k[3] for k in self.samples if k[0] == op and k[2] == dtype})

    def in_cache_and_dram(self, op, dtype):
        """(in-cache n, DRAM n) of op and dtype, (None, None) where it has no results: the sizes the bench
        names in its context (size_in_cache_bytes, size_dram_bytes: bytes of one fp32 array), where it ran
        them; else the largest size whose two arrays fit in L2, and the largest size."""
        sizes = self.sizes(op, dtype)
        if not sizes:
            return None, None
        width = dtype_bytes(dtype)
        named = [self.ctx_int(k) // width for k in ("size_in_cache_bytes", "size_dram_bytes")]
        if all(n in sizes for n in named):
            return named[0], named[1]
        l2 = self.ctx_int("l2_bytes", 1 << 20) or (1 << 20)
        fitting = [n for n in sizes if 2 * n * width <= l2]
        return (fitting[-1] if fitting else sizes[0]), sizes[-1]


def load_runs(paths):
    """The runs of paths, labelled (unique_labels); all must list the same ops and element types, as the report
    reads every run against one list."""
    runs = [Run(p, label) for p, label in zip(paths, unique_labels(paths))]
    for r in runs[1:]:
        if r.catalog != runs[0].catalog:
            raise InputError(f"{r.path}: its context lists other ops or element types than {runs[0].path} "
                             f"({r.catalog.describe()}; against {runs[0].catalog.describe()}): runs of different "
                             "benches cannot be put side by side")
    return runs


def unique_labels(paths):
    labels = []
    for p in paths:
        name = os.path.basename(p)
        base = os.path.splitext(name[:-3] if name.endswith(".gz") else name)[0]
        parent = os.path.basename(os.path.dirname(os.path.abspath(p)))
        label = base if base not in ("run", "raw") else parent
        while label in labels:
            label = f"{parent}/{label}"
            if label in labels:
                label += f"-{len(labels)}"
        labels.append(label)
    return labels


def is_path_impl(impl, run):
    """Whether impl is simdrop with one of run's ISA paths forced (simdrop_<path>): shown only in the paths
    table."""
    return impl.startswith("simdrop_") and impl[len("simdrop_"):] in run.paths


def default_path(run, op, dtype, n):
    """(path, work, size class) that the default simdrop ran op on at n elements, from the run's context
    (simdrop_choice_<work>_<class>; the class is memory where the output, the bit mask for `mask`, is at
    least stream_threshold_bytes), or None where op has no kind of work or the context does not say."""
    work = PATH_OPS.get(op)
    if work is None:
        return None
    out_bytes = size_bytes(n, dtype)
    size_class = "memory" if out_bytes >= run.ctx_int("stream_threshold_bytes", DEFAULT_STREAM_THRESHOLD) \
        else "cache"
    path = run.context.get(f"simdrop_choice_{work}_{size_class}")
    return (path, work, size_class) if path else None


def parse_calibration(text):
    """{(work, size class): {path: G el/s}} from the context's "work/class/path=value;..."; bad items are left out."""
    out = defaultdict(dict)
    for item in (text or "").split(";"):
        name, _, value = item.partition("=")
        parts = name.split("/")
        try:
            if len(parts) == 3:
                out[(parts[0], parts[1])][parts[2]] = float(value)
        except ValueError:
            continue
    return out


def where_arrays_live(array_bytes, run):
    """The level that holds the input and output arrays (2 x array_bytes) of a run's machine: "L1", "L2", "L3"
    or "DRAM" ("?" where its caches are unknown)."""
    caches = [(name, run.ctx_int(key)) for name, key in (("L1", "l1d_bytes"), ("L2", "l2_bytes"), ("L3", "l3_bytes"))]
    if not any(b for _, b in caches):
        return "?"
    for name, b in caches:
        if b and 2 * array_bytes <= b:
            return name
    return "DRAM"
