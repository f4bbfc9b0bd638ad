"""The claims ledger: every claim of a paper, the measure that tests it and a computed verdict.

A paper's claims live under `claims:` in `references/<paper>.yaml`; the ledger has one row
per claim with the columns FIELDS. Each claim names a `rule` from RULES and the `measure` (a
key of the measures dict its package computes from stage outputs) it applies to; `evaluate`
returns the ledger table and `write_ledgers` writes it; `verdict_table` and `claim_details` show it
in the book. Rules are decided before the results are seen and never typed as verdicts.

A measure's value may be `Shown`: the number its rule reads with the text the ledger shows for it,
so that the "ours" column gives our measurement in the paper's units beside the distance or margin
the rule reads (`distance_in_units`, `percent`, `points`); a bare distance reads as a measurement.
A measured time is a `Shown` with its 95 % interval (`interval`): the rules that compare a number
with a bound give `inconclusive` when the interval straddles the bound, so a timing verdict does
not flip with the noise of one benchmark run.

A measure that needs a tolerance is a function: the claim gives its arguments as `measure_args`,
so every number a verdict depends on sits in the ledger file beside its rule, none in code.

A claim's test may name what its evidence needs, and is `inconclusive` while that is missing:
`requires` (a list of {measure, at_least, because}) and `converged` (the experiments whose
runs must all have converged by core/train.py's rule, a plateau or a finished schedule that the
budget-doubling check confirms: the measure `converged_<experiment>`, the share of its runs
that did, must be 1). A comparison of runs stopped by their step cap says how far each got
in that budget, not what the method can do. Where a profile does not run an experiment (its
section's `run: false`), `converged_<experiment>` is NOT_RUN: the claims that need its runs are
inconclusive for that reason, and their measures are never computed.
"""
from __future__ import annotations

import html
import inspect
import math
import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import yaml

from .io import write_text
from .params import read_yaml

VERDICTS = ("reproduced", "partly", "not reproduced", "inconclusive", "not testable offline")
DECIDED = VERDICTS[:3]  # the verdicts that decide a claim one way or the other
FIELDS = ("id", "paper", "source", "statement", "paper_value", "measure", "rule", "verdict", "our_value", "note",
          "evidence", "inconclusive_because", "rule_changed")
# Welch's test with 2 seeds a side has 1-2 degrees of freedom: its p-value checks nothing, so a rule
# that needs one gives `inconclusive` below this many seeds per side.
MIN_SEEDS = 3
# What decides a claim, from its `evidence` field: our runs and counts (the default), or the paper
# against itself (its tables, text and equations: a check of consistency, not a reproduction).
EVIDENCE = {"ours": "our runs and counts", "paper": "the paper's own numbers and equations"}
SEEDS_CAUSE = f"too few seeds for the significance test (< {MIN_SEEDS} a side)"


class Shown(float):
    """A number a rule reads, with the text the ledger shows for it (rules compare the number), and
    optionally the interval it is known within (`low`, `high`: a measured time's)."""

    def __new__(cls, x: float, text: str, low: float | None = None, high: float | None = None):
        self = super().__new__(cls, x)
        self.text, self.low, self.high = text, low, high
        return self


def interval(x: float, low: float, high: float) -> Shown:
    """A measured number with its 95 % interval, shown as '1.32 [1.28, 1.37]'."""
    return Shown(x, f"{x:.3g} [{low:.3g}, {high:.3g}]", low, high)


INTERVAL_CAUSE = "a measured time's 95 % interval straddles the rule's bound (rerun the benchmark with more repeats)"


def _side(v: float, low: float = -math.inf, high: float = math.inf) -> bool | None:
    """Whether v lies in [low, high]: None when v has an interval that reaches both sides of a bound."""
    if not (isinstance(v, Shown) and v.low is not None):
        return low <= v <= high
    if low <= v.low and v.high <= high:
        return True
    return False if v.high < low or v.low > high else None


def _decide(verdict: str, ours: str, sides) -> tuple[str, ...]:
    """A verdict, unless some value's interval straddles its bound: then inconclusive, with the cause."""
    return ("inconclusive", ours, INTERVAL_CAUSE) if any(x is None for x in sides) else (verdict, ours)


def percent(x: float) -> Shown:
    """A share (0.505) shown as the papers print it (50.5 %); NaN as "none"."""
    return Shown(x, "none" if math.isnan(x) else f"{100 * x:.3g} %")


def points(x: float) -> Shown:
    """A difference of scores in [0, 1] (Dice, accuracy) shown in points, as the papers print them."""
    return Shown(x, "nan" if math.isnan(x) else f"{100 * x:+.2f} pts")


def distance_in_units(ours: dict[str, float], paper: dict[str, float]) -> dict[str, Shown]:
    """{row: |ours - paper| in units of the last digit the paper prints}, each shown with our value."""
    out = {}
    for k, o in ours.items():
        unit = printed_unit(paper[k])
        d = abs(o - paper[k]) / unit
        out[k] = Shown(d, f"{o:.3g} ({d:.3g} × {unit:g} off)")
    return out


def _fmt(x) -> str:
    if isinstance(x, Shown):
        return x.text
    if isinstance(x, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in x.items())
    if isinstance(x, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_fmt(v) for v in x) + "]"
    if isinstance(x, (float, np.floating)):
        return "nan" if math.isnan(x) else f"{x:.3g}"
    return str(x)


def _signed(d: float) -> str:
    """A difference, signed: what the rules that compare two sides show."""
    return d.text if isinstance(d, Shown) else f"{d:+.2f}"


def _value(v: float) -> str:
    return v.text if isinstance(v, Shown) else f"{v:.2f}"


def _fraction(x) -> Fraction:
    """A share threshold, exact: "2/3" means two of three (0.67 would need three of three)."""
    return Fraction(str(x)).limit_denominator(1000)


def printed_unit(value) -> float:
    """One unit of the last digit a transcribed number shows: 0.4 -> 0.1, 276 -> 1, 55.0 -> 0.1 (YAML keeps
    one trailing zero after the point, not more: use it only for the count columns, which have no others)."""
    return float(Decimal(1).scaleb(Decimal(str(value)).as_tuple().exponent))


def better_everywhere(m: dict, frac=1, alpha: float = 0.05) -> tuple[str, str]:
    """m = {case: (difference, p_value)}: reproduced if the difference is > 0 in >= `frac` of
    cases and no case is significantly negative (p < alpha); partly if some case is > 0;
    inconclusive where a p-value could not be computed (too few seeds)."""
    diffs = {k: v[0] for k, v in m.items()}
    pos = Fraction(sum(d > 0 for d in diffs.values()), len(diffs))
    sig_neg = [k for k, (d, p) in m.items() if d < 0 and p < alpha]
    ours = _fmt({k: f"{_signed(d)} (p={p:.2g})" for k, (d, p) in m.items()})
    if any(math.isnan(p) for _, p in m.values()):
        return "inconclusive", ours
    verdict = "reproduced" if pos >= _fraction(frac) and not sig_neg else "partly" if pos > 0 else "not reproduced"
    return verdict, ours


def all_above(m: dict) -> tuple[str, str]:
    """m = {'values': {setting: value}, 'baseline': b}: reproduced if every value > b, partly if at least half."""
    vals, b = m["values"], m["baseline"]
    share = sum(v > b for v in vals.values()) / len(vals)
    verdict = "reproduced" if share == 1 else "partly" if share >= 0.5 else "not reproduced"
    return verdict, _fmt({**{k: _value(v) for k, v in vals.items()}, "baseline": _value(b)})


def every(m: dict, at_least: float = -math.inf, at_most: float = math.inf) -> tuple[str, ...]:
    """m = {case: value}: reproduced if every value lies in [at_least, at_most], partly if at least half do;
    inconclusive if a value's interval straddles a bound."""
    sides = [_side(v, at_least, at_most) for v in m.values()]
    share = Fraction(sum(at_least <= v <= at_most for v in m.values()), len(m))
    verdict = "reproduced" if share == 1 else "partly" if share >= Fraction(1, 2) else "not reproduced"
    return _decide(verdict, _fmt(m), sides)


def spread_at_most(m: dict, tol: float) -> tuple[str, str]:
    """m = {setting: value}: reproduced if max - min <= tol, partly if <= 2 tol."""
    spread = max(m.values()) - min(m.values())
    verdict = "reproduced" if spread <= tol else "partly" if spread <= 2 * tol else "not reproduced"
    return verdict, f"{_fmt(m)}; spread {spread:.2f} (tolerance {tol})"


def matches_best(m: dict, tol: float) -> tuple[str, str]:
    """m = {'values': {setting: value}, 'chosen': setting}: reproduced if the chosen setting is within
    tol of the best of the others, above or below (a chosen setting far above them does not match)."""
    vals, chosen = m["values"], m["chosen"]
    others = {k: v for k, v in vals.items() if k != chosen}
    best = max(others, key=others.get)
    gap = vals[chosen] - others[best]
    return ("reproduced" if abs(gap) <= tol else "not reproduced"), (f"{chosen}: {_value(vals[chosen])}; best other "
                                                                      f"({best}): {_value(others[best])}; {gap:+.2f}")


def near_best(m: dict, tol: float) -> tuple[str, str]:
    """m = {'values': {setting: value}, 'chosen': setting}: reproduced if the chosen setting is within tol of the best."""
    vals, chosen = m["values"], m["chosen"]
    best = max(vals, key=vals.get)
    gap = vals[best] - vals[chosen]
    return (("reproduced" if gap <= tol else "not reproduced"),
            f"{chosen}: {_value(vals[chosen])}; best ({best}): {_value(vals[best])}; {-gap:+.2f}")


def greater(m: dict, alpha: float = 0.05) -> tuple[str, str]:
    """m = {'a': samples, 'b': {name: samples}} (one value per seed), and optionally 'shown', a function
    giving a difference as the ledger shows it (`points`): reproduced if mean(a) > mean(b) for every b
    with Welch p < alpha; partly if mean(a) is ahead of some b; not reproduced if of none;
    inconclusive with too few seeds for the test."""
    a, shown = np.asarray(m["a"], float), m.get("shown", float)
    rows = {k: (a.mean() - np.mean(v), welch_p(a, v)) for k, v in m["b"].items()}
    ahead = [k for k, (d, _) in rows.items() if d > 0]
    significant = [k for k in ahead if rows[k][1] < alpha]
    ours = _fmt({k: f"{_signed(shown(d))} (p={p:.2g})" for k, (d, p) in rows.items()})
    if any(math.isnan(p) for _, p in rows.values()):
        return "inconclusive", ours
    verdict = ("reproduced" if len(significant) == len(rows) else "partly" if ahead else "not reproduced")
    return verdict, ours


def welch_p(a, b) -> float:
    """Two-sided Welch t-test p-value for mean(a) != mean(b); NaN with fewer than MIN_SEEDS values a side."""
    from scipy.stats import ttest_ind

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < MIN_SEEDS or len(b) < MIN_SEEDS:
        return math.nan
    return float(ttest_ind(a, b, equal_var=False).pvalue)


def at_least(m: float, threshold: float) -> tuple[str, ...]:
    """A single number: reproduced if >= threshold (inconclusive if its interval straddles it)."""
    return _decide("reproduced" if m >= threshold else "not reproduced", _fmt(m), [_side(m, low=threshold)])


def at_most(m: float, threshold: float) -> tuple[str, ...]:
    """A single number: reproduced if <= threshold (inconclusive if its interval straddles it)."""
    return _decide("reproduced" if m <= threshold else "not reproduced", _fmt(m), [_side(m, high=threshold)])


def between(m: float, low: float, high: float) -> tuple[str, ...]:
    """A single number: reproduced if low <= m <= high (inconclusive if its interval straddles a bound)."""
    return _decide("reproduced" if low <= m <= high else "not reproduced", _fmt(m), [_side(m, low, high)])


def is_extreme(m: dict, chosen: str, which: str = "max") -> tuple[str, str]:
    """m = {setting: value}: reproduced if `chosen` holds the largest (which="max") or smallest value."""
    pick = (max if which == "max" else min)(m, key=m.get)
    return ("reproduced" if pick == chosen else "not reproduced"), _fmt({**m, which: pick})


def sign_share(m: dict, sign: int, frac="2/3") -> tuple[str, str]:
    """m = {case: value}: reproduced if sign(value) == sign in >= frac of cases, partly in some."""
    share = Fraction(int(sum(np.sign(v) == sign for v in m.values())), len(m))
    verdict = "reproduced" if share >= _fraction(frac) else "partly" if share > 0 else "not reproduced"
    return verdict, _fmt(m)


def not_testable(m=None) -> tuple[str, str]:
    return "not testable offline", ""


RULES = {f.__name__: f for f in (better_everywhere, all_above, every, spread_at_most, near_best, matches_best, greater, at_least,
                                  at_most, between, is_extreme, sign_share, not_testable)}


# A note quotes the profile it describes from params.yaml, never typed: {params:sshn.model.width} is that
# value (a list's items joined by ", "), {size:data.atlas2d.size} a size ("48 x 48"; a scalar s is "s x s"),
# {count:sshn.main.seeds} a list's length.
PLACEHOLDER = re.compile(r"\{(params|size|count):([\w.]+)\}")


def fill_note(text: str, params: dict, where: str = "note") -> str:
    """`text` with each placeholder (PLACEHOLDER) replaced by its value in `params`."""
    def value(m) -> str:
        kind, path = m.groups()
        v = params
        for key in path.split("."):
            if not isinstance(v, dict) or key not in v:
                raise ValueError(f"{where}: {m.group()} names no value of params.yaml (no key {key!r})")
            v = v[key]
        if kind == "count":
            return str(len(v))
        items = v if isinstance(v, list) else [v] * (2 if kind == "size" else 1)
        return (" x " if kind == "size" else ", ").join(f"{x:g}" if isinstance(x, float) else str(x) for x in items)
    return PLACEHOLDER.sub(value, text)


def load_claims(path, params: dict | None = None) -> list[dict]:
    """The claims of a ledger file, checked, their notes filled from `params` (default: the params.yaml
    of the project whose references/ holds the ledger)."""
    path = Path(path)
    claims = yaml.safe_load(path.read_text())["claims"]
    ids = [c["id"] for c in claims]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate claim ids {sorted({i for i in ids if ids.count(i) > 1})}")
    for c in claims:
        if PLACEHOLDER.search(str(c.get("note", ""))):
            if params is None:
                params = read_yaml(path.resolve().parents[1] / "params.yaml")
            c["note"] = fill_note(c["note"], params, f"{path}: claim {c['id']}: note")
        if c["test"]["rule"] not in RULES:
            raise ValueError(f"{path}: claim {c['id']} names unknown rule {c['test']['rule']!r}; known: {sorted(RULES)}")
        if c.get("evidence", "ours") not in EVIDENCE:
            raise ValueError(f"{path}: claim {c['id']}: evidence must be one of {sorted(EVIDENCE)}; got {c['evidence']!r}")
        if c["test"].get("measure", "").startswith("paper_") and c.get("evidence") != "paper":
            raise ValueError(f"{path}: claim {c['id']}: its measure (paper_*) reads the paper alone; "
                             f"add `evidence: paper` to the claim")
        if not isinstance(c.get("central", False), bool):
            raise ValueError(f"{path}: claim {c['id']}: central must be true or false; got {c['central']!r}")
        for req in _requirements(c["test"]):
            if set(req) != {"measure", "at_least", "because"}:
                raise ValueError(f"{path}: claim {c['id']}: each of requires needs exactly measure, at_least and "
                                 f"because; got {sorted(req)}")
    return claims


NOT_CONVERGED = ("runs of {} did not converge by the rule of core/train.py (stopped by their cap, or more "
                 "training moved the result by more than twice its seed noise)")


# `converged_<experiment>` of an experiment the profile does not run (compared by identity)
NOT_RUN = Shown(math.nan, "not run in this profile")
NOT_RUN_CAUSE = ("{} not run in this profile (params.yaml: run: false; left out of the cpu profile to keep "
                 "make study within its time budget)")


def _converged(test: dict) -> list[str]:
    converged = test.get("converged", [])
    return [converged] if isinstance(converged, str) else list(converged)


def _requirements(test: dict) -> list[dict]:
    """What a claim's evidence needs: its `requires` and one requirement per `converged` experiment."""
    req = test.get("requires", [])
    req = [req] if isinstance(req, dict) else list(req)
    return req + [{"measure": f"converged_{e}", "at_least": 1.0, "because": NOT_CONVERGED.format(e)}
                  for e in _converged(test)]


def measure_value(claim: dict, measures: dict):
    """The value a claim's rule tests: its measure, called with the claim's `measure_args` if it is a function."""
    t = claim["test"]
    if t["measure"] not in measures:
        raise KeyError(f"claim {claim['id']}: no measure {t['measure']!r} (have {sorted(measures)})")
    m, args = measures[t["measure"]], t.get("measure_args")
    if callable(m) != (args is not None):
        raise ValueError(f"claim {claim['id']}: measure {t['measure']!r} " + (
            f"needs measure_args {list(inspect.signature(m).parameters)}" if callable(m) else "takes no measure_args"))
    return m(**args) if callable(m) else m


def converged_share(runs: pd.DataFrame, checks: list[dict | None]) -> float:
    """The measure `converged_<experiment>`: the share of an experiment's runs that converged by
    core/train.py's rule. Each run must have ended on a plateau or at the end of its schedule; where
    they trained a schedule, none counts unless budget-doubling checks of what they decide exist and
    all agree (a missing check, None, or no check at all, as for ablations nothing doubled)."""
    if runs.empty:
        return 0.0
    share = float(runs.converged.astype(bool).mean())
    if runs.stopped_by.astype(str).str.startswith("schedule").any():
        share *= bool(checks) and all(c is not None and c["agrees"] for c in checks)
    return share


def evaluate(claims: list[dict], judged_by: dict | Callable[[dict], dict]) -> pd.DataFrame:
    """The ledger: one row per claim with its computed verdict and our value. `judged_by`: the
    measures, or a function giving a claim the measures it is judged by (one paper's model may
    stand for another's, as SSHN's ledgers do)."""
    rows = []
    for c in claims:
        measures = judged_by(c) if callable(judged_by) else judged_by
        t = c["test"]
        fn = RULES[t["rule"]]
        cut = [e for e in _converged(t) if measures.get(f"converged_{e}") is NOT_RUN]
        if cut:  # no runs to measure
            verdict, ours, because = "inconclusive", "not run", NOT_RUN_CAUSE.format(" and ".join(cut))
        else:  # a rule gives (verdict, ours), or ("inconclusive", ours, cause) for a cause of its own
            verdict, ours, *cause = fn() if fn is not_testable else fn(measure_value(c, measures), **t.get("args", {}))
            because = (cause[0] if cause else SEEDS_CAUSE) if verdict == "inconclusive" else ""
        unmet = [r for r in _requirements(t) if not cut and fn is not not_testable
                 and not measures[r["measure"]] >= r["at_least"]]
        if unmet:  # the evidence cannot carry the claim (say, runs stopped by their cap, or s never moved)
            verdict = "inconclusive"
            because = "; ".join(f"{r['because']} ({r['measure']} = {_fmt(measures[r['measure']])} < {r['at_least']})"
                                for r in unmet)
        paper_value = c.get("paper_value", "")
        if "paper_measure" in c:  # computed from the transcribed tables, never typed
            paper_value = _fmt(measures[c["paper_measure"]])
        evidence = "none offline" if fn is not_testable else EVIDENCE[c.get("evidence", "ours")]
        rows.append({"id": c["id"], "paper": c["paper"], "source": c["source"], "statement": c["statement"],
                     "paper_value": paper_value, "measure": t.get("measure", ""), "rule": c["rule"],
                     "verdict": verdict, "our_value": ours, "note": c.get("note", ""), "evidence": evidence,
                     "inconclusive_because": because, "rule_changed": c.get("rule_changed", "")})
    return pd.DataFrame(rows, columns=list(FIELDS))


def write_ledgers(claims: list[dict], measures: dict | Callable[[dict], dict], out_dir,
                  timing_measures=()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Evaluate and write the ledger to out_dir/claims.csv, except the claims whose measure is a
    measured time (`timing_measures`): those go to out_dir/timing/claims.csv, as they differ
    from run to run. Returns both ledgers."""
    out_dir = Path(out_dir)
    timed = [c for c in claims if c["test"].get("measure") in timing_measures]
    ledger = evaluate([c for c in claims if c not in timed], measures)
    timing = evaluate(timed, measures)
    write_text(out_dir / "claims.csv", ledger.to_csv(index=False))
    write_text(out_dir / "timing" / "claims.csv", timing.to_csv(index=False))
    return ledger, timing


# How the book shows a ledger. Inline styles only: the book must read offline and as one file.
COLOURS = {"reproduced": "#c8e6c9", "partly": "#fff3c4", "not reproduced": "#ffcdd2", "inconclusive": "#d7e3f4",
           "not testable offline": "#e0e0e0"}


def anchor(claim_id: str) -> str:
    """The HTML id of a claim's entry in `claim_details` (what `verdict_table` links to)."""
    return "claim-" + re.sub(r"[^A-Za-z0-9_-]", "-", claim_id)


def _badge(verdict: str, because: str = "") -> str:
    badge = (f'<span style="background:{COLOURS.get(verdict, "#fff")};padding:1px 6px;border-radius:3px;'
             f'white-space:nowrap">{html.escape(verdict)}</span>')
    return badge + (f'<br><small style="color:#555">{html.escape(because)}</small>' if because else "")


def _short(text, width: int) -> str:
    text = str(text)
    return text if len(text) <= width else text[:width - 1].rsplit(" ", 1)[0] + " …"


_CELL = 'style="padding:2px 6px;vertical-align:top;text-align:left"'


def _claim_cells(r, href: str, width: int) -> str:
    """A claim's cells: its statement (shortened, linking to `href`), its verdict, the paper's value and ours."""
    return (f'<td {_CELL}><a href="{href}">{html.escape(_short(r.statement, width))}</a></td>'
            f"<td {_CELL}>{_badge(r.verdict, r.inconclusive_because)}</td>"
            f"<td {_CELL}>{html.escape(_short(r.paper_value, width // 2))}</td>"
            f"<td {_CELL}>{html.escape(_short(r.our_value, width // 2))}</td>")


def _table(head: tuple[str, ...], rows: str) -> str:
    heads = "".join(f"<th {_CELL}>{h}</th>" for h in head)
    return (f'<table style="font-size:85%;border-collapse:collapse;width:100%;table-layout:auto">'
            f"<thead><tr>{heads}</tr></thead><tbody>{rows}</tbody></table>")


def verdict_table(ledger: pd.DataFrame, width: int = 110) -> str:
    """A compact HTML table of a ledger that fits the text column: claim (shortened, linking to its
    entry in `claim_details`, where the rule and note are), verdict (coloured), paper vs ours."""
    rows = "".join(f"<tr>{_claim_cells(r, '#' + anchor(r.id), width)}</tr>" for r in ledger.itertuples())
    return _table(("claim", "verdict", "paper", "ours"), rows)


def findings_table(ledger: pd.DataFrame, pages: dict[str, str], scales: dict[str, str], width: int = 90) -> str:
    """The landing page's findings: one row per claim of `ledger` (the central ones), with its
    verdict, the paper's value beside ours, the scale we measured at (`scales`: paper -> text) and a
    link to its entry in its chapter (`pages`: paper -> the chapter's page name)."""
    rows = "".join(f"<tr><td {_CELL}>{html.escape(r.paper)}</td>"
                   f"{_claim_cells(r, f'{pages[r.paper]}.html#{anchor(r.id)}', width)}"
                   f"<td {_CELL}>{html.escape(scales[r.paper])}</td></tr>" for r in ledger.itertuples())
    return _table(("paper", "central claim", "verdict", "paper's value", "ours", "our scale"), rows)


def findings_sentence(central: pd.DataFrame, ledger: pd.DataFrame) -> str:
    """What holds for one paper, from its central claims and its whole ledger, in a sentence or two."""
    decided = central[central.verdict.isin(DECIDED)]
    parts = [f"central claims decided: {len(decided)} of {len(central)}"
             + (": " + ", ".join(f"`{r.id}` {r.verdict}" for r in decided.itertuples()) if len(decided) else "")]
    rest = central[~central.index.isin(decided.index)]
    parts += [f"`{r.id}` {r.verdict}" + (f" ({'; '.join(_causes(r.inconclusive_because))})" if r.inconclusive_because
                                         else "") for r in rest.itertuples()]
    counts = ledger.verdict.value_counts()
    whole = ", ".join(f"{counts[v]} {v}" for v in VERDICTS if v in counts)
    return "; ".join(parts) + f". The whole ledger: {whole}."


def claim_details(ledger: pd.DataFrame) -> str:
    """Every claim in full, one anchored entry each: source, statement, rule, both values, note."""
    out = []
    for r in ledger.itertuples():
        fields = [("source", r.source), ("rule", r.rule), ("rule written or changed after a first result", r.rule_changed),
                  ("paper", r.paper_value), ("ours", r.our_value), ("evidence", r.evidence),
                  ("inconclusive because", r.inconclusive_because), ("note", r.note)]
        body = "".join(f"<dt>{k}</dt><dd>{html.escape(str(v))}</dd>" for k, v in fields if str(v))
        out.append(f'<div id="{anchor(r.id)}" style="margin:0.8em 0"><p><code>{html.escape(r.id)}</code> '
                   f'{_badge(r.verdict)} {html.escape(r.statement)}</p><dl style="font-size:90%">{body}</dl></div>')
    return "".join(out)


def changed_rules(ledger: pd.DataFrame) -> str:
    """The claims whose rule was written or changed after a first result was seen, each linking to its entry."""
    changed = ledger[ledger.rule_changed.astype(str) != ""]
    if changed.empty:
        return "<p>No rule was written or changed after a first result.</p>"
    items = "".join(f'<li><a href="#{anchor(r.id)}"><code>{html.escape(r.id)}</code></a>: {html.escape(r.rule_changed)}</li>'
                    for r in changed.itertuples())
    return f"<p>Rules written or changed after a first result ({len(changed)}):</p><ul>{items}</ul>"


def _causes(because: str) -> list[str]:
    """The causes an `inconclusive_because` names, without their measured values."""
    # unmet requirements are joined as "cause (measure = value < bound); cause (...)"; a cause may hold "; " itself
    return re.findall(r"(.+?) \([^()]* = [^()]*\)(?:; |$)", because) or [because]


def inconclusive_causes(ledger: pd.DataFrame) -> str:
    """One line: how many verdicts each cause made inconclusive (a verdict may have several causes;
    each is named without the measured value, which the verdict's entry gives)."""
    becauses = ledger[ledger.verdict == "inconclusive"].inconclusive_because
    if becauses.empty:
        return "No verdict is inconclusive."
    causes = pd.Series([c for b in becauses for c in _causes(b)]).value_counts()
    several = " (some for several causes)" if causes.sum() > len(becauses) else ""
    return (f"{len(becauses)} inconclusive{several}: " + "; ".join(f"{n} because {cause}" for cause, n in causes.items())
            + ".")


def verdict_counts(ledger: pd.DataFrame) -> pd.DataFrame:
    """Verdicts per paper and per kind of evidence (our runs and counts, the paper's own numbers,
    none offline): a check of the paper against itself is not a reproduction."""
    counts = ledger.groupby(["paper", "evidence", "verdict"]).size().unstack(fill_value=0)
    return counts[[v for v in VERDICTS if v in counts.columns]]


def counts_table(ledger: pd.DataFrame) -> str:
    """`verdict_counts` as a compact HTML table that fits the text column."""
    counts = verdict_counts(ledger)
    cell = 'style="padding:2px 6px;text-align:right"'
    head = "".join(f'<th {cell}><span style="background:{COLOURS[v]};padding:0 4px">{html.escape(v)}</span></th>'
                   for v in counts.columns)
    rows = "".join(f'<tr><td style="padding:2px 6px">{html.escape(paper)}: {html.escape(evidence)}</td>'
                   + "".join(f"<td {cell}>{n}</td>" for n in row) + "</tr>"
                   for (paper, evidence), row in counts.iterrows())
    return (f'<table style="font-size:85%;border-collapse:collapse"><thead><tr><th></th>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table>")
