#!/usr/bin/python3
"""Writes a performance report from simdrop_bench JSON files.

    python3 reports/simdrop_report.py RUN.json [MORE.json ...] --out DIR [--theory THEORY.json]

DIR receives report.md, the PNG pictures it shows and a copy of each JSON file (raw/). With several
files (two runs of one machine, or runs of several machines) the report puts them side by side and says
which differences are significant (two-sided Mann-Whitney U over repetitions, as Google Benchmark's
compare.py does). A missing, truncated or non-benchmark file gives one line naming it and what is wrong,
and exit status 2; DIR is replaced only once the new report is complete.
With --theory (simdrop_theory's --out file) the report ends with the Theory lab section
(reports/theory_section.py) and DIR gets a copy of it, theory.json.

Needs only Debian's python3 and python3-matplotlib.
"""
import argparse
import json
import math
import os
import re
import shutil
import statistics
import sys
import tempfile
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import theory_section  # noqa: E402  (the Theory lab section, issue #13)

NAME_RE = re.compile(r"^(?P<op>mask|forward|backward_mask|backward_regen|channel|shared|alpha|gaussian|bias_dropout_add)"
                     r"/(?P<impl>[a-z0-9_]+)"
                     r"(?:/(?P<dtype>f32|f64|bf16|f16))?/n:(?P<n>\d+)/p:(?P<p>\d+)/threads:(?P<threads>\d+)")
OPS = ["forward", "backward_mask", "backward_regen", "mask"]
# The element types (the bench's dtype part of a name) and their bytes; "-" is the mask's (none: an fp32 workload).
DTYPE_BYTES = {"f32": 4, "f64": 8, "bf16": 2, "f16": 2, "-": 4}
DTYPES = ["f32", "f64", "bf16", "f16"]
HALF_DTYPES = ["bf16", "f16"]
# Issue 11's second target: simdrop's bf16 forward at the DRAM size, 1 thread, at least this many times PyTorch's.
TORCH_BF16_TARGET = 50
# The prefix of an error message the bench writes for a case an implementation refuses (PyTorch without a kernel
# for a dtype): such rows are skipped, not failed.
SKIPPED = "skipped: "
# The dropout family's forward passes, each against its obvious composition ("composed") and PyTorch.
FAMILY_OPS = ["channel", "shared", "alpha", "gaussian", "bias_dropout_add"]
FAMILY_BASELINES = ["composed", "torch"]
FAMILY_WHAT = {"channel": "channel dropout (nchw, planes of 1024 elements, 64 channels)",
               "shared": "time-shared dropout (rows of 1024)",
               "alpha": "alpha dropout",
               "gaussian": "Gaussian dropout",
               "bias_dropout_add": "bias-dropout-residual (rows of 1024; floor: y = x + residual)"}
# simdrop's SIMD paths: a run's own are the context's simdrop_supported_isas (the bench writes the paths it has,
# slowest first: "scalar,sse2,avx2" on x86, "scalar,neon" on aarch64; Run.paths); "simdrop_<path>" is simdrop
# with that path forced (the paths table). The x86 ones are the fallback for a run whose context does not list
# its paths.
X86_ISA_PATHS = ["scalar", "sse2", "avx2", "avx512"]
PATH_NAME_RE = re.compile(r"[a-z0-9_]+")
# The kinds of work (runtime.hpp's Work) the library chooses a path for, and the kind each op of the paths
# table is.
WORKS = ["mask", "fused", "apply", "gaussian"]
PATH_OPS = {"mask": "mask", "forward": "fused", "backward_mask": "apply"}
IMPL_ORDER = ["simdrop", "simdrop_philox7", "simdrop_ars5", "simdrop_unfused",
              *(f"simdrop_{i}" for i in X86_ISA_PATHS),
              "copy", "composed", "torch", "eigen", "naive"]
BASELINES = ["naive", "eigen", "torch"]
COLORS = {"simdrop": "tab:blue", "simdrop_philox7": "tab:orange", "simdrop_ars5": "tab:brown",
          "simdrop_unfused": "tab:cyan", "copy": "black", "torch": "tab:red", "composed": "tab:olive",
          "eigen": "tab:green", "naive": "tab:purple"}
ALPHA = 0.05
# Roofline targets: op -> (whether it draws a keep bit per element, the most its time may be over its floor).
# The floor is copy's time (same op, n, dtype, threads); for an op that draws a bit per element it is the larger
# of that and the time of mask/simdrop (same n, p and threads: a mask's time does not depend on the dtype).
ROOFLINE = {"forward": (True, 1.1), "backward_regen": (True, 1.1), "alpha": (True, 1.1),
            "bias_dropout_add": (True, 1.1), "backward_mask": (False, 1.1), "channel": (False, 1.15),
            "shared": (False, 1.15)}
# Fallbacks for runs whose context lacks them (bytes).
DEFAULT_STREAM_THRESHOLD = 16 << 20


class InputError(Exception):
    """A bad input file: the message names the file and what is wrong."""


# ---------------------------------------------------------------------------------------------- loading
class Run:
    """One JSON file: its context and, per benchmark, the repetitions' values."""

    def __init__(self, path, label):
        self.path, self.label = path, label
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            raise InputError(f"{path}: no such file")
        except OSError as e:
            raise InputError(f"{path}: cannot be read ({e.strerror})")
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
        listed = [i.strip() for i in str(self.context.get("simdrop_supported_isas", "")).split(",")]
        self.paths = [i for i in listed if PATH_NAME_RE.fullmatch(i)] or list(X86_ISA_PATHS)
        self.samples = defaultdict(list)   # key -> [items_per_second of each repetition]
        self.bytes = {}                    # key -> bytes_per_second (median kept later)
        self.counters = defaultdict(list)  # key -> [benchmark entries]
        self.errors = {}
        self.labels = {}
        for b in data["benchmarks"]:
            if not isinstance(b, dict) or "name" not in b:
                raise InputError(f"{path}: a 'benchmarks' entry has no name: not a Google Benchmark JSON")
            m = NAME_RE.match(b.get("run_name", b["name"]))
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
        width = DTYPE_BYTES.get(dtype, 4)
        named = [self.ctx_int(k) // width for k in ("size_in_cache_bytes", "size_dram_bytes")]
        if all(n in sizes for n in named):
            return named[0], named[1]
        l2 = self.ctx_int("l2_bytes", 1 << 20) or (1 << 20)
        fitting = [n for n in sizes if 2 * n * width <= l2]
        return (fitting[-1] if fitting else sizes[0]), sizes[-1]


def worst_z(entries):
    """The largest |keep z|, |mean z| and |var z| of validation counters, and whether all are within 6."""
    kz = max(abs(e.get("keep_z", 0)) for e in entries)
    mz = max(abs(e.get("mean_z", 0)) for e in entries)
    vz = max(abs(e.get("var_z", 0)) for e in entries)
    return kz, mz, vz, kz <= 6 and mz <= 6 and vz <= 6


def copy_key(key):
    """The copy benchmark that key is read against: same op, dtype, size and threads (copy runs at p:30)."""
    op, _, dtype, n, _, threads = key
    return (op, "copy", dtype, n, 30, threads)


def floor_key(run, key):
    """The copy benchmark of the run that is key's floor: copy_key(key), or where the run has none (the quick
    profile runs one 16-bit copy per size and threads) forward's copy of the same dtype, size and threads, which
    moves the same bytes as every op but bias-dropout-residual (whose floor reads a second input)."""
    k = copy_key(key)
    if k in run.samples or key[0] in ("bias_dropout_add", "mask"):
        return k
    return ("forward",) + k[1:]


def is_path_impl(impl, run):
    """Whether impl is simdrop with one of run's ISA paths forced (simdrop_<path>): shown only in the paths
    table."""
    return impl.startswith("simdrop_") and impl[len("simdrop_"):] in run.paths


def roofline(run, key):
    """(time / floor, target) of a benchmark of simdrop (see ROOFLINE), or None where its op has no target or a
    time it needs is missing."""
    op, _, dtype, n, p, threads = key
    if op not in ROOFLINE:
        return None
    draws, target = ROOFLINE[op]
    rates = [run.median(key), run.median(floor_key(run, key))]
    if draws:
        rates.append(run.median(("mask", "simdrop", "-", n, p, threads)))
    if not all(rates):
        return None
    return min(rates[1:]) / rates[0], target


def roofline_cell(value):
    """A roofline for a table: "1.02 (<= 1.1)", or "**1.32 (over 1.1)**"; "n/a" for None."""
    if value is None:
        return "n/a"
    v, target = value
    return f"{v:.2f} (<= {target:g})" if v <= target else f"**{v:.2f} (over {target:g})**"


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


# -------------------------------------------------------------------------------------------- statistics
def mann_whitney_p(a, b):
    """Two-sided p-value of the Mann-Whitney U test; exact without ties (small samples), else normal."""
    m, n = len(a), len(b)
    if m == 0 or n == 0:
        return None
    pooled = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    ranks, i = [0.0] * len(pooled), 0
    ties = []
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    r1 = sum(r for r, (_, g) in zip(ranks, pooled) if g == 0)
    u1 = r1 - m * (m + 1) / 2
    u = min(u1, m * n - u1)
    if not ties and m * n <= 2500:
        # Exact: counts[k] = number of arrangements with U = k (recurrence over the largest element).
        counts = _u_distribution(m, n)
        total = sum(counts)
        tail = sum(counts[: int(u) + 1]) / total
        return min(1.0, 2 * tail)
    mean = m * n / 2
    tie_term = sum(t ** 3 - t for t in ties) / ((m + n) * (m + n - 1)) if ties else 0
    sd = math.sqrt(m * n / 12 * ((m + n + 1) - tie_term))
    if sd == 0:
        return 1.0
    z = (abs(u - mean) - 0.5) / sd
    return min(1.0, math.erfc(max(z, 0) / math.sqrt(2)))


def _u_distribution(m, n):
    # f[i][j][u]: arrangements of i and j elements with statistic u.
    table = {}

    def f(i, j):
        if (i, j) in table:
            return table[(i, j)]
        if i == 0 or j == 0:
            res = [1]
        else:
            a, b = f(i - 1, j), f(i, j - 1)
            res = [0] * (i * j + 1)
            for k, c in enumerate(a):
                res[k + j] += c
            for k, c in enumerate(b):
                res[k] += c
        table[(i, j)] = res
        return res

    return f(m, n)


def spread(values):
    s = sorted(values)
    if len(s) >= 4:
        q = statistics.quantiles(s, n=4)
        iqr = q[2] - q[0]
    else:
        iqr = None
    return statistics.median(s), s[0], s[-1], iqr


# ---------------------------------------------------------------------------------------------- format
def g(v):
    return "n/a" if v is None else (f"{v / 1e9:.3g}" if v < 1e11 else f"{v / 1e9:.0f}")


def ratio(a, b, digits=3):
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.{digits}g}x"


def size_label(n, dtype):
    if dtype == "-":  # the mask op: elements, then the bit mask's bytes
        return f"{n:,} elements"
    return bytes_label(n * DTYPE_BYTES[dtype])


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


# ---------------------------------------------------------------------------------------------- report
class Report:
    def __init__(self, runs, out_dir, plt):
        self.runs, self.out, self.plt = runs, out_dir, plt
        self.lines = []
        self.pictures = []

    def w(self, line=""):
        self.lines.append(line)

    def picture(self, fig, name, caption):
        path = os.path.join(self.out, name)
        fig.savefig(path, dpi=110, bbox_inches="tight")
        self.plt.close(fig)
        self.pictures.append(name)
        self.w(f"![{caption}]({name})")
        self.w()

    # -- sections
    def machine(self):
        self.w("## Machine and build")
        self.w()
        rows = [("Host", lambda r: r.context.get("host_name", "?")),
                ("Date", lambda r: r.context.get("date", "?")),
                ("CPU", lambda r: r.context.get("cpu_model", "?")),
                ("Cores (threads)", lambda r: str(r.context.get("num_cpus", "?"))),
                ("MHz", lambda r: str(r.context.get("mhz_per_cpu", "?"))),
                ("ISA path used", lambda r: r.context.get("simdrop_isa", "?")),
                ("ISA paths supported", lambda r: r.context.get("simdrop_supported_isas", "?")),
                ("Caches L1d / L2 / L3 (where from)", self.caches),
                ("Arrays (bytes of one, fp32)", self.array_sizes),
                ("Path calibration", lambda r: "n/a" if r.ctx_float("simdrop_calibration_seconds") is None
                 else f"{r.ctx_float('simdrop_calibration_seconds'):.2f} s at start"),
                ("Copy bandwidth (DRAM, all threads)", self.copy_bandwidth),
                ("Copy bandwidth (DRAM, 1 thread)", lambda r: self.copy_bandwidth(r, 1)),
                ("Compiler", lambda r: r.context.get("compiler", "?")),
                ("Flags", lambda r: "`" + (r.context.get("cxx_flags", "").strip() or "-") + "`"),
                ("simdrop", lambda r: r.context.get("simdrop_version", "?")),
                ("oneTBB / Eigen / PyTorch", lambda r: " / ".join(r.context.get(k, "?") for k in
                                                                  ("tbb_version", "eigen_version", "torch_version"))),
                ("Google Benchmark", lambda r: r.context.get("benchmark_version", "?")
                 + (" (Debian's build, flagged DEBUG)" if r.context.get("library_build_type") == "debug" else "")),
                ("Profile, repetitions", lambda r: f"{r.context.get('profile', '?')}, {self.repetitions(r)}")]
        self.w("| | " + " | ".join(r.label for r in self.runs) + " |")
        self.w("|---|" + "---|" * len(self.runs))
        for title, f in rows:
            self.w(f"| {title} | " + " | ".join(f(r) for r in self.runs) + " |")
        self.w()
        for run in self.runs:
            self.calibration_table(run)

    @staticmethod
    def caches(run):
        """ "32 KiB / 512 KiB / 32 MiB (cpuid)": each size, "unknown" where 0, and the source where the run says."""
        sizes = " / ".join(bytes_label(run.ctx_int(k)) for k in ("l1d_bytes", "l2_bytes", "l3_bytes"))
        source = run.context.get("cache_source")
        return f"{sizes} ({source})" if source else sizes

    @staticmethod
    def array_sizes(run):
        """The in-cache and DRAM sizes and where the DRAM arrays live against the L3."""
        cache_n, dram_n = run.in_cache_and_dram("forward", "f32")
        if dram_n is None:
            return "n/a"
        dram, l3 = size_bytes(dram_n, "f32"), run.ctx_int("l3_bytes")
        if not l3:
            where = "L3 unknown"
        elif dram >= 4 * l3:
            where = f"{dram / l3:g}x the L3: in DRAM"
        else:
            where = (f"only {dram / l3:g}x the L3 ({bytes_label(l3)}; 256 MiB is the largest size): "
                     "partly served from the L3")
        return f"in cache {size_label(cache_n, 'f32')}; DRAM {size_label(dram_n, 'f32')} ({where})"

    def calibration_table(self, run):
        """The path calibration the run made at start: G el/s of each path per kind of work and size class, and
        the path chosen for it (simdrop_choice_<work>_<class>)."""
        table = parse_calibration(run.context.get("simdrop_calibration"))
        if not table:
            return
        measured = [i for v in table.values() for i in v]
        # The run's paths in its order, then any other path the calibration names (in the order it names them).
        paths = [i for i in run.paths if i in measured]
        paths += [i for i in dict.fromkeys(measured) if i not in paths]
        self.w(f"Path calibration{f' of {run.label}' if len(self.runs) > 1 else ''} (G elements/s of each path, "
               "1 thread, as simdrop measured it at start; the default runs each kind of work on the chosen path):")
        self.w()
        self.w("| work | size class | " + " | ".join(paths) + " | chosen |")
        self.w("|---|---|" + "---|" * (len(paths) + 1))
        for work in WORKS:
            for size_class in ("cache", "memory"):
                measured = table.get((work, size_class), {})
                chosen = run.context.get(f"simdrop_choice_{work}_{size_class}")
                if measured or chosen:
                    cells = [f"{measured[i]:.3g}" if i in measured else "-" for i in paths]
                    self.w(f"| {work} | {size_class} | " + " | ".join(cells) + f" | {chosen or '?'} |")
        self.w()

    @staticmethod
    def repetitions(run):
        counts = sorted(len(v) for v in run.samples.values())
        return str(counts[len(counts) // 2]) if counts else "0"

    @staticmethod
    def copy_bandwidth(run, threads=None):
        keys = [k for k in run.samples if k[0] == "forward" and k[1] == "copy" and k[2] == "f32"]
        if not keys:
            return "n/a"
        n = max(k[3] for k in keys)
        t = threads or max(k[5] for k in keys if k[3] == n)
        ks = [k for k in keys if k[3] == n and k[5] == t]
        if not ks:
            return "n/a"
        bw = statistics.median(run.bytes[ks[0]])
        return f"{bw / 1e9:.1f} GB/s ({g(run.median(ks[0]))} G el/s, {size_label(n, 'f32')} arrays)"

    def headline(self):
        run = self.runs[0]
        self.w("## Headline")
        self.w()
        for threads in sorted({1, run.max_threads()}):
            cache_n, dram_n = run.in_cache_and_dram("forward", "f32")
            if dram_n is None:
                return
            parts = []
            for n, where in ((cache_n, "in cache"), (dram_n, "DRAM")):
                k = ("forward", "simdrop", "f32", n, 30, threads)
                v = run.median(k)
                if v is None:
                    continue
                vs = [f"{ratio(v, run.median(('forward', b, 'f32', n, 30, threads if b == 'torch' else 1)), 3)} "
                      f"{b}" for b in BASELINES if run.median(('forward', b, 'f32', n, 30,
                                                               threads if b == 'torch' else 1)) is not None]
                c = run.median(copy_key(k))
                parts.append(f"{where} ({size_label(n, 'f32')}): **{g(v)} G elements/s**, "
                             f"{ratio(c, v)} the time of copy; " + ", ".join(vs))
            self.w(f"* forward, fp32, p = 0.3, {threads} thread{'s' if threads > 1 else ''}: " + "; ".join(parts))
        self.w()

    def summary_tables(self):
        run = self.runs[0]
        self.w("## Summary by op")
        self.w()
        self.w("Medians of the repetitions, fp32, p = 0.3. G el/s = 10^9 elements per second. "
               "\"x naive\" etc. is the speed-up of the row over that implementation "
               "(naive and Eigen are single-threaded; PyTorch at the row's threads); \"/ copy\" is the row's "
               "time over copy's time for the same bytes and threads (1.0 = the cost of moving the bytes; the copy "
               "row names the fastest way of writing them, in cache / DRAM). \"roofline\" (simdrop's row) is its "
               "time over its floor: copy's time, and for ops that draw a keep bit per element the larger of that "
               "and mask generation's time (mask/simdrop, same n, p and threads); beside it the target, "
               "**bold** where the row is over it.")
        self.w()
        for op in OPS:
            cache_n, dram_n = run.in_cache_and_dram(op, "f32" if op != "mask" else "-")
            if dram_n is None:
                continue
            dtype = "f32" if op != "mask" else "-"
            for threads in sorted({1, run.max_threads()}):
                impls = impl_sorted({k[1] for k in run.keys(op=op, dtype=dtype, p=30, threads=threads)
                                     if not is_path_impl(k[1], run)})
                if not impls:
                    continue
                self.w(f"### {op}, {threads} thread{'s' if threads > 1 else ''}")
                self.w()
                self.w(f"| impl | G el/s in cache ({size_label(cache_n, dtype)}) | G el/s DRAM ({size_label(dram_n, dtype)}) "
                       "| x naive (cache / DRAM) | x eigen | x torch | / copy (cache / DRAM) "
                       "| roofline (cache / DRAM) | mask bytes/el |")
                self.w("|---|---|---|---|---|---|---|---|---|")
                for impl in impls:
                    kc, kd = (op, impl, dtype, cache_n, 30, threads), (op, impl, dtype, dram_n, 30, threads)
                    vc, vd = run.median(kc), run.median(kd)
                    cells = []
                    for b in BASELINES:
                        bt = threads if b == "torch" else 1
                        bc, bd = run.median((op, b, dtype, cache_n, 30, bt)), run.median((op, b, dtype, dram_n, 30, bt))
                        cells.append(f"{ratio(vc, bc)} / {ratio(vd, bd)}")
                    cc, cd = run.median(copy_key(kc)), run.median(copy_key(kd))
                    tc = ratio(cc, vc) if vc else "n/a"
                    td = ratio(cd, vd) if vd else "n/a"
                    entries = run.counters.get(kd) or run.counters.get(kc) or [{}]
                    mb = entries[0].get("mask_bytes_per_element", "n/a")
                    self.w(f"| {self.impl_cell(run, kc, kd)} | {g(vc)} | {g(vd)} | " + " | ".join(cells)
                           + f" | {tc} / {td} | {self.roofline_cells(run, kc, kd)} | {mb} |")
                self.w()

    @staticmethod
    def impl_cell(run, kc, kd):
        """The impl of keys kc (in cache) and kd (DRAM); for copy with the way that won each (its label)."""
        impl = kc[1]
        if impl != "copy":
            return impl
        return f"copy ({run.labels.get(kc) or '?'} / {run.labels.get(kd) or '?'})"

    @staticmethod
    def roofline_cells(run, kc, kd):
        """ "cache / DRAM" rooflines of simdrop's keys kc and kd; empty for other impls."""
        if kc[1] != "simdrop":
            return ""
        if kc[0] not in ROOFLINE:
            return "no target"
        return f"{roofline_cell(roofline(run, kc))} / {roofline_cell(roofline(run, kd))}"

    def p_table(self):
        run = self.runs[0]
        keys = run.keys(impl="simdrop", threads=1)
        if not keys:
            return
        self.w("## simdrop by p (1 thread, time relative to copy)")
        self.w()
        self.w("| op | dtype | size | " + " | ".join(f"p = {p}%" for p in sorted({k[4] for k in keys})) + " |")
        self.w("|---|---|---|" + "---|" * len({k[4] for k in keys}))
        ps = sorted({k[4] for k in keys})
        for op in OPS:
            for dtype in (*DTYPES, "-"):
                for n in sorted({k[3] for k in keys if k[0] == op and k[2] == dtype}):
                    if len({k[4] for k in keys if k[0] == op and k[2] == dtype and k[3] == n}) < 2:
                        continue  # a size run at one p only (the bandwidth curve's)
                    cells = []
                    for p in ps:
                        k = (op, "simdrop", dtype, n, p, 1)
                        v = run.median(k)
                        c = run.median(copy_key(k))
                        cells.append("n/a" if v is None else f"{g(v)} G/s ({ratio(c, v)})")
                    self.w(f"| {op} | {dtype} | {size_label(n, dtype)} | " + " | ".join(cells) + " |")
        self.w()

    def throughput_pictures(self):
        run, plt = self.runs[0], self.plt
        fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
        for ax, op in zip(axes.flat, OPS):
            dtype = "f32" if op != "mask" else "-"
            for impl in impl_sorted({k[1] for k in run.keys(op=op, dtype=dtype, threads=1)
                                     if not is_path_impl(k[1], run)}):
                pts = sorted((k[3], run.median(k)) for k in run.keys(op=op, impl=impl, dtype=dtype, threads=1,
                                                                      p=30))
                if pts:
                    ax.plot([size_bytes(n, dtype) for n, _ in pts], [v / 1e9 for _, v in pts], marker="o", label=impl,
                            color=COLORS.get(impl), linestyle="--" if impl == "copy" else "-")
            self.mark_caches(ax, run)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_title(f"{op} ({'fp32, ' if dtype == 'f32' else ''}p = 0.3, 1 thread)")
            ax.set_xlabel("bytes per array" if op != "mask" else "mask bytes")
            ax.set_ylabel("G elements/s")
            ax.grid(True, which="both", alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
        fig.tight_layout()
        self.w("## Pictures")
        self.w()
        self.picture(fig, "throughput_by_size.png", "Throughput against array size, cache sizes marked")

    @staticmethod
    def mark_caches(ax, run):
        for name, key in (("L1", "l1d_bytes"), ("L2", "l2_bytes"), ("L3", "l3_bytes")):
            b = run.ctx_int(key)
            if b:
                ax.axvline(b, color="grey", linestyle=":", linewidth=1)
                ax.text(b, 1, f" {name}", transform=ax.get_xaxis_transform(), va="top", fontsize=8, color="grey")

    def speedup_picture(self):
        run, plt = self.runs[0], self.plt
        fig, ax = plt.subplots(figsize=(8, 5))
        any_line = False
        for b in BASELINES:
            pts = []
            for k in run.keys(op="forward", impl="simdrop", dtype="f32", p=30, threads=1):
                base = run.median(("forward", b, "f32", k[3], 30, 1))
                if base:
                    pts.append((size_bytes(k[3], "f32"), run.median(k) / base))
            if pts:
                pts.sort()
                ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=f"over {b}")
                any_line = True
        if not any_line:
            plt.close(fig)
            return
        self.mark_caches(ax, run)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("bytes per array")
        ax.set_ylabel("speed-up of simdrop (x)")
        ax.set_title("forward speed-up of simdrop (fp32, p = 0.3, 1 thread)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        self.picture(fig, "speedup.png", "Speed-up of simdrop over naive, Eigen and PyTorch")

    def relative_to_copy_picture(self):
        run, plt = self.runs[0], self.plt
        fig, ax = plt.subplots(figsize=(8, 5))
        for op in ("forward", "backward_mask", "backward_regen"):
            for threads in sorted({1, run.max_threads()}):
                pts = []
                for k in run.keys(op=op, impl="simdrop", dtype="f32", p=30, threads=threads):
                    c = run.median(copy_key(k))
                    if c:
                        pts.append((size_bytes(k[3], "f32"), c / run.median(k)))
                if pts:
                    pts.sort()
                    ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=f"{op}, {threads} thr")
        ax.axhline(1.0, color="black", linewidth=1)
        self.mark_caches(ax, run)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("bytes per array")
        ax.set_ylabel("time / time of copy")
        ax.set_title("simdrop time relative to copy (fp32, p = 0.3); 1.0 = the floor")
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        self.picture(fig, "relative_to_copy.png", "simdrop's time relative to copy, by size")

    def scaling_picture(self):
        run, plt = self.runs[0], self.plt
        keys = [k for k in run.samples
                if k[0] == "forward" and k[2] == "f32" and k[4] == 30 and not is_path_impl(k[1], run)]
        if not keys:
            return
        n = max(k[3] for k in keys)
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
        rows = []
        for impl in impl_sorted({k[1] for k in keys if k[3] == n}):
            pts = sorted((k[5], run.median(k)) for k in keys if k[1] == impl and k[3] == n)
            if len(pts) < 2 or pts[0][0] != 1:
                continue
            base = pts[0][1]
            ts = [t for t, _ in pts]
            style = dict(marker="o", label=impl, color=COLORS.get(impl), linestyle="--" if impl == "copy" else "-")
            a1.plot(ts, [v / 1e9 for _, v in pts], **style)
            a2.plot(ts, [v / base / t for t, v in pts], **style)
            rows.append((impl, pts))
        if not rows:
            plt.close(fig)
            return
        a1.set_xlabel("threads")
        a1.set_ylabel("G elements/s")
        a1.set_title(f"forward throughput, {size_label(n, 'f32')} arrays (copy = ceiling)")
        a2.set_xlabel("threads")
        a2.set_ylabel("parallel efficiency (speed-up / threads)")
        a2.set_title("parallel efficiency")
        for a in (a1, a2):
            a.grid(True, alpha=0.3)
            a.legend()
        self.picture(fig, "thread_scaling.png", "Thread scaling of forward at the DRAM size")
        self.w("| impl | " + " | ".join(f"{t} thr: G el/s (speed-up)" for t, _ in rows[0][1]) + " |")
        self.w("|---|" + "---|" * len(rows[0][1]))
        for impl, pts in rows:
            self.w(f"| {impl} | " + " | ".join(f"{g(v)} ({v / pts[0][1]:.2f}x)" for _, v in pts) + " |")
        self.w()

    def mask_memory_picture(self):
        run, plt = self.runs[0], self.plt
        per_impl = {}
        for op in ("forward", "backward_regen"):
            for k, entries in run.counters.items():
                if k[0] == op and k[2] == "f32" and k[1] != "copy" and not is_path_impl(k[1], run):
                    per_impl[f"{k[1]} ({'regenerated' if op == 'backward_regen' else 'stored'})"] = \
                        entries[0].get("mask_bytes_per_element", 0)
        if not per_impl:
            return
        names = sorted(per_impl, key=lambda s: per_impl[s])
        fig, ax = plt.subplots(figsize=(8, 4))
        ax.barh(names, [per_impl[s] for s in names], color="tab:blue")
        for i, s in enumerate(names):
            ax.text(per_impl[s], i, f" {per_impl[s]:g}", va="center", fontsize=8)
        ax.set_xlabel("bytes of mask memory per element kept for backward (fp32)")
        ax.set_title("Mask memory per element")
        self.picture(fig, "mask_memory.png", "Bytes of mask memory per element")

    def expectation(self):
        run = self.runs[0]
        self.w("## Expectation preservation (from each benchmark's validation run)")
        self.w()
        self.w("Each benchmark validates its output before timing: the keep fraction against 1 - p, the sum of "
               "y against the sum of x (E[y] = x), and the sum of (y - x)^2 against sum x^2 p/(1-p) "
               "(Var[y] = p/(1-p) x^2), each as a z-score; the verdict is \"ok\" when every |z| <= 6.")
        self.w()
        self.w("| p | implementation | checks | keep fraction (expected) | worst keep z | worst mean z | worst var z | var ratio | verdict |")
        self.w("|---|---|---|---|---|---|---|---|---|")
        by = defaultdict(list)
        for k, entries in run.counters.items():
            if k[0] in OPS and k[0] != "mask" and "keep_fraction" in entries[0]:
                by[(k[4], k[1])].append(entries[0])
        for (p, impl) in sorted(by, key=lambda x: (x[0], IMPL_ORDER.index(x[1]) if x[1] in IMPL_ORDER else 99)):
            es = by[(p, impl)]
            kz, mz, vz, ok = worst_z(es)
            kf = statistics.median(e["keep_fraction"] for e in es)
            vr = statistics.median(e.get("var_ratio", 1) for e in es)
            self.w(f"| {p}% | {impl} | {len(es)} | {kf:.5f} ({1 - p / 100:.2f}) | {kz:.2f} | {mz:.2f} | {vz:.2f} "
                   f"| {vr:.4f} | {'ok' if ok else '**FAILED**'} |")
        failed = sorted((k, msg) for k, msg in run.errors.items() if not msg.startswith(SKIPPED))
        if failed:
            self.w()
            self.w("Benchmarks that reported an error instead of a time:")
            self.w()
            for k, msg in failed:
                self.w(f"* `{'/'.join(map(str, k))}`: {msg}")
        self.w()

    def family(self):
        run = self.runs[0]
        ops = [op for op in FAMILY_OPS if run.keys(op=op)]
        if not ops:
            return
        self.w("## The dropout family")
        self.w()
        self.w("Forward passes of simdrop/family.hpp against their obvious composition (`composed`: one pass over "
               "memory per step, each parallel, simdrop's own mask and dropout where the composition has a dropout "
               "step; Gaussian: std::normal_distribution) and PyTorch, medians, p = 0.3. \"x composed\" and "
               "\"x torch\" are simdrop's speed-up; \"/ copy\" is the row's time over the floor's (the same "
               "bytes moved; for bias-dropout-residual y = x + residual); \"roofline\" as in the summary (alpha "
               "and bias-dropout-residual draw a bit per element, channel and time-shared dropout a bit per plane "
               "or column; Gaussian dropout has no target; fp64 rows have no mask of their n).")
        self.w()
        for threads in sorted({1, run.max_threads()}):
            self.w(f"### {threads} thread{'s' if threads > 1 else ''}")
            self.w()
            self.w("| op | impl | dtype | G el/s in cache | G el/s DRAM | x composed (cache / DRAM) "
                   "| x torch (cache / DRAM) | / copy (cache / DRAM) | roofline (cache / DRAM) |")
            self.w("|---|---|---|---|---|---|---|---|---|")
            for op in ops:
                for dtype in DTYPES:
                    cache_n, dram_n = run.in_cache_and_dram(op, dtype)
                    if dram_n is None:
                        continue
                    for impl in impl_sorted({k[1] for k in run.keys(op=op, dtype=dtype, p=30, threads=threads)}):
                        if impl == "copy":
                            continue
                        kc, kd = (op, impl, dtype, cache_n, 30, threads), (op, impl, dtype, dram_n, 30, threads)
                        vc, vd = run.median(kc), run.median(kd)
                        cells = []
                        for b in FAMILY_BASELINES:
                            if impl != "simdrop":
                                cells.append("")
                                continue
                            bc, bd = run.median((op, b, dtype, cache_n, 30, threads)), run.median(
                                (op, b, dtype, dram_n, 30, threads))
                            cells.append(f"{ratio(vc, bc)} / {ratio(vd, bd)}" if bc or bd else "")
                        cc, cd = run.median(floor_key(run, kc)), run.median(floor_key(run, kd))
                        tc = ratio(cc, vc) if vc else "n/a"
                        td = ratio(cd, vd) if vd else "n/a"
                        self.w(f"| {op} | {impl} | {dtype} | {g(vc)} | {g(vd)} | " + " | ".join(cells)
                               + f" | {tc} / {td} | {self.roofline_cells(run, kc, kd)} |")
            self.w()
        # Validation of every family benchmark (structure exact; keep counts and the Gaussian noise's moments
        # as z-scores; failures are listed with the other errors in the expectation section).
        self.w("Validation before timing (every family benchmark): channel and time-shared outputs are checked to "
               "drop whole planes / columns, alpha outputs to be a x + b or a alpha' + b, bias-dropout-residual "
               "outputs to be the residual or residual + (x + bias) scale, with keep counts as z-scores; Gaussian "
               "noise e = y / x is checked for mean 1 and variance p / (1 - p).")
        self.w()
        self.w("| op | implementation | checks | worst keep z | worst mean z | worst var z | verdict |")
        self.w("|---|---|---|---|---|---|---|")
        by = defaultdict(list)
        for k, entries in run.counters.items():
            if k[0] in ops and "keep_fraction" in entries[0]:
                by[(k[0], k[1])].append(entries[0])
        for (op, impl) in sorted(by, key=lambda x: (FAMILY_OPS.index(x[0]),
                                                    IMPL_ORDER.index(x[1]) if x[1] in IMPL_ORDER else 99)):
            es = by[(op, impl)]
            kz, mz, vz, ok = worst_z(es)
            self.w(f"| {op} | {impl} | {len(es)} | {kz:.2f} | {mz:.2f} | {vz:.2f} | {'ok' if ok else '**FAILED**'} |")
        self.w()
        self.family_picture(ops)

    def family_picture(self, ops):
        run, plt = self.runs[0], self.plt
        impls = [i for i in ("simdrop", "composed", "torch") if any(run.keys(op=op, impl=i) for op in ops)]
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
        for ax, where in zip(axes, ("in cache", "DRAM")):
            width = 0.8 / max(1, len(impls))
            for j, impl in enumerate(impls):
                xs, ys = [], []
                for i, op in enumerate(ops):
                    cache_n, dram_n = run.in_cache_and_dram(op, "f32")
                    n = cache_n if where == "in cache" else dram_n
                    k = (op, impl, "f32", n, 30, 1)
                    v, c = run.median(k), run.median(copy_key(k))
                    if v and c:
                        xs.append(i + (j - (len(impls) - 1) / 2) * width)
                        ys.append(c / v)
                ax.bar(xs, ys, width=width, label=impl, color=COLORS.get(impl))
            ax.axhline(1.0, color="black", linewidth=1)
            ax.set_xticks(range(len(ops)))
            ax.set_xticklabels(ops, rotation=20, fontsize=8)
            ax.set_yscale("log")
            ax.set_title(f"{where} (fp32, p = 0.3, 1 thread)")
            ax.grid(True, axis="y", which="both", alpha=0.3)
        axes[0].set_ylabel("time / time of copy (1.0 = the floor)")
        axes[0].legend(fontsize=8)
        self.picture(fig, "family.png", "The dropout family: time relative to copy")

    # -- the 16-bit types (issue 11)
    def half_precision(self):
        """The 16-bit types beside fp32 (dtypes_table), issue 11's targets (half_targets) and the rows an
        implementation refused (skipped_rows)."""
        run = self.runs[0]
        if not any(k[2] in HALF_DTYPES for k in list(run.samples) + list(run.errors)):
            return
        self.w("## bfloat16 and float16")
        self.w()
        self.dtypes_table(run)
        self.half_targets(run)
        self.skipped_rows(run)

    def dtypes_table(self, run):
        """simdrop's rows of each op by size class and threads, fp32 and the 16-bit types side by side."""
        dtypes = [d for d in ("f32", *HALF_DTYPES) if run.keys(impl="simdrop", dtype=d)]
        ops = [op for op in OPS + FAMILY_OPS if op != "mask" and any(run.keys(op=op, impl="simdrop", dtype=d, p=30)
                                                                    for d in HALF_DTYPES)]
        self.w("simdrop by element type, medians, p = 0.3, the same bytes per array for every type (a 16-bit case "
               "has twice fp32's elements). Per type: G el/s; \"/ copy\", the time over the best copy of the same "
               "bytes (the 16-bit floor moves the bits: a copy, or a 16-bit integer add for bias-dropout-residual); "
               "\"roofline\", the time over max(time of `mask` for the same elements, time of that copy) for ops "
               "that draw a bit per element, over the copy's time alone for the others (as in the summary), "
               "**bold** where over the op's target; \"x torch\", the speed-up over PyTorch at the same dtype and "
               "threads (\"skipped\" where PyTorch refuses the dtype: reasons below).")
        self.w()
        self.w("| op | size | threads | " + " | ".join(f"{d} G el/s | {d} / copy | {d} roofline | {d} x torch"
                                                      for d in dtypes) + " | roofline target |")
        self.w("|---|---|---|" + "---|" * (4 * len(dtypes) + 1))
        for op in ops:
            for where in ("in cache", "DRAM"):
                for threads in sorted({1, run.max_threads()}):
                    cells, any_value = [], False
                    size = None
                    for d in dtypes:
                        cache_n, dram_n = run.in_cache_and_dram(op, d)
                        n = cache_n if where == "in cache" else dram_n
                        if n is None or (where == "DRAM" and n == cache_n):  # one size only: shown once
                            cells += ["n/a"] * 4
                            continue
                        size = size or bytes_label(size_bytes(n, d))
                        k = (op, "simdrop", d, n, 30, threads)
                        v = run.median(k)
                        any_value |= v is not None
                        r = roofline(run, k)
                        rl = "n/a" if r is None else (f"{r[0]:.2f}" if r[0] <= r[1] else f"**{r[0]:.2f}**")
                        cells += [g(v), ratio(run.median(floor_key(run, k)), v) if v else "n/a", rl,
                                  self.torch_cell(run, k)]
                    if not any_value:
                        continue
                    target = f"<= {ROOFLINE[op][1]:g}" if op in ROOFLINE else "none"
                    self.w(f"| {op} | {where} ({size}) | {threads} | " + " | ".join(cells) + f" | {target} |")
        self.w()

    @staticmethod
    def torch_cell(run, key):
        """simdrop's speed-up over PyTorch's row of key's op, dtype, n and threads: "12.3x", "skipped" where PyTorch
        refused it, "" where there is no such row."""
        tk = (key[0], "torch") + key[2:]
        if run.errors.get(tk, "").startswith(SKIPPED):
            return "skipped"
        v, t = run.median(key), run.median(tk)
        return ratio(v, t) if v and t else ""

    def half_targets(self, run):
        """Issue 11's two targets, each row met or not met: the roofline of every op with a target for bf16 and f16
        at the in-cache and DRAM sizes, 1 thread and all; and simdrop's bf16 forward at the DRAM size, 1 thread,
        against PyTorch's bf16 dropout."""
        self.w("### Targets of issue 11")
        self.w()
        self.w("The roofline (as above; targets as for fp32: 1.1, 1.15 for channel and time-shared dropout) of "
               "bfloat16 and float16 at the in-cache (L2) and DRAM sizes, 1 thread and all; and simdrop's bfloat16 "
               f"forward at least {TORCH_BF16_TARGET}x PyTorch's bfloat16 dropout (`torch::dropout`, train) at the "
               "DRAM size, 1 thread. All figures come from this run.")
        self.w()
        self.w("| target | op | dtype | size | threads | value | limit | met? |")
        self.w("|---|---|---|---|---|---|---|---|")
        met = total = 0
        for op in [o for o in OPS + FAMILY_OPS if o in ROOFLINE]:
            for d in HALF_DTYPES:
                cache_n, dram_n = run.in_cache_and_dram(op, d)
                for n, where in ((cache_n, "in cache"), (dram_n, "DRAM")):
                    if n is None or (where == "DRAM" and n == cache_n):
                        continue
                    for threads in sorted({1, run.max_threads()}):
                        k = (op, "simdrop", d, n, 30, threads)
                        if k not in run.samples:
                            continue
                        r = roofline(run, k)
                        total += 1
                        if r is None:
                            value, verdict = "n/a", "not evaluated (a time it needs is missing)"
                        else:
                            value, verdict = f"{r[0]:.2f}", "met" if r[0] <= r[1] else "**not met**"
                            met += r[0] <= r[1]
                        self.w(f"| roofline | {op} | {d} | {where} ({size_label(n, d)}) | {threads} | {value} | "
                               f"<= {ROOFLINE[op][1]:g} | {verdict} |")
        _, dram_n = run.in_cache_and_dram("forward", "bf16")
        torch_line = None
        if dram_n is not None:
            k = ("forward", "simdrop", "bf16", dram_n, 30, 1)
            tk = ("forward", "torch", "bf16", dram_n, 30, 1)
            v, t = run.median(k), run.median(tk)
            if v and t:
                x = v / t
                verdict = "met" if x >= TORCH_BF16_TARGET else "**not met**"
                value = f"{x:.3g}x"
                torch_line = f"{verdict.strip('*')} ({value})"
            else:
                why = run.errors.get(tk) or run.errors.get(k) or "no PyTorch bf16 row in this run"
                value, verdict = "n/a", f"not evaluated ({why})"
                torch_line = "not evaluated"
            self.w(f"| x PyTorch bf16 dropout | forward | bf16 | DRAM ({size_label(dram_n, 'bf16')}) | 1 | {value} | "
                   f">= {TORCH_BF16_TARGET}x | {verdict} |")
        self.w()
        self.w(f"Roofline rows met: {met} of {total}"
               + (f"; PyTorch target: {torch_line}." if torch_line else "."))
        self.w()

    def skipped_rows(self, run):
        """The rows an implementation refused (PyTorch without a CPU kernel for a dtype), with its reason."""
        skipped = sorted((k, msg[len(SKIPPED):]) for k, msg in run.errors.items() if msg.startswith(SKIPPED))
        if not skipped:
            return
        self.w("### Rows skipped")
        self.w()
        self.w("Cases an implementation refuses (it raised an error when the case was prepared and run once); "
               "they post no time. The reason is the implementation's own message.")
        self.w()
        by_reason = defaultdict(list)
        for k, why in skipped:
            by_reason[(k[1], k[2], why)].append(k)
        self.w("| impl | dtype | rows | ops | reason |")
        self.w("|---|---|---|---|---|")
        for (impl, d, why), keys in sorted(by_reason.items()):
            ops = ", ".join(sorted({k[0] for k in keys}, key=lambda o: (OPS + FAMILY_OPS).index(o)))
            self.w(f"| {impl} | {d} | {len(keys)} | {ops} | {why} |")
        self.w()

    def isa_paths(self):
        """The ISA paths table: simdrop_<path> (one path forced) against the default, which runs each kind of
        work on the path its calibration chose; a default over 10% slower than the fastest path is marked."""
        run = self.runs[0]
        paths = [i for i in run.paths if run.keys(impl=f"simdrop_{i}")]
        if not paths:
            return
        self.w("## ISA paths side by side")
        self.w()
        self.w("G elements/s (medians), fp32, p = 0.3, of simdrop with each SIMD path forced (`set_isa`) and of the "
               "default (`simdrop`), whose path per kind of work and size class comes from the calibration at "
               "start (its choice and class from the run's context). A default that takes over 1.1x the time of "
               "the fastest path is **marked**, with the p-value of a two-sided Mann-Whitney test of the two; "
               "where that path is the default's own, the difference is the machine's drift between the two "
               "benchmarks, which run minutes apart.")
        self.w()
        self.w("| op | size | threads | " + " | ".join(paths) + " | default | default's path (work, class) | verdict |")
        self.w("|---|---|---|" + "---|" * (len(paths) + 3))
        for op in PATH_OPS:
            dtype = "-" if op == "mask" else "f32"
            cache_n, dram_n = run.in_cache_and_dram(op, dtype)
            for n, where in ((cache_n, "in cache"), (dram_n, "DRAM")):
                for threads in sorted({1, run.max_threads()}):
                    rates = {i: run.samples.get((op, f"simdrop_{i}", dtype, n, 30, threads), []) for i in paths}
                    if n is None or not any(rates.values()):
                        continue
                    default = run.samples.get((op, "simdrop", dtype, n, 30, threads), [])
                    choice = default_path(run, op, dtype, n)
                    chosen = f"{choice[0]} ({choice[1]}, {choice[2]})" if choice else "?"
                    self.w(f"| {op} | {where} ({size_label(n, dtype)}) | {threads} | "
                           + " | ".join(g(statistics.median(rates[i]) if rates[i] else None) for i in paths)
                           + f" | {g(statistics.median(default) if default else None)} | {chosen} | "
                           + path_verdict(default, rates, choice[0] if choice else None) + " |")
        self.w()

    def bandwidth_curve(self):
        """Forward of copy, simdrop and Eigen (fp32, p = 0.3, 1 thread) by size: G el/s and GB/s with the caches
        marked, and a table naming where the arrays live and copy's fastest way at each size."""
        run, plt = self.runs[0], self.plt
        curves = {}
        for impl in ("copy", "simdrop", "eigen"):
            keys = sorted(run.keys(op="forward", impl=impl, dtype="f32", p=30, threads=1), key=lambda k: k[3])
            if keys:
                curves[impl] = keys
        if len(curves.get("copy", [])) < 2:
            return
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 4.8))
        for impl, keys in curves.items():
            xs = [size_bytes(k[3], "f32") for k in keys]
            style = dict(marker="o", label=impl, color=COLORS.get(impl), linestyle="--" if impl == "copy" else "-")
            a1.plot(xs, [run.median(k) / 1e9 for k in keys], **style)
            a2.plot(xs, [statistics.median(run.bytes[k]) / 1e9 for k in keys], **style)
        for k in curves["copy"]:
            a1.annotate(run.labels.get(k, ""), (size_bytes(k[3], "f32"), run.median(k) / 1e9), fontsize=7,
                        textcoords="offset points", xytext=(0, 6), ha="center")
        for ax, unit in ((a1, "G elements/s"), (a2, "GB/s (every byte read and written)")):
            self.mark_caches(ax, run)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.xaxis.set_major_formatter(self.plt.FuncFormatter(lambda b, _: bytes_label(int(b))))
            ax.set_xlabel("bytes per array")
            ax.set_ylabel(unit)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(0, 0.3))
        a1.set_title("forward, fp32, p = 0.3, 1 thread (copy's way named)")
        a2.set_title("bandwidth")
        fig.tight_layout()
        self.w("## Copy bandwidth by size")
        self.w()
        self.picture(fig, "bandwidth_by_size.png", "Copy bandwidth by size: forward of copy, simdrop and Eigen, "
                     "caches marked")
        self.w("Forward, fp32, p = 0.3, 1 thread. \"arrays in\" is the level that holds the input and the output "
               "together; \"copy's way\" is the fastest way of writing the floor's bytes at that size (plain stores, "
               "memcpy, or non-temporal stores: 128/256/512-bit on x86, STNP pairs on AArch64; timed in turn "
               "at the start of each case).")
        self.w()
        self.w("| bytes per array | arrays in | copy G el/s | copy GB/s | copy's way | simdrop G el/s "
               "| simdrop / copy (time) | eigen G el/s |")
        self.w("|---|---|---|---|---|---|---|---|")
        for k in curves["copy"]:
            n = k[3]
            v_copy = run.median(k)
            v_sd = run.median(("forward", "simdrop", "f32", n, 30, 1))
            v_eigen = run.median(("forward", "eigen", "f32", n, 30, 1))
            self.w(f"| {size_label(n, 'f32')} | {where_arrays_live(size_bytes(n, 'f32'), run)} | {g(v_copy)} "
                   f"| {statistics.median(run.bytes[k]) / 1e9:.3g} | {run.labels.get(k) or '?'} | {g(v_sd)} "
                   f"| {ratio(v_copy, v_sd)} | {g(v_eigen)} |")
        self.w()

    def spread_table(self):
        run = self.runs[0]
        self.w("## Spread and significance")
        self.w()
        reps = self.repetitions(run)
        self.w(f"Each figure above is a median over repetitions ({reps} here). Spread of the main comparisons "
               "(fp32, p = 0.3), with a two-sided Mann-Whitney U test of simdrop against copy "
               f"(significant at alpha = {ALPHA}; with fewer than about 5 repetitions a test cannot reach it).")
        self.w()
        self.w("| benchmark | median G el/s | min - max | IQR | p-value vs copy | verdict |")
        self.w("|---|---|---|---|---|---|")
        for k in sorted(run.samples):
            if k[1] not in ("simdrop", "copy") or k[2] != "f32" or k[4] != 30:
                continue
            med, lo, hi, iqr = spread(run.samples[k])
            note, verdict = "", ""
            if k[1] == "simdrop" and copy_key(k) in run.samples:
                pv = mann_whitney_p(run.samples[k], run.samples[copy_key(k)])
                note = f"{pv:.3g}" if pv is not None else "n/a"
                faster = "faster" if med > run.median(copy_key(k)) else "slower"
                verdict = f"{faster} than copy, significant" if pv is not None and pv < ALPHA else "not significant"
            self.w(f"| `{'/'.join(map(str, k))}` | {g(med)} | {g(lo)} - {g(hi)} | "
                   f"{g(iqr) if iqr is not None else 'n/a'} | {note} | {verdict} |")
        self.w()

    def comparison(self):
        if len(self.runs) < 2:
            return
        base = self.runs[0]
        self.w("## Runs side by side")
        self.w()
        self.w("G elements/s (medians); each later run's ratio to the first, and whether the difference is "
               f"significant (two-sided Mann-Whitney U over repetitions, alpha = {ALPHA}).")
        self.w()
        header = "| benchmark | " + " | ".join(r.label for r in self.runs)
        header += " | " + " | ".join(f"{r.label} / {base.label}" for r in self.runs[1:]) + " |"
        self.w(header)
        self.w("|---|" + "---|" * (2 * len(self.runs) - 1))
        keys = sorted(set().union(*(set(r.samples) for r in self.runs)),
                      key=lambda k: ((OPS + FAMILY_OPS).index(k[0]), k[2], impl_sorted([k[1]])[0], k[3], k[4], k[5]))
        for k in keys:
            if k[1] == "copy" and k[0] != "forward":
                continue
            cells = [g(r.median(k)) for r in self.runs]
            comps = []
            for r in self.runs[1:]:
                a, b = base.samples.get(k), r.samples.get(k)
                if not a or not b:
                    comps.append("n/a")
                    continue
                pv = mann_whitney_p(a, b)
                sig = "significant" if pv is not None and pv < ALPHA else "not significant"
                comps.append(f"{statistics.median(b) / statistics.median(a):.3f}x (p = {pv:.2g}, {sig})")
            self.w(f"| `{'/'.join(map(str, k))}` | " + " | ".join(cells) + " | " + " | ".join(comps) + " |")
        self.w()

    def write(self):
        self.w("# simdrop performance report")
        self.w()
        names = ", ".join(f"`{r.label}`" for r in self.runs)
        self.w(f"Runs: {names}. Tables and pictures describe the first run"
               + ("; the last section compares all of them." if len(self.runs) > 1 else "."))
        self.w("Raw Google Benchmark JSON: `raw/`.")
        self.w()
        self.headline()
        self.machine()
        self.summary_tables()
        self.isa_paths()
        self.p_table()
        self.throughput_pictures()
        self.speedup_picture()
        self.relative_to_copy_picture()
        self.scaling_picture()
        self.mask_memory_picture()
        self.bandwidth_curve()
        self.family()
        self.half_precision()
        self.expectation()
        self.spread_table()
        self.comparison()
        if getattr(self, "theory", None):  # theory lab (issue #13): reports/theory_section.py
            self.w(theory_section.render(self.theory, self.out, self.plt))
        with open(os.path.join(self.out, "report.md"), "w", encoding="utf-8") as f:
            f.write("\n".join(self.lines) + "\n")


def path_verdict(default, paths, chosen):
    """How the default compares with the fastest forced path, from their repetitions' rates (default: a list;
    paths: {path: list}; chosen: the default's path or None): marked where the default takes over 1.1x the fastest
    path's time (medians), with the Mann-Whitney p-value of the two, and said to be drift between the two
    benchmarks where the fastest path is the default's own."""
    medians = {i: statistics.median(v) for i, v in paths.items() if v}
    if not default or not medians:
        return "n/a"
    best = max(medians, key=medians.get)
    slower = medians[best] / statistics.median(default)
    if slower <= 1.1:
        return "default is fastest" if slower <= 1 else f"default within 10% of {best} ({slower:.2f}x its time)"
    why = "its own path: drift between the two benchmarks, " if best == chosen else ""
    return f"**default takes {slower:.2f}x the time of {best}** ({why}p = {mann_whitney_p(default, paths[best]):.2g})"


def size_bytes(n, dtype):
    return n * DTYPE_BYTES[dtype] if dtype != "-" else max(n // 8, 1)


def unique_labels(paths):
    labels = []
    for p in paths:
        base = os.path.splitext(os.path.basename(p))[0]
        parent = os.path.basename(os.path.dirname(os.path.abspath(p)))
        label = base if base not in ("run", "raw") else parent
        while label in labels:
            label = f"{parent}/{label}"
            if label in labels:
                label += f"-{len(labels)}"
        labels.append(label)
    return labels


def main(argv):
    ap = argparse.ArgumentParser(description="Write a report from simdrop_bench JSON files.")
    ap.add_argument("runs", nargs="+", metavar="RUN.json")
    ap.add_argument("--out", required=True, metavar="DIR")
    ap.add_argument("--theory", metavar="THEORY.json", help="simdrop_theory --out file: adds the Theory lab section")
    args = ap.parse_args(argv)
    try:
        runs = [Run(p, label) for p, label in zip(args.runs, unique_labels(args.runs))]
        theory = theory_section.load(args.theory) if args.theory else None
    except (InputError, theory_section.TheoryError) as e:
        print(f"simdrop_report: {e}", file=sys.stderr)
        return 2
    try:
        import matplotlib
    except ImportError:
        print(f"simdrop_report: {sys.executable} has no matplotlib: install Debian's python3-matplotlib and run "
              "with /usr/bin/python3", file=sys.stderr)
        return 2
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = os.path.abspath(args.out)
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".report-", dir=parent)
    try:
        os.makedirs(os.path.join(staging, "raw"))
        for r in runs:
            shutil.copyfile(r.path, os.path.join(staging, "raw", r.label.replace("/", "_") + ".json"))
        report = Report(runs, staging, plt)
        report.theory = theory
        if theory:
            shutil.copyfile(args.theory, os.path.join(staging, "theory.json"))
        report.write()
        # The new report is complete: only now replace what was in DIR.
        if os.path.exists(out):
            old = tempfile.mkdtemp(prefix=".report-old-", dir=parent)
            os.rename(out, os.path.join(old, "previous"))
            os.rename(staging, out)
            shutil.rmtree(old)
        else:
            os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    print(f"simdrop_report: wrote {os.path.join(out, 'report.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
