"""theory/trained_networks.py, the driver of the trained-network claims, and theory/trained/common.py: checks
decide verdicts as they say, a wrong prediction is flagged, claims merge into simdrop_theory's JSON, and the
report's theory section renders them (per_seed included). The experiments themselves have their own tests
(tests/python/test_trained_*.py).

Run: PYTHONPATH=<build>/python /usr/bin/python3 -m pytest tests/python/test_trained_networks.py
"""
import json
import math
import os
import sys
import types

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "theory"))
sys.path.insert(0, os.path.join(ROOT, "reports"))

import theory_section  # noqa: E402
import trained_networks  # noqa: E402
from trained import common  # noqa: E402


def test_check_relations_and_tolerance():
    # 'equal' within 6 standard errors passes, beyond fails: a prediction 7 SE off is flagged.
    assert common.check("x", 1.0, 1.0 + 5.9 * 0.1, 0.1)["pass"]
    assert not common.check("x", 1.0, 1.0 + 7 * 0.1, 0.1)["pass"]
    assert common.check("x", 1.0, 1.0, 0.1)["tolerance"] == pytest.approx(0.6)
    # 'less' / 'greater' need a difference beyond the tolerance, not merely a sign.
    assert common.check("x", 1.0, 0.3, 0.1, relation="less")["pass"]
    assert not common.check("x", 1.0, 0.5, 0.1, relation="less")["pass"]
    assert common.check("x", 0.0, 0.7, 0.1, relation="greater")["pass"]
    assert not common.check("x", 0.0, 0.5, 0.1, relation="greater")["pass"]
    with pytest.raises(ValueError):
        common.check("x", 0, 0, 1, relation="about")


def test_verdict_follows_from_the_supporting_checks():
    good = common.check("a", 1.0, 1.0, 0.1)
    bad = common.check("b", 1.0, 3.0, 0.1)
    control = common.check("wrong prediction", 5.0, 1.0, 0.1, role="control")
    assert not control["pass"]
    c = common.claim("x", "s", "f", "c", "q", good, [good, control])
    assert c["verdict"] == "holds"  # a failing control does not decide the verdict
    assert common.claim("x", "s", "f", "c", "q", good, [good, bad])["verdict"] == "fails"
    theory_section.validate({"claims": [c]})


def test_mean_se():
    m, se = common.mean_se([1.0, 2.0, 3.0])
    assert m == 2.0 and se == pytest.approx(1 / math.sqrt(3))


def _fake_experiment(settings):
    h = common.check("measured equals predicted", 2.0, 2.05, 0.02)
    return common.claim("fake_claim", "«a quoted sentence»", "y = 2", f"{settings.seeds} seeds", "y", h, [h],
                        plots=[common.plot("y against p", "p", "y", [common.series("y", [0, 1], [2, 2.05],
                                                                                   yerr=[0.02, 0.02])])],
                        per_seed={"y": [2.0, 2.1]})


def test_driver_merges_into_the_theory_json_and_the_report_renders_it(tmp_path, monkeypatch):
    module = types.ModuleType("trained.fake_claim")
    module.run = _fake_experiment
    monkeypatch.setitem(sys.modules, "trained.fake_claim", module)
    monkeypatch.setitem(trained_networks.EXPERIMENTS, "fake_claim", "trained.fake_claim")
    monkeypatch.setattr(trained_networks, "available", lambda: ["fake_claim"])
    theory = tmp_path / "theory.json"
    old = {"id": "fake_claim", "statement": "old", "conditions": "", "predicted": 0, "measured": 0, "stderr": 0,
           "tolerance": 0, "verdict": "fails"}
    other = dict(old, id="other_claim", verdict="holds")
    theory.write_text(json.dumps({"tool": "simdrop_theory", "claims": [old, other]}))
    out = tmp_path / "claims.json"
    assert trained_networks.main(["--quick", "--theory", str(theory), "--out", str(out)]) == 0
    data = theory_section.load(str(theory))
    ids = [c["id"] for c in data["claims"]]
    assert ids == ["other_claim", "fake_claim"]  # replaced, not added twice
    merged = data["claims"][1]
    assert merged["verdict"] == "holds" and merged["per_seed"] == {"y": [2.0, 2.1]} and merged["seconds"] >= 0
    assert json.loads(out.read_text())["claims"][0]["id"] == "fake_claim"
    md = theory_section.render(data, None, None)
    assert "Per independent training run, y: 2, 2.1." in md
    assert "«a quoted sentence»" in md


def test_driver_refuses_a_single_seed():
    with pytest.raises(SystemExit):
        trained_networks.main(["--seeds", "1"])
