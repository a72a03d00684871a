"""simdrop_bench end to end: it lists every op x impl, runs a tiny selection, writes JSON with the
counters and run context the report reads, and its validation rejects a deliberately wrong kernel.

Usage: python3 test_simdrop_bench.py PATH/TO/simdrop_bench  (ctest passes the path)
"""
import json
import os
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


def run(*args):
    return subprocess.run([BENCH, *args], capture_output=True, text=True, timeout=600)


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
                self.assertIn(parts[2], ("f32", "f64"), n)
        self.assertNotIn("broken_keep_all", out.stdout)  # test-only kernel needs --include_broken

    def test_full_profile_has_the_whole_grid(self):
        out = run("--profile=full", "--benchmark_list_tests")
        self.assertEqual(out.returncode, 0, out.stderr)
        names = out.stdout.split()
        sizes = {n.split("n:")[1].split("/")[0] for n in names if n.startswith("forward/simdrop/f32/")}
        self.assertEqual(len(sizes), 9)  # 4 KiB .. 256 MiB by 4
        ps = {n.split("p:")[1].split("/")[0] for n in names}
        self.assertTrue({"10", "50", "90"} <= ps)

    def test_bad_profile_is_refused(self):
        out = run("--profile=fast")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("--profile", out.stderr)


class Run(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        path = os.path.join(cls.tmp.name, "run.json")
        cls.proc = run("--include_broken",
                       "--benchmark_filter=^(mask/simdrop|forward/(simdrop|copy|naive|broken_keep_all)/f32)/n:65536/p:30/threads:1/",
                       "--benchmark_min_time=0.01", "--benchmark_repetitions=2",
                       "--benchmark_out=" + path, "--benchmark_out_format=json")
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
                    "l1d_bytes", "l2_bytes", "l3_bytes", "profile", "caches"):
            self.assertIn(key, ctx)
        self.assertIn(ctx["simdrop_isa"], ("scalar", "sse2", "avx2", "avx512"))

    def test_counters(self):
        name = "forward/simdrop/f32/n:65536/p:30/threads:1/real_time"
        runs = [b for b in self.by_name[name] if b["run_type"] == "iteration"]
        self.assertEqual(len(runs), 2)
        for b in runs:
            self.assertGreater(b["bytes_per_second"], 0)
            self.assertGreater(b["items_per_second"], 0)
            self.assertAlmostEqual(b["keep_fraction"], 0.7, delta=6 * (0.21 / 65536) ** 0.5)
            self.assertLessEqual(abs(b["keep_z"]), 6)
            self.assertEqual(b["mask_bytes_per_element"], 0.125)
            # bytes: read x, write y (4 bytes each) and the 1/8-byte mask per element
            self.assertAlmostEqual(b["bytes_per_second"] / b["items_per_second"], 8.125, places=6)
        self.assertTrue(any(b["run_type"] == "aggregate" and b["aggregate_name"] == "median"
                            for b in self.by_name[name]))
        copy = self.by_name["forward/copy/f32/n:65536/p:30/threads:1/real_time"][0]
        self.assertIn(copy["label"], ("plain stores", "streaming stores"))

    def test_wrong_kernel_is_rejected(self):
        broken = self.by_name["forward/broken_keep_all/f32/n:65536/p:30/threads:1/real_time"]
        self.assertTrue(all(b.get("error_occurred") for b in broken))
        self.assertIn("validation failed", broken[0]["error_message"])
        self.assertNotIn("items_per_second", broken[0])


class FamilyRun(unittest.TestCase):
    """Every family op of simdrop and of its composition passes validation and posts a time."""

    def test_family_validates_and_runs(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "family.json")
            proc = run("--benchmark_filter=^(" + "|".join(FAMILY_OPS) + ")/(simdrop|composed|copy)/f32/n:65536/p:30/threads:1/",
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
                continue
            self.assertLessEqual(abs(b["keep_z"]), 6, b["run_name"])
            if b["run_name"].startswith("gaussian/"):
                self.assertEqual(b["keep_fraction"], 1)  # Gaussian dropout keeps every element
                self.assertLessEqual(abs(b["mean_z"]), 6)
                self.assertLessEqual(abs(b["var_z"]), 6)
                self.assertAlmostEqual(b["var_ratio"], 1, delta=0.05)


if __name__ == "__main__":
    BENCH = sys.argv.pop(1)
    unittest.main(verbosity=2)
