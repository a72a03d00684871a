"""The document: Report collects the sections (tables.py, pictures.py, family.py, half.py, compare.py) in their
order and writes report.md and its pictures into one folder."""
import os

import theory_section  # the Theory lab section, issue #13 (reports/, beside this package)

from .compare import Comparison
from .family import Family
from .half import HalfPrecision
from .pictures import Pictures
from .tables import Tables


class Report(Tables, Pictures, Family, HalfPrecision, Comparison):
    """The report of runs (runs.Run; tables and pictures describe the first, the last section compares them) into
    out_dir with pyplot plt; theory, where set, is the Theory lab's data (theory_section.load)."""

    def __init__(self, runs, out_dir, plt, theory=None):
        self.runs, self.out, self.plt, self.theory = runs, out_dir, plt, theory
        self.lines = []
        self.pictures = []

    def w(self, line=""):
        self.lines.append(line)

    def picture(self, fig, name, caption):
        path = os.path.join(self.out, name)
        fig.savefig(path, dpi=110, bbox_inches="tight")
        self.plt.close(fig)
        self.pictures.append(name)
        self.w(f"![{caption}]({name})")
        self.w()

    def write(self):
        self.w("# simdrop performance report")
        self.w()
        names = ", ".join(f"`{r.label}`" for r in self.runs)
        self.w(f"Runs: {names}. Tables and pictures describe the first run"
               + ("; the last section compares all of them." if len(self.runs) > 1 else "."))
        self.w("Raw Google Benchmark JSON: `raw/`.")
        self.w()
        self.headline()
        self.machine()
        self.summary_tables()
        self.isa_paths()
        self.p_table()
        self.throughput_pictures()
        self.speedup_picture()
        self.relative_to_copy_picture()
        self.scaling_picture()
        self.mask_memory_picture()
        self.bandwidth_curve()
        self.family()
        self.half_precision()
        self.expectation()
        self.spread_table()
        self.comparison()
        if self.theory:  # theory lab (issue #13): reports/theory_section.py
            self.w(theory_section.render(self.theory, self.out, self.plt))
        with open(os.path.join(self.out, "report.md"), "w", encoding="utf-8") as f:
            f.write("\n".join(self.lines) + "\n")
