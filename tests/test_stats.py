"""The decision rule of every comparison of trained runs (core.claims.compare, equivalent, doubling_check) and
the intervals it reads (core.stats): known answers, and the intervals equal to the textbook formulas."""
import math

import numpy as np
import pytest
import yaml
from scipy import stats as st

from hyperscale.core.claims import compare, doubling_check, equivalent, load_claims
from hyperscale.core.stats import Arms, estimate, family_level, seeds_for, smallest_detectable

UNIT = "Dice points"


def paired(diffs) -> Arms:
    return Arms(tuple(diffs), (0.0,) * len(diffs), True, UNIT)


def verdict(diffs, delta=1.0, **kw):
    return compare(paired(diffs), delta=delta, unit=UNIT, **kw)[0]


def test_the_interval_against_zero_and_delta_gives_every_verdict():
    assert verdict([5.0, 5.1, 4.9]) == "reproduced"                  # above 0, reaching δ
    assert verdict([0.5, 0.6, 0.4], delta=2.0) == "partly"           # above 0, wholly below δ: real, smaller
    assert verdict([0.01, -0.01, 0.0]) == "not reproduced"           # no effect, small noise: δ excluded
    assert verdict([-2.0, -2.1, -1.9]) == "not reproduced"           # the opposite holds
    assert verdict([5.0, -5.0, 0.5]) == "inconclusive"               # no effect, large noise: holds 0 and δ


def test_an_underpowered_comparison_names_its_interval_and_smallest_detectable_effect():
    v, ours, because, rows = compare(paired([5.0, -5.0, 0.5]), delta=1.0, unit=UNIT)
    e = estimate(paired([5.0, -5.0, 0.5]))
    assert v == "inconclusive" and because.startswith("underpowered: the interval [")
    assert f"{e.mde:.2g}" in because and e.mde > 1.0  # three seeds at this spread cannot see δ
    assert rows[0]["low"] < 0 < 1.0 < rows[0]["high"] and rows[0]["verdict"] == "inconclusive"
    assert "95 % intervals, paired by seed, 3 seeds" in ours and "δ = +1" in ours


def test_equivalence_is_two_one_sided_tests_against_the_margin():
    eq = lambda diffs, **kw: equivalent(paired(diffs), margin=1.0, unit=UNIT, **kw)[0]
    assert eq([0.01, -0.01, 0.0]) == "reproduced"        # the 90 % interval inside ±margin
    assert eq([3.0, 3.1, 2.9]) == "not reproduced"       # wholly outside it
    assert eq([5.0, -5.0, 0.0]) == "inconclusive"        # straddles it
    assert eq([3.0, 3.1, 2.9], sides="lower") == "reproduced"       # "as good as": better is fine
    assert eq([-3.0, -3.1, -2.9], sides="lower") == "not reproduced"
    e = estimate(paired([0.3, 0.1, 0.2]), 0.90)
    assert equivalent(paired([0.3, 0.1, 0.2]), margin=1.0, unit=UNIT)[3][0]["high"] == pytest.approx(e.high)


def test_a_family_is_judged_member_by_member_with_bonferroni_levels():
    big, none, noisy = paired([5.0, 5.1, 4.9]), paired([0.01, -0.01, 0.0]), paired([5.0, -5.0, 0.5])
    fam = lambda members, family: compare(members, delta=1.0, unit=UNIT, family=family)
    assert fam({"a": big, "b": big}, "all")[0] == "reproduced"
    assert fam({"a": big, "b": none}, "all")[0] == "partly"
    assert fam({"a": big, "b": noisy}, "all")[0] == "inconclusive"   # the noisy one could still make it hold
    assert fam({"a": none, "b": none}, "all")[0] == "not reproduced"
    assert fam({"a": big, "b": none}, "some")[0] == "reproduced"
    rows = fam({"a": big, "b": none, "c": none}, "all")[3]
    assert [r["level"] for r in rows] == [pytest.approx(1 - 0.05 / 3)] * 3 == [pytest.approx(family_level(3))] * 3
    wide, narrow = estimate(big, family_level(3)), estimate(big)
    assert wide.low < narrow.low and wide.high > narrow.high
    per = compare({"a": big, "b": big}, delta={"a": 1.0, "*": 10.0}, unit=UNIT)[3]
    assert [r["bound"] for r in per] == [1.0, 10.0] and [r["verdict"] for r in per] == ["reproduced", "partly"]


def test_the_intervals_are_the_textbook_t_intervals():
    a, b = np.array([0.71, 0.74, 0.69, 0.73]), np.array([0.70, 0.70, 0.66, 0.72])
    d = a - b
    half = st.t.ppf(0.975, 3) * d.std(ddof=1) / 2
    e = estimate(Arms(tuple(a), tuple(b), True, UNIT, scale=100))
    assert (e.diff, e.low, e.high) == pytest.approx((100 * d.mean(), 100 * (d.mean() - half), 100 * (d.mean() + half)))
    va, vb = a.var(ddof=1) / 4, b.var(ddof=1) / 4
    df = (va + vb) ** 2 / (va ** 2 / 3 + vb ** 2 / 3)  # Welch-Satterthwaite
    half = st.t.ppf(0.975, df) * math.sqrt(va + vb)
    w = estimate(Arms(tuple(a), tuple(b), False, UNIT))
    assert (w.low, w.high) == pytest.approx((a.mean() - b.mean() - half, a.mean() - b.mean() + half))


def test_power_known_answers():
    # paired t at d = 1, two-sided 5 %, 80 % power: 10 pairs (n = 9.94); two samples at d = 1: 17 a side (16.7)
    assert seeds_for(1.0, 1.0, paired=True) == 10 and seeds_for(1.0, 1.0, paired=False) == 17
    assert seeds_for(float("nan"), 1.0, paired=True) == math.inf
    mde = smallest_detectable(1.0, (10, 10), True, 0.05)
    assert mde == pytest.approx(1.0, abs=0.01)  # the inverse of the above


def test_the_doubling_check_fails_a_move_of_twice_delta_and_cannot_tell_in_noise():
    gap = {0: 0.0, 1: 0.1, 2: -0.1}
    moved = doubling_check(gap, {0: 2.0}, 0.1, 3, 1.0, UNIT)       # moved 2δ: not converged
    still = doubling_check(gap, {0: 0.05}, 0.1, 3, 1.0, UNIT)      # moved δ/20: converged
    noisy = doubling_check(gap, {0: 0.05}, 4.5, 3, 1.0, UNIT)      # seed SD 4.5: no δ/2 decision possible
    assert (moved["agrees"], still["agrees"], noisy["agrees"]) == (False, True, None)
    assert moved["tolerance"] == 0.5 and noisy["half_width"] > 0.5
    # the old rule (a move within two seed SDs agrees) passed the move of 8.6 points against a 4.5 SD
    old_like = doubling_check({0: -2.2, 1: 2.0, 2: -6.0}, {0: -10.8}, 4.5, 3, 1.6, UNIT)
    assert old_like["agrees"] is None and abs(old_like["change"]) > 2 * 1.6
    both = doubling_check(gap, {0: 0.03, 1: 0.12, 2: -0.06}, 0.1, 3, 1.0, UNIT)  # every seed doubled: paired moves
    assert both["agrees"] is True and both["seeds"] == 3 and "paired over 3 doubled seeds" in both["noise"]


@pytest.mark.parametrize("args, message", [
    ({"unit": UNIT}, "has no delta"),
    ({"delta": 0, "unit": UNIT}, "must be a number > 0"),
    ({"delta": -1.6, "unit": UNIT}, "must be a number > 0"),
    ({"delta": {"a": 1.0, "b": float("nan")}, "unit": UNIT}, "must be a number > 0"),
    ({"delta": 1.6, "unit": "Dice"}, "unit must be one of"),
    ({"delta": 1.6, "unit": UNIT, "family": "most"}, "family must be all, some or a share"),
    ({"delta": 1.6, "unit": UNIT, "sides": "lower"}, "sides"),
])
def test_a_comparison_without_a_usable_delta_is_refused_at_load(tmp_path, args, message):
    claim = {"id": "x.beats", "paper": "x", "source": "§1", "statement": "s", "rule": "r",
             "test": {"rule": "compare", "measure": "m", "args": args}}
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump({"claims": [claim]}))
    with pytest.raises(ValueError, match=f"claim x.beats: test.args.*{message}"):
        load_claims(path)


def test_a_measure_in_another_unit_than_its_claim_fails_loudly():
    with pytest.raises(ValueError, match="states this comparison in 'mIoU points'"):
        compare(paired([1.0, 2.0, 3.0]), delta=1.0, unit="mIoU points")


def test_a_chapters_comparisons_are_drawn_tabled_and_their_power_stated(tmp_path):
    """comparisons.csv as write_ledgers writes it, read back as the chapters read it."""
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from hyperscale.core.claims import (COMPARISON_COLUMNS, comparisons_table, power_sentence, read_comparisons,
                                        write_ledgers)
    from hyperscale.core.report import forest_plot

    claim = lambda i, rule, args, central: {"id": i, "paper": "x", "source": "§1", "statement": "s", "rule": "r",  # noqa: E731
                                            "central": central, "test": {"rule": rule, "measure": i, "args": args}}
    claims = [claim("x.beats", "compare", {"delta": 1.0, "unit": UNIT, "family": "all"}, True),
              claim("x.same", "equivalent", {"margin": 1.0, "unit": UNIT}, False)]
    m = {"x.beats": {"φ=0.1": paired([5.0, -5.0, 0.5]), "φ=0.5": paired([5.0, 5.1, 4.9])},
         "x.same": paired([0.01, -0.01, 0.0])}
    ledger, _ = write_ledgers(claims, m, tmp_path)
    rows = read_comparisons(tmp_path / "comparisons.csv")
    assert list(rows.columns) == list(COMPARISON_COLUMNS) and len(rows) == 3
    assert rows.claim_verdict.tolist() == ["inconclusive", "inconclusive", "reproduced"]
    assert rows.sides.tolist() == ["", "", "both"] and rows.seeds_for_bound.iloc[1] == 2  # δ at SD 0.1: the minimum
    assert forest_plot(rows) is not None and forest_plot(rows.iloc[:0]) is None
    assert comparisons_table(rows).count("<tr>") == 4
    text = power_sentence(rows)
    assert text.startswith("**Power.** 1 of 2 central comparisons have fewer seeds than their δ needs")
    assert "`x.beats` φ=0.1: 3 seeds detect" in text
