"""The PyTorch benchmark's results against issue #20's targets, and its report section (torch_dropout.md, a table
per allocator and the binding's overhead; torch_dropout.png, G elements/s against size): what
bench/torch_dropout_bench.py writes with --out, and ./scripts/report.sh appends to its report.
"""
import os

TARGET_SPEEDUP = 10.0       # sdt fwd+bwd >= 10x F.dropout's at 64 MiB fp32, 1 thread, either allocator
TARGET_OVERHEAD = 1.3       # sdt fwd+bwd <= 1.3x the C++ library's forward + regenerated backward
TARGET_CALL_US = 10.0       # <= 10 us per forward call on 1 KiB
TARGET_BYTES = 64 << 20     # the size the speed-up target is set at


def targets(data):
    """Issue #20's speed targets, met or not (None where not measured)."""
    by = {(r["impl"], r["allocator"], r["bytes"], r["threads"]): r["median_s"] for r in data["results"]}
    t = {"speedup_64mib_1thread": {"target": f">= {TARGET_SPEEDUP:g}x"},
         "binding_overhead": {"target": f"<= {TARGET_OVERHEAD:g}x"},
         "call_us_1kib": {"target": f"<= {TARGET_CALL_US:g} us"},
         "inplace_allocates_no_output": {"target": "0 bytes of output"}}
    for a in data["allocators"]:
        f, s = by.get(("torch", a, TARGET_BYTES, 1)), by.get(("simdrop", a, TARGET_BYTES, 1))
        t["speedup_64mib_1thread"][a] = None if f is None else {"speedup": f / s, "met": f / s >= TARGET_SPEEDUP}
        ratios = [o["ratio"] for o in data["overhead"] if o["allocator"] == a]
        at64 = [o["ratio"] for o in data["overhead"] if o["allocator"] == a and o["bytes"] == TARGET_BYTES
                and o["threads"] == 1]
        t["binding_overhead"][a] = None if not ratios else {
            "max": max(ratios), "at_64mib_1thread": at64[0] if at64 else None,
            "met": (at64[0] if at64 else max(ratios)) <= TARGET_OVERHEAD,
            "met_at_every_size": max(ratios) <= TARGET_OVERHEAD}
        us = data["by_allocator"][a]["call_overhead_us"]["simdrop"]
        t["call_us_1kib"][a] = {"us": us, "met": us <= TARGET_CALL_US}
        ip = data["by_allocator"][a]["inplace"]
        # The profiler also sees small bookkeeping allocations (autograd's node): "no output" means less than
        # one output's bytes, and the result being the input's memory.
        small = max(ip["inplace"]["allocated_bytes"], ip["inplace_autograd"]["allocated_bytes"])
        t["inplace_allocates_no_output"][a] = {
            "allocated_bytes": small,
            "met": small < ip["bytes"] and ip["inplace"]["same_data_ptr"] and ip["inplace_autograd"]["same_data_ptr"]}
    return t


# ---- the report section -------------------------------------------------------------------------------------

def write_section(data, out):
    """torch_dropout.md (tables) and torch_dropout.png (picture) for the report."""
    allocators = data["allocators"]
    rows = sorted({(r["bytes"], r["threads"]) for r in data["results"]})
    by = {(r["impl"], r["allocator"], r["bytes"], r["threads"]): r for r in data["results"]}
    extra = data["by_allocator"]
    jem = data["jemalloc"]
    if "jemalloc" in extra:
        conf = extra["jemalloc"]["env"].get("MALLOC_CONF")
        jem_note = (f"jemalloc: `LD_PRELOAD={extra['jemalloc']['env'].get('LD_PRELOAD')}`, " +
                    (f"`MALLOC_CONF={conf}`" if conf else "its default options"))
    elif jem["path"]:
        jem_note = "jemalloc: not asked for"
    else:
        jem_note = "jemalloc: **not measured**, libjemalloc.so.2 not found (Debian: `apt-get install libjemalloc2`)"
    lines = ["## simdrop in PyTorch: `F.dropout` against `sdt.dropout`, forward + backward", "",
             f"PyTorch {data['context']['torch']}, simdrop {data['context']['simdrop']}, fp32, p = {data['p']}, "
             f"medians of up to {data['reps']} runs, each allocator in its own process ({jem_note}). "
             f"Saved for backward: F.dropout {data['saved_bytes_per_element']['torch']:g} B/element, sdt.dropout "
             f"{data['saved_bytes_per_element']['simdrop']:g} B/element.", ""]
    head = "| size | threads |" + "".join(f" F.dropout ms ({a}) | sdt.dropout ms ({a}) | speed-up ({a}) |"
                                        for a in allocators)
    lines += [head, "|---|---|" + "---|---|---|" * len(allocators)]
    for size, threads in rows:
        cells = ""
        for a in allocators:
            t, s = by.get(("torch", a, size, threads)), by.get(("simdrop", a, size, threads))
            cells += (f" {1e3 * t['median_s']:.2f} | {1e3 * s['median_s']:.3f} | {t['median_s'] / s['median_s']:.1f}x |"
                      if t and s else " - | - | - |")
        lines.append(f"| {size / 2**20:g} MiB | {threads} |{cells}")
    tg = data["targets"]
    lines += ["", f"Targets (issue #20): speed-up {tg['speedup_64mib_1thread']['target']} at 64 MiB, 1 thread; binding "
              f"overhead {tg['binding_overhead']['target']}; {tg['call_us_1kib']['target']} per call on 1 KiB; "
              "`inplace=True` allocating no output.", ""]
    lines += ["| target | " + " | ".join(allocators) + " |", "|---|" + "---|" * len(allocators)]

    def mark(entry, text):
        return "-" if entry is None else f"{text} ({'met' if entry['met'] else '**missed**'})"

    lines.append("| speed-up at 64 MiB, 1 thread | " + " | ".join(
        mark(tg["speedup_64mib_1thread"].get(a), f"{tg['speedup_64mib_1thread'][a]['speedup']:.1f}x"
             if tg["speedup_64mib_1thread"].get(a) else "") for a in allocators) + " |")
    lines.append("| binding overhead at 64 MiB, 1 thread (max over sizes) | " + " | ".join(
        mark(tg["binding_overhead"].get(a), (f"{tg['binding_overhead'][a]['at_64mib_1thread']:.2f}x"
             if tg["binding_overhead"][a]["at_64mib_1thread"] else "-") +
             f" ({tg['binding_overhead'][a]['max']:.2f}x)" if tg["binding_overhead"].get(a) else "")
        for a in allocators) + " |")
    lines.append("| per call, forward on 1 KiB (F.dropout: " + ", ".join(
        f"{extra[a]['call_overhead_us']['torch']:.1f} us" for a in allocators) + ") | " + " | ".join(
        mark(tg["call_us_1kib"][a], f"{tg['call_us_1kib'][a]['us']:.1f} us") for a in allocators) + " |")
    lines.append("| `inplace=True` on 4 MiB: bytes allocated (out of place: " + ", ".join(
        f"{extra[a]['inplace']['out_of_place']['allocated_bytes']} B" for a in allocators) + ") | " + " | ".join(
        mark(tg["inplace_allocates_no_output"][a],
             f"{extra[a]['inplace']['inplace']['allocated_bytes']} B, with autograd "
             f"{extra[a]['inplace']['inplace_autograd']['allocated_bytes']} B, result is the input's memory: "
             f"{'yes' if extra[a]['inplace']['inplace']['same_data_ptr'] else 'no'}") for a in allocators) + " |")
    cpp = data["cpp"]
    lines += [""]
    if cpp.get("error"):
        lines += [f"Binding overhead: not measured ({cpp['error']}).", ""]
    else:
        lines += ["Binding overhead: `sdt.dropout` forward + backward (fresh output and gradient, autograd) against "
                  "the C++ library's `dropout_forward` + regenerated `dropout_backward` (simdrop_bench, buffers "
                  "reused), same run. \"In place\": the same two passes through the binding on kept tensors (no "
                  "allocation); faults: minor page faults per forward + backward.", "",
                  "| size | threads | C++ fwd ms | C++ bwd ms |" + "".join(
                      f" sdt ms ({a}) | ratio ({a}) | in place ratio ({a}) | faults ({a}) |" for a in allocators),
                  "|---|---|---|---|" + "---|---|---|---|" * len(allocators)]
        ov = {(o["allocator"], o["bytes"], o["threads"]): o for o in data["overhead"]}
        for size, threads in rows:
            o0 = next((ov[(a, size, threads)] for a in allocators if (a, size, threads) in ov), None)
            if o0 is None:
                continue
            cells = ""
            for a in allocators:
                o = ov.get((a, size, threads))
                s = by.get(("simdrop", a, size, threads))
                cells += (f" {1e3 * o['sdt_s']:.3f} | {o['ratio']:.2f}x | {o['inplace_ratio']:.2f}x | "
                          f"{s['minflt_per_run']:.0f} |" if o else " - | - | - | - |")
            lines.append(f"| {size / 2**20:g} MiB | {threads} | {1e3 * o0['cpp_forward_s']:.3f} | "
                         f"{1e3 * o0['cpp_backward_s']:.3f} |{cells}")
        lines.append("")
    lines += ["![F.dropout and sdt.dropout, forward + backward](torch_dropout.png)", ""]
    with open(os.path.join(out, "torch_dropout.md"), "w") as f:
        f.write("\n".join(lines))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    styles = {"glibc": "-", "jemalloc": "--"}
    for impl, label in (("torch", "F.dropout"), ("simdrop", "sdt.dropout")):
        for threads in sorted({r["threads"] for r in data["results"]}):
            color = None
            for a in allocators:
                pts = sorted((r["bytes"], r["g_el_per_s"]) for r in data["results"]
                             if r["impl"] == impl and r["threads"] == threads and r["allocator"] == a)
                if not pts:
                    continue
                line, = ax.plot([b / 2**20 for b, _ in pts], [g for _, g in pts], marker="o", linestyle=styles[a],
                                color=color, label=f"{label}, {threads} thread{'s' if threads > 1 else ''}, {a}")
                color = line.get_color()
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("tensor size (MiB, fp32)")
    ax.set_ylabel("G elements/s, forward + backward")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "torch_dropout.png"), dpi=120)


# ---- main ---------------------------------------------------------------------------------------------------
