"""The trained-network ensemble experiments of theory/trained/: mc_vs_weight_scaling (weight scaling against
Monte Carlo averaging of sub-networks) and diversity (D, E_ind, E_ens of dropout sub-networks against p).

Each runs with the quick settings (2 seeds, seconds) and must return a valid claim: the report's fields, a verdict
that follows from its supporting checks, controls that fail, one value per seed in per_seed, plots with matching
x and y; a deliberately wrong prediction must be flagged; and the pieces (the ensemble decomposition, the fast
inference path) are checked on inputs whose answer is known.

Run: PYTHONPATH=<build>/python /usr/bin/python3 -m pytest tests/python/test_trained_ensembles.py
"""
import math
import os
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("simdrop.torch")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "theory"))
sys.path.insert(0, os.path.join(ROOT, "reports"))

import theory_section  # noqa: E402
import trained_networks  # noqa: E402
from trained import diversity, mc_vs_weight_scaling  # noqa: E402
from trained.common import Settings, check, trained_mlp  # noqa: E402

IDS = ("mc_vs_weight_scaling", "diversity")
SETTINGS = Settings(quick=True)


@pytest.fixture(scope="module")
def claims():
    return {c["id"]: c for c in trained_networks.run(list(IDS), SETTINGS, log=lambda *_: None)}


@pytest.mark.parametrize("cid", IDS)
def test_claim_is_valid(claims, cid):
    c = claims[cid]
    theory_section.validate({"claims": [c]}, cid)  # the report's own validation
    assert c["verdict"] in theory_section.VERDICTS
    for key in ("statement", "formula", "conditions", "quantity", "notes"):
        assert isinstance(c[key], str) and c[key], key
    assert "seed-dropout" not in repr(c)  # no path to the seed text, which users do not have
    assert c["kind"] == "trained network" and c["seconds"] > 0
    for key in ("predicted", "measured", "tolerance"):
        assert math.isfinite(c[key]), key


@pytest.mark.parametrize("cid", IDS)
def test_verdict_follows_from_checks(claims, cid):
    c = claims[cid]
    supports = [k for k in c["checks"] if k["role"] == "supports"]
    assert supports
    assert c["verdict"] == ("holds" if all(k["pass"] for k in supports) else "fails")
    for k in c["checks"]:  # each check's pass is what its numbers say
        again = check(k["what"], k["predicted"], k["measured"], k["stderr"], relation=k["relation"],
                      role=k["role"], tolerance=k["tolerance"], basis=k["tolerance_basis"])
        assert again["pass"] == k["pass"], k["what"]


@pytest.mark.parametrize("cid", IDS)
def test_controls_fail(claims, cid):
    controls = [k for k in claims[cid]["checks"] if k["role"] == "control"]
    assert controls, "each experiment carries a control that must fail"
    for k in controls:
        assert not k["pass"], f"control passed: {k['what']}"


@pytest.mark.parametrize("cid", IDS)
def test_wrong_prediction_is_flagged(claims, cid):
    c = claims[cid]
    head = next(k for k in c["checks"] if k["measured"] == c["measured"] and k["role"] == "supports")
    wrong = c["measured"] + 2 * c["tolerance"] + 0.05 + abs(c["measured"])
    for relation in ("equal", "greater"):
        bad = check("deliberately wrong", wrong, c["measured"], c["stderr"], relation=relation,
                    tolerance=c["tolerance"])
        assert not bad["pass"]
    bad = check("deliberately wrong", c["measured"] - 2 * c["tolerance"] - 0.05 - abs(c["measured"]),
                c["measured"], c["stderr"], relation="less", tolerance=c["tolerance"])
    assert not bad["pass"]
    assert head["tolerance"] == c["tolerance"]


@pytest.mark.parametrize("cid", IDS)
def test_per_seed_has_one_value_per_seed(claims, cid):
    per_seed = claims[cid]["per_seed"]
    assert per_seed
    for what, values in per_seed.items():
        assert len(values) == SETTINGS.seeds, what
        assert all(math.isfinite(v) for v in values), what


@pytest.mark.parametrize("cid", IDS)
def test_plots(claims, cid):
    plots = claims[cid]["plots"]
    assert plots
    for p in plots:
        assert p["series"] and p["title"] and p["xlabel"] and p["ylabel"]
        for s in p["series"]:
            assert len(s["x"]) == len(s["y"]) > 0
            if "yerr" in s:
                assert len(s["yerr"]) == len(s["y"])


def test_mc_curve_shape(claims):
    c = claims["mc_vs_weight_scaling"]
    ks = mc_vs_weight_scaling.K_QUICK
    err = plot_series(c, 0, "MC")
    assert err["x"] == [float(k) for k in ks]
    line = plot_series(c, 0, "weight-scaled")
    assert line["line"] and len(line["x"]) == 2 and line["y"][0] == line["y"][1]
    # one sampled sub-network is clearly worse than the weight-scaled net (the control's premise)
    assert sum(c["per_seed"]["MC test error at k = 1"]) > sum(c["per_seed"]["weight-scaled test error"])


def plot_series(c, j, prefix):
    return next(s for s in c["plots"][j]["series"] if s["label"].startswith(prefix))


def test_weight_scaling_is_eval_mode_and_mc_draws_masks():
    model = trained_mlp(0.5, SETTINGS, 0, epochs=1)
    x = torch.rand(20, 64)
    net = mc_vs_weight_scaling.FastNet(model)
    h = net.features(x)
    with torch.no_grad():
        ref = model.eval()(x)
    assert torch.allclose(net.head(h, False), ref, atol=1e-4)
    a, b = net.head(h, True), net.head(h, True)
    assert not torch.equal(a, b)  # training mode draws fresh masks
    assert not model.training  # and the model is left in evaluation mode


def test_decompose_known_values():
    # two members, one example, three classes, label 0
    probs = torch.tensor([[[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]]], dtype=torch.float64)
    r = diversity.decompose(probs, torch.tensor([0]))
    assert r["e_ind"] == pytest.approx(1.0)      # (0 + 2) / 2
    assert r["e_ens"] == pytest.approx(0.5)      # |(.5, .5, 0) - (1, 0, 0)|^2
    assert r["d_amb"] == pytest.approx(0.5)      # each member .5 from the mean
    assert r["d_pair"] == pytest.approx(2.0)     # |e0 - e1|^2
    assert r["err_ind"] == pytest.approx(0.5) and r["dis"] == pytest.approx(1.0)
    assert r["e_ens_vote"] == pytest.approx(0.25)
    for key in ("resid_amb", "resid_pair", "resid_vote"):
        assert abs(r[key]) < 1e-15, key
    assert abs(r["resid_wrong"]) > 0.5  # the formula without (T-1)/(2T)


def test_decompose_identity_random():
    g = torch.Generator().manual_seed(7)
    probs = torch.softmax(torch.randn(9, 40, 5, generator=g, dtype=torch.float64), 2)
    y = torch.randint(0, 5, (40,), generator=g)
    r = diversity.decompose(probs, y)
    for key in ("resid_amb", "resid_pair", "resid_vote"):
        assert abs(r[key]) <= r["bound"], key
    assert abs(r["resid_wrong"]) > r["bound"]


def test_sub_networks_are_fixed_masks():
    model = trained_mlp(0.5, SETTINGS, 0, epochs=1)
    x = torch.rand(6, 64)
    probs = diversity.sub_network_probs(model, x, 0.5, 4, seed=3)
    assert probs.shape == (4, 6, 10)
    assert torch.allclose(probs.sum(2), torch.ones(4, 6, dtype=torch.float64))
    # the same seed draws the same sub-networks; members differ from one another
    assert torch.equal(probs, diversity.sub_network_probs(model, x, 0.5, 4, seed=3))
    assert not torch.equal(probs[0], probs[1])
    # one member's mask is shared by all examples: member 0 on x[:3] alone equals member 0 on all of x
    part = diversity.sub_network_probs(model, x[:3], 0.5, 4, seed=3)
    assert torch.allclose(part[0], probs[0, :3])
