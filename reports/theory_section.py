"""The report's "Theory lab" section: simdrop_theory's JSON (the seed text's claims, measured) as markdown.

    import theory_section
    data = theory_section.load("theory.json")          # raises theory_section.TheoryError on a bad file
    markdown = theory_section.render(data, out_dir, plt)  # pictures go to out_dir when plt (pyplot) is given

render() returns the section's markdown: the table of claims (formula, predicted, measured, standard error,
tolerance, verdict), where the text is wrong and the corrected forms, each claim's checks, and a picture per
plot the program sent (dropout-SGD weights against the closed-form ridge weights, the Jensen gap against p,
path survival against depth on a log axis, ...).
"""
import json
import math
import os

VERDICTS = ("holds", "corrected", "fails")
REQUIRED = ("id", "statement", "conditions", "predicted", "measured", "stderr", "tolerance", "verdict")
SOURCE = ("the seed text (chapter 1, \"principles and mechanisms\", of a Chinese text on dropout from which "
          "simdrop started; not part of the repository, so each claim below is stated in the project's own words)")


class TheoryError(Exception):
    """A file that is not simdrop_theory's JSON: the message names the file and what is wrong."""


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise TheoryError(f"{path}: no such file")
    except json.JSONDecodeError as e:
        raise TheoryError(f"{path}: not valid JSON at line {e.lineno} column {e.colno} ({e.msg})")
    validate(data, path)
    return data


def validate(data, name="theory JSON"):
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list) or not data["claims"]:
        raise TheoryError(f"{name}: not a simdrop_theory JSON (needs a non-empty 'claims' list)")
    for i, c in enumerate(data["claims"]):
        missing = [k for k in REQUIRED if not isinstance(c, dict) or k not in c]
        if missing:
            raise TheoryError(f"{name}: claim {i} lacks {', '.join(missing)}")
        if c["verdict"] not in VERDICTS:
            raise TheoryError(f"{name}: claim {c['id']} has verdict '{c['verdict']}' (expected one of "
                              f"{', '.join(VERDICTS)})")
        if c["verdict"] == "corrected" and not (c.get("seed_formula") and c.get("corrected_formula")):
            raise TheoryError(f"{name}: claim {c['id']} is 'corrected' but lacks seed_formula / corrected_formula")


def num(v):
    """A number for a table cell: 4-5 significant digits, '-' for a missing value, 0 as 0."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if v == 0:
        return "0"
    a = abs(v)
    return f"{v:.4g}" if 1e-3 <= a < 1e5 else f"{v:.3e}"


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def verdict_cell(v):
    return {"holds": "holds", "corrected": "**corrected**", "fails": "**FAILS**"}[v]


def tolerance_basis(c, sigmas):
    basis = c.get("tolerance_basis")
    if basis:
        return basis
    return f"{num(sigmas)} standard errors" if c.get("stderr") else "rounding bound"


def render(data, out_dir=None, plt=None):
    validate(data)
    claims = data["claims"]
    sigmas = data.get("sigmas", 6)
    lines = []
    w = lines.append
    w("## Theory lab: the seed's claims, measured")
    w("")
    counts = {v: sum(c["verdict"] == v for c in claims) for v in VERDICTS}
    w(f"`simdrop_theory` checks the statements of {SOURCE} about why dropout works, drawing every dropout "
      "decision from simdrop's own masks (fixed seeds: the run is reproducible bit for bit). A statistical "
      f"tolerance is {num(sigmas)} standard errors of the estimate; an identity's is a floating-point rounding "
      "bound. **holds**: the text's statement is confirmed; **corrected**: the text is wrong as written and the "
      "corrected statement holds; **fails**: the measurement contradicts the claim. "
      f"Verdicts: {counts['holds']} hold, {counts['corrected']} corrected, {counts['fails']} fail.")
    w("")
    w("| claim | formula checked | quantity | predicted | measured | standard error | tolerance | verdict |")
    w("|---|---|---|---:|---:|---:|---:|---|")
    for c in claims:
        w(f"| `{cell(c['id'])}` | {cell(c.get('formula', c['statement']))} | {cell(c.get('quantity', ''))} | "
          f"{num(c['predicted'])} | {num(c['measured'])} | {num(c['stderr']) if c['stderr'] else '(identity)'} | "
          f"{num(c['tolerance'])} ({cell(tolerance_basis(c, sigmas))}) | {verdict_cell(c['verdict'])} |")
    w("")
    wrong = [c for c in claims if c["verdict"] == "corrected"]
    if wrong:
        w("### Where the text is wrong")
        w("")
        for c in wrong:
            w(f"* `{c['id']}`: the text says *{cell(c['seed_formula'])}*; measured: {cell(c['corrected_formula'])}.")
        w("")
    failed = [c for c in claims if c["verdict"] == "fails"]
    if failed:
        w("### Claims the measurements contradict")
        w("")
        for c in failed:
            # Only the checks that decide the verdict: a control is meant to fail, and context is not a test.
            bad = [k["what"] for k in c.get("checks", []) if not k.get("pass") and k.get("role") == "supports"]
            w(f"* `{c['id']}`: {cell('; '.join(bad) or c['statement'])}")
        w("")
    w("### Each claim's checks")
    w("")
    for c in claims:
        w(f"<details><summary><code>{c['id']}</code> ({c['verdict']}): {cell(c['statement'])}</summary>")
        w("")
        w(f"Conditions: {cell(c['conditions'])}.")
        if c.get("notes"):
            w(f"Note: {cell(c['notes'])}.")
        for what, values in (c.get("per_seed") or {}).items():
            w(f"Per independent training run, {cell(what)}: {', '.join(num(v) for v in values)}.")
        w("")
        checks = c.get("checks", [])
        if checks:
            w("| check | role | must be | predicted | measured | standard error | tolerance | result |")
            w("|---|---|---|---:|---:|---:|---:|---|")
            for k in checks:
                w(f"| {cell(k['what'])} | {k.get('role', '')} | {k.get('relation', '')} | {num(k.get('predicted'))} | "
                  f"{num(k.get('measured'))} | {num(k.get('stderr'))} | {num(k.get('tolerance'))} | "
                  f"{'pass' if k.get('pass') else '**not met**'} |")
        w("")
        w("</details>")
        w("")
    if out_dir is not None and plt is not None:
        for c in claims:
            for j, p in enumerate(c.get("plots", [])):
                name = f"theory_{c['id']}{'' if j == 0 else f'_{j}'}.png"
                draw(p, os.path.join(out_dir, name), plt)
                w(f"![{cell(p.get('title', c['id']))}]({name})")
                w("")
    return "\n".join(lines)


def draw(p, path, plt):
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    lo, hi = math.inf, -math.inf
    markers = iter("osD^vx" * 10)
    for s in p.get("series", []):
        x, y = s.get("x", []), s.get("y", [])
        if not x:
            continue
        lo, hi = min(lo, *x, *y), max(hi, *x, *y)
        if s.get("line"):
            ax.plot(x, y, "-", lw=1.4, label=s.get("label"))
        else:
            yerr = s.get("yerr") or None
            ax.errorbar(x, y, yerr=yerr if yerr and len(yerr) == len(y) else None, fmt=next(markers), ms=4,
                        capsize=2, mfc="none", label=s.get("label"))
    if p.get("diagonal") and math.isfinite(lo):
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8, label="y = x")
    if p.get("logx"):
        ax.set_xscale("log")
    if p.get("logy"):
        ax.set_yscale("log")
    ax.set_title(p.get("title", ""), fontsize=10)
    ax.set_xlabel(p.get("xlabel", ""))
    ax.set_ylabel(p.get("ylabel", ""))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
