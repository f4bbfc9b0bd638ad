"""The step-time benchmark behind the training-cost claims: every main-comparison model timed in one
process, interleaved, with the optimizer the training loop uses."""
from pathlib import Path

import pytest

from hyperscale.core.params import load as load_params, validate
from hyperscale.sshn.benchmark import step_times

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def p():
    sshn = load_params(ROOT / "params.yaml")["sshn"]
    return validate("sshn", {**sshn, "model": {"width": 4, "n_stages": 3},
                             "train": {**sshn["train"], "batch_size": 4},
                             "main": {**sshn["main"], "fixed_phis": [0.25, 0.5], "seeds": [0, 1]}})


def test_every_main_model_is_timed_once_per_round(toy_data, p):
    t, rounds = step_times(p, toy_data, repeats=3, warmup=1)
    groups = ["fixed-phi0.25", "fixed-phi0.5", *(f"sshn-{i}" for i in p["main"]["inits"]), "sshn-hunet", "stochastic",
              "film"]
    assert t.model.tolist() == groups  # one row per model (its first seed), in plan order
    assert (t.ms_p25 <= t.ms_median).all() and (t.ms_median <= t.ms_p75).all() and (t.ms_p25 > 0).all()
    assert (t.repeats == 3).all()
    assert t.set_index("model").loc["fixed-phi0.5", "phi"] == 0.5
    assert rounds.groupby("model").ms.median().loc[groups].tolist() == pytest.approx(t.ms_median.tolist())
    assert all(list(g) == [0, 1, 2] for _, g in rounds.groupby("model")["round"])


def test_bad_benchmark_settings_fail_clearly(toy_data, p):
    with pytest.raises(ValueError, match="repeats >= 1"):
        step_times(p, toy_data, repeats=0)
