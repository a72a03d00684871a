"""simdrop_bench end to end: it lists every op x impl (the forced ISA paths, the bandwidth curve and the sizes
from the detected caches included) and dtype (f32, f64, bf16, f16), runs a tiny selection, writes JSON with the
counters, labels and run context (calibration, choices, caches) the report reads, and its validation rejects a
deliberately wrong kernel (fp32 and bfloat16).

Usage: python3 test_simdrop_bench.py PATH/TO/simdrop_bench  (ctest passes the path)
"""
import functools
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

BENCH = None
OPS_IMPLS = {
    "mask": {"simdrop", "simdrop_philox7", "simdrop_ars5", "naive", "eigen", "copy"},
    "forward": {"simdrop", "simdrop_philox7", "simdrop_ars5", "simdrop_unfused", "naive", "eigen", "copy"},
    "backward_mask": {"simdrop", "naive", "eigen", "copy"},
    "backward_regen": {"simdrop", "simdrop_philox7", "simdrop_ars5", "simdrop_unfused", "naive", "copy"},
}
FAMILY_OPS = ("channel", "shared", "alpha", "gaussian", "bias_dropout_add")
for _op in FAMILY_OPS:
    OPS_IMPLS[_op] = {"simdrop", "composed", "copy"}
TORCH_OPS = {"mask", "forward", "backward_mask", *FAMILY_OPS}
# The ops simdrop_<path> (one ISA path forced) runs: one of each kind of work the library chooses a path for.
PATH_OPS = {"mask", "forward", "backward_mask"}
# The element types and their bytes; the 16-bit ones in the quick profile: simdrop, copy and PyTorch.
DTYPE_BYTES = {"f32": 4, "f64": 8, "bf16": 2, "f16": 2}
HALF = ("bf16", "f16")
QUICK_HALF_IMPLS = {"simdrop", "copy", "torch"}
# The ways copy's floor may win with (its label), and the context's kinds of work and size classes.
COPY_WAYS = {"plain", "memcpy", "stream128", "stream256", "stream512"}
WORKS, SIZE_CLASSES = ("mask", "fused", "apply", "gaussian"), ("cache", "memory")


def run(*args):
    return subprocess.run([BENCH, *args], capture_output=True, text=True, timeout=600)


def run_json(*args):
    """(process, parsed --benchmark_out JSON) of a run with args."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "out.json")
        proc = run(*args, "--benchmark_out=" + path, "--benchmark_out_format=json")
        with open(path) as f:
            return proc, json.load(f)


@functools.lru_cache(maxsize=None)
def small_n():
    """fp32's in-cache element count of the quick profile (the bench's size_in_cache_bytes / 4, which follows
    the CPU's L2: 65536 with 512 KiB of L2, 262144 with 2 MiB), from its list: no run needed."""
    out = run("--benchmark_list_tests", "--benchmark_filter=^mask/simdrop/n:[0-9]+/p:30/threads:1/")
    assert out.returncode == 0, out.stderr
    return min(int(name.split("n:")[1].split("/")[0]) for name in out.stdout.split())


@functools.lru_cache(maxsize=None)
def context():
    """The JSON context of a run (one tiny case)."""
    proc, data = run_json(f"--benchmark_filter=^mask/simdrop/n:{small_n()}/p:30/threads:1/",
                          "--benchmark_min_time=0.001", "--benchmark_repetitions=1")
    assert proc.returncode == 0, proc.stderr
    return data["context"]


def simd_paths():
    """The SIMD paths this CPU runs (scalar left out): simdrop_<path> is listed for each."""
    return [p for p in context()["simdrop_supported_isas"].split(",") if p != "scalar"]


def listed(*args):
    """{(op, impl): [(dtype, n, p, threads)]} of --benchmark_list_tests."""
    out = run("--benchmark_list_tests", *args)
    assert out.returncode == 0, out.stderr
    cases = {}
    for name in out.stdout.split():
        parts = name.split("/")
        dtype = "-" if parts[0] == "mask" else parts[2]
        fields = dict(f.split(":") for f in parts if ":" in f)
        cases.setdefault((parts[0], parts[1]), []).append(
            (dtype, int(fields["n"]), int(fields["p"]), int(fields["threads"])))
    return cases


class ListTests(unittest.TestCase):
    def test_lists_every_op_and_impl(self):
        out = run("--benchmark_list_tests")
        self.assertEqual(out.returncode, 0, out.stderr)
        names = out.stdout.split()
        seen = {(n.split("/")[0], n.split("/")[1]) for n in names}
        for op, impls in OPS_IMPLS.items():
            for impl in impls:
                self.assertIn((op, impl), seen)
        if any(impl == "torch" for _, impl in seen):
            for op in TORCH_OPS:
                self.assertIn((op, "torch"), seen)
        # Names: <op>/<impl>/<dtype>/n:/p:/threads:/real_time, mask without dtype.
        for n in names:
            parts = n.split("/")
            self.assertEqual(parts[-1], "real_time", n)
            tail = parts[3:-1] if parts[0] != "mask" else parts[2:-1]
            self.assertEqual([t.split(":")[0] for t in tail], ["n", "p", "threads"], n)
            if parts[0] != "mask":
                self.assertIn(parts[2], DTYPE_BYTES, n)
        self.assertNotIn("broken_keep_all", out.stdout)  # test-only kernel needs --include_broken

    def test_forced_paths_are_listed(self):
        cases = listed()
        paths = simd_paths()
        self.assertTrue(paths)
        ctx = context()
        sizes = {int(ctx["size_in_cache_bytes"]) // 4, int(ctx["size_dram_bytes"]) // 4}
        threads = {1, int(ctx["tbb_max_threads"])}
        for path in paths:
            for op in PATH_OPS:
                got = cases[(op, f"simdrop_{path}")]
                # fp32 (or the mask's none), p = 30%, the in-cache and DRAM sizes, threads 1 and all.
                self.assertEqual(set(got), {("-" if op == "mask" else "f32", n, 30, t) for n in sizes for t in threads})
        self.assertNotIn(("forward", "simdrop_scalar"), cases)
        self.assertFalse({impl for (op, impl) in cases if impl.startswith("simdrop_") and op not in PATH_OPS}
                         & {f"simdrop_{p}" for p in paths})

    def test_sizes_follow_the_caches(self):
        ctx = context()
        l1d, l2, l3 = (int(ctx[k]) for k in ("l1d_bytes", "l2_bytes", "l3_bytes"))
        in_cache, dram = int(ctx["size_in_cache_bytes"]), int(ctx["size_dram_bytes"])
        if l2:   # the largest 4 KiB x 4^k whose two arrays fit in L2
            self.assertLessEqual(2 * in_cache, l2)
            self.assertGreater(2 * 4 * in_cache, l2)
        # DRAM: the smallest power of two of at least 4x the L3 (32 MiB where unknown), at most 256 MiB.
        want = 1 << 20
        while want < 4 * (l3 or 32 << 20) and want < 256 << 20:
            want *= 2
        self.assertEqual(dram, want)
        cases = listed()
        self.assertIn(("f32", dram // 4, 30, 1), cases[("forward", "simdrop")])
        # The bandwidth curve: forward of simdrop, copy and Eigen at 6 sizes at least, from both arrays in L1d to
        # the DRAM size, fp32, p = 30%, 1 thread.
        curves = [sorted({n for (dt, n, p, t) in cases[("forward", impl)] if (dt, p, t) == ("f32", 30, 1)})
                  for impl in ("simdrop", "copy", "eigen")]
        self.assertEqual(curves[0], curves[1])
        self.assertEqual(curves[0], curves[2])
        self.assertGreaterEqual(len(curves[0]), 6)
        self.assertEqual(curves[0][-1], dram // 4)
        self.assertLessEqual(2 * curves[0][0] * 4, l1d or 32 << 10)

    def test_full_profile_has_the_whole_grid(self):
        out = run("--profile=full", "--benchmark_list_tests")
        self.assertEqual(out.returncode, 0, out.stderr)
        names = out.stdout.split()
        sizes = {int(n.split("n:")[1].split("/")[0]) for n in names if n.startswith("forward/naive/f32/")}
        grid = {(4 << 10 << 2 * k) // 4 for k in range(9)}  # 4 KiB .. 256 MiB by 4, and the DRAM size
        self.assertEqual(sizes, grid | {int(context()["size_dram_bytes"]) // 4})
        ps = {n.split("p:")[1].split("/")[0] for n in names}
        self.assertTrue({"10", "50", "90"} <= ps)

    def test_full_profile_has_every_dtype_of_every_impl(self):
        cases = listed("--profile=full")
        for (op, impl) in [(op, impl) for op, impls in OPS_IMPLS.items() for impl in impls] + \
                [(op, "torch") for op in TORCH_OPS if ("forward", "torch") in cases]:
            if op == "mask":
                continue
            dtypes = {dt for (dt, n, p, t) in cases[(op, impl)]}
            want = {"f32", "bf16", "f16"} | ({"f64"} if impl not in ("composed", "torch") or op not in FAMILY_OPS
                                             else set())
            self.assertEqual(dtypes, want, (op, impl))
        # Every size is bytes of one array: a 16-bit case has twice fp32's elements.
        f32 = {n for (dt, n, p, t) in cases[("forward", "naive")] if dt == "f32"}
        bf16 = {n for (dt, n, p, t) in cases[("forward", "naive")] if dt == "bf16"}
        self.assertEqual(bf16, {2 * n for n in f32})

    def test_quick_profile_has_the_16_bit_types(self):
        ctx = context()
        cases = listed()
        sizes = [int(ctx["size_in_cache_bytes"]), int(ctx["size_dram_bytes"])]
        threads = {1, int(ctx["tbb_max_threads"])}
        torch = ("forward", "torch") in cases
        for dt in HALF:
            want = {(dt, b // 2, 30, t) for b in sizes for t in threads}
            for op in ("forward", "backward_mask", "backward_regen") + FAMILY_OPS:
                for impl in QUICK_HALF_IMPLS - ({"torch"} if not torch or op == "backward_regen" else set()):
                    got = {c for c in cases[(op, impl)] if c[0] == dt}
                    if impl == "copy" and op not in ("forward", "bias_dropout_add"):
                        # One 16-bit copy per size and threads for the ops that write y from x alone (the report
                        # reads forward's), and bias_dropout_add's own.
                        self.assertEqual(got, set(), (op, impl, dt))
                    elif impl == "torch" and op in FAMILY_OPS:
                        # PyTorch's 16-bit family runs in cache only in the quick profile (minutes at the DRAM size).
                        self.assertEqual(got, {c for c in want if c[1] == sizes[0] // 2}, (op, impl, dt))
                    else:
                        self.assertEqual(got, want, (op, impl, dt))
            # The other implementations run 16-bit in the full profile only.
            for impl in ("naive", "eigen", "composed", "simdrop_unfused", "simdrop_philox7", "simdrop_ars5"):
                self.assertFalse([c for op in OPS_IMPLS for c in cases.get((op, impl), []) if c[0] == dt], impl)
        # mask/simdrop at the 16-bit element counts (the floor of their roofline), threads 1 and all; no other mask
        # runs at them.
        masks = set(cases[("mask", "simdrop")])
        for b in sizes:
            for t in threads:
                self.assertIn(("-", b // 2, 30, t), masks)
        for impl in ("copy", "torch", "naive", "eigen"):
            self.assertFalse({c for c in cases.get(("mask", impl), []) if c[1] in {b // 2 for b in sizes}}, impl)
        # No p sweep for the 16-bit types in the quick profile.
        self.assertEqual({c[2] for op in OPS_IMPLS for c in cases.get((op, "simdrop"), []) if c[0] in HALF}, {30})

    def test_bad_profile_is_refused(self):
        out = run("--profile=fast")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("--profile", out.stderr)


class Run(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        path = os.path.join(cls.tmp.name, "run.json")
        cls.n = small_n()
        cls.proc = run("--include_broken",
                       f"--benchmark_filter=^(mask/simdrop|forward/(simdrop|copy|naive|broken_keep_all)/f32)/n:{cls.n}/p:30/threads:1/",
                       "--benchmark_min_time=0.01", "--benchmark_repetitions=2",
                       "--benchmark_out=" + path, "--benchmark_out_format=json")
        if cls.proc.returncode != 0:
            raise AssertionError(cls.proc.stderr)
        with open(path) as f:
            cls.data = json.load(f)
        cls.by_name = {}
        for b in cls.data["benchmarks"]:
            cls.by_name.setdefault(b["run_name"], []).append(b)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_exits_zero_and_shows_progress(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        self.assertIn("[5/5]", self.proc.stderr)

    def test_context(self):
        ctx = self.data["context"]
        for key in ("simdrop_isa", "tbb_max_threads", "compiler", "cxx_flags", "simdrop_version", "cpu_model",
                    "l1d_bytes", "l2_bytes", "l3_bytes", "profile", "caches", "stream_threshold_bytes"):
            self.assertIn(key, ctx)
        self.assertIn(ctx["simdrop_isa"], ("scalar", "sse2", "avx2", "avx512", "neon"))
        self.assertIn(ctx["cache_source"], ("cpuid", "sysconf", "sysfs", "default", "none"))
        for key in ("l1d_bytes", "l2_bytes", "l3_bytes", "size_in_cache_bytes", "size_dram_bytes"):
            self.assertGreaterEqual(int(ctx[key]), 0, key)
        if ctx["cache_source"] != "none":
            self.assertGreater(int(ctx["l2_bytes"]), 0)

    def test_calibration_in_context(self):
        ctx = self.data["context"]
        supported = ctx["simdrop_supported_isas"].split(",")
        self.assertTrue(0 < float(ctx["simdrop_calibration_seconds"]) < 30)
        items = ctx["simdrop_calibration"].split(";")
        measured = set()
        for item in items:
            m = re.fullmatch(r"(mask|fused|apply|gaussian)/(cache|memory)/(\w+)=([0-9.e+-]+)", item)
            self.assertIsNotNone(m, item)
            self.assertIn(m[3], supported)
            self.assertGreater(float(m[4]), 0)
            measured.add((m[1], m[2], m[3]))
        # Every SIMD path is measured for fused work in both classes.
        for path in simd_paths():
            for size_class in SIZE_CLASSES:
                self.assertIn(("fused", size_class, path), measured)
        for work in WORKS:
            for size_class in SIZE_CLASSES:
                self.assertIn(ctx[f"simdrop_choice_{work}_{size_class}"], supported)

    def test_counters(self):
        name = f"forward/simdrop/f32/n:{self.n}/p:30/threads:1/real_time"
        runs = [b for b in self.by_name[name] if b["run_type"] == "iteration"]
        self.assertEqual(len(runs), 2)
        for b in runs:
            self.assertGreater(b["bytes_per_second"], 0)
            self.assertGreater(b["items_per_second"], 0)
            self.assertAlmostEqual(b["keep_fraction"], 0.7, delta=6 * (0.21 / self.n) ** 0.5)
            self.assertLessEqual(abs(b["keep_z"]), 6)
            self.assertEqual(b["mask_bytes_per_element"], 0.125)
            # bytes: read x, write y (4 bytes each) and the 1/8-byte mask per element
            self.assertAlmostEqual(b["bytes_per_second"] / b["items_per_second"], 8.125, places=6)
        self.assertTrue(any(b["run_type"] == "aggregate" and b["aggregate_name"] == "median"
                            for b in self.by_name[name]))
        copy = self.by_name[f"forward/copy/f32/n:{self.n}/p:30/threads:1/real_time"][0]
        self.assertIn(copy["label"], COPY_WAYS)
        if "avx512" not in self.data["context"]["simdrop_supported_isas"]:
            self.assertNotEqual(copy["label"], "stream512")

    def test_wrong_kernel_is_rejected(self):
        broken = self.by_name[f"forward/broken_keep_all/f32/n:{self.n}/p:30/threads:1/real_time"]
        self.assertTrue(all(b.get("error_occurred") for b in broken))
        self.assertIn("validation failed", broken[0]["error_message"])
        self.assertNotIn("items_per_second", broken[0])


class ProfileDefaults(unittest.TestCase):
    def test_quick_profile_runs_5_repetitions(self):
        # Mann-Whitney needs 5 repetitions a side to be able to reach p < 0.05: the quick profile's default.
        proc, data = run_json(f"--benchmark_filter=^mask/simdrop/n:{small_n()}/p:30/threads:1/",
                              "--benchmark_min_time=0.001")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        runs = [b for b in data["benchmarks"] if b["run_type"] == "iteration"]
        self.assertEqual(len(runs), 5)
        self.assertEqual(runs[0]["run_name"], f"mask/simdrop/n:{small_n()}/p:30/threads:1/real_time")


class ForcedPaths(unittest.TestCase):
    def test_each_path_validates_and_runs_on_its_path(self):
        n = int(context()["size_in_cache_bytes"]) // 4
        paths = simd_paths()
        proc, data = run_json(f"--benchmark_filter=^({'|'.join(PATH_OPS)})/simdrop(_({'|'.join(paths)}))?/"
                              f"(f32/)?n:{n}/p:30/threads:1/", "--benchmark_min_time=0.001",
                              "--benchmark_repetitions=1")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        runs = {b["run_name"].split("/")[0] + "/" + b["run_name"].split("/")[1]: b for b in data["benchmarks"]}
        self.assertEqual(set(runs), {f"{op}/{impl}" for op in PATH_OPS
                                     for impl in ["simdrop"] + [f"simdrop_{p}" for p in paths]})
        for name, b in runs.items():
            self.assertFalse(b.get("error_occurred"), b.get("error_message"))
            self.assertLessEqual(abs(b["keep_z"]), 6, name)
            impl = name.split("/")[1]
            if impl == "simdrop":
                self.assertNotIn("path", b["label"])   # the default: the calibrated choice, nothing forced
            else:
                # The label says which path ran while it was timed: the forced one.
                self.assertTrue(b["label"].endswith("; path " + impl[len("simdrop_"):]), b["label"])


class FamilyRun(unittest.TestCase):
    """Every family op of simdrop and of its composition passes validation and posts a time."""

    def test_family_validates_and_runs(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "family.json")
            proc = run("--benchmark_filter=^(" + "|".join(FAMILY_OPS) + f")/(simdrop|composed|copy)/f32/n:{small_n()}/p:30/threads:1/",
                       "--benchmark_min_time=0.01", "--benchmark_repetitions=1",
                       "--benchmark_out=" + path, "--benchmark_out_format=json")
            self.assertEqual(proc.returncode, 0, proc.stderr)
            with open(path) as f:
                runs = [b for b in json.load(f)["benchmarks"] if b["run_type"] == "iteration"]
        seen = {b["run_name"].split("/")[0] + "/" + b["run_name"].split("/")[1] for b in runs}
        self.assertEqual(seen, {f"{op}/{impl}" for op in FAMILY_OPS for impl in ("simdrop", "composed", "copy")})
        for b in runs:
            self.assertFalse(b.get("error_occurred"), b.get("error_message"))
            self.assertGreater(b["items_per_second"], 0)
            if b["run_name"].split("/")[1] == "copy":
                # memcpy copies x unscaled: a floor of y = x * scale, never of y = x + residual.
                self.assertIn(b["label"], COPY_WAYS - ({"memcpy"} if b["run_name"].startswith("bias_") else set()))
                continue
            self.assertLessEqual(abs(b["keep_z"]), 6, b["run_name"])
            if b["run_name"].startswith("gaussian/"):
                self.assertEqual(b["keep_fraction"], 1)  # Gaussian dropout keeps every element
                self.assertLessEqual(abs(b["mean_z"]), 6)
                self.assertLessEqual(abs(b["var_z"]), 6)
                self.assertAlmostEqual(b["var_ratio"], 1, delta=0.05)


class HalfPrecision(unittest.TestCase):
    """The 16-bit types: every implementation validates before timing and posts a time (PyTorch: a time, or a row
    skipped with PyTorch's reason); a wrong bfloat16 kernel is rejected."""

    @classmethod
    def setUpClass(cls):
        # 256 KiB arrays (131072 16-bit elements): a size of the full profile's grid.
        cls.tmp = tempfile.TemporaryDirectory()
        path = os.path.join(cls.tmp.name, "half.json")
        impls = "simdrop|simdrop_philox7|simdrop_ars5|simdrop_unfused|naive|eigen|copy|composed|torch|broken_keep_all"
        cls.proc = run("--profile=full", "--include_broken",
                       f"--benchmark_filter=^({'|'.join(OPS_IMPLS)})/({impls})/(bf16|f16)/n:131072/p:30/threads:1/",
                       "--benchmark_min_time=0.001", "--benchmark_repetitions=1",
                       "--benchmark_out=" + path, "--benchmark_out_format=json")
        if cls.proc.returncode != 0:
            raise AssertionError(cls.proc.stderr)
        with open(path) as f:
            cls.runs = {b["run_name"]: b for b in json.load(f)["benchmarks"] if b["run_type"] == "iteration"}

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_every_impl_validates(self):
        seen = set()
        for name, b in self.runs.items():
            op, impl, dt = name.split("/")[:3]
            seen.add((op, impl, dt))
            if impl in ("broken_keep_all", "torch"):
                continue
            self.assertFalse(b.get("error_occurred"), (name, b.get("error_message")))
            self.assertGreater(b["items_per_second"], 0)
            if impl == "copy":
                self.assertIn(b["label"], COPY_WAYS - ({"memcpy"} if op == "bias_dropout_add" else set()))
            elif op != "gaussian":
                self.assertLessEqual(abs(b["keep_z"]), 6, name)
        for op, impls in OPS_IMPLS.items():
            for impl in impls:
                for dt in HALF:
                    if op != "mask":
                        self.assertIn((op, impl, dt), seen)

    def test_bytes_are_two_per_element(self):
        for dt in HALF:
            b = self.runs[f"forward/simdrop/{dt}/n:131072/p:30/threads:1/real_time"]
            # read x, write y (2 bytes each) and the 1/8-byte mask per element
            self.assertAlmostEqual(b["bytes_per_second"] / b["items_per_second"], 4.125, places=6)
            self.assertAlmostEqual(b["keep_fraction"], 0.7, delta=6 * (0.21 / 131072) ** 0.5)
            c = self.runs[f"bias_dropout_add/copy/{dt}/n:131072/p:30/threads:1/real_time"]
            self.assertAlmostEqual(c["bytes_per_second"] / c["items_per_second"], 6, places=6)

    def test_masks_do_not_depend_on_the_type(self):
        # The same stream gives fp32's keep bits: the bfloat16 and float16 keep fractions are the same number.
        fractions = {self.runs[f"forward/simdrop/{dt}/n:131072/p:30/threads:1/real_time"]["keep_fraction"]
                     for dt in HALF}
        self.assertEqual(len(fractions), 1)

    def test_wrong_kernel_is_rejected(self):
        broken = self.runs["forward/broken_keep_all/bf16/n:131072/p:30/threads:1/real_time"]
        self.assertTrue(broken.get("error_occurred"))
        self.assertIn("validation failed", broken["error_message"])

    def test_torch_rows_run_or_say_why_not(self):
        torch = {name: b for name, b in self.runs.items() if name.split("/")[1] == "torch"}
        if not torch:
            self.skipTest("simdrop_bench built without PyTorch")
        for name, b in torch.items():
            if b.get("error_occurred"):
                # A refusal names PyTorch and the dtype; a validation failure is not a refusal.
                self.assertRegex(b["error_message"], r"^skipped: PyTorch [0-9.]+ refuses (BFloat16|Half): \S", name)
                self.assertNotIn("items_per_second", b)
                self.assertNotIn("frame #", b["error_message"])   # no C++ backtrace
            else:
                self.assertGreater(b["items_per_second"], 0)
                if not name.startswith("gaussian/"):
                    self.assertLessEqual(abs(b["keep_z"]), 6, name)
        # PyTorch 1.13 has a CPU bfloat16 dropout: the row the target needs posts a time.
        self.assertFalse(torch["forward/torch/bf16/n:131072/p:30/threads:1/real_time"].get("error_occurred"))


if __name__ == "__main__":
    BENCH = sys.argv.pop(1)
    unittest.main(verbosity=2)
