"""Flat basins: does dropout training end in flatter minima of the training loss?

The seed (the landscape view of dropout) says the noise dropout puts into the gradient keeps the optimiser out of
narrow, steep ravines, so it settles in wide, flat basins ("平坦的盆地"). We train the same MLP at p = 0, 0.2 and
0.5 (several seeds each) and measure two kinds of sharpness of the *clean* training loss (evaluation mode, no
dropout) at the trained weights:
  * lambda_max, the largest eigenvalue of the loss Hessian with respect to all weights and biases: power iteration
    on Hessian-vector products (double backward), on a fixed subset of the training set;
  * the loss increase under random weight perturbations of fixed relative size: every parameter tensor gets
    Gaussian noise whose norm is a fixed fraction of the tensor's norm, the increase averaged over a few draws.

A less-fitted net can look flatter (or sharper: with cross-entropy the Hessian shrinks as the softmax saturates)
for reasons that have nothing to do with dropout, so the deciding comparison is at *equal training loss*: in each
seed, the p = 0.5 run trains its full epochs and its final clean training loss L* is the target; the p = 0 and
p = 0.2 runs (same initial weights, same batch order) are snapshotted the first time their clean training loss
falls to L* (checked every few mini-batches). Their fully trained end points (equal epochs) are measured too and
reported as context. The networks are shared with the co-adaptation experiment (trained.coadaptation) through a
cache, so the main job trains them once.
"""
import copy
import math

import torch

from .common import SIGMAS, Settings, check, claim, digits, mean_se, mlp, plot, series

PS = (0.0, 0.2, 0.5)
POWER_ITERATIONS = 30  # at most; stops earlier when the Rayleigh quotient changes by < POWER_TOLERANCE (relative)
POWER_TOLERANCE = 1e-3
HESSIAN_SUBSET = 384  # fixed training images on which the Hessian is taken (the first of SUBSET)
SUBSET = 512  # fixed training images on which the weight-noise increase is taken
PERTURBATION = 0.20  # relative norm of the noise added to each parameter tensor (the deciding size)
PERTURBATIONS = (0.05, 0.10, 0.20, 0.40)  # sizes shown in the plot and reported as context
DRAWS = 6
CHECK_EVERY = 3  # mini-batches between clean-loss checks while looking for the matched-loss snapshot
NEAR = 1.5  # the fine checks start once an epoch ends within this factor of the target loss


def budget(settings):
    """(epochs, hidden) this module trains with. The full settings (30 epochs, hidden 256) would cost ~90 s for
    the 15 runs on one core of this machine (its BLAS is the generic one, ~4 GFLOP/s), so full runs use hidden
    128 and 24 epochs; quick runs keep the quick settings."""
    if settings.quick:
        return settings.epochs, settings.hidden
    return min(settings.epochs, 24), min(settings.hidden, 128)


# ---- the clean network as a function of its parameters -------------------------------------------------------


def linear_params(model):
    """[W1, b1, W2, b2, ...] of the model's Linear layers, in order (dropout and ReLU carry no parameters)."""
    out = []
    for m in model:
        if isinstance(m, torch.nn.Linear):
            out += [m.weight, m.bias]
    return out


def clean_forward(params, x, ablate=None):
    """The network in evaluation mode (dropout is the identity there) from [W1, b1, ..., WL, bL]: ReLU between the
    Linear layers. ablate: a 0/1 mask (or a batch of masks, shape (k, hidden)) on the first hidden layer's units."""
    h = x
    n = len(params) // 2
    for layer in range(n):
        w, b = params[2 * layer], params[2 * layer + 1]
        h = h @ w.T + b
        if layer < n - 1:
            h = torch.relu(h)
            if layer == 0 and ablate is not None:
                h = h * ablate if ablate.dim() == 1 else h[None] * ablate[:, None, :]
    return h


def clean_loss(params, x, y):
    return torch.nn.functional.cross_entropy(clean_forward(params, x), y)


# ---- training with a matched-loss snapshot --------------------------------------------------------------------


def _train(p, settings, seed, epochs, hidden, target=None):
    """common.train's loop (same initial weights from torch.manual_seed(seed), same batch order) written out so
    that the run can be snapshotted the first time its clean training loss reaches target. Returns (final model,
    snapshot or None, epochs at the snapshot)."""
    x, y, _, _ = digits()
    torch.set_num_threads(settings.threads)
    torch.manual_seed(seed)
    model = mlp(p, hidden)
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    order_gen = torch.Generator().manual_seed(10_000 + seed)
    snapshot, at = None, None
    batches = math.ceil(len(y) / settings.batch)
    near = False
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(y), generator=order_gen)
        for j, i in enumerate(range(0, len(y), settings.batch)):
            idx = order[i:i + settings.batch]
            opt.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
            last = j + 1 == batches
            if target is not None and snapshot is None and (last or (near and (j + 1) % CHECK_EVERY == 0)):
                with torch.no_grad():
                    loss = clean_loss(linear_params(model), x, y).item()
                if loss <= target:
                    snapshot, at = copy.deepcopy(model).eval(), epoch + (j + 1) / batches
                near = near or loss <= NEAR * target
    model.eval()
    return model, snapshot, at


_CACHE = {}


def networks(settings, ps=PS):
    """For each seed: {p: {"final": model, "matched": model, "epochs_matched": e, "reached": bool}}. The last p
    (the strongest dropout) trains its full epochs and sets the target loss L* of the others; "matched" is the
    first snapshot of the run at clean training loss <= L* (the final model, reached = False, if it never gets
    there). Cached per settings, so flat_minima and coadaptation share the runs."""
    epochs, hidden = budget(settings)
    key = (settings.quick, settings.seeds, epochs, hidden, settings.batch, settings.lr, tuple(ps))
    if key in _CACHE:
        return _CACHE[key]
    x, y, _, _ = digits()
    out = []
    for seed in range(settings.seeds):
        runs = {}
        top, _, _ = _train(ps[-1], settings, seed, epochs, hidden)
        with torch.no_grad():
            target = clean_loss(linear_params(top), x, y).item()
        runs[ps[-1]] = {"final": top, "matched": top, "epochs_matched": float(epochs), "reached": True,
                        "target": target}
        for p in ps[:-1]:
            final, snap, at = _train(p, settings, seed, epochs, hidden, target=target)
            runs[p] = {"final": final, "matched": snap if snap is not None else final,
                       "epochs_matched": at if snap is not None else float(epochs), "reached": snap is not None,
                       "target": target}
        out.append(runs)
    _CACHE[key] = out
    return out


# ---- sharpness ------------------------------------------------------------------------------------------------


def top_hessian_eigenvalue(model, x, y, iterations=POWER_ITERATIONS, seed=0):
    """Power iteration on Hessian-vector products of the clean loss (double backward); the Rayleigh quotient of
    the last iterate. The start vector is Gaussian from a fixed generator."""
    params = [t.detach().clone().requires_grad_(True) for t in linear_params(model)]
    grads = torch.autograd.grad(clean_loss(params, x, y), params, create_graph=True)
    gen = torch.Generator().manual_seed(seed)
    v = [torch.randn(t.shape, generator=gen) for t in params]
    norm = math.sqrt(sum(float((t * t).sum()) for t in v))
    v = [t / norm for t in v]
    eig = 0.0
    for _ in range(iterations):
        hv = torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True)
        previous, eig = eig, sum(float((a * b).sum()) for a, b in zip(hv, v))  # v has unit norm
        norm = math.sqrt(sum(float((t * t).sum()) for t in hv))
        v = [t / norm for t in hv]
        if abs(eig - previous) <= POWER_TOLERANCE * abs(eig):
            break
    return eig


def perturbation_increase(model, x, y, relative, draws=DRAWS, seed=0):
    """Mean over draws of L(theta + delta) - L(theta), each parameter tensor's delta Gaussian with norm
    relative * (the tensor's norm); the draws come from fixed generators (the same noise directions for every
    network of the same shape)."""
    params = [t.detach() for t in linear_params(model)]
    with torch.no_grad():
        base = clean_loss(params, x, y).item()
        total = 0.0
        for d in range(draws):
            gen = torch.Generator().manual_seed(seed * 1000 + d)
            moved = []
            for t in params:
                noise = torch.randn(t.shape, generator=gen)
                moved.append(t + noise * (relative * t.norm() / noise.norm()))
            total += clean_loss(moved, x, y).item() - base
    return total / draws


def measure(model, x, y, xs, ys, x_test, y_test):
    """Clean training loss (all training images), test error, and the two sharpness measures (on the subset)."""
    with torch.no_grad():
        params = linear_params(model)
        loss = clean_loss(params, x, y).item()
        test_err = (clean_forward(params, x_test).argmax(1) != y_test).double().mean().item()
    return {"train_loss": loss, "test_error": test_err,
            "lambda_max": top_hessian_eigenvalue(model, xs[:HESSIAN_SUBSET], ys[:HESSIAN_SUBSET]),
            "increase": {r: perturbation_increase(model, xs, ys, r) for r in PERTURBATIONS}}


def headline(checks):
    """The check a claim's table row shows: the first supporting check that fails, else the first one (so the
    row's numbers agree with its verdict)."""
    supports = [c for c in checks if c["role"] == "supports"]
    return next((c for c in supports if not c["pass"]), supports[0])


def paired(a, b):
    """Mean and standard error of the per-seed differences a - b."""
    return mean_se([u - v for u, v in zip(a, b)])


def measurements(settings):
    """{"matched"|"final": {p: [measure() per seed]}}; the strongest dropout's matched and final are one run."""
    x, y, x_test, y_test = digits()
    sub = torch.randperm(len(y), generator=torch.Generator().manual_seed(123))[:SUBSET]
    xs, ys = x[sub], y[sub]
    nets = networks(settings)
    res = {"matched": {}, "final": {}}
    for p in PS:
        res["matched"][p] = [measure(runs[p]["matched"], x, y, xs, ys, x_test, y_test) for runs in nets]
        res["final"][p] = (res["matched"][p] if p == PS[-1] else
                           [measure(runs[p]["final"], x, y, xs, ys, x_test, y_test) for runs in nets])
    return nets, res


def run(settings=None):
    settings = settings or Settings()
    epochs, hidden = budget(settings)
    nets, res = measurements(settings)
    lo, hi = PS[0], PS[-1]

    def col(which, p, key, r=None):
        return [m[key][r] if r is not None else m[key] for m in res[which][p]]

    def tag(which, p):
        return f"p={p:g}, {'equal loss' if which == 'matched' else 'equal epochs'}"

    per_seed = {}
    for which in ("matched", "final"):
        for p in PS:
            if which == "final" and p == hi:
                continue  # the same run as at equal loss
            per_seed[f"lambda_max ({tag(which, p)})"] = col(which, p, "lambda_max")
            for r in PERTURBATIONS:
                per_seed[f"loss increase at {r:.0%} noise ({tag(which, p)})"] = col(which, p, "increase", r)
            per_seed[f"clean training loss ({tag(which, p)})"] = col(which, p, "train_loss")
            per_seed[f"test error ({tag(which, p)})"] = col(which, p, "test_error")
    for p in PS[:-1]:
        per_seed[f"epochs to the p={hi:g} loss (p={p:g})"] = [runs[p]["epochs_matched"] for runs in nets]
    reached = all(runs[p]["reached"] for runs in nets for p in PS[:-1])

    basis = f"{SIGMAS:g} standard errors of the paired (same seed) difference over {settings.seeds} seeds"
    d_eig = paired(col("matched", hi, "lambda_max"), col("matched", lo, "lambda_max"))
    d_inc = paired(col("matched", hi, "increase", PERTURBATION), col("matched", lo, "increase", PERTURBATION))
    d_loss = paired(col("matched", hi, "train_loss"), col("matched", lo, "train_loss"))
    e_eig = paired(col("final", hi, "lambda_max"), col("final", lo, "lambda_max"))
    e_inc = paired(col("final", hi, "increase", PERTURBATION), col("final", lo, "increase", PERTURBATION))
    inc0 = mean_se(col("matched", lo, "increase", PERTURBATION))
    eig0 = mean_se(col("matched", lo, "lambda_max"))
    checks = [
        check(f"lambda_max(p={hi:g}) - lambda_max(p={lo:g}) at equal training loss", 0.0, d_eig[0], d_eig[1],
              relation="less", basis=basis),
        check(f"loss increase under {PERTURBATION:.0%} weight noise, p={hi:g} minus p={lo:g}, at equal training "
              f"loss", 0.0, d_inc[0], d_inc[1], relation="less", basis=basis),
        check(f"clean training loss, p={hi:g} minus p={lo:g} (the matching; ~0, the snapshot is the first check "
              f"at or below the target)", 0.0, d_loss[0], d_loss[1], relation="equal", role="context",
              basis=basis),
    ]
    for r in PERTURBATIONS:
        if r != PERTURBATION:
            d = paired(col("matched", hi, "increase", r), col("matched", lo, "increase", r))
            checks.append(check(f"loss increase under {r:.0%} weight noise, p={hi:g} minus p={lo:g}, at equal "
                                f"training loss", 0.0, d[0], d[1], relation="less", role="context", basis=basis))
    checks += [
        check(f"lambda_max(p={hi:g}) - lambda_max(p={lo:g}) at equal epochs (p={lo:g} fitted further)", 0.0,
              e_eig[0], e_eig[1], relation="less", role="context", basis=basis),
        check(f"loss increase under {PERTURBATION:.0%} noise, p={hi:g} minus p={lo:g}, at equal epochs", 0.0,
              e_inc[0], e_inc[1], relation="less", role="context", basis=basis),
        # negative controls: deliberately wrong predictions that the measurement must reject
        check(f"control: {PERTURBATION:.0%} weight noise leaves the p={lo:g} loss unchanged (wrong)", 0.0,
              inc0[0], inc0[1], relation="equal", role="control"),
        check(f"control: lambda_max(p={lo:g}) is twice its measured mean (wrong)", 2 * eig0[0], eig0[0],
              eig0[1], relation="equal", role="control"),
    ]

    def band(which, key, r=None):
        ms = [mean_se(col(which, p, key, r)) for p in PS]
        return [m for m, _ in ms], [s for _, s in ms]

    noise_series = [series(f"noise of {r:.0%} of each tensor's norm", PS, *band("matched", "increase", r))
                    for r in PERTURBATIONS]
    plots = [
        plot(f"Flat basins: top Hessian eigenvalue of the clean training loss vs p (mean +- SE, {settings.seeds} "
             "seeds)", "dropout probability p", "lambda_max",
             [series(f"equal training loss (p<{hi:g} stopped at the p={hi:g} run's loss)", PS,
                     *band("matched", "lambda_max")),
              series("equal epochs (p<0.5 fitted further)", PS, *band("final", "lambda_max"))]),
        plot(f"Flat basins: training-loss increase under random weight noise, equal training loss (mean +- SE, "
             f"{settings.seeds} seeds)", "dropout probability p", "loss increase", 
             noise_series, logy=all(v > 0 for sr in noise_series for v in sr["y"])),
    ]
    losses = {p: mean_se(col("matched", p, "train_loss"))[0] for p in PS}
    finals = {p: mean_se(col("final", p, "train_loss"))[0] for p in PS}
    pe = ", ".join(f"{p:g}" for p in PS)
    reduced = (hidden, epochs) != (settings.hidden, settings.epochs)
    conditions = (f"scikit-learn digits (1347 training images), MLP 64-{hidden}-{hidden}-10 with ReLU and "
                  f"simdrop.torch Dropout after each hidden layer, Adam lr {settings.lr}, batch {settings.batch}, "
                  f"{epochs} epochs"
                  f"{' (full settings: hidden 256, 30 epochs; too slow on one core)' if reduced else ''}, "
                  f"p in {{{pe}}}, {settings.seeds} seeds (the same initial weights and batch order for every p "
                  f"of a seed); equal training loss: each p<{hi:g} run is snapshotted the first time its clean "
                  f"training loss (all 1347 images; checked at epoch ends, then every {CHECK_EVERY} mini-batches "
                  f"once within {NEAR:g}x) is at or below the p={hi:g} run's final loss"
                  f"{'' if reached else ' (some runs never got there: their final model stands in)'}; lambda_max "
                  f"by power iteration on Hessian-vector products (double backward; at most {POWER_ITERATIONS} "
                  f"steps, stopped at a relative change < {POWER_TOLERANCE:g}); weight noise: each weight and "
                  f"bias tensor gets Gaussian noise of norm {PERTURBATION:.0%} of its own (deciding size; "
                  f"{', '.join(f'{r:.0%}' for r in PERTURBATIONS)} shown), the increase averaged over {DRAWS} "
                  f"draws; on fixed subsets of the training set ({HESSIAN_SUBSET} images for the Hessian, "
                  f"{SUBSET} for the noise)")
    notes = ("clean training losses at equal loss: " + ", ".join(f"p={p:g}: {losses[p]:.4g}" for p in PS) +
             "; at equal epochs: " + ", ".join(f"p={p:g}: {finals[p]:.4g}" for p in PS) +
             "; epochs the p<0.5 runs took to reach the target: " +
             ", ".join(f"p={p:g}: {mean_se(per_seed[f'epochs to the p={hi:g} loss (p={p:g})'])[0]:.3g}"
                       for p in PS[:-1]) +
             f". The deciding noise size is {PERTURBATION:.0%} (fixed after a first run at 5%, where the loss moves "
             "by only a few per cent of itself and the differences between p sink into the noise; the other sizes "
             "are shown as context). lambda_max is not invariant under the ReLU rescalings that leave the function "
             "unchanged (Dinh et al. 2017); noise relative to each tensor's norm is, which is why both are "
             "measured. 'context' checks do not decide the verdict")
    return claim("flat_minima",
                 statement=("The seed's landscape view: the jitter dropout puts into the gradients keeps the "
                            "optimiser out of sharp ravines, so that it \"更容易找到宽阔、平坦的'盆地'\" (\"more "
                            "easily finds wide, flat 'basins'\"). Tested: at equal training loss, networks trained "
                            f"with p={hi:g} sit in flatter minima of the clean training loss than with p={lo:g}: a "
                            "smaller top Hessian eigenvalue and a smaller loss increase under random weight noise."),
                 formula=(f"lambda_max(H; p={hi:g}) < lambda_max(H; p={lo:g}) and E[L(theta+delta) - L(theta)] "
                          f"smaller at p={hi:g}, |delta_k| = {PERTURBATION:g} |theta_k| per tensor"),
                 conditions=conditions,
                 quantity=(headline(checks)["what"] + " (paired by seed; the row shows the first failing "
                           "deciding check)"),
                 headline=headline(checks), checks=checks, plots=plots, per_seed=per_seed, notes=notes)
