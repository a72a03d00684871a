"""Tests of reports/simdrop_report.py on small simdrop_bench-like JSON files written here.

Run: python3 tests/reports/test_simdrop_report.py   (ctest runs it)
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "reports", "simdrop_report.py")
sys.path.insert(0, os.path.dirname(SCRIPT))
import simdrop_report  # noqa: E402

CONTEXT = {"date": "2026-11-27T00:00:00+00:00", "host_name": "testhost", "num_cpus": 2, "mhz_per_cpu": 2600,
           "cpu_model": "Test CPU", "simdrop_isa": "avx2", "simdrop_supported_isas": "scalar,sse2,avx2",
           "l1d_bytes": "32768", "l2_bytes": "1048576", "l3_bytes": "33554432", "cache_source": "cpuid",
           "compiler": "GNU 12.2.0", "cxx_flags": "-O3", "simdrop_version": "0.1.0", "tbb_version": "2021.8",
           "eigen_version": "3.4.0", "torch_version": "1.13.0", "benchmark_version": "1.7.1", "profile": "quick",
           # The DRAM arrays (64 MiB) are only 2x this L3: the report must say so.
           "size_in_cache_bytes": "262144", "size_dram_bytes": "67108864", "stream_threshold_bytes": "16777216",
           "simdrop_calibration": "mask/cache/sse2=1.5;mask/cache/avx2=2.6;fused/cache/sse2=1.1;fused/cache/avx2=2.1;"
                                  "apply/cache/sse2=5;apply/cache/avx2=6.8;gaussian/cache/sse2=0.18;"
                                  "gaussian/cache/avx2=0.44;fused/memory/sse2=0.97;fused/memory/avx2=1.55;"
                                  "apply/memory/sse2=2.3;apply/memory/avx2=2.2",
           "simdrop_calibration_seconds": "0.164",
           **{f"simdrop_choice_{w}_{c}": "avx2" for w in ("mask", "fused", "apply", "gaussian")
              for c in ("cache", "memory")},
           "simdrop_choice_apply_memory": "sse2",
           # The bench's op table and element types (issue #21): the report reads the names from these.
           "simdrop_ops": "mask:core,forward:core,backward_mask:core,backward_regen:core,channel:family,"
                          "shared:family,alpha:family,gaussian:family,bias_dropout_add:family",
           "simdrop_dtypes": "f32,f64,bf16,f16"}
# G elements/s of forward at (in cache, DRAM): simdrop is 50x naive, copy 2x simdrop.
SPEED = {"simdrop": 3.0, "simdrop_unfused": 2.5, "copy": 6.0, "naive": 0.06, "eigen": 0.075, "torch": 0.08}
# The way copy's floor won with, by size (the bench's label).
COPY_WAY = {65536: "plain", 16777216: "stream256"}
# G elements/s of simdrop with each path forced, by op: against the default's 3.0, forward's avx2 path is 1.2x
# faster (the default is marked), backward_mask's within 10%, and mask's default is the fastest.
PATH_SPEED = {"forward": {"sse2": 1.5, "avx2": 3.6}, "backward_mask": {"sse2": 1.6, "avx2": 3.1},
              "mask": {"sse2": 1.4, "avx2": 2.9}}


def entry(name, ips, reps, r, label, **counters):
    """One repetition of benchmark `name` at ips elements/s, as simdrop_bench writes it (n from the name)."""
    n = int(name.split("n:")[1].split("/")[0])
    e = {"name": name, "run_name": name, "run_type": "iteration", "repetitions": reps, "repetition_index": r,
         "iterations": 10, "real_time": n / ips * 1e6, "cpu_time": n / ips * 1e6, "time_unit": "us",
         "items_per_second": ips, "bytes_per_second": ips * 8, "label": label}
    e.update(counters)
    return e


def path_entries(reps=5, paths=PATH_SPEED):
    """simdrop_<path> (one ISA path forced) for the paths table: paths ({op: {path: G el/s}}), at both sizes and
    threads."""
    out = []
    for op, speeds in paths.items():
        for path, v in speeds.items():
            for n in (65536, 16777216):
                for threads in (1, 2):
                    name = f"{op}/simdrop_{path}{'' if op == 'mask' else '/f32'}/n:{n}/p:30/threads:{threads}/real_time"
                    out += [entry(name, v * 1e9 * (1 + 0.01 * (r - reps // 2)), reps, r, f"forced; path {path}",
                                  keep_fraction=0.7, keep_z=0.1, mean_z=0.0, var_z=0.0, var_ratio=1.0)
                            for r in range(reps)]
    return out


def bench_entries(speed_scale=1.0, reps=5, jitter=0.01, paths=PATH_SPEED):
    out = []
    for op in ("forward", "backward_mask", "backward_regen", "mask"):
        for impl, v in SPEED.items():
            if op == "backward_regen" and impl in ("eigen", "torch"):
                continue
            for n in (65536, 16777216):
                for threads in ((1, 2) if impl in ("simdrop", "copy", "torch", "simdrop_unfused") else (1,)):
                    dtype = "" if op == "mask" else "/f32"
                    name = f"{op}/{impl}{dtype}/n:{n}/p:30/threads:{threads}/real_time"
                    scale = speed_scale if impl == "simdrop" else 1.0
                    for r in range(reps):
                        ips = v * 1e9 * scale * threads ** 0.5 * (1 + jitter * (r - reps // 2))
                        e = entry(name, ips, reps, r, COPY_WAY[n] if impl == "copy" else impl,
                                  mask_bytes_per_element=0.125 if impl.startswith("simdrop") else (
                                      4.0 if impl == "torch" else 1.0))
                        if impl != "copy":
                            e.update({"keep_fraction": 0.7001, "keep_z": 0.3, "mean_z": -0.5, "var_z": 0.2,
                                      "var_ratio": 1.001})
                        out.append(e)
                    out.append({"name": name + "_median", "run_name": name, "run_type": "aggregate",
                                "aggregate_name": "median", "items_per_second": v * 1e9})
    out += family_entries(reps) + path_entries(reps, paths)
    return out


# G elements/s of the family's forward passes: simdrop 4x composed, 20x torch, 3x copy's time.
FAMILY_SPEED = {"simdrop": 2.0, "composed": 0.5, "torch": 0.1, "copy": 6.0}


def family_entries(reps=5):
    out = []
    for op in ("channel", "shared", "alpha", "gaussian", "bias_dropout_add"):
        for impl, v in FAMILY_SPEED.items():
            for n in (65536, 16777216):
                for threads in (1, 2):
                    name = f"{op}/{impl}/f32/n:{n}/p:30/threads:{threads}/real_time"
                    for r in range(reps):
                        e = entry(name, v * 1e9, reps, r, COPY_WAY[n] if impl == "copy" else impl)
                        if impl != "copy":
                            e.update({"keep_fraction": 1.0 if op == "gaussian" else 0.7, "keep_z": 0.1,
                                      "mean_z": 0.4 if op == "gaussian" else 0.0, "var_z": 0.0, "var_ratio": 1.0})
                        out.append(e)
    return out


def write_json(folder, name, entries, context=CONTEXT):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        json.dump({"context": context, "benchmarks": entries}, f)
    return path


def run_report(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, timeout=300)


class Report(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.run1 = write_json(cls.tmp.name, "machine-a.json", bench_entries())
        cls.out = os.path.join(cls.tmp.name, "report")
        cls.proc = run_report(cls.run1, "--out", cls.out)
        with open(os.path.join(cls.out, "report.md")) as f:
            cls.md = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_exit_status_and_files(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        for png in ("throughput_by_size.png", "bandwidth_by_size.png", "speedup.png", "relative_to_copy.png",
                    "thread_scaling.png", "mask_memory.png", "family.png"):
            path = os.path.join(self.out, png)
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", png)
            self.assertIn(f"]({png})", self.md)
        self.assertTrue(os.path.exists(os.path.join(self.out, "raw", "machine-a.json")))

    def machine_row(self, title):
        section = self.md.split("## Machine and build")[1].split("\n## ")[0]
        return next(line for line in section.splitlines() if line.startswith(f"| {title}"))

    def test_machine_section(self):
        for text in ("Test CPU", "avx2", "GNU 12.2.0", "2021.8 / 3.4.0 / 1.13.0", "Copy bandwidth"):
            self.assertIn(text, self.md)
        # copy at DRAM, 2 threads: 6e9 * sqrt(2) elements/s * 8 bytes = 67.9 GB/s
        self.assertIn("67.9 GB/s", self.md)
        self.assertIn("| 32 KiB / 1 MiB / 32 MiB (cpuid) |", self.machine_row("Caches"))
        # 64 MiB arrays against a 32 MiB L3: only 2x, said as such.
        arrays = self.machine_row("Arrays")
        self.assertIn("in cache 256 KiB; DRAM 64 MiB", arrays)
        self.assertIn("only 2x the L3", arrays)
        self.assertIn("0.16 s", self.machine_row("Path calibration"))

    def test_calibration_table(self):
        section = self.md.split("Path calibration (G elements/s")[1].split("\n## ")[0]
        lines = section.splitlines()
        self.assertIn("| work | size class | sse2 | avx2 | chosen |", lines)
        self.assertIn("| fused | memory | 0.97 | 1.55 | avx2 |", lines)
        self.assertIn("| apply | memory | 2.3 | 2.2 | sse2 |", lines)
        self.assertIn("| mask | memory | - | - | avx2 |", lines)   # chosen without a measurement
        self.assertEqual(len([l for l in lines if l.startswith("| ") and "|---" not in l]), 1 + 8)

    def test_unknown_caches_and_old_context(self):
        context = {k: v for k, v in CONTEXT.items() if not k.startswith(("simdrop_c", "cache_source", "size_"))}
        context["l3_bytes"] = "0"
        path = write_json(self.tmp.name, "old.json", bench_entries(reps=1), context)
        out = os.path.join(self.tmp.name, "old")
        proc = run_report(path, "--out", out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(os.path.join(out, "report.md")) as f:
            md = f.read()
        self.assertIn("| 32 KiB / 1 MiB / unknown |", md)
        self.assertNotIn("0 KiB", md)
        self.assertIn("(L3 unknown)", md)
        self.assertNotIn("Path calibration (G elements/s", md)
        # Without the context's choices, the paths table says it does not know the default's path.
        row = next(l for l in md.splitlines() if l.startswith("| forward | in cache (256 KiB) | 1 |"))
        self.assertIn("| ? |", row)

    def summary_row(self, op, threads, impl):
        section = self.md.split(f"### {op}, {threads} thread")[1].split("\n### ")[0]
        row = next(line for line in section.splitlines() if line.startswith(f"| {impl} "))
        return [c.strip() for c in row.split("|")]

    def test_summary_numbers(self):
        cells = self.summary_row("forward", 1, "simdrop")
        self.assertEqual(cells[2], "3")                  # G el/s in cache
        self.assertEqual(cells[4], "50x / 50x")          # over naive
        self.assertEqual(cells[5], "40x / 40x")          # over eigen
        self.assertEqual(cells[6], "37.5x / 37.5x")      # over torch
        self.assertEqual(cells[7], "2x / 2x")            # time relative to copy
        # The copy row names the way that won, in cache / DRAM; the forced paths have no rows here.
        self.assertEqual(self.summary_row("forward", 1, "copy")[1], "copy (plain / stream256)")
        section = self.md.split("## Summary by op")[1].split("\n## ")[0]
        self.assertNotIn("simdrop_avx2", section)
        self.assertNotIn("simdrop_sse2", section)

    def test_roofline(self):
        # forward: its floor is the slower of mask generation (3 G el/s) and copy (6): 3 / 3 = 1.00, on target.
        self.assertEqual(self.summary_row("forward", 1, "simdrop")[8], "1.00 (<= 1.1) / 1.00 (<= 1.1)")
        # backward_mask is held to copy alone: 6 / 3 = 2.00, over 1.1 and marked.
        self.assertEqual(self.summary_row("backward_mask", 2, "simdrop")[8],
                         "**2.00 (over 1.1)** / **2.00 (over 1.1)**")
        self.assertEqual(self.summary_row("mask", 1, "simdrop")[8], "no target")
        self.assertEqual(self.summary_row("forward", 1, "copy")[8], "")   # simdrop's rows only
        family = self.md.split("## The dropout family")[1].split("### 1 thread")[1].split("### 2 threads")[0]
        rows = {tuple(c.strip() for c in l.split("|")[1:4]): [c.strip() for c in l.split("|")]
                for l in family.splitlines() if l.startswith("| ") and "---" not in l}
        # alpha (2 G el/s) draws a bit per element: floor min(copy 6, mask 3) = 3, 3 / 2 = 1.5.
        self.assertEqual(rows[("alpha", "simdrop", "f32")][9], "**1.50 (over 1.1)** / **1.50 (over 1.1)**")
        # channel is held to copy: 6 / 2 = 3, target 1.15.
        self.assertEqual(rows[("channel", "simdrop", "f32")][9], "**3.00 (over 1.15)** / **3.00 (over 1.15)**")
        self.assertEqual(rows[("gaussian", "simdrop", "f32")][9], "no target")

    def test_isa_paths_table(self):
        section = self.md.split("## ISA paths side by side")[1].split("\n## ")[0]
        lines = section.splitlines()
        self.assertIn("| op | size | threads | sse2 | avx2 | default | default's path (work, class) | verdict |", lines)
        rows = {tuple(c.strip() for c in l.split("|")[1:4]): [c.strip() for c in l.split("|")[4:-1]]
                for l in lines if l.startswith("| ") and "---" not in l and not l.startswith("| op")}
        self.assertEqual(len(rows), 3 * 2 * 2)   # op x size x threads
        # forward, 1 thread: avx2 forced 3.6 against the default's 3: 1.2x its time, marked.
        fwd = rows[("forward", "in cache (256 KiB)", "1")]
        self.assertEqual(fwd[:3], ["1.5", "3.6", "3"])
        self.assertEqual(fwd[3], "avx2 (fused, cache)")
        # 5 repetitions a side, separated: p = 2 / C(10, 5) = 0.0079; avx2 is the default's own choice here.
        self.assertEqual(fwd[4], "**default takes 1.20x the time of avx2** (its own path: drift between the two "
                                 "benchmarks, p = 0.0079)")
        # 2 threads: the default (3 sqrt 2 = 4.24) beats every forced path.
        self.assertEqual(rows[("forward", "in cache (256 KiB)", "2")][4], "default is fastest")
        # backward_mask: 3.1 against 3, within 10%; at 64 MiB the output is in the memory class, chosen sse2.
        bwd = rows[("backward_mask", "DRAM (64 MiB)", "1")]
        self.assertEqual(bwd[3], "sse2 (apply, memory)")
        self.assertEqual(bwd[4], "default within 10% of avx2 (1.03x its time)")
        # mask at the DRAM size writes a 2 MiB bit mask: the cache class.
        self.assertEqual(rows[("mask", "DRAM (16,777,216 elements)", "1")][3], "avx2 (mask, cache)")

    def test_bandwidth_by_size(self):
        section = self.md.split("## Copy bandwidth by size")[1].split("\n## ")[0]
        self.assertIn("](bandwidth_by_size.png)", section)
        rows = [[c.strip() for c in l.split("|")] for l in section.splitlines() if l.startswith("| ")
                and "---" not in l and not l.startswith("| bytes")]
        # 256 KiB arrays: both in the 1 MiB L2; 64 MiB: beyond the 32 MiB L3. Copy's way named per size.
        self.assertEqual([r[1:3] for r in rows], [["256 KiB", "L2"], ["64 MiB", "DRAM"]])
        self.assertEqual([r[5] for r in rows], ["plain", "stream256"])
        self.assertEqual(rows[0][3], "6")        # copy G el/s
        self.assertEqual(rows[0][4], "48")       # GB/s: 8 bytes per element here
        self.assertEqual(rows[0][7], "2x")       # simdrop's time over copy's

    def test_expectation_section(self):
        self.assertIn("## Expectation preservation", self.md)
        line = next(l for l in self.md.splitlines() if l.startswith("| 30% | simdrop |"))
        self.assertIn("0.70010 (0.70)", line)
        self.assertTrue(line.rstrip().endswith("| ok |"), line)

    def test_spread_section(self):
        self.assertIn("## Spread and significance", self.md)
        line = next(l for l in self.md.splitlines() if l.startswith("| `forward/simdrop/f32/16777216/30/1`"))
        self.assertIn("slower than copy, significant", line)

    def test_family_section(self):
        self.assertIn("## The dropout family", self.md)
        self.assertIn("](family.png)", self.md)
        section = self.md.split("## The dropout family")[1].split("\n## ")[0]
        row = next(l for l in section.splitlines() if l.startswith("| alpha | simdrop | f32 |"))
        cells = [c.strip() for c in row.split("|")]
        self.assertEqual(cells[4], "2")            # G el/s in cache
        self.assertEqual(cells[6], "4x / 4x")      # over the composition
        self.assertEqual(cells[7], "20x / 20x")    # over torch
        self.assertEqual(cells[8], "3x / 3x")      # time relative to copy
        validation = section.split("Validation before timing")[1]
        line = next(l for l in validation.splitlines() if l.startswith("| gaussian | simdrop |"))
        self.assertTrue(line.rstrip().endswith("| ok |"), line)
        # The core ops' expectation table does not mix in the family (Gaussian keeps every element).
        expectation = self.md.split("## Expectation preservation")[1].split("\n## ")[0]
        self.assertNotIn("composed", expectation)

    def test_failed_family_check_is_flagged(self):
        entries = bench_entries()
        for e in entries:
            if e["run_name"].startswith("gaussian/torch/"):
                e["var_z"] = -7.5
        path = write_json(self.tmp.name, "bad-family.json", entries)
        out = os.path.join(self.tmp.name, "bad-family")
        self.assertEqual(run_report(path, "--out", out).returncode, 0)
        with open(os.path.join(out, "report.md")) as f:
            md = f.read()
        validation = md.split("Validation before timing")[1]
        line = next(l for l in validation.splitlines() if l.startswith("| gaussian | torch |"))
        self.assertIn("**FAILED**", line)
        self.assertIn("7.50", line)

    def test_failed_check_is_flagged(self):
        entries = bench_entries()
        for e in entries:
            if e["run_name"].startswith("forward/naive/"):
                e["keep_z"] = 9.0
        path = write_json(self.tmp.name, "bad-stats.json", entries)
        out = os.path.join(self.tmp.name, "bad-stats")
        self.assertEqual(run_report(path, "--out", out).returncode, 0)
        with open(os.path.join(out, "report.md")) as f:
            md = f.read()
        line = next(l for l in md.splitlines() if l.startswith("| 30% | naive |"))
        self.assertIn("**FAILED**", line)


# The 16-bit types (256 KiB and 64 MiB arrays: 131072 and 33554432 elements), G elements/s: simdrop's bf16 forward
# at 2.4 against mask's 3.0 at the same elements and copy's 6.0 (roofline 3.0 / 2.4 = 1.25, over 1.1), f16 at 2.9
# (1.03, met); backward_mask 5.8 against copy (1.03, met); PyTorch's bf16 dropout 0.04 (60x), its f16 rows skipped.
HALF_N = (131072, 33554432)
HALF_SPEED = {("forward", "bf16"): 2.4, ("forward", "f16"): 2.9, ("backward_mask", "bf16"): 5.8,
              ("backward_mask", "f16"): 5.8, ("alpha", "bf16"): 2.0, ("alpha", "f16"): 2.0}
TORCH_REFUSES = "skipped: PyTorch 1.13.0 refuses Half: \"bernoulli_scalar_cpu_\" not implemented for 'Half'"


def half_entries(reps=5, torch_bf16=0.04):
    out = []
    for n in HALF_N:
        for threads in (1, 2):
            name = f"mask/simdrop/n:{n}/p:30/threads:{threads}/real_time"
            out += [entry(name, 3.0e9, reps, r, "bit mask", keep_fraction=0.7, keep_z=0.1) for r in range(reps)]
            for (op, dt), v in HALF_SPEED.items():
                stats = dict(keep_fraction=0.7, keep_z=0.1, mean_z=0.0, var_z=0.0, var_ratio=1.0)
                for impl, speed in (("simdrop", v), ("copy", 6.0)):
                    name = f"{op}/{impl}/{dt}/n:{n}/p:30/threads:{threads}/real_time"
                    out += [entry(name, speed * 1e9, reps, r, "memcpy" if impl == "copy" else impl,
                                  **({} if impl == "copy" else stats)) for r in range(reps)]
                name = f"{op}/torch/{dt}/n:{n}/p:30/threads:{threads}/real_time"
                if dt == "f16":
                    out.append({"name": name, "run_name": name, "run_type": "iteration", "error_occurred": True,
                                "error_message": TORCH_REFUSES})
                elif torch_bf16:
                    out += [entry(name, torch_bf16 * 1e9, reps, r, "torch::dropout (train)", **stats)
                            for r in range(reps)]
    return out


class HalfPrecision(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.md = cls.report(bench_entries() + half_entries(), "half")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    @classmethod
    def report(cls, entries, name):
        path = write_json(cls.tmp.name, f"{name}.json", entries)
        out = os.path.join(cls.tmp.name, name)
        proc = run_report(path, "--out", out)
        if proc.returncode != 0:
            raise AssertionError(proc.stderr)
        with open(os.path.join(out, "report.md")) as f:
            return f.read()

    def rows(self, section, first_cells):
        """{tuple of the first first_cells cells: [every cell]} of the table rows in section."""
        return {tuple(c.strip() for c in l.split("|")[1:1 + first_cells]): [c.strip() for c in l.split("|")[1:-1]]
                for l in section.splitlines() if l.startswith("| ") and "---" not in l}

    def test_dtypes_side_by_side(self):
        section = self.md.split("## bfloat16 and float16")[1].split("### Targets")[0]
        header = next(l for l in section.splitlines() if l.startswith("| op |"))
        self.assertIn("| f32 G el/s | f32 / copy | f32 roofline | f32 x torch | bf16 G el/s | bf16 / copy "
                      "| bf16 roofline | bf16 x torch | f16 G el/s |", header)
        rows = self.rows(section, 3)
        # The size is bytes of one array: 64 MiB for every type (fp32's 16,777,216 elements, bf16's 33,554,432).
        fwd = rows[("forward", "DRAM (64 MiB)", "1")]
        self.assertEqual(fwd[3:7], ["3", "2x", "1.00", "37.5x"])        # f32, as in the summary
        self.assertEqual(fwd[7:11], ["2.4", "2.5x", "**1.25**", "60x"])  # bf16: over 1.1, bold
        self.assertEqual(fwd[11:15], ["2.9", "2.07x", "1.03", "skipped"])
        self.assertEqual(fwd[15], "<= 1.1")
        # backward_mask is held to copy alone: 6 / 5.8.
        self.assertEqual(rows[("backward_mask", "in cache (256 KiB)", "2")][9], "1.03")

    def test_targets(self):
        section = self.md.split("### Targets of issue 11")[1].split("\n### ")[0]
        rows = self.rows(section, 5)
        self.assertEqual(rows[("roofline", "forward", "bf16", "DRAM (64 MiB)", "1")][5:], ["1.25", "<= 1.1",
                                                                                           "**not met**"])
        self.assertEqual(rows[("roofline", "forward", "f16", "in cache (256 KiB)", "2")][5:], ["1.03", "<= 1.1",
                                                                                               "met"])
        self.assertEqual(rows[("roofline", "backward_mask", "f16", "DRAM (64 MiB)", "2")][7], "met")
        # bf16 and f16 x forward, backward_mask, alpha x 2 sizes x 2 thread counts; over: bf16's forward (4 rows)
        # and alpha of both types (2.0 against mask's 3.0: 1.5, 8 rows).
        roofline = [r for k, r in rows.items() if k[0] == "roofline"]
        self.assertEqual(len(roofline), 2 * 3 * 2 * 2)
        self.assertEqual(sum(r[7] == "met" for r in roofline), 24 - 4 - 8)
        self.assertEqual(rows[("roofline", "alpha", "f16", "DRAM (64 MiB)", "2")][5:], ["1.50", "<= 1.1", "**not met**"])
        self.assertIn("Roofline rows met: 12 of 24", section)
        torch = rows[("x PyTorch bf16 dropout", "forward", "bf16", "DRAM (64 MiB)", "1")]
        self.assertEqual(torch[5:], ["60x", ">= 50x", "met"])

    def test_torch_target_not_met_or_not_evaluated(self):
        slow = self.report(bench_entries(reps=1) + half_entries(reps=1, torch_bf16=0.08), "half-30x")
        row = next(l for l in slow.splitlines() if l.startswith("| x PyTorch bf16 dropout |"))
        self.assertIn("| 30x | >= 50x | **not met** |", row)
        entries = [e for e in bench_entries(reps=1) + half_entries(reps=1, torch_bf16=None)]
        name = f"forward/torch/bf16/n:{HALF_N[1]}/p:30/threads:1/real_time"
        entries.append({"name": name, "run_name": name, "run_type": "iteration", "error_occurred": True,
                        "error_message": "skipped: PyTorch 1.13.0 refuses BFloat16: no kernel"})
        md = self.report(entries, "half-no-torch")
        row = next(l for l in md.splitlines() if l.startswith("| x PyTorch bf16 dropout |"))
        self.assertIn("| n/a | >= 50x | not evaluated (skipped: PyTorch 1.13.0 refuses BFloat16: no kernel) |", row)

    def test_forward_copy_is_the_floor_of_ops_without_their_own(self):
        # The quick profile runs one 16-bit copy (forward's) for every op that writes y from x alone.
        entries = [e for e in bench_entries(reps=1) + half_entries(reps=1)
                   if not (e["run_name"].split("/")[1] == "copy" and e["run_name"].split("/")[2] in ("bf16", "f16")
                           and not e["run_name"].startswith("forward/"))]
        md = self.report(entries, "half-one-copy")
        section = md.split("## bfloat16 and float16")[1].split("### Targets")[0]
        rows = self.rows(section, 3)
        self.assertEqual(rows[("backward_mask", "in cache (256 KiB)", "2")][8:10], ["1.03x", "1.03"])
        self.assertEqual(rows[("alpha", "DRAM (64 MiB)", "1")][8:10], ["3x", "**1.50**"])

    def test_skipped_rows_with_their_reason(self):
        section = self.md.split("### Rows skipped")[1].split("\n## ")[0]
        rows = self.rows(section, 2)
        # 3 ops x 2 sizes x 2 thread counts of PyTorch's float16, one reason.
        self.assertEqual(rows[("torch", "f16")], ["torch", "f16", "12", "forward, backward_mask, alpha",
                                                  TORCH_REFUSES[len("skipped: "):]])
        self.assertEqual(len(rows), 2)   # the header and that row
        # Skipped rows are not failures: the list of errors leaves them out.
        self.assertNotIn("Benchmarks that reported an error", self.md)

    def test_family_table_has_the_16_bit_rows(self):
        section = self.md.split("## The dropout family")[1].split("\n## ")[0]
        row = next(l for l in section.split("### 1 thread")[1].splitlines() if l.startswith("| alpha | simdrop | bf16 |"))
        cells = [c.strip() for c in row.split("|")]
        self.assertEqual(cells[4], "2")            # G el/s in cache
        self.assertEqual(cells[7], "50x / 50x")    # over PyTorch's bf16 (0.04)

    def test_no_16_bit_section_without_16_bit_rows(self):
        with open(os.path.join(self.tmp.name, "half", "raw", "half.json")) as f:
            self.assertIn("bf16", f.read())
        md = self.report(bench_entries(reps=1), "f32-only")
        self.assertNotIn("## bfloat16 and float16", md)


# An aarch64 run (the bench built for aarch64 with its NEON path): the paths are the context's "scalar,neon", the
# forced path is simdrop_neon, the caches come from sysfs and copy's streaming way is "stnp". No x86 name appears.
ARM_CONTEXT = dict(CONTEXT, cpu_model="Arm Neoverse-N1", simdrop_isa="neon", simdrop_supported_isas="scalar,neon",
                   cache_source="sysfs",
                   simdrop_calibration="mask/cache/neon=1.9;fused/cache/neon=1.6;apply/cache/neon=5.5;"
                                       "gaussian/cache/neon=0.3;fused/memory/neon=1.2;apply/memory/neon=2.5",
                   **{f"simdrop_choice_{w}_{c}": "neon" for w in ("mask", "fused", "apply", "gaussian")
                      for c in ("cache", "memory")})
ARM_PATH_SPEED = {"forward": {"neon": 3.6}, "backward_mask": {"neon": 3.1}, "mask": {"neon": 2.9}}


def arm_entries(reps=5):
    """bench_entries with simdrop_neon forced (ARM_PATH_SPEED) instead of the x86 paths, and copy's "stnp" way."""
    return [dict(e, label="stnp") if e.get("label") == "stream256" else e
            for e in bench_entries(reps=reps, paths=ARM_PATH_SPEED)]


class ArmPaths(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        run = write_json(cls.tmp.name, "arm.json", arm_entries(), ARM_CONTEXT)
        cls.out = os.path.join(cls.tmp.name, "report")
        cls.proc = run_report(run, "--out", cls.out)
        with open(os.path.join(cls.out, "report.md")) as f:
            cls.md = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_renders_without_x86_names(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        self.assertIn("Arm Neoverse-N1", self.md)
        for x86 in ("sse2", "avx2", "avx512", "stream256"):
            self.assertNotIn(x86, self.md)

    def test_machine_and_calibration(self):
        machine = self.md.split("## Machine and build")[1].split("\n## ")[0]
        self.assertIn("| ISA paths supported | scalar,neon |", machine)
        self.assertIn("(sysfs) |", machine)
        section = self.md.split("Path calibration (G elements/s")[1].split("\n## ")[0]
        lines = section.splitlines()
        self.assertIn("| work | size class | neon | chosen |", lines)
        self.assertIn("| fused | memory | 1.2 | neon |", lines)
        self.assertIn("| mask | memory | - | neon |", lines)

    def test_isa_paths_table(self):
        section = self.md.split("## ISA paths side by side")[1].split("\n## ")[0]
        lines = section.splitlines()
        self.assertIn("| op | size | threads | neon | default | default's path (work, class) | verdict |", lines)
        rows = {tuple(c.strip() for c in l.split("|")[1:4]): [c.strip() for c in l.split("|")[4:-1]]
                for l in lines if l.startswith("| ") and "---" not in l and not l.startswith("| op")}
        self.assertEqual(len(rows), 3 * 2 * 2)   # op x size x threads
        fwd = rows[("forward", "in cache (256 KiB)", "1")]
        self.assertEqual(fwd[:2], ["3.6", "3"])
        self.assertEqual(fwd[2], "neon (fused, cache)")
        self.assertTrue(fwd[3].startswith("**default takes 1.20x the time of neon**"), fwd[3])

    def test_forced_path_has_no_summary_rows(self):
        section = self.md.split("## Summary by op")[1].split("\n## ")[0]
        self.assertIn("| simdrop ", section)
        self.assertNotIn("simdrop_neon", section)
        self.assertIn("copy (plain / stnp)", section)


class Comparison(unittest.TestCase):
    def test_two_runs_side_by_side_with_significance(self):
        with tempfile.TemporaryDirectory() as tmp:
            a = write_json(tmp, "machine-a.json", bench_entries(reps=9))
            b = write_json(tmp, "machine-b.json", bench_entries(speed_scale=2.0, reps=9),
                           dict(CONTEXT, host_name="otherhost", cpu_model="Other CPU"))
            out = os.path.join(tmp, "cmp")
            proc = run_report(a, b, "--out", out)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            with open(os.path.join(out, "report.md")) as f:
                md = f.read()
            self.assertIn("## Runs side by side", md)
            self.assertIn("| machine-a | machine-b |", md.replace(" | Test CPU", ""))
            self.assertIn("Other CPU", md)
            side = md.split("## Runs side by side")[1]
            fast = next(l for l in side.splitlines() if l.startswith("| `forward/simdrop/f32/65536/30/1` |"))
            self.assertIn("2.000x", fast)
            self.assertIn("significant", fast)
            self.assertNotIn("not significant", fast)
            same = next(l for l in side.splitlines() if l.startswith("| `forward/naive/f32/65536/30/1` |"))
            self.assertIn("1.000x", same)
            self.assertIn("not significant", same)
            self.assertEqual(len(os.listdir(os.path.join(out, "raw"))), 2)


class Helpers(unittest.TestCase):
    def load(self, context, entries=None):
        with tempfile.TemporaryDirectory() as tmp:
            return simdrop_report.Run(write_json(tmp, "run.json", entries or bench_entries(reps=1), context), "run")

    def test_dram_arrays_in_dram(self):
        run = self.load(dict(CONTEXT, l3_bytes=str(16 << 20)))   # 64 MiB arrays = 4x a 16 MiB L3
        self.assertEqual(simdrop_report.Report.array_sizes(run), "in cache 256 KiB; DRAM 64 MiB (4x the L3: in DRAM)")
        # Where the input and the output together fit: 2 x 8 MiB in the 16 MiB L3, 2 x 16 MiB beyond it.
        self.assertEqual(simdrop_report.where_arrays_live(16 << 20, run), "DRAM")
        self.assertEqual(simdrop_report.where_arrays_live(8 << 20, run), "L3")
        self.assertEqual(simdrop_report.where_arrays_live(16 << 10, run), "L1")

    def test_path_verdict(self):
        verdict = simdrop_report.path_verdict
        default = [2.9, 3.0, 3.1]
        self.assertEqual(verdict(default, {"sse2": [1.0], "avx2": [3.3]}, "avx2"),
                         "default within 10% of avx2 (1.10x its time)")
        # Over 10%: marked, with the Mann-Whitney p of 3 against 3 separated samples (0.1).
        self.assertEqual(verdict(default, {"sse2": [1.0], "avx2": [3.3, 3.4, 3.5]}, "sse2"),
                         "**default takes 1.13x the time of avx2** (p = 0.1)")
        self.assertEqual(verdict(default, {"sse2": [1.0], "avx2": [3.3, 3.4, 3.5]}, "avx2"),
                         "**default takes 1.13x the time of avx2** (its own path: drift between the two benchmarks, "
                         "p = 0.1)")
        self.assertEqual(verdict(default, {"sse2": [1.0], "avx2": []}, "avx2"), "default is fastest")
        self.assertEqual(verdict([], {"avx2": [3.0]}, "avx2"), "n/a")

    def test_parse_calibration_skips_bad_items(self):
        table = simdrop_report.parse_calibration("mask/cache/avx2=2.5;junk;fused/memory/sse2=x;apply/cache/sse2=4")
        self.assertEqual(dict(table), {("mask", "cache"): {"avx2": 2.5}, ("apply", "cache"): {"sse2": 4.0}})

    def test_roofline_needs_the_mask_time(self):
        entries = [e for e in bench_entries(reps=1) if not e["run_name"].startswith("mask/simdrop/")]
        run = self.load(CONTEXT, entries)
        key = ("forward", "simdrop", "f32", 65536, 30, 1)
        self.assertIsNone(simdrop_report.roofline(run, key))          # forward's floor needs mask's time
        self.assertEqual(simdrop_report.roofline(run, ("backward_mask",) + key[1:]), (2.0, 1.1))


# A bench with one more family op and one more element type than today's: the context lists them, so the report
# reads them without knowing their names.
EXTRA_CONTEXT = dict(CONTEXT, simdrop_ops=CONTEXT["simdrop_ops"] + ",dropconnect:family",
                     simdrop_dtypes=CONTEXT["simdrop_dtypes"] + ",i8")


def extra_entries(reps=1):
    """bench_entries with dropconnect (f32, as family_entries writes an op) and forward of simdrop and copy on i8."""
    out = bench_entries(reps=reps)
    for impl, v in FAMILY_SPEED.items():
        for n in (65536, 16777216):
            for threads in (1, 2):
                name = f"dropconnect/{impl}/f32/n:{n}/p:30/threads:{threads}/real_time"
                out += [entry(name, v * 1e9, reps, r, impl, **({} if impl == "copy" else dict(
                    keep_fraction=0.7, keep_z=0.1, mean_z=0.0, var_z=0.0, var_ratio=1.0))) for r in range(reps)]
    for impl in ("simdrop", "copy"):
        name = f"forward/{impl}/i8/n:262144/p:30/threads:1/real_time"
        out += [entry(name, 4e9, reps, r, impl) for r in range(reps)]
    return out


class NamesFromTheContext(unittest.TestCase):
    def load(self, context, entries):
        with tempfile.TemporaryDirectory() as tmp:
            return simdrop_report.Run(write_json(tmp, "run.json", entries, context), "run")

    def test_ops_and_dtypes_the_context_lists_are_read(self):
        run = self.load(EXTRA_CONTEXT, extra_entries())
        self.assertEqual(run.catalog.family, ["channel", "shared", "alpha", "gaussian", "bias_dropout_add",
                                              "dropconnect"])
        self.assertEqual(len(run.keys(op="dropconnect", impl="simdrop")), 4)   # 2 sizes x 2 thread counts
        self.assertEqual(run.keys(op="forward", dtype="i8"), [("forward", "copy", "i8", 262144, 30, 1),
                                                              ("forward", "simdrop", "i8", 262144, 30, 1)])
        # The core ops in the report's order (mask last, the others are read against it), the 16-bit types.
        self.assertEqual(run.catalog.core, ["forward", "backward_mask", "backward_regen", "mask"])
        self.assertEqual(run.catalog.half_dtypes, ["bf16", "f16"])

    def test_ops_the_context_does_not_list_are_not_read(self):
        context = dict(CONTEXT, simdrop_ops=CONTEXT["simdrop_ops"].replace(",gaussian:family", ""))
        run = self.load(context, extra_entries())
        self.assertEqual(run.keys(op="gaussian"), [])
        self.assertEqual(run.keys(op="dropconnect"), [])
        self.assertEqual(run.keys(dtype="i8"), [])
        self.assertTrue(run.keys(op="alpha"))

    def test_report_shows_an_op_it_does_not_name(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "report")
            proc = run_report(write_json(tmp, "extra.json", extra_entries(), EXTRA_CONTEXT), "--out", out)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            with open(os.path.join(out, "report.md")) as f:
                md = f.read()
        family = md.split("## The dropout family")[1].split("\n## ")[0]
        row = next(l for l in family.split("### 1 thread")[1].splitlines() if l.startswith("| dropconnect | simdrop |"))
        self.assertEqual([c.strip() for c in row.split("|")][6], "4x / 4x")    # over its composition
        validation = family.split("Validation before timing")[1]
        self.assertTrue(validation.index("| bias_dropout_add | simdrop |") < validation.index("| dropconnect |"))


class MannWhitney(unittest.TestCase):
    def test_exact_values(self):
        # Complete separation of 3 and 3: P(U = 0) = 1 / C(6, 3) = 1/20, two-sided 0.1.
        self.assertAlmostEqual(simdrop_report.mann_whitney_p([1, 2, 3], [4, 5, 6]), 0.1)
        # 9 vs 9 separated: 2 / C(18, 9) = 4.1e-5.
        self.assertAlmostEqual(simdrop_report.mann_whitney_p(list(range(9)), list(range(10, 19))), 2 / 48620)
        # Interleaved samples: no evidence.
        self.assertGreater(simdrop_report.mann_whitney_p([1, 3, 5, 7], [2, 4, 6, 8]), 0.5)

    def test_ties_use_the_normal_approximation(self):
        p = simdrop_report.mann_whitney_p([1, 1, 2, 2, 3] * 4, [5, 5, 6, 6, 7] * 4)
        self.assertLess(p, 1e-5)
        self.assertEqual(simdrop_report.mann_whitney_p([1, 1, 1], [1, 1, 1]), 1.0)


class BadInput(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = os.path.join(self.tmp.name, "out")
        os.makedirs(self.out)
        with open(os.path.join(self.out, "report.md"), "w") as f:
            f.write("previous report\n")

    def tearDown(self):
        self.tmp.cleanup()

    def assert_refused(self, path, expected):
        proc = run_report(path, "--out", self.out)
        self.assertEqual(proc.returncode, 2)
        lines = proc.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, proc.stderr)          # one line, no traceback
        self.assertIn(path, lines[0])
        self.assertIn(expected, lines[0])
        self.assertNotIn("Traceback", proc.stderr)
        with open(os.path.join(self.out, "report.md")) as f:  # nothing already there was overwritten
            self.assertEqual(f.read(), "previous report\n")
        self.assertEqual(os.listdir(self.out), ["report.md"])

    def test_missing_file(self):
        self.assert_refused(os.path.join(self.tmp.name, "nope.json"), "no such file")

    def test_truncated_file(self):
        good = write_json(self.tmp.name, "good.json", bench_entries(reps=1))
        with open(good) as f:
            text = f.read()
        path = os.path.join(self.tmp.name, "truncated.json")
        with open(path, "w") as f:
            f.write(text[: len(text) // 2])
        self.assert_refused(path, "not valid JSON")

    def test_empty_file(self):
        path = os.path.join(self.tmp.name, "empty.json")
        open(path, "w").close()
        self.assert_refused(path, "empty file")

    def test_json_that_is_not_a_benchmark(self):
        path = os.path.join(self.tmp.name, "package.json")
        with open(path, "w") as f:
            json.dump({"name": "left-pad", "version": "1.0.0"}, f)
        self.assert_refused(path, "not a Google Benchmark JSON")

    def test_benchmark_json_of_another_suite(self):
        path = write_json(self.tmp.name, "other.json", [{"name": "BM_memcpy/8", "run_name": "BM_memcpy/8",
                                                         "run_type": "iteration", "real_time": 1.0}])
        self.assert_refused(path, "no simdrop_bench results")

    def test_run_that_predates_the_op_list(self):
        context = {k: v for k, v in CONTEXT.items() if k not in ("simdrop_ops", "simdrop_dtypes")}
        path = write_json(self.tmp.name, "old-bench.json", bench_entries(reps=1), context)
        self.assert_refused(path, "its context has no simdrop_ops or simdrop_dtypes")
        proc = run_report(path, "--out", self.out)
        self.assertIn("predates the key", proc.stderr)
        path = write_json(self.tmp.name, "no-dtypes.json", bench_entries(reps=1),
                          {k: v for k, v in CONTEXT.items() if k != "simdrop_dtypes"})
        self.assert_refused(path, "its context has no simdrop_dtypes (")

    def test_malformed_op_list(self):
        path = write_json(self.tmp.name, "bad-ops.json", bench_entries(reps=1),
                          dict(CONTEXT, simdrop_ops="mask:core,forward"))
        self.assert_refused(path, "simdrop_ops item 'forward' is not a new name:group")
        path = write_json(self.tmp.name, "bad-dtypes.json", bench_entries(reps=1),
                          dict(CONTEXT, simdrop_dtypes="f32,half"))
        self.assert_refused(path, "simdrop_dtypes names 'half'")

    def test_runs_that_list_different_ops(self):
        good = write_json(self.tmp.name, "good.json", bench_entries(reps=1))
        other = write_json(self.tmp.name, "other-bench.json", extra_entries(), EXTRA_CONTEXT)
        proc = run_report(good, other, "--out", self.out)
        self.assertEqual(proc.returncode, 2)
        lines = proc.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertIn(f"{other}: its context lists other ops or element types than {good}", lines[0])
        with open(os.path.join(self.out, "report.md")) as f:
            self.assertEqual(f.read(), "previous report\n")

    def test_one_bad_file_among_good_ones(self):
        good = write_json(self.tmp.name, "good.json", bench_entries(reps=1))
        proc = run_report(good, os.path.join(self.tmp.name, "missing.json"), "--out", self.out)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("missing.json: no such file", proc.stderr)
        with open(os.path.join(self.out, "report.md")) as f:
            self.assertEqual(f.read(), "previous report\n")

    def test_good_input_replaces_the_old_report(self):
        good = write_json(self.tmp.name, "good.json", bench_entries(reps=1))
        proc = run_report(good, "--out", self.out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(os.path.join(self.out, "report.md")) as f:
            self.assertIn("# simdrop performance report", f.read())
        leftovers = [n for n in os.listdir(self.tmp.name) if n.startswith(".report-")]
        self.assertEqual(leftovers, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
