#!/usr/bin/python3
"""PyTorch's F.dropout against simdrop.torch's sdt.dropout, forward + backward on CPU tensors, as PyTorch users
call them (x.requires_grad, y = dropout(x), y.backward(dy)); 1 thread and all threads; the bytes each saves for
backward per element (counted with torch.autograd.graph.saved_tensors_hooks); the Python call overhead of a
forward on a 1 KiB tensor. Medians of repeated runs; ratios = F.dropout's median / sdt.dropout's.

    PYTHONPATH=<build>/python /usr/bin/python3 bench/torch_dropout_bench.py [--quick] [--sizes-mib ...]
        [--threads 1 2] [--p 0.3] [--reps 5] [--json out.json] [--out DIR]

--out DIR writes torch_dropout.json, torch_dropout.md (a report section with a table) and torch_dropout.png
(G elements/s against size) there; scripts/report.sh does this for its report.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn.functional as F

import simdrop.torch as sdt

SEED = 1234


def fwd_bwd(impl, p):
    if impl == "torch":
        return lambda x, dy: F.dropout(x, p, training=True).backward(dy)
    return lambda x, dy: sdt.dropout(x, p, SEED, 0).backward(dy)


def saved_bytes_per_element(impl, p, n=1 << 16):
    """Bytes of the tensors autograd saves for backward, per element of x."""
    saved = []

    def pack(t):
        saved.append(t.numel() * t.element_size())
        return t

    x = torch.randn(n, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = F.dropout(x, p, training=True) if impl == "torch" else sdt.dropout(x, p, SEED, 0)
    y.backward(torch.ones_like(y))
    return sum(saved) / n


def time_fwd_bwd(impl, p, elements, reps, budget_s):
    """Median and min seconds of one forward + backward; at least 3 runs, up to `reps` within the budget."""
    x = torch.randn(elements, requires_grad=True)
    dy = torch.randn(elements)
    run = fwd_bwd(impl, p)
    run(x, dy)  # warm-up (and simdrop's one-time path calibration)
    times = []
    start = time.perf_counter()
    while len(times) < reps and (len(times) < 3 or time.perf_counter() - start < budget_s):
        x.grad = None
        t0 = time.perf_counter()
        run(x, dy)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), len(times)


def call_overhead_us(impl, p, calls=20000):
    """Median microseconds per forward call on a 1 KiB fp32 tensor (no grad), over 5 batches of calls."""
    x = torch.randn(256)
    f = (lambda: F.dropout(x, p, training=True)) if impl == "torch" else (lambda: sdt.dropout(x, p, SEED, 0))
    for _ in range(1000):
        f()
    batches = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(calls):
            f()
        batches.append((time.perf_counter() - t0) / calls * 1e6)
    return statistics.median(batches)


def write_section(data, out):
    """torch_dropout.md (table) and torch_dropout.png (picture) for the report."""
    rows = sorted({(r["bytes"], r["threads"]) for r in data["results"]})
    by = {(r["impl"], r["bytes"], r["threads"]): r for r in data["results"]}
    lines = ["## simdrop in PyTorch: `F.dropout` against `sdt.dropout`, forward + backward", "",
             f"PyTorch {data['context']['torch']}, simdrop {data['context']['simdrop']}, fp32, p = {data['p']}, "
             f"medians of up to {data['reps']} runs. Saved for backward: F.dropout "
             f"{data['saved_bytes_per_element']['torch']:g} B/element, sdt.dropout "
             f"{data['saved_bytes_per_element']['simdrop']:g} B/element. Python call overhead (1 KiB, forward): "
             f"F.dropout {data['call_overhead_us']['torch']:.1f} us, sdt.dropout "
             f"{data['call_overhead_us']['simdrop']:.1f} us.", "",
             "| size | threads | F.dropout ms | sdt.dropout ms | F.dropout G el/s | sdt.dropout G el/s | speed-up |",
             "|---|---|---|---|---|---|---|"]
    for size, threads in rows:
        t, s = by[("torch", size, threads)], by[("simdrop", size, threads)]
        lines.append(f"| {size / 2**20:g} MiB | {threads} | {1e3 * t['median_s']:.2f} | {1e3 * s['median_s']:.3f} | "
                     f"{t['g_el_per_s']:.3f} | {s['g_el_per_s']:.2f} | {t['median_s'] / s['median_s']:.0f}x |")
    lines += ["", "![F.dropout and sdt.dropout, forward + backward](torch_dropout.png)", ""]
    with open(os.path.join(out, "torch_dropout.md"), "w") as f:
        f.write("\n".join(lines))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    for impl, label in (("torch", "F.dropout"), ("simdrop", "sdt.dropout")):
        for threads in sorted({r["threads"] for r in data["results"]}):
            pts = sorted((r["bytes"], r["g_el_per_s"]) for r in data["results"]
                         if r["impl"] == impl and r["threads"] == threads)
            ax.plot([b / 2**20 for b, _ in pts], [g for _, g in pts], marker="o",
                    label=f"{label}, {threads} thread{'s' if threads > 1 else ''}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("tensor size (MiB, fp32)")
    ax.set_ylabel("G elements/s, forward + backward")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "torch_dropout.png"), dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mib", type=float, nargs="+", default=[0.25, 4, 64, 256])
    parser.add_argument("--threads", type=int, nargs="+", default=None, help="default: 1 and os.cpu_count()")
    parser.add_argument("--p", type=float, default=0.3)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--budget-s", type=float, default=5.0, help="per (impl, size, threads), after 3 runs")
    parser.add_argument("--quick", action="store_true", help="0.25, 4 and 64 MiB, 3 runs each")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--out", help="write torch_dropout.{json,md,png} into this folder")
    args = parser.parse_args()
    if args.quick:
        args.sizes_mib, args.reps = [0.25, 4, 64], 3
    threads_list = args.threads or sorted({1, os.cpu_count() or 1})
    before = torch.get_num_threads()
    data = {"context": {"torch": torch.__version__, "simdrop": torch.ops.simdrop.version(), "python": sys.version.split()[0],
                        "machine": platform.machine(), "cpu_count": os.cpu_count(), "host": platform.node()},
            "p": args.p, "reps": args.reps, "results": []}
    torch.set_num_threads(1)
    data["saved_bytes_per_element"] = {impl: saved_bytes_per_element(impl, args.p) for impl in ("torch", "simdrop")}
    data["call_overhead_us"] = {impl: call_overhead_us(impl, args.p) for impl in ("torch", "simdrop")}
    print(f"saved for backward (bytes/element): F.dropout {data['saved_bytes_per_element']['torch']:g}, "
          f"sdt.dropout {data['saved_bytes_per_element']['simdrop']:g}")
    print(f"call overhead, forward on 1 KiB (us, median): F.dropout {data['call_overhead_us']['torch']:.1f}, "
          f"sdt.dropout {data['call_overhead_us']['simdrop']:.1f}")
    print(f"{'size':>9} {'thr':>3} {'F.dropout ms':>13} {'sdt ms':>9} {'F G el/s':>9} {'sdt G el/s':>10} {'ratio':>7}")
    for size_mib in args.sizes_mib:
        size = int(size_mib * 2**20)
        elements = size // 4
        for threads in threads_list:
            torch.set_num_threads(threads)
            medians = {}
            for impl in ("torch", "simdrop"):
                median, best, n = time_fwd_bwd(impl, args.p, elements, args.reps, args.budget_s)
                medians[impl] = median
                data["results"].append({"impl": impl, "bytes": size, "elements": elements, "threads": threads,
                                        "median_s": median, "min_s": best, "runs": n,
                                        "g_el_per_s": elements / median / 1e9})
            print(f"{size_mib:>6g}MiB {threads:>3} {1e3 * medians['torch']:>13.2f} {1e3 * medians['simdrop']:>9.3f} "
                  f"{elements / medians['torch'] / 1e9:>9.3f} {elements / medians['simdrop'] / 1e9:>10.2f} "
                  f"{medians['torch'] / medians['simdrop']:>6.0f}x", flush=True)
    torch.set_num_threads(before)
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
