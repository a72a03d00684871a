"""Co-adaptation and spread weights: is a dropout-trained representation redundant, and are its weights spread?

The seed says that, because a unit may vanish at any step, the network learns not to put all its eggs in one
basket: it "将权重分散开" (spreads the weights out) and avoids single large weights; and, in its opening picture,
that the units ("detectives") must each do their work without relying on particular colleagues. Three
measurements on the same MLPs as trained.flat_minima (shared through its cache; p = 0, 0.2, 0.5, several seeds,
compared at equal clean training loss):
  * single ablations: zero one unit of the first hidden layer (its ReLU output) and record the increase of the
    clean training loss, for every unit;
  * pairwise interactions: I(i, j) = L(-i,-j) - L(-i) - L(-j) + L on a fixed random sample of unit pairs (the
    same pairs for every network); co-adapted units have large |I| (removing both hurts more, or less, than the
    sum of removing each);
  * spread: the participation ratio PR(w) = (sum w^2)^2 / sum w^4 of a weight vector (1 when one weight carries
    everything, n when n weights are equal). Decided before measuring: the deciding vectors are the incoming
    weights of the second hidden layer's units (rows of W2), because those are the weights that multiply dropped
    units, where the seed's argument (a large weight on an input that may vanish is a risk) applies; the first
    layer's incoming weights (from pixels, never dropped), its outgoing weights (columns of W2) and the output
    units' incoming weights (rows of W3) are reported as context. PR is shown as a fraction of the fan-in.
Ablations are computed without re-running the network: zeroing unit i of layer 1 changes layer 2's
pre-activation by -h_i W2[:, i] (a rank-one update), so only the layers above are recomputed.
"""
import torch

from .common import SIGMAS, Settings, check, claim, digits, mean_se, plot, series
from .flat_minima import PS, budget, clean_forward, headline, linear_params, networks, paired

PAIRS = 200  # sampled unit pairs per network (the same pairs for every network of a size)
CHUNK = 8  # ablations evaluated per batched pass


def ablation_losses(params, x, y, sets):
    """Clean training loss with each set of first-layer units zeroed: sets is a (k, m) long tensor of unit
    indices (m = 1 for singles, 2 for pairs). Returns a (k,) tensor."""
    w1, b1, w2, b2, w3, b3 = params
    h1 = torch.relu(x @ w1.T + b1)  # (n, H)
    z2 = h1 @ w2.T + b2  # (n, H2)
    out = []
    for start in range(0, len(sets), CHUNK):
        idx = sets[start:start + CHUNK]  # (c, m)
        # removed contribution: sum over the set's units u of h1[:, u] * W2[:, u] -> (c, n, H2)
        removed = torch.einsum("ncm,cmk->cnk", h1[:, idx], w2.T[idx])
        logits = torch.relu(z2[None] - removed) @ w3.T + b3  # (c, n, classes)
        logp = torch.log_softmax(logits, dim=-1)
        out.append(-logp.gather(2, y[None, :, None].expand(len(idx), -1, 1)).squeeze(2).mean(1))
    return torch.cat(out)


def participation(w):
    """Participation ratio of each row of w divided by the row length: in (0, 1]."""
    s2 = (w * w).sum(1)
    s4 = (w ** 4).sum(1)
    return ((s2 * s2 / s4) / w.shape[1]).mean().item()


def analyse(model, x, y, pairs):
    params = [t.detach() for t in linear_params(model)]
    hidden = params[0].shape[0]
    with torch.no_grad():
        base = torch.nn.functional.cross_entropy(clean_forward(params, x), y).item()
        single = ablation_losses(params, x, y, torch.arange(hidden)[:, None]) - base  # (H,)
        both = ablation_losses(params, x, y, pairs) - base
        inter = both - single[pairs[:, 0]] - single[pairs[:, 1]]
        w1, b1, w2, _, w3, _ = params
        rms1 = torch.relu(x @ w1.T + b1).pow(2).mean(0).sqrt()  # each layer-1 unit's rms output
        return {"loss": base, "single": single.tolist(), "single_mean": single.mean().item(),
                "single_max": single.max().item(), "inter_abs": inter.abs().mean().item(),
                "inter_mean": inter.mean().item(),
                "pr_w2_rows": participation(w2), "pr_w1_rows": participation(w1),
                "pr_w2_cols": participation(w2.T), "pr_w3_rows": participation(w3),
                "pr_w2_scaled": participation(w2 * rms1[None]),
                "peak_w2": (w2.abs().max(1).values / w2.pow(2).mean(1).sqrt()).mean().item()}


def run(settings=None):
    settings = settings or Settings()
    epochs, hidden = budget(settings)
    x, y, _, _ = digits()
    nets = networks(settings)
    gen = torch.Generator().manual_seed(2024)
    all_pairs = torch.combinations(torch.arange(hidden), 2)
    pairs = all_pairs[torch.randperm(len(all_pairs), generator=gen)[:PAIRS]]
    lo, hi = PS[0], PS[-1]
    res = {("matched", p): [analyse(runs[p]["matched"], x, y, pairs) for runs in nets] for p in PS}
    res[("final", lo)] = [analyse(runs[lo]["final"], x, y, pairs) for runs in nets]

    def col(which, p, key):
        return [r[key] for r in res[(which, p)]]

    per_seed = {}
    labels = {"single_mean": "mean loss increase of a single-unit ablation",
              "single_max": "largest single-unit ablation loss increase",
              "inter_abs": "mean |I(i,j)| over the sampled pairs", "inter_mean": "mean I(i,j)",
              "pr_w2_rows": "PR/fan-in, layer-2 units' incoming weights (read dropped units)",
              "pr_w1_rows": "PR/fan-in, layer-1 units' incoming weights (pixels)",
              "pr_w2_cols": "PR/fan-out, layer-1 units' outgoing weights",
              "pr_w3_rows": "PR/fan-in, output units' incoming weights",
              "pr_w2_scaled": "PR/fan-in, rows of W2 times each input unit's rms output",
              "peak_w2": "largest |w| / rms(w) of a row of W2", "loss": "clean training loss"}
    for (which, p) in res:
        tag = f"p={p:g}, {'equal loss' if which == 'matched' else 'equal epochs'}"
        for key, label in labels.items():
            per_seed[f"{label} ({tag})"] = col(which, p, key)

    basis = f"{SIGMAS:g} standard errors of the paired (same seed) difference over {settings.seeds} seeds"

    def diff(key, which_lo="matched"):
        return paired(col("matched", hi, key), col(which_lo, lo, key))

    d_single, d_inter, d_pr = diff("single_mean"), diff("inter_abs"), diff("pr_w2_rows")
    checks = [
        check(f"mean single-ablation loss increase, p={hi:g} minus p={lo:g}", 0.0, d_single[0], d_single[1],
              relation="less", basis=basis),
        check(f"mean |I(i,j)|, p={hi:g} minus p={lo:g}", 0.0, d_inter[0], d_inter[1], relation="less",
              basis=basis),
        check(f"participation ratio / fan-in of the weights reading dropped units (rows of W2), p={hi:g} minus "
              f"p={lo:g}", 0.0, d_pr[0], d_pr[1], relation="greater", basis=basis),
    ]
    context = [("single_max", "less", "largest single-ablation loss increase"),
               ("inter_mean", "less", "mean signed I(i,j)"),
               ("pr_w2_scaled", "greater", "PR / fan-in of the rows of W2 scaled by their inputs' rms (the "
                "seed's linear-model penalty sum w_j^2 x_j^2 spreads these)"),
               ("peak_w2", "less", "largest |w| / rms(w) in a row of W2 (single outsized weights)"),
               ("pr_w3_rows", "greater", "PR / fan-in of the output units' incoming weights"),
               ("pr_w2_cols", "greater", "PR / fan-out of layer-1 units' outgoing weights"),
               ("pr_w1_rows", "greater", "PR / fan-in of layer-1 units' incoming weights (pixels, never dropped)"),
               ("loss", "equal", "clean training loss (the matching)")]
    for key, rel, what in context:
        d = diff(key)
        checks.append(check(f"{what}, p={hi:g} minus p={lo:g}, equal loss", 0.0, d[0], d[1], relation=rel,
                            role="context", basis=basis))
    for key, rel, what in (("single_mean", "less", "mean single-ablation loss increase"),
                           ("inter_abs", "less", "mean |I(i,j)|"),
                           ("pr_w2_rows", "greater", "PR / fan-in of the rows of W2")):
        d = diff(key, "final")
        checks.append(check(f"{what}, p={hi:g} minus p={lo:g}, equal epochs (p={lo:g} fitted further)", 0.0,
                            d[0], d[1], relation=rel, role="context", basis=basis))
    s0, pr0 = mean_se(col("matched", lo, "single_mean")), mean_se(col("matched", lo, "pr_w2_rows"))
    checks += [
        check(f"control: removing a unit of the p={lo:g} net costs nothing (wrong)", 0.0, s0[0], s0[1],
              relation="equal", role="control"),
        check(f"control: the rows of W2 at p={lo:g} are as spread as they can be, PR / fan-in = 1 (wrong)", 1.0,
              pr0[0], pr0[1], relation="equal", role="control"),
    ]

    ranks = list(range(1, hidden + 1))

    def sorted_curve(p, which="matched"):
        curves = [sorted(r["single"], reverse=True) for r in res[(which, p)]]
        return [sum(c[k] for c in curves) / len(curves) for k in range(hidden)]

    def band(key, which="matched"):
        ms = [mean_se(col(which, p, key)) for p in PS]
        return [m for m, _ in ms], [s for _, s in ms]

    plots = [
        plot(f"Co-adaptation: loss increase when one first-layer unit is removed, units sorted (mean over "
             f"{settings.seeds} seeds, equal training loss)", "unit rank", "training-loss increase",
             [series(f"p={p:g}", ranks, sorted_curve(p), line=True) for p in PS]),
        plot(f"Spread weights: participation ratio / fan-in vs p (mean +- SE, {settings.seeds} seeds, equal "
             "training loss)", "dropout probability p", "participation ratio / number of weights",
             [series("layer-2 units' incoming (read dropped units)", PS, *band("pr_w2_rows")),
              series("output units' incoming (read dropped units)", PS, *band("pr_w3_rows")),
              series("layer-1 units' outgoing", PS, *band("pr_w2_cols")),
              series("layer-1 units' incoming (pixels, never dropped)", PS, *band("pr_w1_rows"))]),
    ]
    holds = [k["what"].split(",")[0] for k in checks[:3] if k["pass"]]
    conditions = (f"the networks of flat_minima (digits, MLP 64-{hidden}-{hidden}-10, {epochs} epochs, "
                  f"{settings.seeds} seeds, p in {{{', '.join(f'{p:g}' for p in PS)}}}; p<{hi:g} runs taken at the "
                  f"p={hi:g} run's clean training loss); ablation: a first-hidden-layer unit's ReLU output set to "
                  f"0 in evaluation mode, the loss on all 1347 training images; all {hidden} single ablations and "
                  f"{PAIRS} random pairs (the same for every network); participation ratio (sum w^2)^2 / sum w^4 "
                  "divided by the vector's length, averaged over units; deciding spread measure chosen before "
                  "measuring: rows of W2 (the weights that multiply dropped units)")
    notes = ("supporting parts that hold: " + (", ".join(holds) if holds else "none") +
             "; clean training losses at equal loss: " +
             ", ".join(f"p={p:g}: {mean_se(col('matched', p, 'loss'))[0]:.4g}" for p in PS) +
             f"; p={lo:g} at equal epochs: {mean_se(col('final', lo, 'loss'))[0]:.4g}. 'context' checks do not "
             "decide the verdict")
    return claim("coadaptation",
                 statement=("The seed: dropout stops units from co-adapting, and the network learns not to put "
                            "its eggs in one basket but to \"将权重分散开，避免出现个别过大的权重\" "
                            "(\"spread the weights out and avoid single very large weights\"). Tested: at equal "
                            f"training loss, with p={hi:g} removing one hidden unit costs less than with "
                            f"p={lo:g}, pairs of units interact less, and the weights that read dropped units "
                            "are more evenly spread."),
                 formula=(f"mean_i [L(-i) - L] and mean |L(-i,-j) - L(-i) - L(-j) + L| smaller, PR(W2 rows) = "
                          f"(sum w^2)^2 / sum w^4 larger at p={hi:g} than at p={lo:g}"),
                 conditions=conditions,
                 quantity=(headline(checks)["what"] + " (paired by seed; the row shows the first failing "
                           "deciding check)"),
                 headline=headline(checks), checks=checks, plots=plots, per_seed=per_seed, notes=notes)
