"""What the trained-network experiments share: the data (scikit-learn's digits: 8x8 images, 1797 samples, shipped
with python3-sklearn), the network (an MLP with simdrop.torch's dropout), training, evaluation, and the claim
record the report's theory section reads (the same fields as simdrop_theory's claims, plus per_seed).

Every run is seeded: torch.manual_seed(seed) before the model is built decides the initial weights and, through
simdrop.torch, every dropout mask; the batch order has its own generator. So each experiment is reproducible.
"""
import math
import statistics
import time

import torch

import simdrop.torch as sdt

SIGMAS = 6.0  # statistical tolerances: 6 standard errors of the estimate (a ~1e-9 chance under the null)


class Settings:
    """Seeds and budgets. quick: the tests' settings (seconds); full: the report's (the main job's ~4 minutes)."""

    def __init__(self, quick=False, seeds=None, threads=1):
        self.quick = quick
        self.seeds = seeds if seeds is not None else (2 if quick else 5)
        self.epochs = 4 if quick else 30
        self.hidden = 64 if quick else 256
        self.batch = 64
        self.lr = 2e-3
        self.threads = threads


_DATA = None


def digits(split_seed=0):
    """(x_train, y_train, x_test, y_test): digits scaled to [0, 1], a fixed 75/25 split (split_seed)."""
    global _DATA
    if _DATA is None:
        from sklearn.datasets import load_digits
        d = load_digits()
        x = torch.tensor(d.data, dtype=torch.float32) / 16.0
        y = torch.tensor(d.target, dtype=torch.int64)
        order = torch.randperm(len(y), generator=torch.Generator().manual_seed(split_seed))
        cut = int(0.75 * len(y))
        _DATA = (x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]])
    return _DATA


def mlp(p, hidden, depth=2, inputs=64, classes=10, batchnorm=False):
    """inputs -> [Linear -> ReLU -> (BatchNorm) -> Dropout(p)] x depth -> Linear; simdrop.torch's Dropout."""
    layers, width = [], inputs
    for _ in range(depth):
        layers += [torch.nn.Linear(width, hidden), torch.nn.ReLU()]
        if batchnorm:
            layers.append(torch.nn.BatchNorm1d(hidden))
        layers.append(sdt.Dropout(p))
        width = hidden
    layers.append(torch.nn.Linear(width, classes))
    return torch.nn.Sequential(*layers)


def train(model, settings, seed, x=None, y=None, epochs=None, weight_decay=0.0):
    """Adam on cross-entropy, mini-batches in an order from the seed's own generator; returns the model."""
    if x is None:
        x, y, _, _ = digits()
    torch.set_num_threads(settings.threads)
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=weight_decay)
    loss_fn = torch.nn.CrossEntropyLoss()
    order_gen = torch.Generator().manual_seed(10_000 + seed)
    for _ in range(epochs if epochs is not None else settings.epochs):
        model.train()
        order = torch.randperm(len(y), generator=order_gen)
        for i in range(0, len(y), settings.batch):
            idx = order[i:i + settings.batch]
            opt.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
    model.eval()
    return model


def trained_mlp(p, settings, seed, **kwargs):
    """An MLP with dropout p trained on the digits from seed (torch.manual_seed(seed) first)."""
    torch.manual_seed(seed)
    model = mlp(p, settings.hidden, **{k: v for k, v in kwargs.items() if k in ("depth", "batchnorm")})
    return train(model, settings, seed, **{k: v for k, v in kwargs.items() if k not in ("depth", "batchnorm")})


def error_and_nll(probs, y):
    """Test error (fraction misclassified) and mean negative log-likelihood of class probabilities."""
    err = (probs.argmax(1) != y).double().mean().item()
    nll = -torch.log(probs.gather(1, y[:, None]).clamp_min(1e-12)).double().mean().item()
    return err, nll


def mean_se(values):
    """Mean and standard error of independent measurements (the seeds)."""
    values = [float(v) for v in values]
    m = statistics.fmean(values)
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else float("nan")
    return m, se


def check(what, predicted, measured, stderr, relation="equal", role="supports", tolerance=None, basis=None):
    """One check. relation 'equal': |measured - predicted| <= tolerance; 'less': measured < predicted - tolerance
    (significantly smaller); 'greater': measured > predicted + tolerance. tolerance defaults to SIGMAS standard
    errors of the measurement."""
    if tolerance is None:
        tolerance = SIGMAS * stderr if stderr and math.isfinite(stderr) else 0.0
        basis = basis or f"{SIGMAS:g} standard errors"
    if relation == "equal":
        ok = abs(measured - predicted) <= tolerance
    elif relation == "less":  # measured below predicted by more than the tolerance
        ok = measured < predicted - tolerance
    elif relation == "greater":
        ok = measured > predicted + tolerance
    else:
        raise ValueError(relation)
    return {"what": what, "role": role, "relation": relation, "predicted": predicted, "measured": measured,
            "stderr": stderr, "tolerance": tolerance, "tolerance_basis": basis or "", "pass": bool(ok)}


def claim(id, statement, formula, conditions, quantity, headline, checks, plots=(), per_seed=None, notes="",
          seed_formula=None, corrected_formula=None, verdict=None, seconds=0.0):
    """A claim record in the theory JSON's format. headline: the check its row shows (predicted, measured, ...).
    The verdict follows from the checks unless given: 'holds' when every supporting check passes, 'fails'
    otherwise ('corrected' needs seed_formula and corrected_formula, and is given explicitly)."""
    if verdict is None:
        verdict = "holds" if all(c["pass"] for c in checks if c["role"] == "supports") else "fails"
    c = {"id": id, "statement": statement, "formula": formula, "conditions": conditions, "quantity": quantity,
         "predicted": headline["predicted"], "measured": headline["measured"], "stderr": headline["stderr"],
         "tolerance": headline["tolerance"], "relation": headline["relation"],
         "tolerance_basis": headline["tolerance_basis"], "verdict": verdict, "notes": notes,
         "seconds": seconds, "checks": list(checks), "plots": list(plots), "per_seed": per_seed or {},
         "kind": "trained network"}
    if seed_formula:
        c["seed_formula"] = seed_formula
    if corrected_formula:
        c["corrected_formula"] = corrected_formula
    return c


def series(label, x, y, yerr=None, line=False):
    s = {"label": label, "line": line, "x": [float(v) for v in x], "y": [float(v) for v in y]}
    if yerr is not None:
        s["yerr"] = [float(v) for v in yerr]
    return s


def plot(title, xlabel, ylabel, series_list, logx=False, logy=False):
    return {"title": title, "xlabel": xlabel, "ylabel": ylabel, "logx": logx, "logy": logy, "diagonal": False,
            "series": list(series_list)}


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
