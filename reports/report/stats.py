"""Statistics of a run: significance (two-sided Mann-Whitney U over repetitions, as Google Benchmark's compare.py
does), spread, the validation counters' worst z-scores, the roofline (a benchmark's time over its floor) and the
verdict on the default's ISA path against the forced ones."""
import math
import statistics

# The significance level of every test.
ALPHA = 0.05
# Roofline targets: op -> (whether it draws a keep bit per element, the most its time may be over its floor).
# The floor is copy's time (same op, n, dtype, threads); for an op that draws a bit per element it is the larger
# of that and the time of mask/simdrop (same n, p and threads: a mask's time does not depend on the dtype).
ROOFLINE = {"forward": (True, 1.1), "backward_regen": (True, 1.1), "alpha": (True, 1.1),
            "bias_dropout_add": (True, 1.1), "backward_mask": (False, 1.1), "channel": (False, 1.15),
            "shared": (False, 1.15)}


def worst_z(entries):
    """The largest |keep z|, |mean z| and |var z| of validation counters, and whether all are within 6."""
    kz = max(abs(e.get("keep_z", 0)) for e in entries)
    mz = max(abs(e.get("mean_z", 0)) for e in entries)
    vz = max(abs(e.get("var_z", 0)) for e in entries)
    return kz, mz, vz, kz <= 6 and mz <= 6 and vz <= 6


def copy_key(key):
    """The copy benchmark that key is read against: same op, dtype, size and threads (copy runs at p:30)."""
    op, _, dtype, n, _, threads = key
    return (op, "copy", dtype, n, 30, threads)


def floor_key(run, key):
    """The copy benchmark of the run that is key's floor: copy_key(key), or where the run has none (the quick
    profile runs one 16-bit copy per size and threads) forward's copy of the same dtype, size and threads, which
    moves the same bytes as every op but bias-dropout-residual (whose floor reads a second input)."""
    k = copy_key(key)
    if k in run.samples or key[0] in ("bias_dropout_add", "mask"):
        return k
    return ("forward",) + k[1:]


def roofline(run, key):
    """(time / floor, target) of a benchmark of simdrop (see ROOFLINE), or None where its op has no target or a
    time it needs is missing."""
    op, _, dtype, n, p, threads = key
    if op not in ROOFLINE:
        return None
    draws, target = ROOFLINE[op]
    rates = [run.median(key), run.median(floor_key(run, key))]
    if draws:
        rates.append(run.median(("mask", "simdrop", "-", n, p, threads)))
    if not all(rates):
        return None
    return min(rates[1:]) / rates[0], target


def mann_whitney_p(a, b):
    """Two-sided p-value of the Mann-Whitney U test; exact without ties (small samples), else normal."""
    m, n = len(a), len(b)
    if m == 0 or n == 0:
        return None
    pooled = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    ranks, i = [0.0] * len(pooled), 0
    ties = []
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    r1 = sum(r for r, (_, g) in zip(ranks, pooled) if g == 0)
    u1 = r1 - m * (m + 1) / 2
    u = min(u1, m * n - u1)
    if not ties and m * n <= 2500:
        # Exact: counts[k] = number of arrangements with U = k (recurrence over the largest element).
        counts = _u_distribution(m, n)
        total = sum(counts)
        tail = sum(counts[: int(u) + 1]) / total
        return min(1.0, 2 * tail)
    mean = m * n / 2
    tie_term = sum(t ** 3 - t for t in ties) / ((m + n) * (m + n - 1)) if ties else 0
    sd = math.sqrt(m * n / 12 * ((m + n + 1) - tie_term))
    if sd == 0:
        return 1.0
    z = (abs(u - mean) - 0.5) / sd
    return min(1.0, math.erfc(max(z, 0) / math.sqrt(2)))


def _u_distribution(m, n):
    # f[i][j][u]: arrangements of i and j elements with statistic u.
    table = {}

    def f(i, j):
        if (i, j) in table:
            return table[(i, j)]
        if i == 0 or j == 0:
            res = [1]
        else:
            a, b = f(i - 1, j), f(i, j - 1)
            res = [0] * (i * j + 1)
            for k, c in enumerate(a):
                res[k + j] += c
            for k, c in enumerate(b):
                res[k] += c
        table[(i, j)] = res
        return res

    return f(m, n)


def spread(values):
    s = sorted(values)
    if len(s) >= 4:
        q = statistics.quantiles(s, n=4)
        iqr = q[2] - q[0]
    else:
        iqr = None
    return statistics.median(s), s[0], s[-1], iqr


def path_verdict(default, paths, chosen):
    """How the default compares with the fastest forced path, from their repetitions' rates (default: a list;
    paths: {path: list}; chosen: the default's path or None): marked where the default takes over 1.1x the fastest
    path's time (medians), with the Mann-Whitney p-value of the two, and said to be drift between the two
    benchmarks where the fastest path is the default's own."""
    medians = {i: statistics.median(v) for i, v in paths.items() if v}
    if not default or not medians:
        return "n/a"
    best = max(medians, key=medians.get)
    slower = medians[best] / statistics.median(default)
    if slower <= 1.1:
        return "default is fastest" if slower <= 1 else f"default within 10% of {best} ({slower:.2f}x its time)"
    why = "its own path: drift between the two benchmarks, " if best == chosen else ""
    return f"**default takes {slower:.2f}x the time of {best}** ({why}p = {mann_whitney_p(default, paths[best]):.2g})"
