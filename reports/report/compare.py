"""Several runs side by side: each later run's ratio to the first, and whether the difference is significant."""
import statistics

from .formatting import g, impl_sorted
from .stats import ALPHA, mann_whitney_p


class Comparison:
    """The last section of Report (document.py), where it has more than one run."""

    def comparison(self):
        if len(self.runs) < 2:
            return
        base = self.runs[0]
        self.w("## Runs side by side")
        self.w()
        self.w("G elements/s (medians); each later run's ratio to the first, and whether the difference is "
               f"significant (two-sided Mann-Whitney U over repetitions, alpha = {ALPHA}).")
        self.w()
        header = "| benchmark | " + " | ".join(r.label for r in self.runs)
        header += " | " + " | ".join(f"{r.label} / {base.label}" for r in self.runs[1:]) + " |"
        self.w(header)
        self.w("|---|" + "---|" * (2 * len(self.runs) - 1))
        keys = sorted(set().union(*(set(r.samples) for r in self.runs)),
                      key=lambda k: (base.catalog.ops.index(k[0]), k[2], impl_sorted([k[1]])[0], k[3], k[4], k[5]))
        for k in keys:
            if k[1] == "copy" and k[0] != "forward":
                continue
            cells = [g(r.median(k)) for r in self.runs]
            comps = []
            for r in self.runs[1:]:
                a, b = base.samples.get(k), r.samples.get(k)
                if not a or not b:
                    comps.append("n/a")
                    continue
                pv = mann_whitney_p(a, b)
                sig = "significant" if pv is not None and pv < ALPHA else "not significant"
                comps.append(f"{statistics.median(b) / statistics.median(a):.3f}x (p = {pv:.2g}, {sig})")
            self.w(f"| `{'/'.join(map(str, k))}` | " + " | ".join(cells) + " | " + " | ".join(comps) + " |")
        self.w()
