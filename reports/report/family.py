"""The dropout family's section: each forward pass of simdrop/family.hpp against its composition and PyTorch,
its validation, and a picture of time relative to copy."""
from collections import defaultdict

from .formatting import IMPL_ORDER, g, impl_sorted, ratio
from .pictures import COLORS
from .stats import copy_key, floor_key, worst_z

# The baselines each family op is held against.
FAMILY_BASELINES = ["composed", "torch"]


class Family:
    """The family section of Report (document.py)."""

    def family(self):
        run = self.runs[0]
        ops = [op for op in run.catalog.family if run.keys(op=op)]
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
                for dtype in run.catalog.dtypes:
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
        for (op, impl) in sorted(by, key=lambda x: (run.catalog.family.index(x[0]),
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
