"""theory/trained/flat_minima.py and theory/trained/coadaptation.py: each experiment runs (quick settings) and
returns a valid claim; the controls (deliberately wrong predictions) are rejected; the verdict follows from the
supporting checks; per_seed has one value per seed; and the measuring tools are right on small cases (power
iteration against the exact Hessian, the rank-one ablation against a masked forward pass, the participation
ratio's limits).

Run: PYTHONPATH=<build>/python /usr/bin/python3 -m pytest tests/python/test_trained_landscape.py
"""
import json
import math
import os
import sys

import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "theory"))
sys.path.insert(0, os.path.join(ROOT, "reports"))

from trained import coadaptation, flat_minima  # noqa: E402
from trained.common import Settings, check  # noqa: E402

import theory_section  # noqa: E402

SETTINGS = Settings(quick=True)
MODULES = {"flat_minima": flat_minima, "coadaptation": coadaptation}


@pytest.fixture(scope="module")
def claims():
    return {cid: m.run(SETTINGS) for cid, m in MODULES.items()}


@pytest.mark.parametrize("cid", list(MODULES))
def test_claim_is_valid(claims, cid):
    c = claims[cid]
    assert c["id"] == cid
    theory_section.validate({"claims": [c]}, cid)
    json.loads(json.dumps(c))  # plain JSON, no tensors
    for key in ("predicted", "measured", "stderr", "tolerance"):
        assert math.isfinite(c[key]), key
    assert c["plots"] and all(p["series"] and all(s["x"] for s in p["series"]) for p in c["plots"])
    for p in c["plots"]:
        for s in p["series"]:
            assert len(s["x"]) == len(s["y"])
            assert "yerr" not in s or len(s["yerr"]) == len(s["y"])
    assert "seed-dropout" not in json.dumps(c, ensure_ascii=False)  # no path to the seed text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in c["statement"])  # the seed's sentence, quoted


@pytest.mark.parametrize("cid", list(MODULES))
def test_verdict_follows_from_the_checks(claims, cid):
    c = claims[cid]
    supports = [k for k in c["checks"] if k["role"] == "supports"]
    assert supports
    assert c["verdict"] == ("holds" if all(k["pass"] for k in supports) else "fails")
    for k in c["checks"]:  # each check's pass agrees with its own numbers
        again = check(k["what"], k["predicted"], k["measured"], k["stderr"], relation=k["relation"],
                      role=k["role"], tolerance=k["tolerance"], basis=k["tolerance_basis"])
        assert again["pass"] == k["pass"], k["what"]
    # the headline agrees with the verdict: a failing claim shows a failing supporting check
    head = next(k for k in supports if k["measured"] == c["measured"] and k["predicted"] == c["predicted"])
    assert head["pass"] == (c["verdict"] == "holds")


@pytest.mark.parametrize("cid", list(MODULES))
def test_controls_are_rejected(claims, cid):
    controls = [k for k in claims[cid]["checks"] if k["role"] == "control"]
    assert controls
    assert not any(k["pass"] for k in controls), [k["what"] for k in controls if k["pass"]]


@pytest.mark.parametrize("cid", list(MODULES))
def test_a_wrong_prediction_is_flagged(claims, cid):
    """Each supporting check, re-run against a prediction far on the wrong side, fails."""
    for k in claims[cid]["checks"]:
        if k["role"] != "supports":
            continue
        # 'less' needs measured < predicted - tolerance: a prediction far below the measurement is wrong;
        # 'greater' the mirror image; 'equal' any prediction far away
        scale = abs(k["measured"]) + k["tolerance"] + 1.0
        wrong = k["measured"] + (-10 if k["relation"] == "less" else 10) * scale
        flagged = check(k["what"], wrong, k["measured"], k["stderr"], relation=k["relation"])
        assert not flagged["pass"], k["what"]


@pytest.mark.parametrize("cid", list(MODULES))
def test_per_seed_has_one_value_per_seed(claims, cid):
    per_seed = claims[cid]["per_seed"]
    assert per_seed
    for what, values in per_seed.items():
        assert len(values) == SETTINGS.seeds, what
        assert all(math.isfinite(v) for v in values), what


def test_matched_snapshots_are_at_the_target_loss():
    x, y, _, _ = flat_minima.digits()
    for runs in flat_minima.networks(SETTINGS):
        for p in flat_minima.PS[:-1]:
            run = runs[p]
            if run["reached"]:
                with torch.no_grad():
                    loss = flat_minima.clean_loss(flat_minima.linear_params(run["matched"]), x, y).item()
                assert loss <= run["target"] + 1e-6
                assert run["matched"] is not run["final"]
            else:
                assert run["matched"] is run["final"]


def tiny_model(seed=0, hidden=3):
    torch.manual_seed(seed)
    return flat_minima.mlp(0.0, hidden, inputs=4, classes=3).eval()


def test_power_iteration_finds_the_top_hessian_eigenvalue():
    model = tiny_model()
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(20, 4, generator=gen), torch.randint(0, 3, (20,), generator=gen)
    params = [t.detach() for t in flat_minima.linear_params(model)]
    shapes = [t.shape for t in params]
    flat = torch.cat([t.reshape(-1) for t in params]).double()

    def loss_of(v):
        parts, i = [], 0
        for s in shapes:
            n = math.prod(s)
            parts.append(v[i:i + n].reshape(s))
            i += n
        return flat_minima.clean_loss(parts, x.double(), y)

    h = torch.autograd.functional.hessian(loss_of, flat)
    eig = torch.linalg.eigvalsh(h)
    top = eig[eig.abs().argmax()].item()
    estimate = flat_minima.top_hessian_eigenvalue(model, x, y, iterations=500)
    assert estimate == pytest.approx(top, rel=1e-3)


def test_rank_one_ablation_matches_a_masked_forward_pass():
    model = tiny_model(hidden=6)
    gen = torch.Generator().manual_seed(2)
    x, y = torch.randn(30, 4, generator=gen), torch.randint(0, 3, (30,), generator=gen)
    params = [t.detach() for t in flat_minima.linear_params(model)]
    sets = torch.tensor([[0, 1], [2, 5], [3, 4]])
    fast = coadaptation.ablation_losses(params, x, y, sets)
    for k, s in enumerate(sets):
        mask = torch.ones(6)
        mask[s] = 0
        slow = torch.nn.functional.cross_entropy(flat_minima.clean_forward(params, x, ablate=mask), y)
        assert fast[k].item() == pytest.approx(slow.item(), rel=1e-5, abs=1e-6)


def test_participation_ratio_limits():
    assert coadaptation.participation(torch.tensor([[0.0, 0.0, 3.0, 0.0]])) == pytest.approx(0.25)
    assert coadaptation.participation(torch.tensor([[-2.0, 2.0, 2.0, -2.0]])) == pytest.approx(1.0)


def test_weight_noise_has_the_stated_relative_size():
    model = tiny_model()
    gen = torch.Generator().manual_seed(3)
    x, y = torch.randn(20, 4, generator=gen), torch.randint(0, 3, (20,), generator=gen)
    assert flat_minima.perturbation_increase(model, x, y, 0.0) == 0.0
    assert flat_minima.perturbation_increase(model, x, y, 0.5) != 0.0
