"""Variance shift at inference (Li et al. 2019, "Understanding the disharmony between dropout and batch
normalization by variance shift").

Inverted dropout keeps each unit's mean, not its variance: for a unit h with mean mu and variance s^2 over the
data, the dropped-and-rescaled m h / (1-p) has variance (s^2 + mu^2)/(1-p) - mu^2 in training mode and s^2 in
evaluation mode. For the pre-activation z = W (m * h) + b of the layer after the dropout (masks independent of the
data and of each other, E[m] = 1, E[m^2] = 1/(1-p)):
    Var_train(z_j) = Var_eval(z_j) + p/(1-p) sum_i W_ji^2 E[h_i^2],
so the predicted ratio Var_train/Var_eval per unit follows from the trained weights and the clean activations.

(a) We measure the ratio on a trained net: Linear -> ReLU -> Dropout(p) -> Linear -> BatchNorm -> ReLU -> Linear
    (simdrop.torch's Dropout; BatchNorm after the dropout, the order Li et al. analyse), over the training set with
    several mask draws, against the prediction, at several p.
(b) A BatchNorm after the dropout stores the training-mode variance in its running statistics and applies it to
    evaluation-mode inputs. We compare the test error of the trained net as it is against the same net with the
    BatchNorm statistics re-estimated with dropout off (running stats reset, the training set forwarded with
    dropout in evaluation mode and BatchNorm in training mode, cumulative average). A second re-estimation with
    dropout *on* separates the variance shift from the mere refresh of statistics gathered over moving weights.
"""
import copy

import torch

import simdrop.torch as sdt

from .common import SIGMAS, check, claim, digits, error_and_nll, mean_se, plot, series, train

PS = (0.1, 0.3, 0.5, 0.7)
MASK_DRAWS = 8  # mask draws per training image for the training-mode variance
DECIDING_P = 0.5


def budget(settings):
    """(epochs, hidden): the full settings' 30 epochs at hidden 256 cost ~100 s for the 20 runs on one core, so full
    runs use hidden 128 and 15 epochs; quick runs keep the quick settings."""
    if settings.quick:
        return settings.epochs, settings.hidden
    return min(settings.epochs, 15), min(settings.hidden, 128)


def model(p, hidden):
    return torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.ReLU(), sdt.Dropout(p),
                               torch.nn.Linear(hidden, hidden), torch.nn.BatchNorm1d(hidden), torch.nn.ReLU(),
                               torch.nn.Linear(hidden, 10))


@torch.no_grad()
def variance_ratio(net, x, p, draws=MASK_DRAWS):
    """(measured, predicted) Var_train/Var_eval of the pre-activation after the dropout, averaged over units."""
    net.eval()
    h = net[1](net[0](x))
    lin = net[3]
    z_eval = lin(h)
    var_eval = z_eval.var(0, unbiased=False)  # population variances: the same normalisation
    drop = net[2]
    drop.train()
    z_train = torch.cat([lin(drop(h)) for _ in range(draws)])
    drop.eval()
    var_train = z_train.var(0, unbiased=False)
    extra = p / (1 - p) * (lin.weight ** 2 @ (h ** 2).mean(0))
    keep = var_eval > 1e-8 * var_eval.max()  # units dead on the whole training set carry no ratio
    measured = (var_train[keep] / var_eval[keep]).mean().item()
    predicted = (1 + extra[keep] / var_eval[keep]).mean().item()
    return measured, predicted


@torch.no_grad()
def reestimated(net, x, dropout_on, batch=64):
    """A copy of net with its BatchNorm statistics recomputed over the training set (cumulative average)."""
    net = copy.deepcopy(net)
    bn = net[4]
    bn.reset_running_stats()
    bn.momentum = None
    net.eval()
    bn.train()
    net[2].train(dropout_on)
    for i in range(0, len(x), batch):
        net(x[i:i + batch])
    net.eval()
    return net


@torch.no_grad()
def test_metrics(net, xt, yt):
    net.eval()
    return error_and_nll(torch.softmax(net(xt), 1), yt)


def paired(a, b):
    return mean_se([u - v for u, v in zip(a, b)])


def run(settings):
    epochs, hidden = budget(settings)
    ps = PS if not settings.quick else (0.1, 0.5)
    x, y, xt, yt = digits()
    res = {p: {k: [] for k in ("measured", "predicted", "err", "err_off", "err_on", "nll", "nll_off", "nll_on")}
           for p in ps}
    for p in ps:
        for seed in range(settings.seeds):
            torch.manual_seed(seed)
            net = train(model(p, hidden), settings, seed, epochs=epochs)
            torch.manual_seed(50_000 + seed)  # the measurement's own masks
            m, pr = variance_ratio(net, x, p)
            r = res[p]
            r["measured"].append(m)
            r["predicted"].append(pr)
            for tag, n in (("", net), ("_off", reestimated(net, x, False)), ("_on", reestimated(net, x, True))):
                e, l = test_metrics(n, xt, yt)
                r["err" + tag].append(e)
                r["nll" + tag].append(l)

    basis = f"{SIGMAS:g} standard errors of the paired (same net) difference over {settings.seeds} seeds"
    checks = []
    for p in ps:
        d = paired(res[p]["measured"], res[p]["predicted"])
        pm = mean_se(res[p]["predicted"])[0]
        checks.append(check(f"p={p:g}: Var_train/Var_eval of the pre-activation after the dropout (mean over "
                            f"units) equals p/(1-p) sum W^2 E[h^2] / Var_eval + 1", pm, pm + d[0], d[1],
                            basis=basis))
    dp = DECIDING_P if DECIDING_P in ps else ps[-1]
    gain = paired(res[dp]["err"], res[dp]["err_off"])
    shift = paired(res[dp]["err_on"], res[dp]["err_off"])
    checks.append(check(f"p={dp:g}: test error as trained minus with BatchNorm statistics re-estimated with dropout "
                        f"off (re-estimation lowers the error)", 0.0, gain[0], gain[1], relation="greater",
                        basis=basis))
    checks.append(check(f"p={dp:g}: test error with statistics re-estimated with dropout on minus off (the part of "
                        f"the gain due to the variance shift, not to refreshed statistics)", 0.0, shift[0], shift[1],
                        relation="greater", basis=basis))
    for p in ps:
        if p == dp:
            continue
        g = paired(res[p]["err"], res[p]["err_off"])
        checks.append(check(f"p={p:g}: test error as trained minus re-estimated with dropout off", 0.0, g[0], g[1],
                            relation="greater", role="context", basis=basis))
    for p in ps:
        n_shift = paired(res[p]["nll_on"], res[p]["nll_off"])
        checks.append(check(f"p={p:g}: test NLL, re-estimated with dropout on minus off (variance-shift part)", 0.0,
                            n_shift[0], n_shift[1], relation="greater", role="context", basis=basis))
    m_hi = mean_se(res[dp]["measured"])
    checks.append(check(f"control: no variance shift at p={dp:g} (ratio 1; wrong: inverted dropout keeps the mean "
                        f"only)", 1.0, m_hi[0], m_hi[1], role="control"))
    lo = ps[0]
    d_lo = paired(res[lo]["measured"], res[lo]["predicted"])
    checks.append(check(f"control: at p={lo:g} the ratio is 1/(1-p) (the variance alone rescaled; wrong: the mean "
                        f"and the weights enter)", 1 / (1 - lo), mean_se(res[lo]["predicted"])[0] + d_lo[0],
                        d_lo[1], role="control", basis=basis))
    head = checks[ps.index(dp)]

    per_seed = {}
    for p in ps:
        per_seed[f"Var_train/Var_eval measured (p={p:g})"] = res[p]["measured"]
        per_seed[f"Var_train/Var_eval predicted (p={p:g})"] = res[p]["predicted"]
        per_seed[f"test error as trained (p={p:g})"] = res[p]["err"]
        per_seed[f"test error, BN re-estimated dropout off (p={p:g})"] = res[p]["err_off"]
        per_seed[f"test error, BN re-estimated dropout on (p={p:g})"] = res[p]["err_on"]

    def band(key):
        ms = [mean_se(res[p][key]) for p in ps]
        return [m for m, _ in ms], [s for _, s in ms]

    plots = [
        plot(f"Variance shift: Var_train / Var_eval of the pre-activation after the dropout (mean over units; "
             f"mean +- SE over {settings.seeds} seeds)", "dropout probability p", "variance ratio train / eval",
             [series("measured", ps, *band("measured")),
              series("predicted: 1 + p/(1-p) sum W^2 E[h^2] / Var_eval", ps, band("predicted")[0], line=True),
              series("1/(1-p) (variance alone rescaled)", ps, [1 / (1 - p) for p in ps], line=True)]),
        plot(f"BatchNorm after dropout: test error with and without re-estimated statistics (mean +- SE over "
             f"{settings.seeds} seeds)", "dropout probability p", "test error",
             [series("as trained (running statistics from training mode)", ps, *band("err")),
              series("re-estimated, dropout off (no variance shift)", ps, *band("err_off")),
              series("re-estimated, dropout on (refreshed, shift kept)", ps, *band("err_on"))]),
    ]
    conditions = (f"scikit-learn digits (1347 training, 450 test images); net 64-{hidden} ReLU -> simdrop.torch "
                  f"Dropout(p) -> Linear {hidden}-{hidden} -> BatchNorm1d -> ReLU -> Linear {hidden}-10; Adam lr "
                  f"{settings.lr}, batch {settings.batch}, {epochs} epochs"
                  f"{' (hidden 128, 15 epochs instead of 256, 30 for the one-core budget)' if not settings.quick else ''}"
                  f"; p in {{{', '.join(f'{p:g}' for p in ps)}}}; {settings.seeds} seeds; variances over the training "
                  f"set, {MASK_DRAWS} mask draws per image in training mode; ratio averaged over units alive on the "
                  f"training set; re-estimation: running statistics reset, one pass over the training set in "
                  f"batches of 64, cumulative average")
    notes = "; ".join(
        f"p={p:g}: ratio measured {mean_se(res[p]['measured'])[0]:.4f} predicted {mean_se(res[p]['predicted'])[0]:.4f}"
        f"; test error as trained {mean_se(res[p]['err'])[0]:.4f}, re-estimated off {mean_se(res[p]['err_off'])[0]:.4f}"
        f", on {mean_se(res[p]['err_on'])[0]:.4f}; NLL {mean_se(res[p]['nll'])[0]:.4f} / "
        f"{mean_se(res[p]['nll_off'])[0]:.4f} / {mean_se(res[p]['nll_on'])[0]:.4f}" for p in ps)
    statement = ("The seed: with inverted dropout the full network is used unchanged at test time, \u201c\u8bad\u7ec3"
                 "\u65f6\u7684\u7f29\u653e\u64cd\u4f5c\u5df2\u7ecf\u9884\u5148\u8865\u507f\u4e86\u4e22\u5f03\u8fc7\u7a0b"
                 "\u5bf9\u6fc0\u6d3b\u503c\u5c3a\u5ea6\u7684\u5f71\u54cd\u201d (\u201cthe scaling in training has "
                 "already compensated the effect of dropping on the activations' scale\u201d), though \u201c\u5b83"
                 "\u5e76\u6ca1\u6709\u6d88\u9664\u968f\u673a\u6027\u5f15\u5165\u7684\u65b9\u5dee\u201d (\u201cit does "
                 "not remove the variance the randomness introduces\u201d). Li et al. 2019: the mean is compensated, "
                 "the variance is not, and a BatchNorm after the dropout carries the training-mode variance into "
                 "evaluation, which costs test error that re-estimating its statistics recovers")
    return claim("variance_shift", statement,
                 "Var_train(z_j) / Var_eval(z_j) = 1 + p/(1-p) sum_i W_ji^2 E[h_i^2] / Var_eval(z_j); "
                 "per unit before the layer: Var_train = (s^2 + mu^2)/(1-p) - mu^2 vs Var_eval = s^2",
                 conditions, f"Var_train/Var_eval, p={dp:g}", head, checks, plots, per_seed, notes)
