#!/usr/bin/python3
"""Writes a performance report from simdrop_bench JSON files.

    python3 reports/simdrop_report.py RUN.json [MORE.json ...] --out DIR [--theory THEORY.json]

DIR receives report.md, the PNG pictures it shows and a copy of each JSON file (raw/). With several
files (two runs of one machine, or runs of several machines) the report puts them side by side and says
which differences are significant (two-sided Mann-Whitney U over repetitions, as Google Benchmark's
compare.py does). A missing, truncated or non-benchmark file gives one line naming it and what is wrong,
and exit status 2; DIR is replaced only once the new report is complete. The ops and element types are the
ones each run's context lists (simdrop_ops, simdrop_dtypes); a run without them is refused, and runs that list
different ones are not put side by side.
With --theory (simdrop_theory's --out file) the report ends with the Theory lab section
(reports/theory_section.py) and DIR gets a copy of it, theory.json.

The work is done by the package reports/report/ (its __init__.py maps its modules). Needs only Debian's python3
and python3-matplotlib.
"""
import argparse
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import theory_section  # noqa: E402  (the Theory lab section, issue #13)
# The names below are this module's interface for the tests (tests/reports) as well as for main.
from report.document import Report  # noqa: E402,F401
from report.runs import InputError, Run, load_runs, parse_calibration, where_arrays_live  # noqa: E402,F401
from report.stats import mann_whitney_p, path_verdict, roofline  # noqa: E402,F401


def main(argv):
    ap = argparse.ArgumentParser(description="Write a report from simdrop_bench JSON files.")
    ap.add_argument("runs", nargs="+", metavar="RUN.json")
    ap.add_argument("--out", required=True, metavar="DIR")
    ap.add_argument("--theory", metavar="THEORY.json", help="simdrop_theory --out file: adds the Theory lab section")
    args = ap.parse_args(argv)
    try:
        runs = load_runs(args.runs)
        theory = theory_section.load(args.theory) if args.theory else None
    except (InputError, theory_section.TheoryError) as e:
        print(f"simdrop_report: {e}", file=sys.stderr)
        return 2
    try:
        import matplotlib
    except ImportError:
        print(f"simdrop_report: {sys.executable} has no matplotlib: install Debian's python3-matplotlib and run "
              "with /usr/bin/python3", file=sys.stderr)
        return 2
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = os.path.abspath(args.out)
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".report-", dir=parent)
    try:
        os.makedirs(os.path.join(staging, "raw"))
        for r in runs:
            suffix = ".json.gz" if r.path.endswith(".gz") else ".json"
            shutil.copyfile(r.path, os.path.join(staging, "raw", r.label.replace("/", "_") + suffix))
        if theory:
            shutil.copyfile(args.theory, os.path.join(staging, "theory.json"))
        Report(runs, staging, plt, theory).write()
        # The new report is complete: only now replace what was in DIR.
        if os.path.exists(out):
            old = tempfile.mkdtemp(prefix=".report-old-", dir=parent)
            os.rename(out, os.path.join(old, "previous"))
            os.rename(staging, out)
            shutil.rmtree(old)
        else:
            os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    print(f"simdrop_report: wrote {os.path.join(out, 'report.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
