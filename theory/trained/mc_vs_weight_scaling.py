"""Weight scaling against Monte Carlo averaging of dropout sub-networks (Srivastava et al. 2014, JMLR, section 7.5
and figure 11), on MLPs trained with dropout p = 0.5 on the hidden layers.

The weight-scaled network is the trained net in evaluation mode: simdrop's dropout is inverted (kept units are
multiplied by 1 / (1 - p) in training), so evaluation mode, which drops nothing and scales nothing, is exactly the
"scale the weights by the keep probability" rule of the paper. The Monte Carlo estimate of the sub-network
average draws k training-mode forward passes (simdrop's masks, torch.no_grad) and averages their softmax
probabilities; each pass draws an independent mask for every test example, so each example's average is over k
independent sub-networks. The k of the grid are nested (MC(k) uses the first k passes of one run of k_max).

Speed: the debian torch here multiplies matrices with a generic BLAS (~3 GFLOP/s on one core); inference goes
through oneDNN's linear (mkldnn_linear, ~15x faster) where it is available. The network, its dropout modules and
their masks are unchanged; the layers before the first dropout are deterministic and are computed once.
"""
import math

import torch

import simdrop.torch as sdt

from .common import (SIGMAS, Settings, Timer, check, claim, digits, error_and_nll, mean_se, plot, series,  # noqa
                     trained_mlp)

P = 0.5
K_FULL = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
K_QUICK = (1, 2, 5, 10, 20, 50)
CHUNK_ROWS = 12_000  # rows per batched forward pass (test set copies x examples)

STATEMENT = ("The seed (chapter 1, on dropout as an ensemble): \u201c\u4f7f\u7528\u5b8c\u6574\u7684\u7f51\u7edc"
             "\uff08\u5e76\u8fdb\u884c\u76f8\u5e94\u7f29\u653e\uff09\u53ef\u4ee5\u88ab\u770b\u4f5c\u662f\u5bf9"
             "\u6240\u6709\u8fd9\u4e9b\u5b50\u7f51\u7edc\u7684\u9884\u6d4b\u8fdb\u884c\u7684\u4e00\u79cd\u8fd1"
             "\u4f3c\u5e73\u5747\u201d (\u201cusing the full network, scaled accordingly, can be seen as an "
             "approximate average of the predictions of all these sub-networks\u201d, the 2^N sub-networks of a "
             "net with N droppable units). Tested on trained nets: the weight-scaled network's test error equals "
             "that of a Monte Carlo average of many sampled sub-networks.")


def _mkldnn_ok():
    try:
        x, w = torch.randn(3, 4), torch.randn(5, 4)
        y = torch._C._nn.mkldnn_linear(x.to_mkldnn(), w.to_mkldnn(), torch.zeros(5).to_mkldnn()).to_dense()
        return torch.allclose(y, x @ w.t(), atol=1e-5)
    except Exception:  # no oneDNN in this torch: the plain linear
        return False


_MKLDNN = None


class FastNet:
    """The trained Sequential for inference: its own layers in order, Linear through oneDNN when available,
    simdrop's Dropout modules called as they are (training mode draws masks, evaluation mode is the identity)."""

    def __init__(self, model):
        global _MKLDNN
        if _MKLDNN is None:
            _MKLDNN = _mkldnn_ok()
        self.layers = list(model)
        self.model = model
        first = next(i for i, l in enumerate(self.layers) if isinstance(l, sdt.Dropout))
        self.prefix, self.rest = self.layers[:first], self.layers[first:]
        self.weights = {}
        for i, l in enumerate(self.layers):
            if isinstance(l, torch.nn.Linear) and _MKLDNN:
                self.weights[i] = (l.weight.detach().to_mkldnn(), l.bias.detach().to_mkldnn())

    def _run(self, layers, offset, x):
        for j, l in enumerate(layers):
            w = self.weights.get(offset + j)
            if w is not None:
                x = torch._C._nn.mkldnn_linear(x.contiguous().to_mkldnn(), w[0], w[1]).to_dense()
            else:
                x = l(x)
        return x

    def features(self, x):
        """The deterministic part: the layers before the first dropout."""
        with torch.no_grad():
            return self._run(self.prefix, 0, x)

    def head(self, h, train):
        """The rest of the net from the features h, with dropout drawing masks (train) or not (eval)."""
        self.model.train(train)
        try:
            with torch.no_grad():
                return self._run(self.rest, len(self.prefix), h)
        finally:
            self.model.eval()


def mc_curve(model, x, y, ks, seed):
    """(weight-scaled (err, nll), {k: (err, nll)} of the MC average of k sub-networks, the mean total variation
    distance between the weight-scaled and the MC(k_max) class probabilities). MC(k) is scored on each of the
    k_max // k disjoint blocks of k passes and the scores averaged: the same expectation as one block, with less
    noise at small k (Srivastava et al. average repeated draws too)."""
    net = FastNet(model)
    h = net.features(x)
    ws_probs = torch.softmax(net.head(h, False).double(), 1)
    # the fast path against the plain module (a guard on the oneDNN route)
    with torch.no_grad():
        ref = torch.softmax(model.eval()(x).double(), 1)
    assert (ws_probs - ref).abs().max().item() < 1e-4, "fast inference path disagrees with the module"
    ws = error_and_nll(ws_probs, y)
    torch.manual_seed(1_000_000 + seed)  # the MC masks: a stream of their own per seed
    n, kmax = len(y), max(ks)
    copies = max(1, CHUNK_ROWS // n)
    passes, done = [], 0
    while done < kmax:
        c = min(copies, kmax - done)
        passes.append(torch.softmax(net.head(h.repeat(c, 1), True).double(), 1).view(c, n, -1).float())
        done += c
    probs = torch.cat(passes)  # (kmax, n, classes): one row per training-mode pass
    out = {}
    for k in ks:  # the MC(k) estimate averaged over the kmax // k disjoint blocks of k passes
        blocks = probs[:(kmax // k) * k].double().view(kmax // k, k, n, -1).mean(1)
        scores = [error_and_nll(b, y) for b in blocks]
        out[k] = (sum(e for e, _ in scores) / len(scores), sum(v for _, v in scores) / len(scores))
    mc_all = probs.double().mean(0)
    tv = 0.5 * (mc_all - ws_probs).abs().sum(1).mean().item()  # mean total variation, scaled vs MC(kmax)
    return ws, out, tv


def run(settings):
    with Timer() as timer:
        quick = settings.quick
        ks = K_QUICK if quick else K_FULL
        # The full budget (~40 s on one loaded core, generic BLAS): 20 epochs instead of 30, hidden as given.
        epochs = settings.epochs if quick else min(settings.epochs, 20)
        _, _, xt, yt = digits()
        ws_err, ws_nll, mc_err, mc_nll, tvs = [], [], {k: [] for k in ks}, {k: [] for k in ks}, []
        for s in range(settings.seeds):
            model = trained_mlp(P, settings, s, epochs=epochs)
            ws, mc, tv = mc_curve(model, xt, yt, ks, s)
            tvs.append(tv)
            ws_err.append(ws[0])
            ws_nll.append(ws[1])
            for k in ks:
                mc_err[k].append(mc[k][0])
                mc_nll[k].append(mc[k][1])
        kmax = max(ks)
        n_test = len(yt)

        def gap(metric_mc, metric_ws, k):  # paired over seeds: MC(k) - weight scaling
            return mean_se([a - b for a, b in zip(metric_mc[k], metric_ws)])

        gaps_err = {k: gap(mc_err, ws_err, k) for k in ks}
        gaps_nll = {k: gap(mc_nll, ws_nll, k) for k in ks}

        def within(g, sigmas):  # |paired gap| within `sigmas` of its standard errors (an exact 0 gap is within)
            m, se = g
            return abs(m) <= (sigmas * se if math.isfinite(se) else 0.0)

        def first_match(gaps, sigmas=SIGMAS):  # the smallest grid k from which on every larger k is within
            match = None
            for k in sorted(ks, reverse=True):
                if not within(gaps[k], sigmas):
                    break
                match = k
            return match

        k_match_err, k_match_nll = first_match(gaps_err), first_match(gaps_nll)
        k_match_err2 = first_match(gaps_err, 2.0)
        g_err, g_nll, g1 = gaps_err[kmax], gaps_nll[kmax], gaps_err[1]
        ws_m, ws_se = mean_se(ws_err)
        mc_m, mc_se = mean_se(mc_err[kmax])
        basis = f"{SIGMAS:g} standard errors of the gap, paired over {settings.seeds} seeds"
        head = check(f"weight-scaled test error = MC error at k = {kmax} (gap MC - scaled, paired over seeds)",
                     0.0, g_err[0], g_err[1], basis=basis)
        checks = [
            head,
            check(f"NLL of the weight-scaled net = NLL of the MC average at k = {kmax} (gap MC - scaled)",
                  0.0, g_nll[0], g_nll[1], role="context", basis=basis),
            check("control (deliberately wrong): one sampled sub-network (k = 1) is as accurate as the "
                  "weight-scaled net (gap MC(1) - scaled = 0)", 0.0, g1[0], g1[1], role="control", basis=basis),
            check(f"control (deliberately wrong): averaging does not help, the gap at k = {kmax} is the gap of one "
                  f"sub-network ({g1[0]:+.4f})", g1[0], g_err[0], g_err[1], role="control", basis=basis),
        ]

        def curve(label, metric, ws_metric, ylabel, title):
            ms = [mean_se(metric[k]) for k in ks]
            wm, wse = mean_se(ws_metric)
            return plot(title, "k: sub-networks averaged (Monte Carlo)", ylabel, [
                series(f"MC average of k sub-networks (mean \u00b1 SE over {settings.seeds} seeds)", ks,
                       [m for m, _ in ms], [se for _, se in ms]),
                series(f"weight-scaled net (eval mode): {wm:.4f} \u00b1 {wse:.4f}", [ks[0], kmax], [wm, wm],
                       line=True),
            ], logx=True)

        plots = [curve("error", mc_err, ws_err, "test error", "Test error: MC averaging vs weight scaling "
                       f"(p = {P})"),
                 curve("nll", mc_nll, ws_nll, "test NLL (nats)", f"Test NLL: MC averaging vs weight scaling "
                       f"(p = {P})")]
        per_seed = {"weight-scaled test error": ws_err, f"MC test error at k = {kmax}": mc_err[kmax],
                    "MC test error at k = 1": mc_err[1], "weight-scaled test NLL": ws_nll,
                    f"MC test NLL at k = {kmax}": mc_nll[kmax],
                    f"mean total variation, scaled vs MC(k = {kmax}) probabilities": tvs}
        gap_table = ", ".join(f"k={k}: {gaps_err[k][0]:+.4f}\u00b1{gaps_err[k][1]:.4f}" for k in ks)
        nll_table = ", ".join(f"k={k}: {gaps_nll[k][0]:+.4f}\u00b1{gaps_nll[k][1]:.4f}" for k in ks)

        def k_text(k):
            return f"k = {k}" if k is not None else f"no k up to {kmax}"

        wn, mn = mean_se(ws_nll), mean_se(mc_nll[kmax])
        notes = (f"Weight-scaled test error {ws_m:.4f} \u00b1 {ws_se:.4f}, MC at k = {kmax} {mc_m:.4f} \u00b1 "
                 f"{mc_se:.4f} (SE over seeds; {n_test} test digits, one digit = {1 / n_test:.4f}); test NLL "
                 f"{wn[0]:.4f} \u00b1 {wn[1]:.4f} (weight-scaled) and {mn[0]:.4f} \u00b1 {mn[1]:.4f} (MC, "
                 f"k = {kmax}). Paired gap MC(k) - scaled in error: {gap_table}; in NLL: {nll_table}. MC matches "
                 f"weight scaling (paired gap within {SIGMAS:g} SE at that k and every larger one of the grid) from "
                 f"{k_text(k_match_err)} in error (within 2 SE: from {k_text(k_match_err2)}) and from "
                 f"{k_text(k_match_nll)} in NLL; the gap left at k = {kmax} is {g_err[0]:+.4f} \u00b1 {g_err[1]:.4f} "
                 f"in error and {g_nll[0]:+.4f} \u00b1 {g_nll[1]:.4f} in NLL. The class "
                 f"probabilities themselves differ by a mean total variation of {mean_se(tvs)[0]:.4f} \u00b1 "
                 f"{mean_se(tvs)[1]:.4f} between the weight-scaled net and MC(k = {kmax})")
        reduced = "" if epochs == settings.epochs else f" (reduced from {settings.epochs} to fit the budget)"
        conditions = (f"digits (1347 train / {n_test} test), MLP 64-{settings.hidden}-{settings.hidden}-10, ReLU, "
                      f"simdrop dropout p = {P} after each hidden layer, Adam lr {settings.lr}, batch "
                      f"{settings.batch}, {epochs} epochs{reduced}, "
                      f"{settings.seeds} seeds (each seed: its own initial weights, batch order, masks); MC: k "
                      f"training-mode forward passes (independent masks per test example), softmax probabilities "
                      f"averaged, k in {list(ks)}, MC(k) scored on each of the {kmax} // k disjoint blocks of k "
                      f"passes and averaged")
        c = claim("mc_vs_weight_scaling", STATEMENT,
                  "err(f_scaled(x)) = err(mean_{k sub-networks} softmax(f_mask(x))) for large k",
                  conditions, f"test error gap MC(k = {kmax}) - weight-scaled, paired over seeds", head, checks,
                  plots=plots, per_seed=per_seed, notes=notes)
        c["k_match"] = {"error": k_match_err, "error_2se": k_match_err2, "nll": k_match_nll}
        c["curve_per_seed"] = {"k": list(ks), "error": [mc_err[k] for k in ks], "nll": [mc_nll[k] for k in ks]}
    c["seconds"] = timer.seconds
    return c


if __name__ == "__main__":
    import json
    print(json.dumps(run(Settings(quick=True)), indent=1)[:3000])
