"""The report's tables of the first run: machine and build, path calibration, headline, summary by op, by p,
ISA paths, expectation preservation, spread and significance."""
import statistics
from collections import defaultdict

from .formatting import BASELINES, IMPL_ORDER, bytes_label, g, impl_sorted, ratio, roofline_cell, size_label
from .runs import PATH_OPS, SKIPPED, WORKS, default_path, is_path_impl, parse_calibration, size_bytes
from .stats import ALPHA, ROOFLINE, copy_key, mann_whitney_p, path_verdict, roofline, spread, worst_z


class Tables:
    """Sections of Report (document.py) that are tables; they write with self.w."""

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
        for op in run.catalog.core:
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
        for op in run.catalog.core:
            for dtype in (*run.catalog.dtypes, "-"):
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
            if k[0] in run.catalog.core and k[0] != "mask" and "keep_fraction" in entries[0]:
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
