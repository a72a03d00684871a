"""The trained-network experiments variance_shift and adaptive_l2 (theory/trained/): each runs at the quick
settings and returns a valid claim, per_seed holds one value per seed, the verdict follows from the supporting
checks, and a deliberately wrong prediction is flagged.

Run: PYTHONPATH=<build>/python /usr/bin/python3 -m pytest tests/python/test_trained_regularisation.py
"""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "theory"))
sys.path.insert(0, os.path.join(ROOT, "reports"))

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

import theory_section  # noqa: E402
from trained import adaptive_l2, common, variance_shift  # noqa: E402

SETTINGS = common.Settings(quick=True)


@pytest.fixture(scope="module", params=["variance_shift", "adaptive_l2"])
def result(request):
    module = {"variance_shift": variance_shift, "adaptive_l2": adaptive_l2}[request.param]
    return request.param, module.run(SETTINGS)


def test_claim_is_valid_and_renders(result):
    cid, c = result
    assert c["id"] == cid
    theory_section.validate({"claims": [c]})
    assert c["plots"] and all(s["x"] and len(s["x"]) == len(s["y"]) for p in c["plots"] for s in p["series"])
    assert cid in theory_section.render({"claims": [c]}, None, None)


def test_per_seed_has_one_value_per_seed(result):
    _, c = result
    assert c["per_seed"]
    for values in c["per_seed"].values():
        assert len(values) == SETTINGS.seeds


def test_verdict_follows_from_the_supporting_checks(result):
    _, c = result
    supports = [k for k in c["checks"] if k["role"] == "supports"]
    assert supports
    assert c["verdict"] == ("holds" if all(k["pass"] for k in supports) else "fails")


def test_controls_are_rejected(result):
    # every control is a deliberately wrong prediction: the measurement must reject it
    _, c = result
    controls = [k for k in c["checks"] if k["role"] == "control"]
    assert controls and not any(k["pass"] for k in controls)


def test_a_wrong_prediction_is_flagged(result):
    _, c = result
    head = next(k for k in c["checks"] if k["role"] == "supports")
    wrong = common.check("wrong", head["measured"] + 10 * max(head["stderr"], 1e-3) + 1.0, head["measured"],
                         head["stderr"], relation="equal")
    assert not wrong["pass"]


def test_variance_ratio_matches_its_prediction_on_a_tiny_net():
    # the identity behind (a): Var_train/Var_eval of the pre-activation after dropout, measured vs predicted
    torch.manual_seed(0)
    net = variance_shift.model(0.5, 32)
    x = common.digits()[0]
    m, p = variance_shift.variance_ratio(net, x, 0.5, draws=16)
    assert p > 1.0 and abs(m - p) < 0.05 * p
    m0, p0 = variance_shift.variance_ratio(variance_shift.model(0.0, 32), x, 0.0)
    assert p0 == pytest.approx(1.0) and m0 == pytest.approx(1.0, abs=1e-5)


def test_quadratic_penalty_vanishes_at_p_zero_and_grows_with_p():
    x, y, _, _ = adaptive_l2.data()
    w = torch.ones(x.shape[1] + 1, dtype=torch.float64)
    assert adaptive_l2.quadratic_penalty(x, w, 0.0).item() == 0.0
    assert adaptive_l2.quadratic_penalty(x, w, 0.5).item() > adaptive_l2.quadratic_penalty(x, w, 0.1).item() > 0
