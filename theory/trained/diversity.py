"""Diversity of dropout sub-networks: D, E_ind and E_ens of T sampled sub-networks of a trained net, against p.

A sub-network is one fixed draw of simdrop's masks (one keep/drop decision per hidden unit, shared by every test
example): each dropout layer's mask is sdt.dropout(ones(1, width), p), i.e. 0 or 1 / (1 - p), as the trained
net's inverted dropout scales its kept units. T = 30 sub-networks are drawn from each trained net, and the
ensemble averages their class-probability vectors. With squared (Brier) error of probability vectors, per test
example (y one-hot, P_t the member's probabilities, Pbar their mean):

    E_ind  = mean_t |P_t - y|^2          E_ens = |Pbar - y|^2
    D_amb  = mean_t |P_t - Pbar|^2       D     = mean over pairs s != t of |P_s - P_t|^2

and exactly E_ind - E_ens = D_amb = (T - 1) / (2T) * D (the ambiguity decomposition; the pairwise form is the
seed's formula, D read as the mean pairwise disagreement). With one-hot votes in place of probabilities and half
the squared error, E_ind is the members' mean error rate, D the pairwise disagreement rate, and the same identity
holds; with a majority vote (the ensemble's error rate) it does not. All of these are measured, averaged over the
test set, in float64.
"""
import sys

import torch

import simdrop.torch as sdt

from .common import (SIGMAS, Settings, Timer, check, claim, digits, mean_se, plot, series,  # noqa
                     trained_mlp)

PS = (0.1, 0.3, 0.5)
T = 30  # sub-networks per trained net

STATEMENT = ("The seed (chapter 1, on diversity): \u201c\u96c6\u6210\u5e26\u6765\u7684\u8bef\u5dee\u4e0b\u964d"
             "\u91cf\uff0c\u6b63\u6bd4\u4e8e\u5b50\u7f51\u7edc\u4e4b\u95f4\u7684\u5206\u6b67\u7a0b\u5ea6\u201d "
             "(\u201cthe drop in error the ensemble brings is proportional to the disagreement between the "
             "sub-networks\u201d, E_ind - E_ens = (T - 1)/(2T) D) and dropout \u201c\u6781\u5927\u5730\u4fc3"
             "\u8fdb\u4e86\u8fd9\u79cd\u5206\u6b67\uff0c\u4ece\u800c\u6709\u6548\u5730\u964d\u4f4e\u4e86\u6574"
             "\u4f53\u8bef\u5dee\u201d (\u201cgreatly promotes this disagreement, and so effectively lowers the "
             "overall error\u201d). Tested on sub-networks of trained nets: the identity, and whether more "
             "disagreement goes with a lower ensemble error")


def sub_network_probs(model, x, p, members, seed):
    """(members, n, classes) float64 class probabilities of `members` fixed sub-networks of the trained model."""
    torch.manual_seed(2_000_000 + seed)  # the sub-networks' masks: a stream of their own per seed
    layers = list(model)
    model.eval()
    with torch.no_grad():
        h = x.repeat(members, 1)
        n = len(x)
        for layer in layers:
            if isinstance(layer, sdt.Dropout):
                width = h.shape[1]
                masks = sdt.dropout(torch.ones(members, 1, width), p, training=True)  # one mask per member
                h = (h.view(members, n, width) * masks).view(members * n, width)
            else:
                h = layer(h)
        return torch.softmax(h.double(), 1).view(members, n, -1)


def decompose(probs, y):
    """The ensemble quantities of probs (T, n, C) for labels y, averaged over the n examples (float64)."""
    t, n, c = probs.shape
    onehot = torch.nn.functional.one_hot(y, c).double()
    mean = probs.mean(0)
    e_ind = ((probs - onehot) ** 2).sum(2).mean().item()
    e_ens = ((mean - onehot) ** 2).sum(1).mean().item()
    d_amb = ((probs - mean) ** 2).sum(2).mean().item()
    # pairwise, computed directly (not from D_amb): mean over ordered pairs s != t
    sq = torch.zeros(n, dtype=torch.float64)
    for s in range(t):
        sq += ((probs[s] - probs) ** 2).sum(2).sum(0)
    d_pair = (sq.sum() / (n * t * (t - 1))).item()
    # votes: one-hot of each member's argmax; half squared error = error rate for one-hot vectors
    votes = torch.nn.functional.one_hot(probs.argmax(2), c).double()
    vote_frac = votes.mean(0)
    err_ind = (probs.argmax(2) != y).double().mean().item()
    e_ens_vote = 0.5 * ((vote_frac - onehot) ** 2).sum(1).mean().item()
    agree = torch.zeros(n, dtype=torch.float64)
    for s in range(t):
        agree += (votes[s] * votes).sum(2).sum(0) - 1.0  # agreements of s with the others
    dis = 1.0 - (agree.sum() / (n * t * (t - 1))).item()
    majority = vote_frac.argmax(1)  # ties: the lowest class index
    err_major = (majority != y).double().mean().item()
    err_mean_prob = (mean.argmax(1) != y).double().mean().item()
    # rounding bound on a mean of t*n*c float64 terms each of size <= 2: (number of terms) * eps * magnitude
    bound = t * n * c * sys.float_info.epsilon * (e_ind + e_ens + d_amb + d_pair)
    return dict(e_ind=e_ind, e_ens=e_ens, d_amb=d_amb, d_pair=d_pair, err_ind=err_ind, e_ens_vote=e_ens_vote,
                dis=dis, err_major=err_major, err_mean_prob=err_mean_prob, bound=bound,
                resid_amb=e_ind - e_ens - d_amb, resid_pair=e_ind - e_ens - (t - 1) / (2 * t) * d_pair,
                resid_vote=err_ind - e_ens_vote - (t - 1) / (2 * t) * dis,
                resid_major=err_ind - err_major - (t - 1) / (2 * t) * dis,
                resid_wrong=e_ind - e_ens - d_pair)


def slope(xs, ys):
    """Least-squares slope of ys on xs."""
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((a - mx) ** 2 for a in xs)
    return sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / sxx if sxx > 0 else float("nan")


def run(settings):
    with Timer() as timer:
        quick = settings.quick
        # The full budget (~40 s on one loaded core, generic BLAS, 15 trainings): hidden <= 128, <= 20 epochs.
        hidden = settings.hidden if quick else min(settings.hidden, 128)
        epochs = settings.epochs if quick else min(settings.epochs, 20)
        local = Settings(quick=quick, seeds=settings.seeds, threads=settings.threads)
        local.hidden, local.epochs, local.lr, local.batch = hidden, epochs, settings.lr, settings.batch
        _, _, xt, yt = digits()
        res = {p: [] for p in PS}  # p -> one decompose() dict per seed
        brier_full = {p: [] for p in PS}
        onehot = torch.nn.functional.one_hot(yt, 10).double()
        for s in range(settings.seeds):
            for p in PS:
                model = trained_mlp(p, local, s)
                res[p].append(decompose(sub_network_probs(model, xt, p, T, s), yt))
                with torch.no_grad():
                    full = torch.softmax(model.eval()(xt).double(), 1)
                brier_full[p].append(((full - onehot) ** 2).sum(1).mean().item())
        seeds = settings.seeds
        lo, hi = PS[0], PS[-1]

        def col(p, key):
            return [r[key] for r in res[p]]

        every = [r for p in PS for r in res[p]]
        bound = min(r["bound"] for r in every)
        rb = "float64 rounding bound: (terms summed) x eps x (E_ind + E_ens + D_amb + D)"

        def worst(key):
            return max(abs(r[key]) for r in every)

        slopes = [slope([res[p][i]["d_pair"] for p in PS], [res[p][i]["e_ens"] for p in PS]) for i in range(seeds)]
        slopes_ind = [slope([res[p][i]["d_pair"] for p in PS], [res[p][i]["e_ind"] for p in PS])
                      for i in range(seeds)]
        sl_m, sl_se = mean_se(slopes)
        dd = mean_se([a - b for a, b in zip(col(hi, "d_pair"), col(lo, "d_pair"))])
        de = mean_se([a - b for a, b in zip(col(hi, "e_ens"), col(lo, "e_ens"))])
        gain_lo = mean_se([a - b for a, b in zip(col(lo, "e_ind"), col(lo, "e_ens"))])
        ens_vs_full = mean_se([a - b for a, b in zip(col(hi, "e_ens"), brier_full[hi])])
        basis = f"{SIGMAS:g} standard errors over {seeds} seeds (paired)"
        ident = check(f"E_ind - E_ens = (T - 1)/(2T) D, exact (largest |residual| over {seeds} seeds x "
                     f"{len(PS)} p; D: mean pairwise squared distance of the members' probability vectors)",
                     0.0, worst("resid_pair"), 0.0, tolerance=bound, basis=rb)
        head = check(f"more disagreement, lower ensemble error: slope of E_ens on D across p = {list(PS)} "
                     "(per seed) < 0", 0.0, sl_m, sl_se, relation="less", basis=f"{SIGMAS:g} standard errors of "
                     f"the per-seed slopes over {seeds} seeds")
        checks = [
            ident,
            check("E_ind - E_ens = D_amb (mean squared distance of members to their average), exact", 0.0,
                  worst("resid_amb"), 0.0, tolerance=bound, basis=rb),
            check("the seed's formula in error rates: mean member error - (half Brier error of the vote fractions) "
                  "= (T - 1)/(2T) x pairwise disagreement rate, exact", 0.0, worst("resid_vote"), 0.0,
                  tolerance=bound, basis=rb),
            check(f"ensemble beats its average member at the smallest p = {lo}: E_ind - E_ens > 0", 0.0,
                  gain_lo[0], gain_lo[1], relation="greater", basis=basis),
            check(f"dropout promotes disagreement: D(p = {hi}) - D(p = {lo}) > 0", 0.0, dd[0], dd[1],
                  relation="greater", basis=basis),
            head,
            check("the seed's formula with a majority vote: mean member error - majority-vote error = "
                  "(T - 1)/(2T) x disagreement rate (largest |residual|)", 0.0, worst("resid_major"), 0.0,
                  role="context", tolerance=bound, basis=rb),
            check("control (deliberately wrong): E_ind - E_ens = D, without the factor (T - 1)/(2T) (largest "
                  "|residual|)", 0.0, worst("resid_wrong"), 0.0, role="control", tolerance=bound, basis=rb),
            check(f"control (deliberately wrong): D does not change with p, D(p = {hi}) - D(p = {lo}) = 0",
                  0.0, dd[0], dd[1], role="control", basis=basis),
        ]

        def curve(key, label):
            ms = [mean_se(col(p, key)) for p in PS]
            return series(label, PS, [m for m, _ in ms], [se for _, se in ms])

        wsm = [mean_se(brier_full[p]) for p in PS]
        full_d = mean_se([a - b for a, b in zip(brier_full[hi], brier_full[lo])])
        plots = [
            plot(f"Sub-network ensembles of trained nets (T = {T}, squared error of class probabilities)",
                 "dropout rate p (trained and sampled)", "squared error / disagreement", [
                     curve("e_ind", "E_ind: mean member error"),
                     curve("e_ens", "E_ens: error of the averaged members"),
                     curve("d_amb", "D_amb = (T-1)/(2T) D: the members' spread (= E_ind - E_ens)"),
                     series("weight-scaled net (eval mode)", PS, [m for m, _ in wsm], [se for _, se in wsm]),
                 ]),
            plot("Does more disagreement lower the ensemble error? (one point per seed)",
                 "D: mean pairwise squared distance of members", "E_ens", [
                     series(f"p = {p}", col(p, "d_pair"), col(p, "e_ens")) for p in PS]),
        ]
        per_seed, detail = {}, {}
        for p in PS:
            for key, name in (("e_ind", "E_ind"), ("e_ens", "E_ens"), ("d_pair", "D")):
                per_seed[f"{name} at p = {p}"] = col(p, key)
            for key, name in (("d_amb", "D_amb"), ("err_ind", "mean member error rate"),
                              ("dis", "pairwise disagreement rate"), ("err_major", "majority-vote error rate"),
                              ("err_mean_prob", "error rate of the averaged probabilities"),
                              ("resid_pair", "residual E_ind - E_ens - (T-1)/(2T) D"),
                              ("resid_major", "residual with a majority vote")):
                detail[f"{name} at p = {p}"] = col(p, key)
            detail[f"squared error of the weight-scaled net at p = {p}"] = brier_full[p]
        per_seed["slope of E_ens on D across p"] = slopes
        detail["slope of E_ind on D across p"] = slopes_ind

        def ms(p, key):
            m, se = mean_se(col(p, key))
            return f"{m:.4f}\u00b1{se:.4f}"

        table = "; ".join(f"p = {p}: E_ind {ms(p, 'e_ind')}, E_ens {ms(p, 'e_ens')}, D_amb {ms(p, 'd_amb')}, "
                          f"D {ms(p, 'd_pair')}, member error rate {ms(p, 'err_ind')}, disagreement rate "
                          f"{ms(p, 'dis')}, majority-vote error {ms(p, 'err_major')}" for p in PS)
        si_m, si_se = mean_se(slopes_ind)
        holds = [k["what"].split(":")[0] if "lower ensemble" in k["what"] else k["what"] for k in checks
                 if k["role"] == "supports" and k["pass"]]
        fails = [k["what"] for k in checks if k["role"] == "supports" and not k["pass"]]
        notes = (f"Parts that hold: {'; '.join(holds) or 'none'}. Parts that fail: {'; '.join(fails) or 'none'}. "
                 f"{table}. Identity residuals: largest {worst('resid_pair'):.2e} (pairwise form), "
                 f"{worst('resid_amb'):.2e} (ambiguity form), {worst('resid_vote'):.2e} (votes, half Brier) "
                 f"against the rounding bound {bound:.1e}; with a majority vote the residual reaches "
                 f"{worst('resid_major'):.3f}. Across p, D(p = {hi}) - D(p = {lo}) = {dd[0]:+.4f} \u00b1 {dd[1]:.4f} "
                 f"and E_ens(p = {hi}) - E_ens(p = {lo}) = {de[0]:+.4f} \u00b1 {de[1]:.4f}; slope of E_ens on D "
                 f"{sl_m:+.3f} \u00b1 {sl_se:.3f}, of E_ind on D {si_m:+.3f} \u00b1 {si_se:.3f} (the identity makes "
                 f"the second = first + (T-1)/(2T) = first + {(T - 1) / (2 * T):.3f}). At p = {hi} the {T}-member "
                 f"ensemble's squared error minus the weight-scaled net's: {ens_vs_full[0]:+.4f} \u00b1 "
                 f"{ens_vs_full[1]:.4f}; the weight-scaled nets' own squared error by p: "
                 f"{', '.join(f'{m:.4f}' for m, _ in wsm)} (p = {hi} minus p = {lo}, paired: {full_d[0]:+.4f} \u00b1 "
                 f"{full_d[1]:.4f}). Each "
                 f"p is its own trained net (trained with that p), so across p the test compares different nets")
        conditions = (f"digits (1347 train / {len(yt)} test), MLP 64-{hidden}-{hidden}-10, ReLU, simdrop dropout "
                      f"p in {list(PS)} after each hidden layer (a net trained at each p), Adam lr {settings.lr}, "
                      f"batch {settings.batch}, {epochs} epochs"
                      f"{'' if quick else f' and hidden {hidden} (the full settings reduced to fit the budget)'}, "
                      f"{seeds} seeds; T = {T} fixed sub-networks per net (one mask per hidden unit, shared by all "
                      f"test digits), probabilities averaged, errors on the test set in float64")
        c = claim("diversity", STATEMENT,
                  "E_ind - E_ens = (T-1)/(2T) D (squared error, D: mean pairwise disagreement); larger D -> lower "
                  "E_ens", conditions,
                  "slope of E_ens on D across p (per seed, mean over seeds); the identity's residual is a check of "
                  "its own", head, checks,
                  plots=plots, per_seed=per_seed, notes=notes)
        c["detail_per_seed"] = detail
    c["seconds"] = timer.seconds
    return c


if __name__ == "__main__":
    import json
    print(json.dumps(run(Settings(quick=True)), indent=1)[:3000])
