#!/usr/bin/python3
"""The theory lab, part two: the seed text's claims about *trained* networks, measured on real training runs with
simdrop's dropout (simdrop.torch on Debian's python3-torch; scikit-learn's digits, several seeds per setting).

    PYTHONPATH=<build>/python /usr/bin/python3 theory/trained_networks.py [--quick] [--seeds N] [--only ID ...]
        [--theory theory.json] [--out claims.json] [--threads T]

Each experiment is a claim in the format of simdrop_theory's JSON (id, statement, formula, conditions, quantity,
predicted, measured, stderr, tolerance, verdict, checks, plots) plus per_seed: the measured value of each
independent training run. --theory FILE merges the claims into simdrop_theory's JSON (replacing claims of the same
id), which the report's theory section renders; --out writes them alone. --quick is the tests' budget (seconds);
the default is the main job's (./scripts/report.sh).
"""
import argparse
import importlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from trained.common import Settings, Timer  # noqa: E402

# The experiments, in the report's order: id -> module of theory/trained/ with run(settings) -> claim.
EXPERIMENTS = {
    "mc_vs_weight_scaling": "trained.mc_vs_weight_scaling",
    "flat_minima": "trained.flat_minima",
    "coadaptation": "trained.coadaptation",
    "diversity": "trained.diversity",
    "variance_shift": "trained.variance_shift",
    "adaptive_l2": "trained.adaptive_l2",
}


def available():
    """The experiments whose module exists (each is a file of theory/trained/)."""
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "trained")
    return [k for k, m in EXPERIMENTS.items() if os.path.exists(os.path.join(here, m.split(".")[1] + ".py"))]


def run(ids, settings, log=print):
    claims = []
    for cid in ids:
        module = importlib.import_module(EXPERIMENTS[cid])
        with Timer() as t:
            c = module.run(settings)
        c["seconds"] = t.seconds
        log(f"  {cid:<22} {c['verdict']:<10} measured {c['measured']:.4g} (predicted {c['predicted']:.4g}) "
            f"in {t.seconds:.1f} s")
        claims.append(c)
    return claims


def merge(theory_path, claims):
    """Adds the claims to simdrop_theory's JSON (a claim of the same id is replaced), in place."""
    with open(theory_path, encoding="utf-8") as f:
        data = json.load(f)
    ids = {c["id"] for c in claims}
    data["claims"] = [c for c in data["claims"] if c["id"] not in ids] + claims
    with open(theory_path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the tests' budget: 2 seeds, few epochs")
    parser.add_argument("--seeds", type=int, default=None, help="independent training runs per setting")
    parser.add_argument("--only", nargs="+", choices=list(EXPERIMENTS), help="run only these experiments")
    parser.add_argument("--theory", help="merge the claims into this simdrop_theory JSON")
    parser.add_argument("--out", help="write the claims alone to this JSON file")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    if args.seeds is not None and args.seeds < 2:
        parser.error("--seeds must be at least 2 (a spread needs two independent runs)")
    settings = Settings(quick=args.quick, seeds=args.seeds, threads=args.threads)
    ids = [i for i in (args.only or list(EXPERIMENTS)) if i in available()]
    print(f"trained-network claims: {len(ids)} experiments, {settings.seeds} seeds, "
          f"{'quick' if settings.quick else 'full'} settings")
    claims = run(ids, settings)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump({"tool": "theory/trained_networks.py", "claims": claims}, f, indent=1)
    if args.theory:
        merge(args.theory, claims)
    return 0


if __name__ == "__main__":
    sys.exit(main())
