"""The report's pictures of the first run (matplotlib, through Report.picture), each with the table it
explains where it has one: throughput, speed-up, time relative to copy, thread scaling, mask memory, copy
bandwidth by size."""
import statistics

from .formatting import BASELINES, bytes_label, g, impl_sorted, ratio, size_label
from .runs import is_path_impl, size_bytes, where_arrays_live
from .stats import copy_key

COLORS = {"simdrop": "tab:blue", "simdrop_philox7": "tab:orange", "simdrop_ars5": "tab:brown",
          "simdrop_unfused": "tab:cyan", "copy": "black", "torch": "tab:red", "composed": "tab:olive",
          "eigen": "tab:green", "naive": "tab:purple"}


class Pictures:
    """Sections of Report (document.py) that are pictures; self.plt is pyplot."""

    def throughput_pictures(self):
        run, plt = self.runs[0], self.plt
        ops = run.catalog.core
        rows = max(1, (len(ops) + 1) // 2)  # two a row
        fig, axes = plt.subplots(rows, 2, figsize=(12, 4.25 * rows))
        for ax in list(axes.flat)[len(ops):]:
            ax.axis("off")
        for ax, op in zip(axes.flat, ops):
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
        for op in [op for op in run.catalog.core if op != "mask"]:
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
