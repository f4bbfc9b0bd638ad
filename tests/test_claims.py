"""The claims ledger: rules give known verdicts; every paper's ledger file is well formed."""
from pathlib import Path

import pandas as pd
import pytest
import yaml

from hyperscale.core.claims import (COMPARISONS, FIELDS, RULES, Shown, all_above, at_least, at_most, between, compare,
                                    converged_share, distance_in_units, doubling_check, evaluate, every, is_extreme,
                                    load_claims, percent, printed_unit, sign_share, verdict_counts)
from hyperscale.core.stats import Arms

ROOT = Path(__file__).resolve().parents[1]


def test_rules_known_answers():
    assert all_above({"values": {"x": 2, "y": 0}, "baseline": 1})[0] == "partly"
    assert between(0.5, 1 / 3, 2 / 3)[0] == "reproduced" and between(0.9, 1 / 3, 2 / 3)[0] == "not reproduced"
    assert is_extreme({"a": 3, "b": 1}, "a")[0] == "reproduced"
    assert is_extreme({"a": 3, "b": 1}, "a", which="min")[0] == "not reproduced"


def test_a_comparison_without_an_interval_gives_inconclusive_not_a_verdict():
    """One seed a side has no spread to build an interval from: inconclusive, whichever way the means point."""
    up, down = Arms((2.0,), (1.0,), True, "Dice points"), Arms((1.0,), (2.0,), True, "Dice points")
    for arms in (up, down):
        verdict, ours, because, _ = compare(arms, delta=1.0, unit="Dice points")
        assert verdict == "inconclusive" and because == "too few seeds for an interval (1 and 1)"
        assert "no interval: 1 and 1 seeds" in ours


def test_shares_are_exact_fractions():
    """"2/3" means two of three; a threshold written 0.67 needed three of three."""
    two_of_three = {"a": 1.0, "b": 2.0, "c": -1.0}
    assert sign_share(two_of_three, sign=1, frac="2/3")[0] == "reproduced"
    assert sign_share(two_of_three, sign=1, frac=0.67)[0] == "partly"
    big = Arms((5.0, 5.1, 4.9), (0.0, 0.0, 0.0), True, "Dice points")  # reproduced at δ = 1
    none = Arms((0.01, -0.01, 0.0), (0.0, 0.0, 0.0), True, "Dice points")  # not reproduced
    assert compare({"a": big, "b": big, "c": none}, delta=1.0, unit="Dice points", family="2/3")[0] == "reproduced"
    assert compare({"a": big, "b": none, "c": none}, delta=1.0, unit="Dice points", family="2/3")[0] == "partly"


def test_ledger_rows_and_errors(tmp_path):
    claims = [{"id": "x.one", "paper": "x", "source": "§1", "statement": "s", "rule": "r",
               "test": {"rule": "at_least", "measure": "m", "args": {"threshold": 1}}},
              {"id": "x.two", "paper": "x", "source": "§2", "statement": "s", "rule": "r",
               "test": {"rule": "not_testable"}}]
    led = evaluate(claims, {"m": 2.0})
    assert list(led.columns) == list(FIELDS) and led.verdict.tolist() == ["reproduced", "not testable offline"]
    assert led.evidence.tolist() == ["our runs and counts", "none offline"]
    from_table = [{**claims[0], "id": "x.three", "paper_measure": "paper_m", "test": {**claims[0]["test"], "measure": "paper_m"},
                   "evidence": "paper", "rule_changed": "2026: was > 2"}]
    row = evaluate(from_table, {"paper_m": 3.0}).iloc[0]
    assert row.paper_value == "3" and row.evidence == "the paper's own numbers and equations"
    assert row.rule_changed == "2026: was > 2"
    counts = verdict_counts(pd.concat([led, evaluate(from_table, {"paper_m": 3.0})]))
    assert counts.loc[("x", "the paper's own numbers and equations"), "reproduced"] == 1
    assert counts.loc[("x", "our runs and counts"), "reproduced"] == 1
    with pytest.raises(KeyError, match="no measure 'm'"):
        evaluate(claims, {})
    # each claim judged by its own measures (SSHN's ledgers: Hyper-UNet's claims read another model)
    other = {**claims[0], "id": "y.one", "paper": "y"}
    by_paper = evaluate([claims[0], other], lambda c: {"m": 2.0 if c["paper"] == "x" else 0.5})
    assert by_paper.verdict.tolist() == ["reproduced", "not reproduced"]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"claims": claims + claims[:1]}))
    with pytest.raises(ValueError, match="duplicate claim ids"):
        load_claims(path)


@pytest.mark.parametrize("path", sorted((ROOT / "references").glob("*.yaml")), ids=lambda p: p.name)
def test_ledger_files_are_well_formed(path):
    doc = yaml.safe_load(path.read_text())
    if "claims" not in doc:
        pytest.skip("no ledger in this file")
    for c in load_claims(path):
        assert {"id", "paper", "source", "statement", "rule", "test"} <= set(c), c["id"]
        assert c["test"]["rule"] in RULES
        if c["test"]["rule"] == "not_testable":
            assert c.get("note"), f"{c['id']}: a claim not testable offline must say what it would take"


def test_the_compact_table_links_every_claim_to_its_entry():
    import re

    from hyperscale.core.claims import anchor, claim_details, verdict_table

    ledger = pd.DataFrame([
        {"id": "p.a-b", "statement": "A beats <B> " + "x " * 80, "verdict": "reproduced", "paper_value": "+2",
         "our_value": "+1", "source": "Fig. 1", "rule": "reproduced if > 0", "note": "", "evidence": "our runs",
         "inconclusive_because": "", "rule_changed": ""},
        {"id": "p.c", "statement": "C", "verdict": "not reproduced", "paper_value": "", "our_value": "-1",
         "source": "§2", "rule": "r", "note": "few seeds", "evidence": "our runs", "inconclusive_because": "",
         "rule_changed": "was > 1"}])
    table, details = verdict_table(ledger), claim_details(ledger)
    links = re.findall(r'href="#([^"]+)"', table)
    assert links == [anchor("p.a-b"), anchor("p.c")] == re.findall(r'<div id="([^"]+)"', details)
    assert "&lt;B&gt;" in table and "<B>" not in table  # statements are escaped
    assert " …</a>" in table and len(table) < 2000  # long statements shortened in the table, whole in the entry
    assert "x " * 80 in details and "few seeds" in details
    assert table.count("background:#c8e6c9") == 1 and table.count("background:#ffcdd2") == 1


def test_the_findings_link_each_central_claim_to_its_chapter_and_say_what_was_decided():
    import re

    from hyperscale.core.claims import anchor, findings_sentence, findings_table

    row = {"paper": "p", "statement": "s", "paper_value": "+2", "our_value": "-1", "inconclusive_because": ""}
    ledger = pd.DataFrame([{**row, "id": "p.a", "verdict": "not reproduced"},
                           {**row, "id": "p.b", "verdict": "inconclusive",
                            "inconclusive_because": "runs capped (converged_x = 0 < 1.0); few seeds (n = 2 < 3)"},
                           {**row, "id": "p.c", "verdict": "reproduced"}])
    central = ledger.iloc[:2]
    table = findings_table(central, {"p": "chapter"}, {"p": "64 px, 3 seeds"})
    assert re.findall(r'href="([^"]+)"', table) == [f"chapter.html#{anchor('p.a')}", f"chapter.html#{anchor('p.b')}"]
    assert table.count("64 px, 3 seeds") == 2 and table.count("<tr>") == 3  # the head and one row per claim
    assert findings_sentence(central, ledger) == (
        "central claims decided: 1 of 2: `p.a` not reproduced; `p.b` inconclusive (runs capped; few seeds). "
        "The whole ledger: 1 reproduced, 1 not reproduced, 1 inconclusive.")


def test_a_requirement_the_evidence_misses_makes_a_claim_inconclusive(tmp_path):
    """A claim about learned shapes says nothing when the shapes never left their start."""
    from hyperscale.core.claims import counts_table, inconclusive_causes

    req = {"measure": "moved", "at_least": 0.05, "because": "the shapes barely moved"}
    claim = {"id": "x.learned", "paper": "x", "source": "§1", "statement": "s", "rule": "r",
             "test": {"rule": "at_least", "measure": "m", "args": {"threshold": 1}, "requires": req}}
    still = evaluate([claim], {"m": 2.0, "moved": 0.0025}).iloc[0]
    assert still.verdict == "inconclusive" and still.our_value == "2"  # what the rule alone found
    assert still.inconclusive_because == "the shapes barely moved (moved = 0.0025 < 0.05)"
    assert evaluate([claim], {"m": 2.0, "moved": 0.3}).iloc[0].verdict == "reproduced"
    seeds = {**claim, "id": "x.seeds", "test": {"rule": "compare", "measure": "g",
                                                "args": {"delta": 1.0, "unit": "Dice points"}}}
    led = evaluate([claim, seeds], {"m": 2.0, "moved": 0.0, "g": Arms((1.0,), (0.0,), True, "Dice points")})
    assert inconclusive_causes(led) == ("2 inconclusive: 1 because the shapes barely moved; "
                                        "1 because too few seeds for an interval (1 and 1).")
    table = counts_table(led)
    assert "x: our runs and counts" in table and table.count("<tr>") == 2
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"claims": [{**claim, "test": {**claim["test"], "requires": {"measure": "moved"}}}]}))
    with pytest.raises(ValueError, match="each of requires needs exactly measure, at_least and because"):
        load_claims(path)


def test_a_comparison_of_runs_that_did_not_converge_is_inconclusive():
    """`converged` names experiments whose runs must all have converged; several causes are all named."""
    claim = {"id": "x.beats", "paper": "x", "source": "§1", "statement": "s", "rule": "r",
             "test": {"rule": "at_least", "measure": "m", "args": {"threshold": 1}, "converged": ["main", "arch"],
                      "requires": [{"measure": "moved", "at_least": 0.05, "because": "the shapes barely moved"}]}}
    done = {"m": 0.0, "moved": 1.0, "converged_main": 1.0, "converged_arch": 1.0}
    assert evaluate([claim], done).iloc[0].verdict == "not reproduced"
    row = evaluate([claim], {**done, "converged_arch": 0.5, "moved": 0.0}).iloc[0]
    assert row.verdict == "inconclusive" and row.our_value == "0"
    assert row.inconclusive_because == ("the shapes barely moved (moved = 0 < 0.05); runs of arch are not shown "
                                        "converged by core/train.py's rule (stopped by their cap, or a doubled budget "
                                        "moved the comparison by δ/2 or more, or could not tell such a move from noise) "
                                        "(converged_arch = 0.5 < 1.0)")
    with pytest.raises(KeyError):  # a claim naming an experiment without a convergence measure fails loudly
        evaluate([{**claim, "test": {**claim["test"], "converged": "natural"}}], done)


def test_a_claim_on_an_experiment_the_profile_does_not_run_is_inconclusive_unmeasured():
    """`converged_<experiment>` NOT_RUN: the claim says so and its measure, which has no runs to read, is not called."""
    from hyperscale.core.claims import NOT_RUN, inconclusive_causes

    def boom():
        raise AssertionError("measured an experiment that was not run")

    claim = {"id": "x.ablation", "paper": "x", "source": "§1", "statement": "s", "rule": "r",
             "test": {"rule": "at_least", "measure": "m", "measure_args": {}, "args": {"threshold": 1},
                      "converged": ["main", "arch"]}}
    row = evaluate([claim], {"m": boom, "converged_main": 1.0, "converged_arch": NOT_RUN}).iloc[0]
    assert (row.verdict, row.our_value) == ("inconclusive", "not run")
    assert row.inconclusive_because.startswith("arch not run in this profile (params.yaml: run: false;")
    assert inconclusive_causes(evaluate([claim], {"m": boom, "converged_main": 0.0, "converged_arch": NOT_RUN})) \
        .startswith("1 inconclusive: 1 because arch not run in this profile")  # not also "did not converge"
    assert evaluate([claim], {"m": lambda: 2.0, "converged_main": 1.0, "converged_arch": 1.0}).iloc[0].verdict == "reproduced"


def test_converged_share_needs_an_agreeing_doubling_check_for_schedules():
    """Plateau-stopped runs count by themselves; schedule-trained ones only with every check shown to move < δ/2."""
    runs = lambda stops, ok: pd.DataFrame({"stopped_by": stops, "converged": ok})
    gap = {0: 0.0, 1: 0.1, 2: -0.1}
    check = lambda move, sd=0.1: doubling_check(gap, {0: move}, sd, 3, 1.0, "Dice points")
    agree, differ, unsure = check(0.05), check(2.0), check(0.05, sd=4.5)
    assert (agree["agrees"], differ["agrees"], unsure["agrees"]) == (True, False, None)
    assert converged_share(runs(["plateau", "cap"], [True, False]), []) == 0.5
    assert converged_share(runs(["schedule"] * 2, [True] * 2), [agree, agree]) == 1.0
    assert converged_share(runs(["schedule"] * 2, [True] * 2), [agree, differ]) == 0.0
    assert converged_share(runs(["schedule"] * 2, [True] * 2), [agree, unsure]) == 0.0  # cannot tell: not shown
    assert converged_share(runs(["schedule"] * 2, [True] * 2), [agree, None]) == 0.0  # a check missing
    assert converged_share(runs(["schedule"] * 2, [True] * 2), []) == 0.0  # nothing doubled
    assert converged_share(runs([], []), [agree]) == 0.0
    assert "more than δ/2: not converged" in converged_share(runs(["schedule"], [True]), [differ]).text


def test_every_value_in_range():
    assert every({"a": 0.06, "b": 0.1}, at_least=0.05)[0] == "reproduced"
    assert every({"a": 0.06, "b": 0.01}, at_least=0.05)[0] == "partly"  # one of two
    assert every({"a": 0.0, "b": 0.01, "c": 0.9}, at_most=0.05)[0] == "partly"
    assert every({"a": 0.2, "b": 0.3, "c": 0.9}, at_most=0.05)[0] == "not reproduced"
    assert every({"a": 0.05}, at_least=0.05, at_most=0.05)[0] == "reproduced"  # bounds included


def test_a_measure_with_a_tolerance_takes_it_from_the_claim():
    """Tolerances sit in the ledger beside the rule: a function measure is called with measure_args."""
    claim = {"id": "x.near", "paper": "x", "source": "§1", "statement": "s", "rule": "r",
             "test": {"rule": "at_least", "measure": "near", "measure_args": {"tol": 0.02}, "args": {"threshold": 0.5}}}
    curve = [0.60, 0.59, 0.55, 0.50]
    near = {"near": lambda tol: sum(v >= max(curve) - tol for v in curve) / len(curve)}
    assert evaluate([claim], near).iloc[0][["verdict", "our_value"]].tolist() == ["reproduced", "0.5"]
    loose = {**claim, "test": {**claim["test"], "measure_args": {"tol": 0.2}}}
    assert evaluate([loose], near).iloc[0].our_value == "1"
    with pytest.raises(ValueError, match=r"x.near: measure 'near' needs measure_args \['tol'\]"):
        evaluate([{**claim, "test": {k: v for k, v in claim["test"].items() if k != "measure_args"}}], near)
    with pytest.raises(ValueError, match="takes no measure_args"):
        evaluate([claim], {"near": 0.5})


def test_each_cause_is_counted_once_per_verdict_it_decides():
    from hyperscale.core.claims import inconclusive_causes

    led = pd.DataFrame({"verdict": ["inconclusive", "inconclusive", "reproduced"],
                        "inconclusive_because": ["capped (converged_main = 0.5 < 1.0); other prior; U(0, 1) (p = 0 < 1)",
                                                 "capped (converged_main = 0.5 < 1.0)", ""]})
    assert inconclusive_causes(led) == ("2 inconclusive (some for several causes): 2 because capped; "
                                        "1 because other prior; U(0, 1).")


def test_printed_unit_is_the_last_digit_shown():
    assert [printed_unit(v) for v in (0.4, 276, 119.6, 55.0, 0.8617)] == [0.1, 1.0, 0.1, 0.1, 0.0001]


# One measure per rule kind whose value is Shown: the "ours" column must carry the shown text, not the bare number.
SHOWN = Shown(0.25, "ours 12.3 (0.25 off)")
SHOWN_MEASURES = {
    "all_above": ({"values": {"a": SHOWN}, "baseline": Shown(0.0, "zero")}, {}),
    "every": ({"a": SHOWN}, {"at_most": 0.5}),
    "spread_at_most": ({"a": SHOWN, "b": Shown(0.5, "other")}, {"tol": 0.5}),
    "at_least": (SHOWN, {"threshold": 0.0}),
    "at_most": (SHOWN, {"threshold": 0.5}),
    "between": (SHOWN, {"low": 0.0, "high": 0.5}),
    "is_extreme": ({"a": SHOWN, "b": 0.1}, {"chosen": "a"}),
    "sign_share": ({"a": SHOWN}, {"sign": 1}),
}


@pytest.mark.parametrize("rule", sorted(set(RULES) - {"not_testable", *COMPARISONS}))
def test_every_rule_shows_our_value_not_only_the_distance_it_reads(rule):
    m, args = SHOWN_MEASURES[rule]
    verdict, ours = RULES[rule](m, **args)
    assert verdict == "reproduced" and "ours 12.3 (0.25 off)" in ours, (rule, ours)


def test_a_count_rule_shows_the_count_beside_its_distance():
    """hs.params-voc: the rule reads the distance in printed units (200), the ledger shows our count (19.6 M) first."""
    d = distance_in_units({"HyperSeg-L": 19.6}, {"HyperSeg-L": 39.6})
    verdict, ours = every(d, at_most=0.5)
    assert float(d["HyperSeg-L"]) == pytest.approx(200) and verdict == "not reproduced"
    assert ours == "HyperSeg-L: 19.6 (200 × 0.1 off)"
    assert every(distance_in_units({"x": 0.41}, {"x": 0.4}), at_most=0.5) == ("reproduced", "x: 0.41 (0.1 × 0.1 off)")


def test_cuts_are_shown_in_per_cent():
    """The papers print cost cuts in per cent; a rule's verdict does not depend on the display."""
    assert at_least(percent(0.505), 0.5) == ("reproduced", "50.5 %")
    assert at_most(Shown(float("nan"), "none: never within 0.01"), 0.15) == ("not reproduced", "none: never within 0.01")


def test_what_decides_a_claim_is_a_field_not_a_measure_name(tmp_path):
    """The landing page once split the paper's own checks from ours by measure name, so checks of
    HyperConv's equations counted as ours. The claim's `evidence` field decides; a paper_* measure needs it."""
    claim = {"id": "x.eq", "paper": "x", "source": "eq. 2", "statement": "s", "rule": "r",
             "test": {"rule": "at_most", "measure": "eq2_deviation", "args": {"threshold": 0.0}}}
    assert evaluate([{**claim, "evidence": "paper"}], {"eq2_deviation": 0.0}).evidence[0] == "the paper's own numbers and equations"
    assert evaluate([claim], {"eq2_deviation": 0.0}).evidence[0] == "our runs and counts"
    bad = tmp_path / "x.yaml"
    bad.write_text(yaml.safe_dump({"claims": [{**claim, "test": {**claim["test"], "measure": "paper_gap"}}]}))
    with pytest.raises(ValueError, match=r"x.eq: its measure \(paper_\*\) reads the paper alone; add `evidence: paper`"):
        load_claims(bad)
    bad.write_text(yaml.safe_dump({"claims": [{**claim, "evidence": "theirs"}]}))
    with pytest.raises(ValueError, match="evidence must be one of"):
        load_claims(bad)


def test_each_comparisons_delta_is_the_papers_own_number_where_it_gives_one():
    """The δ a ledger pre-registers, against the transcribed tables it cites (references/, never typed twice)."""
    from hyperscale.core.claims import effect_of
    from hyperscale.hyperconv.measures import paper_measures as hc_paper
    from hyperscale.hyperseg.measures import STATIC, paper_measures as hs_paper

    ledger = lambda name: (load_claims(ROOT / "references" / f"{name}.yaml"),  # noqa: E731
                           yaml.safe_load((ROOT / "references" / f"{name}.yaml").read_text()))
    claims, doc = ledger("sshn")
    t1, t5 = doc["table1"], doc["table5"]
    gaps = [s - f for q, s, f in zip(t1["phi"], t1["oasis_sshn"], t1["oasis_fixed"]) if q > 0]
    assert effect_of(claims, "sshn.beats-fixed") == pytest.approx(min(gaps)) == pytest.approx(1.6)
    assert effect_of(claims, "sshn.best-variant") == pytest.approx(t5["SSHN"][0] - t5["Fixed"][0])
    assert effect_of(claims, "sshn.dynamic-fail") == pytest.approx(t5["Fixed"][0] - t5["FiLM"][0])
    assert effect_of(claims, "sshn.beats-dynamic") == pytest.approx(t5["SSHN"][0] - t5["FiLM"][0])
    claims, doc = ledger("shape_adaptor")
    cifar100 = doc["paper"]["table1"]["CIFAR-100"]
    assert effect_of(claims, "sa.beats-human") == pytest.approx({f: sa - h for f, (h, sa) in cifar100.items()})
    claims, doc = ledger("hyperseg")
    hs = hs_paper(doc["paper"])
    assert effect_of(claims, "hs.ablation-trained") == pytest.approx(hs["paper_ablation_drop"]["S"])
    assert effect_of(claims, "hs.tradeoff-unet") == pytest.approx({"*": hs["paper_gflops_tradeoff"]["HyperSeg-S"],
                                                                   STATIC: hs["paper_ablation_drop"]["S"]})
    claims, doc = ledger("hyperconv")
    hc = hc_paper(doc["paper"]["table1"], doc["paper"]["table2"])
    assert effect_of(claims, "hc.table1-hc-beats-no-hc") == pytest.approx(hc["paper_table1_hc_minus_no_hc"])
    assert effect_of(claims, "hc.beats-no-hc-equal-flops") == pytest.approx(min(hc["paper_table1_hc_minus_no_hc"].values()))
    assert effect_of(claims, "hc.bottleneck-trained") == pytest.approx(100 * hc["paper_bottleneck_deficit"]["MS-SSIM"])


def test_no_comparison_of_trained_runs_is_decided_by_a_sign_or_a_bare_p_value():
    """Every ledger claim whose measure compares two sides of trained runs (a `compare` or `equivalent` rule)
    states δ or a margin and a unit (load_claims checks them), and every central claim read from trained runs
    is one of them: the rules that read one number against a bound are for counts, times and curve shapes."""
    for path in sorted((ROOT / "references").glob("*.yaml")):
        if "claims" not in yaml.safe_load(path.read_text()):
            continue
        for c in load_claims(path):
            t = c["test"]
            if c.get("central") and t.get("converged"):
                assert t["rule"] in COMPARISONS, c["id"]
            if t["rule"] in COMPARISONS:
                assert "interval" in c["rule"] and ("δ" in c["rule"] or "margin" in c["rule"]), c["id"]
