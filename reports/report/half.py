"""The 16-bit types' section (issue 11): simdrop by element type beside fp32, issue 11's targets and the rows an
implementation refused."""
from collections import defaultdict

from .formatting import bytes_label, g, ratio, size_label
from .runs import SKIPPED, size_bytes
from .stats import ROOFLINE, floor_key, roofline

# Issue 11's second target: simdrop's bf16 forward at the DRAM size, 1 thread, at least this many times PyTorch's.
TORCH_BF16_TARGET = 50


class HalfPrecision:
    """The 16-bit section of Report (document.py)."""

    def half_precision(self):
        """The 16-bit types beside fp32 (dtypes_table), issue 11's targets (half_targets) and the rows an
        implementation refused (skipped_rows)."""
        run = self.runs[0]
        if not any(k[2] in run.catalog.half_dtypes for k in list(run.samples) + list(run.errors)):
            return
        self.w("## bfloat16 and float16")
        self.w()
        self.dtypes_table(run)
        self.half_targets(run)
        self.skipped_rows(run)

    def dtypes_table(self, run):
        """simdrop's rows of each op by size class and threads, fp32 and the 16-bit types side by side."""
        dtypes = [d for d in ("f32", *run.catalog.half_dtypes) if run.keys(impl="simdrop", dtype=d)]
        ops = [op for op in run.catalog.ops if op != "mask"
               and any(run.keys(op=op, impl="simdrop", dtype=d, p=30) for d in run.catalog.half_dtypes)]
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
        for op in [o for o in run.catalog.ops if o in ROOFLINE]:
            for d in run.catalog.half_dtypes:
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
            ops = ", ".join(sorted({k[0] for k in keys}, key=lambda o: run.catalog.ops.index(o)))
            self.w(f"| {impl} | {d} | {len(keys)} | {ops} | {why} |")
        self.w()
