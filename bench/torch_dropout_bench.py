#!/usr/bin/python3
"""PyTorch's F.dropout against simdrop.torch's sdt.dropout, forward + backward on CPU tensors, as PyTorch users
call them (x.requires_grad, y = dropout(x), y.backward(dy)); 1 thread and all threads; with glibc's allocator and
with jemalloc; the binding's own overhead against the C++ library; the bytes each saves for backward per element
(counted with torch.autograd.graph.saved_tensors_hooks); the Python call overhead of a forward on a 1 KiB tensor;
what inplace=True allocates. Medians of repeated runs; speed-up = F.dropout's median / sdt.dropout's.

    PYTHONPATH=<build>/python /usr/bin/python3 bench/torch_dropout_bench.py [--quick] [--sizes-mib ...]
        [--threads 1 2] [--p 0.3] [--reps 5] [--allocator glibc|jemalloc|both] [--simdrop-bench PATH]
        [--json out.json] [--out DIR]

Allocators (issue #20): PyTorch's CPU tensors come from malloc. glibc's hands out a 64 MiB tensor as fresh
mmap'd pages every time (first touch: a page fault per 4 KiB); jemalloc keeps freed pages for reuse. The LD_PRELOAD
of jemalloc must be there when the process starts, so for the jemalloc column this script runs itself again in a
child process with LD_PRELOAD=<Debian's libjemalloc2: libjemalloc.so.2 in the multiarch library folder, or as
`ldconfig -p` finds it>, which writes its results as JSON for this process to merge: one command gives both
columns. Without libjemalloc2 the jemalloc column says so (Debian: apt-get install libjemalloc2).

The binding's overhead: simdrop_bench (the C++ benchmark, bench/) is run as a subprocess for the C++ library's
dropout_forward and regenerated dropout_backward (forward/simdrop/f32/... and backward_regen/simdrop/f32/... at
the same sizes, p and thread counts, buffers reused), and overhead = sdt.dropout forward + backward median /
(C++ forward median + C++ backward median). --simdrop-bench PATH names the binary (default: bench/simdrop_bench in
the build folder the simdrop package was imported from). Diagnostics beside it, for sdt.dropout: the forward and
the backward op timed alone (each with its fresh output), the same two passes in place (no allocation), and the
minor page faults per forward + backward (getrusage).

--out DIR writes torch_dropout.json, torch_dropout.md (a report section with tables) and torch_dropout.png
(G elements/s against size) there; scripts/report.sh does this for its report.
"""
import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time

import torch
import torch.nn.functional as F

import simdrop.torch as sdt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_dropout_section import targets, write_section  # noqa: E402

SEED = 1234
ALLOCATORS = ("glibc", "jemalloc")
JEMALLOC_SONAME = "libjemalloc.so.2"
# Issue #20's targets.


# ---- allocators -------------------------------------------------------------------------------------------

def find_jemalloc():
    """The path of Debian's libjemalloc2 for this machine's architecture, or None: libjemalloc.so.2 in the
    multiarch library folders (/usr/lib/<triplet>, /lib/<triplet>), else the entry `ldconfig -p` lists for this
    architecture."""
    triplet = sysconfig.get_config_var("MULTIARCH")
    if not triplet:
        try:
            triplet = subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True,
                                     timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            triplet = ""
    folders = [f"/usr/lib/{triplet}", f"/lib/{triplet}"] if triplet else []
    for folder in folders + ["/usr/lib64", "/usr/lib", "/usr/local/lib"]:
        path = os.path.join(folder, JEMALLOC_SONAME)
        if os.path.exists(path):
            return path
    # ldconfig -p: "\tlibjemalloc.so.2 (libc6,x86-64) => /lib/x86_64-linux-gnu/libjemalloc.so.2"
    tags = {"x86_64": "x86-64", "aarch64": "AArch64", "ppc64le": "64bit", "s390x": "64bit", "riscv64": "64bit"}
    tag = tags.get(platform.machine())
    for ldconfig in ("ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"):
        try:
            listing = subprocess.run([ldconfig, "-p"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        for line in listing.splitlines():
            name, _, path = line.strip().partition(" => ")
            if name.startswith(JEMALLOC_SONAME) and (tag is None or tag in name) and os.path.exists(path):
                return path
        break
    return None


def allocator_in_use():
    """'jemalloc' when libjemalloc is mapped into this process (an LD_PRELOAD), else 'glibc'."""
    try:
        with open("/proc/self/maps") as f:
            return "jemalloc" if "libjemalloc" in f.read() else "glibc"
    except OSError:
        return "jemalloc" if "libjemalloc" in os.environ.get("LD_PRELOAD", "") else "glibc"


def child_env(allocator, jemalloc, malloc_conf=None):
    """This process's environment with LD_PRELOAD set for `allocator` (jemalloc added, or any jemalloc removed),
    and MALLOC_CONF (jemalloc's options) set where malloc_conf is given."""
    env = dict(os.environ)
    if malloc_conf is not None:
        env["MALLOC_CONF"] = malloc_conf
    preload = [p for p in env.get("LD_PRELOAD", "").replace(":", " ").split() if "libjemalloc" not in p]
    if allocator == "jemalloc":
        preload.insert(0, jemalloc)
    if preload:
        env["LD_PRELOAD"] = " ".join(preload)
    else:
        env.pop("LD_PRELOAD", None)
    return env


# ---- measurements (in the process whose allocator is being measured) ----------------------------------------

def fwd_bwd(impl, p):
    if impl == "torch":
        return lambda x, dy: F.dropout(x, p, training=True).backward(dy)
    return lambda x, dy: sdt.dropout(x, p, seed=SEED).backward(dy)


def saved_bytes_per_element(impl, p, n=1 << 16):
    """Bytes of the tensors autograd saves for backward, per element of x."""
    saved = []

    def pack(t):
        saved.append(t.numel() * t.element_size())
        return t

    x = torch.randn(n, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = F.dropout(x, p, training=True) if impl == "torch" else sdt.dropout(x, p, seed=SEED)
    y.backward(torch.ones_like(y))
    return sum(saved) / n


def repeat(run, reps, budget_s, before=None):
    """Times of run(): at least 3 runs, up to `reps` within the budget; before() (untimed) ahead of each. Also
    the minor page faults per run (getrusage, the untimed before() included)."""
    run()  # warm-up (and simdrop's one-time path calibration)
    times = []
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    while len(times) < reps and (len(times) < 3 or time.perf_counter() - start < budget_s):
        if before:
            before()
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return times, faults / len(times)


def time_fwd_bwd(impl, p, elements, reps, budget_s):
    """Median and min seconds of one forward + backward, runs, minor page faults per run."""
    x = torch.randn(elements, requires_grad=True)
    dy = torch.randn(elements)
    step = fwd_bwd(impl, p)

    def clear():
        x.grad = None  # so that each backward's dx is a fresh tensor, as in a training step

    clear()
    times, faults = repeat(lambda: step(x, dy), reps, budget_s, before=clear)
    return statistics.median(times), min(times), len(times), faults


def time_sdt_parts(p, elements, reps, budget_s):
    """sdt.dropout's passes alone (medians, seconds): the forward with no autograd (its fresh output), the
    backward op (torch.ops.simdrop.dropout_backward, its fresh output), and both passes in place on tensors that
    are kept (no allocation: the forward's and the regenerated backward's arithmetic only, through the binding)."""
    x = torch.randn(elements)
    dy = torch.randn(elements)
    buf = torch.empty(elements)
    fwd, _ = repeat(lambda: sdt.dropout(x, p, seed=SEED), reps, budget_s)
    bwd, _ = repeat(lambda: torch.ops.simdrop.dropout_backward(dy, p, SEED, 0), reps, budget_s)

    def refill():
        buf.copy_(x)

    refill()
    inplace, faults = repeat(lambda: sdt.dropout(buf, p, inplace=True, seed=SEED), reps, budget_s, before=refill)
    return {"fwd_s": statistics.median(fwd), "bwd_s": statistics.median(bwd),
            "inplace_s": statistics.median(inplace), "inplace_minflt_per_call": faults}


def call_overhead_us(impl, p, calls=20000):
    """Median microseconds per forward call on a 1 KiB fp32 tensor (no grad), over 5 batches of calls."""
    x = torch.randn(256)
    f = (lambda: F.dropout(x, p, training=True)) if impl == "torch" else (lambda: sdt.dropout(x, p, seed=SEED))
    for _ in range(1000):
        f()
    batches = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(calls):
            f()
        batches.append((time.perf_counter() - t0) / calls * 1e6)
    return statistics.median(batches)


def allocated_bytes(f):
    """Bytes allocated on the CPU while f() runs and still held at the end of each top-level op (torch.profiler
    with profile_memory=True: an op's cpu_memory_usage counts its children's allocations, less what they
    freed), and f()'s result."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        result = f()
    total = 0
    for event in prof.events():
        if event.cpu_parent is None:
            total += max(0, getattr(event, "cpu_memory_usage", 0) or 0)
    return total, result


def inplace_allocation(p, elements=1 << 20):
    """What sdt.dropout(x, p, inplace=True) allocates on a 4 MiB fp32 tensor, with no autograd and with a graph
    (x a non-leaf that requires grad), against the out-of-place call: bytes (torch.profiler), whether the result
    is x itself (same data_ptr), minor page faults."""
    out = {"bytes": elements * 4}
    base = torch.randn(elements)
    cases = {
        "inplace": lambda: base.clone(),
        "inplace_autograd": lambda: (torch.randn(elements, requires_grad=True) * 1.0),
        "out_of_place": lambda: base.clone(),
    }
    for name, make in cases.items():
        x = make()
        ptr = x.data_ptr()
        inplace = name != "out_of_place"
        sdt.dropout(base.clone(), p, inplace=inplace, seed=SEED)  # warm-up (the profiler's first use included)
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        nbytes, y = allocated_bytes(lambda: sdt.dropout(x, p, inplace=inplace, seed=SEED))
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
        out[name] = {"allocated_bytes": nbytes, "same_data_ptr": y.data_ptr() == ptr, "is_input": y is x,
                     "minflt": faults}
    return out


def measure(args, allocator):
    """Every Python measurement in this process (whose allocator is `allocator`): a dict of results."""
    data = {"allocator": allocator, "results": [], "parts": [],
            "env": {k: os.environ.get(k) for k in ("LD_PRELOAD", "MALLOC_CONF", "GLIBC_TUNABLES")}}
    torch.set_num_threads(1)
    data["saved_bytes_per_element"] = {impl: saved_bytes_per_element(impl, args.p) for impl in ("torch", "simdrop")}
    data["call_overhead_us"] = {impl: call_overhead_us(impl, args.p) for impl in ("torch", "simdrop")}
    data["inplace"] = inplace_allocation(args.p)
    print(f"[{allocator}] call overhead, forward on 1 KiB (us, median): F.dropout "
          f"{data['call_overhead_us']['torch']:.1f}, sdt.dropout {data['call_overhead_us']['simdrop']:.1f}; "
          f"inplace=True allocates {data['inplace']['inplace']['allocated_bytes']} B "
          f"(autograd: {data['inplace']['inplace_autograd']['allocated_bytes']} B; out of place "
          f"{data['inplace']['out_of_place']['allocated_bytes']} B)", flush=True)
    print(f"[{allocator}] {'size':>9} {'thr':>3} {'F.dropout ms':>13} {'sdt ms':>9} {'speed-up':>8} "
          f"{'sdt fwd':>8} {'sdt bwd':>8} {'in place':>8} {'faults F/sdt':>13}", flush=True)
    for size_mib in args.sizes_mib:
        size = int(size_mib * 2**20)
        elements = size // 4
        for threads in args.threads:
            torch.set_num_threads(threads)
            row = {}
            for impl in ("torch", "simdrop"):
                median, best, n, faults = time_fwd_bwd(impl, args.p, elements, args.reps, args.budget_s)
                row[impl] = (median, faults)
                data["results"].append({"impl": impl, "allocator": allocator, "bytes": size, "elements": elements,
                                        "threads": threads, "median_s": median, "min_s": best, "runs": n,
                                        "g_el_per_s": elements / median / 1e9, "minflt_per_run": faults})
            parts = time_sdt_parts(args.p, elements, args.reps, args.budget_s)
            data["parts"].append({"allocator": allocator, "bytes": size, "threads": threads, **parts})
            print(f"[{allocator}] {size_mib:>6g}MiB {threads:>3} {1e3 * row['torch'][0]:>13.2f} "
                  f"{1e3 * row['simdrop'][0]:>9.3f} {row['torch'][0] / row['simdrop'][0]:>7.1f}x "
                  f"{1e3 * parts['fwd_s']:>8.3f} {1e3 * parts['bwd_s']:>8.3f} {2e3 * parts['inplace_s']:>8.3f} "
                  f"{row['torch'][1]:>6.0f}/{row['simdrop'][1]:<6.0f}", flush=True)
    return data


# ---- the C++ library, for the binding's overhead -------------------------------------------------------------

def default_simdrop_bench():
    """<build>/bench/simdrop_bench beside <build>/python/simdrop/, where the imported package came from."""
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(sdt.library_path))))
    return os.path.join(build, "bench", "simdrop_bench")


def run_simdrop_bench(path, sizes_bytes, threads_list, p, reps):
    """simdrop_bench's fp32 forward and regenerated backward of simdrop at these sizes and thread counts: a dict
    {"binary", "results": [{op, bytes, threads, median_s, runs}], "error"}. Only sizes in its full grid (4 KiB x
    4^k, the DRAM size) and p in {0.1, 0.3, 0.5, 0.9} are there."""
    info = {"binary": path, "results": []}
    if not path:
        info["error"] = "skipped (--simdrop-bench none)"
        return info
    if not os.access(path, os.X_OK):
        info["error"] = f"simdrop_bench not found at {path!r} (build the simdrop_bench target, or pass --simdrop-bench)"
        return info
    percent = round(p * 100)
    ns = "|".join(str(b // 4) for b in sizes_bytes)
    ts = "|".join(str(t) for t in threads_list)
    pattern = f"^(forward|backward_regen)/simdrop/f32/n:({ns})/p:{percent}/threads:({ts})(/real_time)?$"
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cpp.json")
        cmd = [path, "--profile=full", f"--benchmark_filter={pattern}", f"--benchmark_repetitions={max(3, reps)}",
               "--benchmark_min_time=0.05", f"--benchmark_out={out}", "--benchmark_out_format=json"]
        info["command"] = " ".join(cmd)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        info["wall_s"] = time.perf_counter() - t0
        if proc.returncode != 0 or not os.path.exists(out):
            info["error"] = f"simdrop_bench exited with {proc.returncode}: {(proc.stderr or proc.stdout)[-500:]}"
            return info
        with open(out) as f:
            report = json.load(f)
    info["context"] = {k: v for k, v in report.get("context", {}).items()
                       if k in ("simdrop_isa", "host_name", "num_cpus", "mhz_per_cpu", "library_build_type")}
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    runs = {}
    for b in report.get("benchmarks", []):
        if b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        runs.setdefault(b["run_name"], []).append(b["real_time"] * scale[b.get("time_unit", "ns")])
    for name, times in sorted(runs.items()):
        m = re.match(r"^(\w+)/simdrop/f32/n:(\d+)/p:\d+/threads:(\d+)", name)
        if m:
            info["results"].append({"op": m.group(1), "bytes": int(m.group(2)) * 4, "threads": int(m.group(3)),
                                    "median_s": statistics.median(times), "runs": len(times)})
    if not info["results"]:
        info["error"] = f"simdrop_bench ran no case matching {pattern} (sizes outside its grid, or p not 10/30/50/90%)"
    return info


def overheads(data):
    """sdt.dropout's forward + backward median / (C++ forward median + C++ backward median), per allocator, size,
    threads; and the same for the two passes in place (the binding without allocation)."""
    cpp = {(r["op"], r["bytes"], r["threads"]): r["median_s"] for r in data["cpp"]["results"]}
    parts = {(r["allocator"], r["bytes"], r["threads"]): r for r in data["parts"]}
    rows = []
    for r in data["results"]:
        if r["impl"] != "simdrop":
            continue
        fwd, bwd = cpp.get(("forward", r["bytes"], r["threads"])), cpp.get(("backward_regen", r["bytes"], r["threads"]))
        if fwd is None or bwd is None:
            continue
        part = parts.get((r["allocator"], r["bytes"], r["threads"]), {})
        rows.append({"allocator": r["allocator"], "bytes": r["bytes"], "threads": r["threads"], "sdt_s": r["median_s"],
                     "cpp_forward_s": fwd, "cpp_backward_s": bwd, "ratio": r["median_s"] / (fwd + bwd),
                     "inplace_ratio": 2 * part["inplace_s"] / (fwd + bwd) if part else None})
    return rows


def run_child(args, allocator, jemalloc):
    """This script again in a process started with `allocator` (LD_PRELOAD), its measurements back as a dict."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, f"{allocator}.json")
        cmd = [sys.executable, os.path.abspath(__file__), "--allocator", allocator, "--child-json", out,
               "--sizes-mib", *map(str, args.sizes_mib), "--threads", *map(str, args.threads), "--p", str(args.p),
               "--reps", str(args.reps), "--budget-s", str(args.budget_s)]
        env = child_env(allocator, jemalloc, args.jemalloc_conf if allocator == "jemalloc" else None)
        print(f"== allocator {allocator}: a child process" +
              (f" with LD_PRELOAD={env.get('LD_PRELOAD')}" if allocator == "jemalloc" else " without jemalloc") +
              (f", MALLOC_CONF={env['MALLOC_CONF']}" if allocator == "jemalloc" and env.get("MALLOC_CONF") else ""),
              flush=True)
        proc = subprocess.run(cmd, env=env)
        if proc.returncode != 0 or not os.path.exists(out):
            raise SystemExit(f"torch_dropout_bench: the {allocator} child process failed ({proc.returncode})")
        with open(out) as f:
            return json.load(f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mib", type=float, nargs="+", default=[0.25, 4, 64, 256])
    parser.add_argument("--threads", type=int, nargs="+", default=None, help="default: 1 and os.cpu_count()")
    parser.add_argument("--p", type=float, default=0.3)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--budget-s", type=float, default=5.0, help="per (impl, size, threads), after 3 runs")
    parser.add_argument("--quick", action="store_true", help="0.25, 4 and 64 MiB, 5 runs each")
    parser.add_argument("--allocator", choices=("glibc", "jemalloc", "both"), default="both",
                        help="malloc under PyTorch's tensors: glibc's, jemalloc (LD_PRELOAD, a child process), both")
    parser.add_argument("--simdrop-bench", metavar="PATH", default=None,
                        help="the C++ benchmark binary, for the binding's overhead (default: "
                             "<build>/bench/simdrop_bench beside the imported simdrop package; 'none' to skip)")
    parser.add_argument("--jemalloc-conf", metavar="MALLOC_CONF", default=None,
                        help="jemalloc's options (MALLOC_CONF) for the jemalloc process (default: this environment's "
                             "MALLOC_CONF, if any). With its default options jemalloc 5.3 gives a freed 64 MiB "
                             "tensor's pages back at once, so the next one is page-faulted anew as with glibc; "
                             "'dirty_decay_ms:-1,muzzy_decay_ms:-1' keeps them for reuse")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--out", help="write torch_dropout.{json,md,png} into this folder")
    parser.add_argument("--child-json", help=argparse.SUPPRESS)  # internal: a child's measurements go here
    args = parser.parse_args()
    if args.quick:
        args.sizes_mib, args.reps = [0.25, 4, 64], 5
    args.threads = args.threads or sorted({1, os.cpu_count() or 1})
    here = allocator_in_use()

    if args.child_json:  # a child: measure with the allocator this process was started with
        if here != args.allocator:
            raise SystemExit(f"torch_dropout_bench: child for {args.allocator} runs with {here} (LD_PRELOAD "
                             f"{os.environ.get('LD_PRELOAD')!r})")
        data = measure(args, here)
        with open(args.child_json, "w") as f:
            json.dump(data, f)
        return 0

    jemalloc = find_jemalloc()
    wanted = list(ALLOCATORS) if args.allocator == "both" else [args.allocator]
    data = {"context": {"torch": torch.__version__, "simdrop": torch.ops.simdrop.version(),
                        "python": sys.version.split()[0], "machine": platform.machine(),
                        "cpu_count": os.cpu_count(), "host": platform.node(),
                        "load_average": os.getloadavg()},
            "p": args.p, "reps": args.reps, "threads": args.threads, "sizes_mib": args.sizes_mib,
            "jemalloc": {"path": jemalloc, "note": None if jemalloc else
                         "libjemalloc.so.2 not found: no jemalloc column (Debian: apt-get install libjemalloc2)"},
            "allocators": [], "skipped_allocators": {}, "results": [], "parts": [], "by_allocator": {}}
    if "jemalloc" in wanted and not jemalloc:
        print("note: jemalloc not measured: libjemalloc.so.2 not found in the multiarch library folder or by "
              "ldconfig -p (Debian: apt-get install libjemalloc2)", flush=True)
        data["skipped_allocators"]["jemalloc"] = data["jemalloc"]["note"]
        wanted.remove("jemalloc")
    if not wanted:
        raise SystemExit("torch_dropout_bench: nothing to measure")

    # The C++ library first (a separate process; its buffers are reused, whatever the allocator).
    path = None if args.simdrop_bench == "none" else (args.simdrop_bench or default_simdrop_bench())
    data["cpp"] = run_simdrop_bench(path, [int(s * 2**20) for s in args.sizes_mib], args.threads, args.p, args.reps)
    if data["cpp"].get("error"):
        print(f"note: binding overhead not measured: {data['cpp']['error']}", flush=True)
    else:
        print("C++ library (simdrop_bench, medians, ms): " + ", ".join(
            f"{r['op']} {r['bytes'] / 2**20:g}MiB/{r['threads']}t {1e3 * r['median_s']:.3f}"
            for r in data["cpp"]["results"]), flush=True)

    for allocator in wanted:
        if allocator == here:
            print(f"== allocator {allocator}: this process", flush=True)
            part = measure(args, allocator)
        else:
            part = run_child(args, allocator, jemalloc)
        data["allocators"].append(allocator)
        data["results"] += part["results"]
        data["parts"] += part["parts"]
        data["by_allocator"][allocator] = {k: part[k] for k in ("call_overhead_us", "inplace",
                                                               "saved_bytes_per_element", "env")}
    first = data["by_allocator"][data["allocators"][0]]
    data["saved_bytes_per_element"] = first["saved_bytes_per_element"]
    data["call_overhead_us"] = first["call_overhead_us"]
    data["overhead"] = overheads(data)
    data["targets"] = targets(data)

    if data["overhead"]:
        print("binding overhead, sdt fwd+bwd / (C++ forward + C++ backward): " + ", ".join(
            f"{o['allocator']} {o['bytes'] / 2**20:g}MiB/{o['threads']}t {o['ratio']:.2f}x "
            f"(in place {o['inplace_ratio']:.2f}x)" for o in data["overhead"]))
    for name, entry in data["targets"].items():
        print(f"target {name} {entry['target']}: " + ", ".join(
            f"{a} {'-' if entry.get(a) is None else ('met' if entry[a]['met'] else 'MISSED')}"
            for a in data["allocators"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "torch_dropout.json"), "w") as f:
            json.dump(data, f, indent=1)
        write_section(data, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
