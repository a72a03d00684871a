"""The report generator reads a run stored gzip-compressed (run.json.gz, as the committed runs in reports/runs
keep their JSON) exactly as the plain file: the same report, and the compressed file copied to raw/ as it is.
A truncated .gz is refused with a clear error naming the file.

Run: /usr/bin/python3 tests/reports/test_compressed_runs.py (ctest: report_compressed_runs).
"""
import gzip
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_simdrop_report as fixtures  # noqa: E402


class CompressedRuns(unittest.TestCase):
    def test_gzip_run_gives_the_plain_run_report(self):
        with tempfile.TemporaryDirectory() as tmp:
            plain = fixtures.write_json(tmp, "run-a.json", fixtures.bench_entries())
            packed = os.path.join(tmp, "gz", "run-a.json.gz")
            os.makedirs(os.path.dirname(packed))
            with open(plain, "rb") as f, gzip.open(packed, "wb") as g:
                shutil.copyfileobj(f, g)
            outs = {}
            for name, path in (("plain", plain), ("gz", packed)):
                r = fixtures.run_report(path, "--out", os.path.join(tmp, "out-" + name))
                self.assertEqual(r.returncode, 0, r.stderr)
                with open(os.path.join(tmp, "out-" + name, "report.md")) as f:
                    outs[name] = f.read()
            self.assertEqual(outs["plain"], outs["gz"])
            self.assertEqual(os.listdir(os.path.join(tmp, "out-gz", "raw")), ["run-a.json.gz"])

    def test_truncated_gzip_is_refused(self):
        with tempfile.TemporaryDirectory() as tmp:
            plain = fixtures.write_json(tmp, "run-b.json", fixtures.bench_entries())
            packed = os.path.join(tmp, "run-b.json.gz")
            with open(plain, "rb") as f:
                data = gzip.compress(f.read())
            with open(packed, "wb") as g:
                g.write(data[: len(data) // 2])
            r = fixtures.run_report(packed, "--out", os.path.join(tmp, "out"))
            self.assertEqual(r.returncode, 2)
            self.assertIn("run-b.json.gz: cannot be read", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
