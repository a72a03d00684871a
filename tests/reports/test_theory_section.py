"""Tests of reports/theory_section.py (the report's Theory lab section) and of simdrop_report.py --theory.

Run: python3 tests/reports/test_theory_section.py [PATH/TO/simdrop_theory]   (ctest runs it)
With the program's path, it also runs simdrop_theory small and renders what it wrote.
"""
import copy
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "reports"))
sys.path.insert(0, HERE)
import theory_section  # noqa: E402
from test_simdrop_report import bench_entries, run_report, write_json  # noqa: E402

# The program's path (ctest passes an empty argument where simdrop_theory is not built, e.g. the sanitize preset).
PROGRAM = None
if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
    PROGRAM = sys.argv.pop(1) or None
IDS = ["bias_variance", "expectation", "ridge_loss", "ridge_minimizer", "ensemble_identity", "jensen_gap",
       "path_survival", "weight_scaling", "subnetworks"]


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def claim(cid, verdict, predicted=1.0, measured=1.01, stderr=0.01, **extra):
    c = {"id": cid, "statement": f"statement of {cid}", "formula": f"formula | of {cid}", "conditions": "n = 10",
         "quantity": f"quantity of {cid}", "predicted": predicted, "measured": measured, "stderr": stderr,
         "tolerance": 6 * stderr, "verdict": verdict, "notes": "",
         "checks": [{"what": f"check of {cid}", "role": "supports", "relation": "equal", "predicted": predicted,
                     "measured": measured, "stderr": stderr, "tolerance": 6 * stderr, "pass": verdict != "fails"}],
         "plots": []}
    c.update(extra)
    return c


FIXTURE = {"tool": "simdrop_theory", "sigmas": 6, "claims": [
    claim("expectation", "holds", plots=[{"title": "survival", "xlabel": "L", "ylabel": "P", "logx": False,
                                          "logy": True, "diagonal": False, "series": [
                                              {"label": "measured", "line": False, "x": [1, 2, 3],
                                               "y": [0.5, 0.25, 0.125], "yerr": [0.01, 0.01, 0.01]},
                                              {"label": "(1-p)^L", "line": True, "x": [1, 2, 3],
                                               "y": [0.5, 0.25, 0.125], "yerr": []}]}]),
    claim("jensen_gap", "corrected", seed_formula="gap = p(1-p) sum w^2 x^2",
          corrected_formula="gap = p/(1-p) sum w^2 x^2 for inverted dropout"),
    claim("ensemble_identity", "holds", predicted=0.0, measured=1e-15, stderr=0.0, tolerance=1e-12),
    claim("ridge_loss", "fails", measured=2.0),
]}


class Render(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.md = theory_section.render(FIXTURE, self.tmp.name, pyplot())

    def tearDown(self):
        self.tmp.cleanup()

    @staticmethod
    def cells(row):
        return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip().strip("|"))]

    def row(self, cid):
        rows = [line for line in self.md.splitlines() if line.startswith(f"| `{cid}` |")]
        self.assertEqual(len(rows), 1, cid)
        return rows[0]

    def test_table(self):
        self.assertIn("## Theory lab: the seed's claims, measured", self.md)
        self.assertIn("Verdicts: 2 hold, 1 corrected, 1 fail.", self.md)
        cells = self.cells(self.row("expectation"))
        self.assertEqual(cells[3:6], ["1", "1.01", "0.01"])
        self.assertEqual(cells[6], "0.06 (6 standard errors)")
        self.assertEqual(cells[7], "holds")
        self.assertIn("formula \\| of expectation", self.row("expectation"))  # a '|' in a cell is escaped
        self.assertIn("**corrected**", self.row("jensen_gap"))
        self.assertIn("**FAILS**", self.row("ridge_loss"))
        identity = self.cells(self.row("ensemble_identity"))
        self.assertEqual(identity[5], "(identity)")
        self.assertEqual(identity[6], "1.000e-12 (rounding bound)")

    def test_where_the_text_is_wrong(self):
        part = self.md.split("### Where the text is wrong")[1].split("###")[0]
        self.assertIn("`jensen_gap`: the text says *gap = p(1-p) sum w^2 x^2*", part)
        self.assertIn("gap = p/(1-p) sum w^2 x^2 for inverted dropout", part)
        self.assertNotIn("expectation", part)
        self.assertIn("`ridge_loss`", self.md.split("### Claims the measurements contradict")[1])

    def test_checks_and_pictures(self):
        self.assertIn("<details><summary><code>jensen_gap</code> (corrected)", self.md)
        self.assertIn("| check of ridge_loss | supports | equal | 1 | 2 | 0.01 | 0.06 | **not met** |", self.md)
        self.assertIn("![survival](theory_expectation.png)", self.md)
        self.assertTrue(os.path.getsize(os.path.join(self.tmp.name, "theory_expectation.png")) > 1000)

    def test_without_pictures(self):
        md = theory_section.render(FIXTURE)
        self.assertNotIn("![", md)
        self.assertIn("| `expectation` |", md)


class Validate(unittest.TestCase):
    def refused(self, data, expected):
        with self.assertRaises(theory_section.TheoryError) as e:
            theory_section.validate(data, "t.json")
        self.assertIn(expected, str(e.exception))

    def test_bad_inputs(self):
        self.refused({"benchmarks": []}, "not a simdrop_theory JSON")
        self.refused({"claims": []}, "not a simdrop_theory JSON")
        bad = copy.deepcopy(FIXTURE)
        del bad["claims"][0]["stderr"]
        self.refused(bad, "claim 0 lacks stderr")
        bad = copy.deepcopy(FIXTURE)
        bad["claims"][0]["verdict"] = "maybe"
        self.refused(bad, "verdict 'maybe'")
        bad = copy.deepcopy(FIXTURE)
        del bad["claims"][1]["corrected_formula"]
        self.refused(bad, "jensen_gap is 'corrected' but lacks")

    def test_load_names_the_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "theory.json")
            with open(path, "w") as f:
                f.write('{"claims": [')
            with self.assertRaises(theory_section.TheoryError) as e:
                theory_section.load(path)
            self.assertIn(path, str(e.exception))


class ReportWithTheory(unittest.TestCase):
    def test_section_and_copy(self):
        with tempfile.TemporaryDirectory() as tmp:
            run = write_json(tmp, "run.json", bench_entries(reps=1))
            theory = os.path.join(tmp, "t.json")
            with open(theory, "w") as f:
                json.dump(FIXTURE, f)
            out = os.path.join(tmp, "report")
            proc = run_report(run, "--out", out, "--theory", theory)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            with open(os.path.join(out, "report.md")) as f:
                md = f.read()
            self.assertIn("# simdrop performance report", md)
            self.assertIn("## Theory lab: the seed's claims, measured", md)
            self.assertTrue(os.path.exists(os.path.join(out, "theory.json")))
            self.assertTrue(os.path.exists(os.path.join(out, "theory_expectation.png")))
            # The section comes last, after the benchmark sections.
            self.assertGreater(md.index("## Theory lab"), md.index("# simdrop performance report"))

    def test_bad_theory_file_is_refused(self):
        with tempfile.TemporaryDirectory() as tmp:
            run = write_json(tmp, "run.json", bench_entries(reps=1))
            proc = run_report(run, "--out", os.path.join(tmp, "r"), "--theory", os.path.join(tmp, "missing.json"))
            self.assertEqual(proc.returncode, 2)
            self.assertIn("missing.json: no such file", proc.stderr)
            self.assertFalse(os.path.exists(os.path.join(tmp, "r")))


@unittest.skipUnless(PROGRAM, "simdrop_theory not built (pass its path)")
class EndToEnd(unittest.TestCase):
    def test_program_output_renders(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "theory.json")
            proc = subprocess.run([PROGRAM, "--size", "0.05", "--out", path], capture_output=True, text=True,
                                  timeout=300)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            for cid in IDS:
                self.assertIn(cid, proc.stdout)
            data = theory_section.load(path)
            self.assertEqual([c["id"] for c in data["claims"]], IDS)
            for c in data["claims"]:
                self.assertTrue(c["checks"], c["id"])
                self.assertEqual(c["verdict"] == "fails",
                                 any(not k["pass"] and k["role"] != "seed" for k in c["checks"]), c["id"])
            md = theory_section.render(data, tmp, pyplot())
            for name in ("theory_ridge_minimizer.png", "theory_jensen_gap.png", "theory_path_survival.png"):
                self.assertIn(f"]({name})", md)
                self.assertTrue(os.path.exists(os.path.join(tmp, name)), name)
            proc = subprocess.run([PROGRAM, "--size", "-1"], capture_output=True, text=True, timeout=60)
            self.assertEqual(proc.returncode, 2)

    def test_scalar_path_gives_the_same_json_but_the_timings(self):
        # README: SIMDROP_ISA=scalar gives the same JSON in every field but the run times ("seconds").
        def run(env_isa):
            env = dict(os.environ)
            env.pop("SIMDROP_ISA", None)
            if env_isa:
                env["SIMDROP_ISA"] = env_isa
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "theory.json")
                proc = subprocess.run([PROGRAM, "--size", "0.05", "--out", path], capture_output=True, text=True,
                                      timeout=300, env=env)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                with open(path, encoding="utf-8") as f:
                    return json.load(f)

        def without_timings(data):
            self.assertTrue(all("seconds" in c for c in data["claims"]))
            return {**data, "claims": [{k: v for k, v in c.items() if k != "seconds"} for c in data["claims"]]}

        automatic, scalar = run(None), run("scalar")
        self.assertEqual(without_timings(automatic), without_timings(scalar))


if __name__ == "__main__":
    unittest.main(verbosity=2)
