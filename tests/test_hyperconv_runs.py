"""HyperConv's trained experiments (sweep, table1): the run plans, the restoration task and the measures its claims read."""
import numpy as np
import pandas as pd
import pytest
import torch

from hyperscale.core.claims import compare, every
from hyperscale.core.data import Dataset, Split
from hyperscale.hyperconv import HCUNet
from hyperscale.hyperconv.measures import sweep_measures, table1_measures
from hyperscale.hyperconv.runs import plan
from hyperscale.hyperconv.train import Restoration, TaskConfig, image_metrics, ms_ssim_loss

SWEEP = {"sweep": {"n_fwd": 8, "n_embed": 8, "n_hid": [4, 8], "no_hc_widths": [4], "seeds": [0, 1]}}


def test_plan_names_every_setting_and_seed():
    runs = plan("sweep", SWEEP)
    assert [r.name for r in runs] == ["hc-nhid4-seed0", "hc-nhid4-seed1", "hc-nhid8-seed0", "hc-nhid8-seed1",
                                      "nohc-nfwd4-seed0", "nohc-nfwd4-seed1"]
    assert runs[-1].model == {"n_fwd": 4, "hc": False}
    with pytest.raises(ValueError, match="unknown experiment"):
        plan("table9", SWEEP)
    assert plan("sweep", {"sweep": {**SWEEP["sweep"], "run": False}}) == []  # a profile leaves it out


TABLE1 = {"table1": {"rows": [[96, None, None], [64, None, None], [64, 32, 2048], [32, 32, 2048], [32, 16, 2048],
                              [8, 32, 4000]], "divisor": 8, "seeds": [0, 1]}}


def test_table1_plan_divides_every_width_keeping_even_channels():
    runs = plan("table1", TABLE1)
    assert [r.name for r in runs[::2]] == [f"{n}-seed0" for n in ("nohc-nfwd12", "nohc-nfwd8", "hc-8-4-256", "hc-4-4-256",
                                                                  "hc-4-2-256", "hc-2-4-500")]
    assert runs[-1].row == "(8, 32, 4000)" and runs[-1].seed == 1  # n_fwd 8 / 8 = 1, kept at 2
    assert runs[-1].model == {"n_fwd": 2, "n_embed": 4, "n_hid": 500, "hc": True}
    assert runs[0].model == {"n_fwd": 12, "hc": False} and runs[0].row == "(96, no HC)"
    HCUNet(**runs[-1].model)  # a valid network
    with pytest.raises(ValueError, match="two rows become the same network hc-2-2-128; lower the divisor"):
        plan("table1", {"table1": {**TABLE1["table1"], "divisor": 16}})
    assert plan("table1", {"table1": {**TABLE1["table1"], "run": False}}) == []  # a profile leaves it out


def _table1_results() -> pd.DataFrame:
    rows = ["(96, no HC)", "(64, no HC)", "(64, 32, 2048)", "(32, 32, 2048)", "(32, 16, 2048)", "(8, 32, 4000)"]
    return pd.DataFrame([{"row": r, "seed": k, "test_ms_ssim": 0.8 + 0.01 * i + 0.001 * k, "converged": i != 5}
                         for i, r in enumerate(rows) for k in range(3)])


def test_table1_measures_compare_by_paper_row():
    m = table1_measures(_table1_results())
    vs96 = m["table1_hc_vs_no_hc"]["(96, no HC)"]
    assert vs96.a == pytest.approx((82, 82.1, 82.2)) and vs96.b == pytest.approx((80, 80.1, 80.2)) and vs96.paired
    assert m["table1_hc_vs_no_hc"]["(64, no HC)"].diff == pytest.approx(1.0)
    assert m["table1_bottleneck"].a == pytest.approx((84, 84.1, 84.2))
    assert m["table1_bottleneck"].b == pytest.approx((85, 85.1, 85.2)) and m["table1_bottleneck"].unit == "MS-SSIM points"
    assert m["converged_table1"] == pytest.approx(15 / 18)


def test_an_experiment_the_profile_leaves_out_is_not_run_and_the_other_is_measured():
    from hyperscale.core.claims import NOT_RUN
    from hyperscale.hyperconv.measures import trained_measures

    m = trained_measures({"sweep": None, "table1": _table1_results()})
    assert m["converged_sweep"] is NOT_RUN and "sweep_hc_vs_no_hc_equal_flops" not in m
    assert m == table1_measures(_table1_results()) | {"converged_sweep": NOT_RUN}


def _isp(n=12):
    g = np.random.default_rng(0)
    split = lambda k: Split(g.uniform(0, 1, (k, 4, 32, 32)).astype(np.float32),  # noqa: E731
                            g.uniform(0, 1, (k, 3, 64, 64)).astype(np.float32))
    return Dataset("isp", ["input", "target"], {"train": split(n), "val": split(4), "test": split(4)})


def test_restoration_trains_and_scores():
    task = Restoration(_isp(), TaskConfig(n_train=8))
    x, y = task.sample(torch.Generator().manual_seed(0), 4, 0)
    assert x.shape == (4, 4, 32, 32) and y.shape == (4, 3, 64, 64)
    model = HCUNet(4, 4, 8)
    loss = task.loss(model, (x, y), "mse_msssim")
    loss.backward()
    assert torch.isfinite(loss)
    assert set(task.score(model)) == {"val_psnr", "val_ms_ssim", "val_ssim"}
    with pytest.raises(ValueError, match="n_train=99 exceeds"):
        Restoration(_isp(), TaskConfig(n_train=99))


def test_image_metrics_of_a_perfect_prediction():
    class Echo(torch.nn.Module):
        def forward(self, x):
            return x
    img = np.random.default_rng(0).uniform(0, 1, (2, 3, 64, 64)).astype(np.float32)
    m = image_metrics(Echo(), img, img)
    assert m["ms_ssim"] == pytest.approx(1, abs=1e-4) and m["ssim"] == pytest.approx(1, abs=1e-4) and m["psnr"] > 80


def _results(err: dict[int, list[float]], no_hc: dict[int, list[float]]) -> pd.DataFrame:
    rows = [{"hc": True, "n_hid": n, "n_fwd": 8, "seed": k, "test_ms_ssim": 1 - e / 100, "converged": True}
            for n, es in err.items() for k, e in enumerate(es)]
    rows += [{"hc": False, "n_hid": np.nan, "n_fwd": w, "seed": k, "test_ms_ssim": 1 - e / 100, "converged": w != 16}
             for w, es in no_hc.items() for k, e in enumerate(es)]
    return pd.DataFrame(rows)


COUNTS = pd.DataFrame({"network": ["n_hid = 16", "n_hid = 64", "n_hid = 256", "no HC, n_fwd = 4", "no HC, n_fwd = 8",
                                   "no HC, n_fwd = 16"], "flops_12_6": [10, 10, 10.1, 3, 8, 19]})


def test_sweep_measures_find_a_peak_and_the_equal_flop_networks():
    res = _results({16: [10, 10.2, 9.8], 64: [12, 12.1, 11.9], 256: [8, 8.1, 7.9]}, {4: [20] * 3, 8: [15] * 3, 16: [11] * 3})
    m = sweep_measures(res, COUNTS)
    assert m["sweep_double_descent_shape"](peak_sd=1.0) == {"interior peak": 1.0, "and the largest n_hid lowest error": 1.0}
    assert set(m["sweep_hc_vs_no_hc_equal_flops"](low=0.5, high=2.0)) == {"no HC, n_fwd = 8", "no HC, n_fwd = 16"}  # 0.8x, 1.9x
    assert set(m["sweep_hc_vs_no_hc_equal_flops"](low=0.5, high=1.0)) == {"no HC, n_fwd = 8"}  # the window is the claim's
    assert m["sweep_hc_vs_no_hc_equal_flops"](low=0.5, high=1.0)["no HC, n_fwd = 8"].diff == pytest.approx(7.0)  # 92 - 85
    assert m["sweep_double_descent_shape"](peak_sd=25.0)["interior peak"] == 0.0  # the bump is 20 standard deviations
    assert m["sweep_largest_vs_smallest_nhid"].a == pytest.approx((92, 91.9, 92.1))
    assert m["sweep_largest_vs_smallest_nhid"].diff == pytest.approx(2.0)
    assert m["converged_sweep"] == pytest.approx(15 / 18)  # the three n_fwd = 16 runs hit their cap
    # Fig. 4: the no-HC error falls 20 -> 15 -> 11 as FLOPs grow 3 -> 8 -> 19
    noisy = _results({16: [10, 10.2, 9.8]}, {4: [20, 20.5, 19.5], 8: [15, 15.5, 14.5], 16: [11, 11.5, 10.5]})
    steps = sweep_measures(noisy, COUNTS)["sweep_no_hc_error_steps"]
    assert list(steps) == ["n_fwd = 4 -> 8 (x2.67 FLOPs)", "n_fwd = 8 -> 16 (x2.38 FLOPs)"]
    assert [a.diff for a in steps.values()] == pytest.approx([5, 4]) and {a.unit for a in steps.values()} == {"error points"}
    assert compare(steps, delta=0.17, unit="error points")[0] == "reproduced"  # every step far above 0 and δ
    # a bump within the seed spread is no peak
    flat = _results({16: [10, 11, 9], 64: [10.5, 12, 9], 256: [8, 8.1, 7.9]}, {8: [15] * 3})
    shape = sweep_measures(flat, COUNTS)["sweep_double_descent_shape"](peak_sd=1.0)
    # a monotone curve whose largest n_hid is lowest is single descent, not partly double descent
    assert shape == {"interior peak": 0.0, "and the largest n_hid lowest error": 0.0}
    assert every(shape, at_least=1)[0] == "not reproduced"


@pytest.mark.parametrize("side", [64, 49])
def test_ms_ssim_loss_equals_torchmetrics_value_and_gradient(side):
    """The loss's separable-window MS-SSIM against torchmetrics' (core.metrics), in float64."""
    from torchmetrics.functional.image import multiscale_structural_similarity_index_measure as tm_ms_ssim
    from hyperscale.core.metrics import ms_ssim
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 3, side, side, generator=g, dtype=torch.float64)
    y = (x + 0.2 * torch.randn(x.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    assert 1 - ms_ssim_loss(x, y).item() == pytest.approx(ms_ssim(x, y, scales=3), rel=1e-7)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    ms_ssim_loss(a, y).backward()
    w = torch.tensor((0.0448, 0.2856, 0.3001), dtype=torch.float64)
    (1 - tm_ms_ssim(b, y, data_range=1.0, sigma=1.5, betas=tuple((w / w.sum()).tolist()))).backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-6, atol=1e-10)
