"""The claims ledger: every claim of a paper, the measure that tests it and a computed verdict.

A paper's claims live under `claims:` in `references/<paper>.yaml`; the ledger has one row
per claim with the columns FIELDS. Each claim names a `rule` from RULES and the `measure` (a
key of the measures dict its package computes from stage outputs) it applies to; `evaluate`
returns the ledger table and `write_ledgers` writes it; `verdict_table` and `claim_details` show it
in the book. Rules are decided before the results are seen and never typed as verdicts.

**Comparisons of trained runs** (since 2026-12-07) have one decision rule, the same for every paper:
`compare` for a claimed effect, `equivalent` for "matches" / "as good as". The ledger states the
claim's effect of interest δ (or the equivalence margin) in the metric's units (UNITS), the paper's
own number where it gives one; the measure gives `core.stats.Arms`, the two sides' per-seed scores;
the verdict is read from the estimate's 95 % interval against 0 and δ (`compare`), or from its
two one-sided tests against the margin (`equivalent`), never from a mean's sign or a bare p-value.
A family ("at every φ", "for all networks") judges each member with Bonferroni-adjusted intervals
(all hold together at 95 %) and then applies its family rule (`_family`). Each member's estimate,
interval, δ, seeds and smallest detectable effect go to comparisons.csv beside the ledger. Rules of
single counted numbers (FLOPs, parameters) keep their form.

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
budget-doubling check confirms (`doubling_check`: the gap moves by less than δ/2 when the budget
doubles): the measure `converged_<experiment>`, the share of its runs that did, must be 1). A
comparison of runs stopped by their step cap says how far each got in that budget, not what the
method can do. Where a profile does not run an experiment (its section's `run: false`),
`converged_<experiment>` is NOT_RUN: the claims that need its runs are inconclusive for that
reason, and their measures are never computed.
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
from .stats import LEVEL, Arms, Estimate, estimate, family_level, move_interval, seeds_for

VERDICTS = ("reproduced", "partly", "not reproduced", "inconclusive", "not testable offline")
DECIDED = VERDICTS[:3]  # the verdicts that decide a claim one way or the other
FIELDS = ("id", "paper", "source", "statement", "paper_value", "measure", "rule", "verdict", "our_value", "note",
          "evidence", "inconclusive_because", "rule_changed")
# What decides a claim, from its `evidence` field: our runs and counts (the default), or the paper
# against itself (its tables, text and equations: a check of consistency, not a reproduction).
EVIDENCE = {"ours": "our runs and counts", "paper": "the paper's own numbers and equations"}
# The units a comparison of trained runs is stated in (its δ or margin, and its measure's Arms, alike).
UNITS = ("Dice points", "accuracy points", "mIoU points", "MS-SSIM points", "error points", "per cent")


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
    """Whether v lies in [low, high]; None when v has an interval that reaches both sides of a bound."""
    if not (isinstance(v, Shown) and v.low is not None):
        return bool(low <= v <= high)
    if low <= v.low and v.high <= high:
        return True
    return False if v.high < low or v.low > high else None


def _decide(sides: list[bool | None], ours: str, share_needed=1) -> tuple[str, ...]:
    """From each value's side of its bounds: reproduced if the share inside reaches `share_needed`, partly
    if at least half are, else not reproduced; inconclusive, with the cause, where an interval straddles."""
    if any(x is None for x in sides):
        return "inconclusive", ours, INTERVAL_CAUSE
    share = Fraction(sum(sides), len(sides))
    return ("reproduced" if share >= share_needed else "partly" if share >= Fraction(1, 2) else "not reproduced"), ours


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


def _shown(v: float, spec: str = ".2f") -> str:
    """A number as a rule shows it: its own text if it is a Shown, else formatted by `spec`."""
    return v.text if isinstance(v, Shown) else format(v, spec)


def _fraction(x) -> Fraction:
    """A share threshold, exact: "2/3" means two of three (0.67 would need three of three)."""
    return Fraction(str(x)).limit_denominator(1000)


def printed_unit(value) -> float:
    """One unit of the last digit a transcribed number shows: 0.4 -> 0.1, 276 -> 1, 55.0 -> 0.1 (YAML keeps
    one trailing zero after the point, not more: use it only for the count columns, which have no others)."""
    return float(Decimal(1).scaleb(Decimal(str(value)).as_tuple().exponent))


# ---------------------------------------------------------------------------------------------------
# Comparisons of trained runs: one decision rule, an interval against the claim's effect δ
# (module docstring of core.stats for the intervals; the ledger gives δ or the margin, and its unit).
# ---------------------------------------------------------------------------------------------------

def _members(m) -> dict[str, Arms]:
    return {"": m} if isinstance(m, Arms) else dict(m)


def _per_member(value, members: dict, name: str) -> dict[str, float]:
    """A δ or margin given once for every member, or per member ("*": every member not named)."""
    if not isinstance(value, dict):
        return {k: float(value) for k in members}
    missing = set(members) - set(value) if "*" not in value else set()
    if missing:
        raise ValueError(f"{name} has no value for {sorted(missing)} (has {sorted(value)})")
    return {k: float(value.get(k, value.get("*"))) for k in members}


def _design(e: Estimate, level: float, k: int) -> str:
    how = "paired by seed" if e.paired else "Welch"
    seeds = f"{e.n[0]} seeds" if e.paired else f"{e.n[0]} v {e.n[1]} seeds"
    lvl = f"{100 * level:.3g} %" + (f" Bonferroni over {k}" if k > 1 else "")
    return f"{lvl} intervals, {how}, {seeds}"


def _effect_verdict(e: Estimate, delta: float) -> tuple[str, str]:
    """The decision rule of an effect claim: the interval against 0 and δ (δ > 0 is the claimed effect)."""
    if not e.decided:
        return "inconclusive", f"too few seeds for an interval ({e.n[0]} and {e.n[1]})"
    if e.low > 0:
        return ("reproduced" if e.high >= delta else "partly"), ""
    if e.high < delta:  # wholly below δ: the claimed size is excluded (wholly below 0: the opposite holds)
        return "not reproduced", ""
    return "inconclusive", (f"underpowered: the interval [{e.low:+.2f}, {e.high:+.2f}] {e.unit} holds both 0 and "
                            f"δ = {delta:+g}; the smallest effect these seeds detect at 80 % power is {e.mde:.2g}")


def _equivalence_verdict(e: Estimate, margin: float, sides: str = "both") -> tuple[str, str]:
    """Two one-sided tests at 5 %: the 90 % interval inside (-margin, margin), or wholly outside it; with
    sides="lower" (non-inferiority: a is not worse than b by the margin) only its lower end counts."""
    if not e.decided:
        return "inconclusive", f"too few seeds for an interval ({e.n[0]} and {e.n[1]})"
    inside = -margin < e.low and (sides == "lower" or e.high < margin)
    outside = e.high <= -margin or (sides == "both" and e.low >= margin)
    if inside:
        return "reproduced", ""
    if outside:
        return "not reproduced", ""
    return "inconclusive", (f"underpowered: the interval [{e.low:+.2f}, {e.high:+.2f}] {e.unit} reaches past the "
                            f"margin {'±' if sides == 'both' else '-'}{margin:g} and inside it")


def _family(verdicts: list[str], family) -> str:
    """A family's verdict from its members': the claim holds at `family` of them, "all", "some" (at least
    one) or a share ("2/3"). Reproduced if that many members are; inconclusive while the inconclusive ones
    could still make it so; else partly if some member is positive (reproduced or partly), else not
    reproduced."""
    n = len(verdicts)
    need = 1 if family == "some" else n * (1 if family == "all" else _fraction(family))
    count = {v: verdicts.count(v) for v in VERDICTS}
    if count["reproduced"] >= need:
        return "reproduced"
    if count["reproduced"] + count["inconclusive"] >= need:
        return "inconclusive"
    return "partly" if count["reproduced"] + count["partly"] else "not reproduced"


def _judge(kind: str, m, bound, unit: str, family: str, sides: str = "both") -> tuple:
    """compare and equivalent: each member's estimate at the family's level, its verdict, the family's."""
    members = _members(m)
    if not members:
        return "inconclusive", "nothing to compare", "the runs give no pair of models to compare", []
    wrong = {k: a.unit for k, a in members.items() if a.unit != unit}
    if wrong:
        raise ValueError(f"the ledger states this comparison in {unit!r}; its measure gives {wrong}")
    bounds = _per_member(bound, members, "delta" if kind == "effect" else "margin")
    k = len(members)
    level = family_level(k) if kind == "effect" else family_level(k, 1 - 2 * (1 - LEVEL))
    rows, parts, causes, verdicts, estimates = [], [], [], [], []
    for name, arms in members.items():
        e = estimate(arms, level)
        estimates.append(e)
        v, why = _effect_verdict(e, bounds[name]) if kind == "effect" else _equivalence_verdict(e, bounds[name], sides)
        verdicts.append(v)
        causes += [f"{name}: {why}" if name else why] if why else []
        parts.append(f"{name + ': ' if name else ''}{e.text}")
        rows.append({"member": name, "kind": kind, "estimate": e.diff, "low": e.low, "high": e.high, "level": level,
                     "bound": bounds[name], "unit": unit, "n_a": e.n[0], "n_b": e.n[1], "paired": e.paired,
                     "sd": e.sd, "mde": e.mde, "seeds_for_bound": seeds_for(e.sd, bounds[name], e.paired, level),
                     "sides": sides if kind == "equivalence" else "", "verdict": v})
    bound_text = (f"δ = {_fmt_bounds(bounds, '+g')}" if kind == "effect" else
                  f"margin {'±' if sides == 'both' else '-'}{_fmt_bounds(bounds, 'g')}")
    mde = max((r["mde"] for r in rows), default=math.nan)
    ours = (f"{'; '.join(parts)} {unit} ({_design(estimates[0], level, k)}); {bound_text}; smallest detectable effect "
            f"{mde:.2g}")
    verdict = _family(verdicts, family) if k > 1 else verdicts[0]
    return verdict, ours, ("; ".join(causes) if verdict == "inconclusive" else ""), rows


def _fmt_bounds(bounds: dict, spec: str) -> str:
    values = set(bounds.values())
    if len(values) == 1:
        return format(values.pop(), spec)
    return ", ".join(f"{k} {format(v, spec)}" for k, v in bounds.items())


def compare(m, delta, unit: str, family: str = "all") -> tuple:
    """m = Arms or {member: Arms} (a - b, a the side the paper says is better); `delta` the claim's effect
    of interest in `unit` (> 0; one for all members or one per member). Per member, its 95 % interval
    (Bonferroni-adjusted for a family: all hold together at 95 %): above 0 and reaching δ, reproduced;
    above 0, wholly below δ, partly (real, smaller than claimed); wholly below δ and reaching 0 or below,
    not reproduced (the claimed size is excluded, or the opposite holds); holding both 0 and δ,
    inconclusive (underpowered). A family's verdict: at `family` of its members (`_family`)."""
    return _judge("effect", m, delta, unit, family)


def equivalent(m, margin, unit: str, family: str = "all", sides: str = "both") -> tuple:
    """m = Arms or {member: Arms}; a claim that a and b match ("similar") within `margin` in `unit`: two
    one-sided tests at 5 % (the 90 % interval, Bonferroni-adjusted for a family) inside (-margin, margin),
    reproduced; wholly outside it, not reproduced; straddling, inconclusive. sides="lower" for "as good
    as" / "on or above" (non-inferiority): reproduced if the interval lies above -margin, not reproduced
    if wholly below it."""
    return _judge("equivalence", m, margin, unit, family, sides)


def doubling_check(gap: dict, doubled: dict, seed_sd: float, n_seeds: int, delta: float, unit: str) -> dict:
    """The budget-doubling check of a comparison whose runs train a fixed schedule: does training twice as
    long move the comparison's gap by less than δ/2? `gap` and `doubled`: {seed: gap} at the budget T and at
    2T (the doubled seeds); `seed_sd`: the gap's standard deviation over its `n_seeds` seeds at T.

    An equivalence test of the move (two one-sided tests at 5 %): with two or more doubled seeds, on their
    per-seed moves (paired); with one, its move's spread is sqrt(2) x the gap's seed SD (the move is a
    difference of two gaps that vary alike), with n_seeds - 1 degrees of freedom. `agrees`: True if the
    90 % interval of the move lies inside ±δ/2, False if wholly outside, None where it cannot tell a δ/2
    move from noise (its half-width is the check's power: it decides only where that is below δ/2)."""
    seeds = sorted(set(gap) & set(doubled))
    moves = np.array([doubled[s] - gap[s] for s in seeds], float)
    tol, level = delta / 2, 1 - 2 * (1 - LEVEL)
    if len(seeds) >= 2:
        e = estimate(Arms(tuple(doubled[s] for s in seeds), tuple(gap[s] for s in seeds), True, unit), level)
        low, high, noise = e.low, e.high, f"paired over {len(seeds)} doubled seeds"
    else:
        low, high = move_interval(float(moves.mean()) if len(moves) else math.nan, math.sqrt(2) * seed_sd,
                                  n_seeds - 1, level)
        noise = f"one doubled seed: sqrt(2) x the gap's seed SD over {n_seeds} seeds"
    agrees = (None if math.isnan(low) else True if -tol < low and high < tol else
              False if low >= tol or high <= -tol else None)
    return {"gap": float(np.mean([gap[s] for s in seeds])) if seeds else math.nan,
            "doubled_gap": float(np.mean([doubled[s] for s in seeds])) if seeds else math.nan,
            "change": float(moves.mean()) if len(moves) else math.nan, "low": low, "high": high,
            "half_width": (high - low) / 2, "tolerance": tol, "delta": delta, "unit": unit, "seeds": len(seeds),
            "seed_std": seed_sd, "noise": noise, "agrees": agrees}


def doubling_text(c: dict) -> str:
    """A doubling check in words: its move with its 90 % interval against ±δ/2, and what it decided."""
    what = {True: "less than δ/2: converged", False: "more than δ/2: not converged",
            None: "cannot tell a δ/2 move from noise"}[c["agrees"]]
    return (f"the gap moved {_diff(c['change'])} [{_diff(c['low'])}, {_diff(c['high'])}] {c['unit']} when the "
            f"budget doubled (90 %, {c['noise']}), against ±{c['tolerance']:.2g}: {what}")


def _diff(x) -> str:
    """A difference with its sign; NaN (None once written to JSON: no spread to build an interval from) as nan."""
    return "nan" if x is None or math.isnan(x) else f"{x:+.2f}"


def doubling_frame(checks: dict[str, dict], what: str) -> pd.DataFrame:
    """Budget-doubling checks as a table, one row per comparison (`what` names the column of their keys)."""
    verdict = {True: "converged", False: "not converged", None: "cannot tell"}
    return pd.DataFrame([{what: k, "seeds doubled": c["seeds"], "gap at T": _diff(c["gap"]),
                          "gap at 2T": _diff(c["doubled_gap"]),
                          "move [90 %]": f"{_diff(c['change'])} [{_diff(c['low'])}, {_diff(c['high'])}]",
                          "tolerance ±δ/2": f"{c['tolerance']:.2g}", "unit": c["unit"], "decision": verdict[c["agrees"]]}
                         for k, c in checks.items()])


def all_above(m: dict) -> tuple[str, str]:
    """m = {'values': {setting: value}, 'baseline': b}: reproduced if every value > b, partly if at least half."""
    vals, b = m["values"], m["baseline"]
    return _decide([v > b for v in vals.values()], _fmt({**{k: _shown(v) for k, v in vals.items()},
                                                         "baseline": _shown(b)}))[:2]


def every(m: dict, at_least: float = -math.inf, at_most: float = math.inf) -> tuple[str, ...]:
    """m = {case: value}: reproduced if every value lies in [at_least, at_most], partly if at least half do;
    inconclusive if a value's interval straddles a bound."""
    return _decide([_side(v, at_least, at_most) for v in m.values()], _fmt(m))


def spread_at_most(m: dict, tol: float) -> tuple[str, str]:
    """m = {setting: value}: reproduced if max - min <= tol, partly if <= 2 tol."""
    spread = max(m.values()) - min(m.values())
    verdict = "reproduced" if spread <= tol else "partly" if spread <= 2 * tol else "not reproduced"
    return verdict, f"{_fmt(m)}; spread {spread:.2f} (tolerance {tol})"


def at_least(m: float, threshold: float) -> tuple[str, ...]:
    """A single number: reproduced if >= threshold (inconclusive if its interval straddles it)."""
    return _single(_side(m, low=threshold), m)


def at_most(m: float, threshold: float) -> tuple[str, ...]:
    """A single number: reproduced if <= threshold (inconclusive if its interval straddles it)."""
    return _single(_side(m, high=threshold), m)


def between(m: float, low: float, high: float) -> tuple[str, ...]:
    """A single number: reproduced if low <= m <= high (inconclusive if its interval straddles a bound)."""
    return _single(_side(m, low, high), m)


def _single(side: bool | None, m) -> tuple[str, ...]:
    if side is None:
        return "inconclusive", _fmt(m), INTERVAL_CAUSE
    return ("reproduced" if side else "not reproduced"), _fmt(m)


def is_extreme(m: dict, chosen: str, which: str = "max") -> tuple[str, str]:
    """m = {setting: value}: reproduced if `chosen` holds the largest (which="max") or smallest value."""
    pick = (max if which == "max" else min)(m, key=m.get)
    return ("reproduced" if pick == chosen else "not reproduced"), _fmt({**m, which: pick})


def sign_share(m: dict, sign: int, frac="2/3") -> tuple[str, str]:
    """m = {case: value}: reproduced if sign(value) == sign in >= frac of cases, partly in some.
    Not for comparisons of trained runs (their noise needs `compare`): a check of counts or of the
    paper's own numbers, or the direction of a descriptive statistic."""
    share = Fraction(int(sum(np.sign(v) == sign for v in m.values())), len(m))
    verdict = "reproduced" if share >= _fraction(frac) else "partly" if share > 0 else "not reproduced"
    return verdict, _fmt(m)


def not_testable(m=None) -> tuple[str, str]:
    return "not testable offline", ""


RULES = {f.__name__: f for f in (compare, equivalent, all_above, every, spread_at_most, at_least, at_most, between,
                                  is_extreme, sign_share, not_testable)}
# The rules of comparisons of trained runs, and the argument each needs besides its unit.
COMPARISONS = {"compare": "delta", "equivalent": "margin"}


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
        if c["test"]["rule"] in COMPARISONS:
            _check_comparison(c, path)
    return claims


def effect_of(claims: list[dict], claim_id: str):
    """A comparison's effect of interest δ as its ledger states it (test.args.delta: one number, or one per
    member): what a budget-doubling check of the runs it judges is held to."""
    for c in claims:
        if c["id"] == claim_id:
            if "delta" not in c["test"].get("args", {}):
                raise ValueError(f"claim {claim_id} states no δ (test.args.delta): it is not a compare rule")
            return c["test"]["args"]["delta"]
    raise KeyError(f"no claim {claim_id!r} in the ledger (have {sorted(c['id'] for c in claims)})")


def _check_comparison(c: dict, path) -> None:
    """A comparison of trained runs states its effect of interest (δ) or margin, positive, and its unit."""
    rule, args = c["test"]["rule"], c["test"].get("args", {})
    field = COMPARISONS[rule]
    where = f"{path}: claim {c['id']}: test.args"
    if field not in args:
        raise ValueError(f"{where} has no {field}: a {rule} rule is decided against the claim's "
                         + ("effect of interest δ, in the metric's units" if field == "delta" else "equivalence margin")
                         + " (pre-register it in the ledger)")
    values = args[field].values() if isinstance(args[field], dict) else [args[field]]
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise ValueError(f"{where}.{field} must be a number > 0 (the effect in the direction the claim states; "
                             f"orient the measure, a - b, so that the claim's side is a); got {v!r}")
    if args.get("unit") not in UNITS:
        raise ValueError(f"{where}.unit must be one of {list(UNITS)} (the units {field} is in); got {args.get('unit')!r}")
    family = str(args.get("family", "all"))
    if family not in ("all", "some") and not re.fullmatch(r"[1-9]\d*/[1-9]\d*", family):
        raise ValueError(f"{where}.family must be all, some or a share such as \"2/3\"; got {args['family']!r}")
    if args.get("sides", "both") not in ("both", "lower") or (rule == "compare" and "sides" in args):
        raise ValueError(f"{where}.sides: an equivalence may say both or lower (non-inferiority); got {args['sides']!r}")


NOT_CONVERGED = ("runs of {} are not shown converged by core/train.py's rule (stopped by their cap, or a doubled "
                 "budget moved the comparison by δ/2 or more, or could not tell such a move from noise)")


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


def converged_share(runs: pd.DataFrame, checks: list[dict | None]) -> Shown:
    """The measure `converged_<experiment>`: the share of an experiment's runs that converged by
    core/train.py's rule. Each run must have ended on a plateau or at the end of its schedule; where
    they trained a schedule, none counts unless budget-doubling checks (`doubling_check`) of what they
    decide exist and all show the comparison moving by less than δ/2 (a missing check, None, or no check
    at all, as for ablations nothing doubled). Shown with what decided it."""
    if runs.empty:
        return Shown(0.0, "no runs")
    share = float(runs.converged.astype(bool).mean())
    text = f"{share:.3g} of the runs ended on a plateau or their schedule"
    if runs.stopped_by.astype(str).str.startswith("schedule").any():
        if not checks or any(c is None for c in checks):
            return Shown(0.0, "0: trained a fixed schedule, with no budget-doubling check")
        failed = [doubling_text(c) for c in checks if c["agrees"] is not True]
        if failed:
            return Shown(0.0, "0: " + "; ".join(failed))
        text += "; every budget-doubling check moved less than δ/2"
    return Shown(share, text)


def evaluate(claims: list[dict], judged_by: dict | Callable[[dict], dict], members: list | None = None) -> pd.DataFrame:
    """The ledger: one row per claim with its computed verdict and our value. `judged_by`: the
    measures, or a function giving a claim the measures it is judged by (one paper's model may
    stand for another's, as SSHN's ledgers do). `members`, if given, receives one row per member of
    every comparison of trained runs (its estimate, interval, δ or margin, seeds and verdict)."""
    rows = []
    for c in claims:
        measures = judged_by(c) if callable(judged_by) else judged_by
        t = c["test"]
        fn = RULES[t["rule"]]
        cut = [e for e in _converged(t) if measures.get(f"converged_{e}") is NOT_RUN]
        if cut:  # no runs to measure
            verdict, ours, because = "inconclusive", "not run", NOT_RUN_CAUSE.format(" and ".join(cut))
        else:  # a rule gives (verdict, ours), or (verdict, ours, cause): a comparison adds its members
            try:
                verdict, ours, *rest = fn() if fn is not_testable else fn(measure_value(c, measures), **t.get("args", {}))
            except ValueError as e:
                raise ValueError(f"claim {c['id']}: {e}") from None
            because = rest[0] if verdict == "inconclusive" else ""
            if members is not None and len(rest) > 1:
                members += [{"id": c["id"], "paper": c["paper"], "central": bool(c.get("central", False)), **r}
                            for r in rest[1]]
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
    members = []
    ledger = evaluate([c for c in claims if c not in timed], measures, members)
    final = ledger.set_index("id").verdict  # a requirement may have made a claim inconclusive after its rule
    members = [{**m, "claim_verdict": final[m["id"]]} for m in members]
    timing = evaluate(timed, measures)
    write_text(out_dir / "claims.csv", ledger.to_csv(index=False))
    write_text(out_dir / "comparisons.csv", pd.DataFrame(members, columns=COMPARISON_COLUMNS).to_csv(index=False))
    write_text(out_dir / "timing" / "claims.csv", timing.to_csv(index=False))
    return ledger, timing


# comparisons.csv: one row per member of every comparison of trained runs (what the forest plots draw)
# (seeds_for_bound: the seeds per side a test at that level needs to detect δ, or the margin, at 80 % power, at this
# spread: what would make an underpowered comparison decidable)
COMPARISON_COLUMNS = ("id", "paper", "central", "member", "kind", "estimate", "low", "high", "level", "bound", "unit",
                      "n_a", "n_b", "paired", "sd", "mde", "seeds_for_bound", "sides", "verdict", "claim_verdict")


def read_comparisons(path) -> pd.DataFrame:
    """A comparisons.csv as write_ledgers wrote it (an empty member or sides is "", a missing number NaN)."""
    return pd.read_csv(path).fillna({"member": "", "sides": ""})


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


def comparisons_table(comparisons: pd.DataFrame) -> str:
    """Members of comparisons of trained runs (comparisons.csv rows) as a compact HTML table: δ or margin, our
    estimate and interval, seeds, the smallest effect those seeds detect and the seeds δ would need (80 % power)."""
    def n(x) -> str:
        return "more than 10⁵" if not math.isfinite(x) else f"{x:.0f}"

    rows = "".join(
        f"<tr><td {_CELL}><code>{html.escape(r.id)}</code>{' ' + html.escape(r.member) if r.member else ''}</td>"
        f"<td {_CELL}>{'δ = ' if r.kind == 'effect' else '±'}{r.bound:g} {html.escape(r.unit)}</td>"
        f"<td {_CELL}>{r.estimate:+.2f} [{r.low:+.2f}, {r.high:+.2f}] ({100 * r.level:.3g} %)</td>"
        f"<td {_CELL}>{r.n_a}{'' if r.paired else ' v ' + str(r.n_b)}{' paired' if r.paired else ''}</td>"
        f"<td {_CELL}>{r.mde:.2g}</td><td {_CELL}>{n(r.seeds_for_bound)}</td>"
        f"<td {_CELL}>{_badge(r.verdict)}</td></tr>" for r in comparisons.itertuples())
    return _table(("comparison", "effect of interest", "ours [interval]", "seeds", "smallest detectable",
                   "seeds for δ", "verdict"), rows)


def power_sentence(comparisons: pd.DataFrame) -> str:
    """What the central comparisons' seeds can detect at the spread measured, and what δ would need (80 % power):
    the power statement of a chapter (comparisons.csv rows)."""
    central = comparisons[comparisons.central.astype(bool)]
    if central.empty:
        return "No central claim of this chapter compares trained runs in this profile."

    def one(r) -> str:
        need = float(r.seeds_for_bound)
        seeds = f"{r.n_a}" + ("" if r.paired else f" v {r.n_b}")
        name = f"`{r.id}`" + (f" {r.member}" if r.member else "")
        return (f"{name}: {seeds} seeds detect {float(r.mde):.2g} {r.unit} (δ = {float(r.bound):g}); δ would need "
                + ("more than 100 000" if not math.isfinite(need) else f"{need:.0f}") + " a side")
    short = int((central.seeds_for_bound.astype(float) > central.n_a.astype(float)).sum())
    return (f"**Power.** {short} of {len(central)} central comparisons have fewer seeds than their δ needs at the "
            "spread we measured (80 % power; statsmodels): " + "; ".join(one(r) for r in central.itertuples()) + ".")


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
    if "underpowered:" in because:  # a comparison's interval holds both 0 and δ: its numbers are its own
        return ["underpowered (the interval holds both 0 and the claim's effect)"]
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
