import numpy as np
import pandas as pd
import pytest
import torch

from hyperscale.core.stats import estimate
from hyperscale.sshn import SSHN, UNet, materialize
from hyperscale.sshn.analysis import (cheapest_matching, factor_influence, feature_maps, feature_similarity,
                                         front_value, gap_to_fixed, label_fractions, no_loss_range, parameter_cv,
                                         pareto_mask, seed_values, separate_grid)

PHIS = [0.1, 0.2, 0.3, 0.4, 0.5]
DICE = pd.Series([0.60, 0.80, 0.88, 0.90, 0.89], index=PHIS)
GMACS = pd.Series([1.0, 1.1, 1.3, 1.6, 2.0], index=PHIS)


def test_cheapest_matching_on_a_known_curve():
    assert cheapest_matching(DICE, GMACS, 0.88) == (0.3, 1.3)
    assert cheapest_matching(DICE, GMACS, 0.5) == (0.1, 1.0)
    assert all(np.isnan(cheapest_matching(DICE, GMACS, 0.95)))


def test_no_loss_range_stops_at_the_first_drop_below_the_tolerance():
    assert no_loss_range(DICE, 0.5, tol=0.01) == 0.3  # 0.88 >= 0.89 - 0.01; 0.80 is not
    assert no_loss_range(DICE, 0.5, tol=0.0) == 0.4
    assert no_loss_range(DICE, 0.5, tol=1.0) == 0.1


def test_pareto_mask_and_front():
    cost, value = [1, 2, 3, 2], [0.5, 0.7, 0.6, 0.4]
    assert pareto_mask(cost, value).tolist() == [True, True, False, False]
    assert front_value(cost, value, 2.5) == 0.7
    assert np.isnan(front_value(cost, value, 0.5))


def test_label_fractions_ignore_background():
    labels = np.array([[0, 0, 1, 2], [2, 2, 0, 0]])
    assert label_fractions(labels, 4).tolist() == [0.25, 0.75, 0.0]


def test_parameter_cv_is_zero_for_weights_that_do_not_depend_on_phi():
    cv = parameter_cv(UNet(1, 3, 4, 3), [0.1, 0.3, 0.5])
    assert (cv.cv_median == 0).all() and len(cv) == 2 * 11  # 11 convs in a 3-stage U-Net
    assert (parameter_cv(SSHN(1, 3, 4, 3), [0.1, 0.3, 0.5]).cv_median > 0).all()


def test_factor_influence_finds_the_factor_that_moves_dice():
    rows = [{"phi_0": a, "phi_1": b, "dice": 0.5 + 0.4 * a + 0.01 * b} for a in (0, 1) for b in (0, 1)]
    infl = factor_influence(pd.DataFrame(rows))
    assert infl["phi_0"] == pytest.approx(0.4) and infl["phi_1"] == pytest.approx(0.01)


def test_separate_grid_covers_every_combination(toy_data):
    torch.manual_seed(0)
    net = SSHN(1, 3, 4, 3, separate=True)
    out = separate_grid(net, toy_data["test"], [0.25, 0.5], 3, gmacs_of=lambda p: sum(p))
    assert len(out) == 4 and set(out.setting) == {"0.25-0.25", "0.25-0.5", "0.5-0.25", "0.5-0.5"}
    assert out.gmacs.tolist() == [0.5, 0.75, 0.75, 1.0]
    assert out.dice.between(0, 1).all()


def test_seed_values_and_gap_to_fixed_on_a_known_table():
    rows = [{"method": m, "init": i, "seed": s, "phi": 0.5, "dice": d}
            for m, i, s, d in [("Fixed", "", 0, 0.5), ("Fixed", "", 1, 0.7), ("Fixed", "", 2, 0.6),
                               ("SSHN", "paper", 0, 0.8), ("SSHN", "paper", 1, 0.9), ("SSHN", "paper", 2, 0.85),
                               ("SSHN", "other", 0, 0.0)]]
    table = pd.DataFrame(rows)
    assert seed_values(table, "SSHN", 0.5, "paper").to_dict() == {0: 0.8, 1: 0.9, 2: 0.85}
    arms, = gap_to_fixed(table, "SSHN", [0.5], "paper").values()
    assert (arms.a, arms.b, arms.paired, arms.unit) == ((0.8, 0.9, 0.85), (0.5, 0.7, 0.6), False, "Dice points")
    assert arms.diff == pytest.approx(25.0)  # in Dice points
    e = estimate(arms)
    assert 0 < e.low < 25 < e.high  # Welch: SSHN's minibatches are not Fixed's, so seeds do not pair


def test_feature_similarity_is_one_at_the_reference_phi_and_lower_between_channels():
    torch.manual_seed(0)
    net = UNet(in_channels=1, num_classes=3, width=4, n_stages=3, phi=0.5)
    x = torch.randn(3, 1, 24, 24)
    sim = feature_similarity(net, x, [0.25, 0.5]).set_index(["stage", "phi"])
    assert set(sim.index.get_level_values("stage")) == {"enc0", "enc1", "enc2", "dec1", "dec0"}
    for stage in ("enc0", "enc1", "enc2", "dec1", "dec0"):
        assert sim.loc[(stage, 0.5), "matched"] == pytest.approx(1.0, abs=1e-5)
        assert sim.loc[(stage, 0.5), "other"] < 1.0
    assert sim.loc[("enc0", 0.25), "matched"] == pytest.approx(1.0, abs=1e-5)  # before the first resize
    assert sim.loc[("enc2", 0.25), "size"] == 2 and sim.loc[("enc2", 0.5), "size"] == 6


def test_feature_maps_of_an_sshn_match_its_materialized_network():
    torch.manual_seed(0)
    net = SSHN(in_channels=1, num_classes=3, width=4, n_stages=3)
    x = torch.randn(2, 1, 16, 16)
    a, b = feature_maps(net, x, 0.3), feature_maps(materialize(net, 0.3), x, 0.3)
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
