"""HyperSeg's trained ablation: the run plan, the segmentation task, its metrics and the measures its claim reads."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from hyperscale.core.data import Dataset, Split
from hyperscale.core.params import profile
from hyperscale.hyperseg import EfficientNet, ResNet18, hyperseg
from hyperscale.hyperseg.model import TEMPLATES
from hyperscale.hyperseg.artefacts import border_pairs, border_profile, border_ratio
from hyperscale.hyperseg.counting import count
from hyperscale.hyperseg.measures import doubling, trained_measures
from hyperscale.hyperseg.runs import _task_and_config, build, plan
from hyperscale.hyperseg.unet import UNet
from hyperscale.hyperseg.train import IGNORE, Segmentation, TaskConfig, segmentation_metrics

ABLATION = {"ablation": {"templates": ["S-camvid"], "backbones": ["b1"], "backbone_width": 0.25, "seeds": [0, 1]}}


def _scenes(n=6, k=4, side=64):
    g = np.random.default_rng(0)
    split = lambda m: Split(g.uniform(0, 1, (m, 3, side, side)).astype(np.float32),  # noqa: E731
                            g.integers(0, k, (m, side, side)).astype(np.uint8))
    return Dataset("multiscenes", [f"c{i}" for i in range(k)], {"train": split(n), "val": split(2), "test": split(2)})


def test_plan_names_each_variant_and_seed():
    runs = plan("ablation", ABLATION)
    assert [r.name for r in runs] == ["S-camvid-b1-dpwconv-seed0", "S-camvid-b1-dpwconv-seed1",
                                      "S-camvid-b1-static-seed0", "S-camvid-b1-static-seed1"]
    model = build(runs[-1], _scenes())
    assert not model.config["dynamic"] and model.config["backbone_width"] == 0.25 and model.config["num_classes"] == 4
    grid = plan("ablation", {"ablation": {**ABLATION["ablation"], "templates": ["S-camvid", "L-camvid"],
                                          "backbones": ["b1", "resnet18"], "seeds": [0]}})
    assert len(grid) == 8 and len({r.name for r in grid}) == 8
    assert {(r.model["template"], r.model["backbone"], r.model["dynamic"]) for r in grid} == {
        (t, b, d) for t in ("S-camvid", "L-camvid") for b in ("b1", "resnet18") for d in (True, False)}
    with pytest.raises(ValueError, match="unknown experiment"):
        plan("table9", ABLATION)


@pytest.mark.parametrize("backbone", [EfficientNet, ResNet18])
def test_backbone_width_narrows_every_backbone(backbone):
    with torch.device("meta"):
        narrow, full = backbone(width_mult=0.25), backbone()
        assert sum(p.numel() for p in narrow.parameters()) < 0.1 * sum(p.numel() for p in full.parameters())
    assert narrow.feature_channels[-1] == 320  # the head's 1280 channels x 0.25
    with pytest.raises(ValueError, match="width_mult must be positive"):
        backbone(width_mult=0)


@pytest.mark.parametrize("template", ["S-camvid", "L-camvid"])
@pytest.mark.parametrize("backbone", ["b1", "resnet18"])
def test_backbone_width_keeps_signal_channels_per_weight_group(template, backbone):
    """At a quarter of the widths, g_wi is a quarter too, so every mapper's groups read as many
    signal channels as at full width, give or take divide_channels' rounding (a factor of 2)."""
    with torch.device("meta"):
        full, narrow = (hyperseg(template, 11, backbone=backbone, backbone_width=w) for w in (1.0, 0.25))
    per_group = lambda m: [b.mapper.in_channels // b.mapper.groups for b in m.blocks]  # noqa: E731
    assert [b.mapper.groups for b in narrow.blocks] == [max(1, round(g / 4)) for g in TEMPLATES[template]["weight_groups"]]
    assert all(0.5 <= n / f <= 2 for n, f in zip(per_group(narrow), per_group(full)))


def test_segmentation_task_trains_and_scores():
    torch.manual_seed(0)
    data = _scenes()
    task = Segmentation(data, TaskConfig(eval_batch_size=4))
    model = build(plan("ablation", ABLATION)[0], data)
    batch = task.sample(torch.Generator().manual_seed(0), 2, 0)
    loss = task.loss(model.train(), batch, "ce")
    loss.backward()
    assert torch.isfinite(loss) and set(task.score(model)) == {"val_miou", "val_pixel_acc"}


class _Oracle(torch.nn.Module):
    """Predicts the given label maps (as logits), whatever the image."""

    def __init__(self, labels, k):
        super().__init__()
        self.logits = torch.nn.functional.one_hot(torch.from_numpy(labels).long().clamp(max=k - 1), k).movedim(-1, 1).float()
        self.i = 0

    def forward(self, x):
        out = self.logits[self.i:self.i + len(x)]
        self.i += len(x)
        return out


def test_segmentation_metrics_known_answers_and_ignore():
    labels = np.array([[[0, 1], [1, IGNORE]]], np.uint8)
    perfect = segmentation_metrics(_Oracle(labels, 2), np.zeros((1, 3, 2, 2), np.float32), labels, 2)
    assert perfect == {"miou": 100.0, "pixel_acc": 100.0}  # the IGNORE pixel is left out
    wrong = np.array([[[0, 0], [1, 0]]], np.uint8)  # one of the three counted pixels wrong
    m = segmentation_metrics(_Oracle(wrong, 2), np.zeros((1, 3, 2, 2), np.float32), labels, 2)
    assert m["pixel_acc"] == pytest.approx(200 / 3) and m["miou"] == pytest.approx(100 * (1 / 2 + 1 / 2) / 2)


def _trained(ablation_miou, unet_miou, stopped_by="max_steps", converged=True):
    """results.csv of the ablation (S-camvid, b1: with DPWConv, then without) and of one U-Net (converged), seeds 0-2."""
    seeds = [0, 1, 2] * 2
    ab = pd.DataFrame({"template": "S-camvid", "backbone": "b1", "dynamic": [True] * 3 + [False] * 3, "seed": seeds,
                       "test_miou": ablation_miou, "stopped_by": stopped_by, "converged": converged})
    tr = pd.DataFrame({"unet": True, "width": 3, "seed": [0, 1, 2], "test_miou": unet_miou, "stopped_by": stopped_by,
                       "converged": True})
    return ab, tr


NET = {"template": "S-camvid", "backbone": "b1"}  # params.yaml hyperseg.ablation.judged
DELTA = {"*": 6.8, "w/o DPWConv (static decoder)": 1.1}  # hs.tradeoff-unet's δ per comparison


def test_trained_measures_compare_with_and_without_for_s_with_b1_only():
    ab, tr = _trained([50, 51, 52, 48, 49, 50], [45, 46, 47], converged=[True] * 5 + [False])
    other = ab.assign(backbone="resnet18", test_miou=0, converged=False)  # the paper profile's other rows
    m = trained_measures({"ablation": pd.concat([ab, other]), "tradeoff": tr, "doubled": pd.DataFrame()}, NET, DELTA)
    assert trained_measures({"ablation": pd.concat([ab, other]), "tradeoff": tr, "doubled": pd.DataFrame()},
                            {"template": "S-camvid", "backbone": "resnet18"}, DELTA)["ablation_dpwconv_vs_static"].a == (0, 0, 0)
    ablation = m["ablation_dpwconv_vs_static"]
    assert (ablation.a, ablation.b, ablation.paired, ablation.unit) == ((50, 51, 52), (48, 49, 50), True, "mIoU points")
    # the trade-off compares with the static decoder too, a cheaper network of the study
    assert {k: (a.a, a.b) for k, a in m["tradeoff_vs_unet"].items()} == {
        "w/o DPWConv (static decoder)": ((50, 51, 52), (48, 49, 50)), "U-Net width 3": ((50, 51, 52), (45, 46, 47))}
    assert m["converged_ablation"] == pytest.approx(5 / 6) and m["converged_tradeoff"] == 1.0


def test_schedule_trained_comparisons_converge_only_if_doubling_agrees():
    """Gaps by seed: with - without DPWConv 2.0, 2.1, 1.9 (SD 0.1); HyperSeg-S - U-Net 5, 5, 5 (SD 0)."""
    ab, tr = _trained([50, 51.1, 51.9, 48, 49, 50], [45, 46.1, 46.9], stopped_by="schedule")
    def twice(a, b, u):  # the doubled runs of seed 0: with and without DPWConv, the U-Net
        return pd.concat([ab[ab.seed == 0].assign(test_miou=[a, b]), tr[tr.seed == 0].assign(test_miou=u)])

    runs = {"ablation": ab, "tradeoff": tr}
    static = "w/o DPWConv (static decoder)"
    agree = doubling({**runs, "doubled": twice(53, 50.95, 48)}, NET, DELTA)  # gaps 2.05 (moved 0.05) and 5 (unmoved)
    assert agree[static]["change"] == pytest.approx(0.05) and agree[static]["agrees"] is True
    assert agree[static]["tolerance"] == pytest.approx(0.55)  # half of 1.1; the U-Nets': half of 6.8
    assert agree["U-Net width 3"]["change"] == pytest.approx(0) and agree["U-Net width 3"]["tolerance"] == 3.4
    m = trained_measures({**runs, "doubled": twice(53, 50.95, 48)}, NET, DELTA)
    assert (m["converged_ablation"], m["converged_tradeoff"]) == (1.0, 1.0)
    m = trained_measures({**runs, "doubled": twice(56, 50, 40)}, NET, DELTA)  # the ablation's gap moved 4 > 0.55
    assert (m["converged_ablation"], m["converged_tradeoff"]) == (0.0, 0.0)  # and the U-Net's gap 16 - 5 > 3.4
    m = trained_measures({**runs, "doubled": pd.DataFrame()}, NET, DELTA)  # a schedule without its doubled runs decides nothing
    assert (m["converged_ablation"], m["converged_tradeoff"]) == (0.0, 0.0)


def test_doubled_plan_is_the_first_seed_of_every_network_only_on_a_schedule():
    p = {**ABLATION, "tradeoff": {"unet_widths": [3, 4], "unet_depth": 4, "seeds": [1, 2]}}
    p["ablation"] = {**p["ablation"], "train": {"batch_size": 2, "eval_every": 10, "max_steps": 100,
                                                "patience_steps": None, "optimizers": {"weights": {"schedule": "cosine"}}}}
    assert [r.name for r in plan("doubled", p)] == ["S-camvid-b1-dpwconv-seed0", "S-camvid-b1-static-seed0",
                                                    "unet-w3-seed1", "unet-w4-seed1"]
    task, cfg = _task_and_config({**p, "ablation": {**p["ablation"], "task": {}}}, plan("doubled", p)[0], "doubled",
                                 _scenes())
    assert cfg.max_steps == 200
    p["ablation"]["train"]["patience_steps"] = 50  # stops on plateaus: nothing to double
    assert plan("doubled", p) == []


class _Probabilities(torch.nn.Module):
    """Returns fixed logits; its 'backbone' gives a 3 x 3 patch grid, as HyperSeg's does at 96 px."""

    def __init__(self, logits):
        super().__init__()
        self.logits = logits
        self.backbone = type("B", (), {"features": staticmethod(lambda x: [torch.zeros(len(x), 1, 3, 3)])})

    def forward(self, x):
        return self.logits[:len(x)]


def test_border_pairs_follow_dpw_conv_patches():
    assert border_pairs(96, 3).tolist() == [31, 63]
    assert border_pairs(10, 3).tolist() == [3, 6]  # patches of 4, 3, 3


def test_border_ratio_known_answers():
    images = np.zeros((2, 3, 96, 96), np.float32)
    p = torch.linspace(0.1, 0.9, 96).expand(96, 96)  # probabilities that change alike between all column pairs
    smooth = torch.stack([p, 1 - p]).log()[None].repeat(2, 1, 1, 1)
    prof = border_profile(_Probabilities(smooth), images)
    assert prof["x"] == pytest.approx(np.full(95, 2 * 0.8 / 95), rel=1e-4) and not prof["y"].any()
    assert border_ratio(prof) == pytest.approx(1.0, rel=1e-4)
    blocky = torch.zeros(2, 2, 96, 96)
    blocky[:, 0, :, 32:64] = 5.0  # class 0 in the middle column of patches only
    blocky[:, :, 30, :] += torch.tensor([0.1, 0.0])[:, None]  # one small change off the borders
    prof = border_profile(_Probabilities(blocky), images)
    jump = lambda a, b: 2 * (torch.sigmoid(torch.tensor(a)) - torch.sigmoid(torch.tensor(b))).item()  # noqa: E731
    assert prof["x"][[31, 63]] == pytest.approx((95 * jump(5.0, 0.0) + jump(5.1, 0.1)) / 96, rel=1e-5)
    assert border_ratio(prof) > 100
    with pytest.raises(ValueError, match="no borders"):
        border_ratio({**prof, "grid": (1, 1)})


def test_hyperseg_is_registered_and_rebuilds_from_its_config():
    from hyperscale.core.models import create_model
    model = hyperseg("S-camvid", 4, backbone_width=0.25, dynamic=False)
    again = create_model(model.method, **model.config)
    assert model.method == "hyperseg" and again.config == model.config
    assert [p.shape for p in again.parameters()] == [p.shape for p in model.parameters()]


def test_tradeoff_plans_unets_trained_as_the_ablation_with_their_code_in_the_key():
    p = {**ABLATION, "ablation": {**ABLATION["ablation"], "task": {"eval_batch_size": 2},
                                  "train": {"batch_size": 2, "max_steps": 3, "eval_every": 1}},
         "tradeoff": {"unet_widths": [3, 4], "unet_depth": 4, "seeds": [0, 1]}}
    runs = plan("tradeoff", p)
    assert [r.name for r in runs] == ["unet-w3-seed0", "unet-w3-seed1", "unet-w4-seed0", "unet-w4-seed1"]
    data = _scenes()
    model = build(runs[2], data)
    assert isinstance(model, UNet) and model.config == {"num_classes": 4, "width": 4, "depth": 4, "in_chans": 3}
    unet_task, cfg = _task_and_config(p, runs[0], "tradeoff", data)
    ablation_task, cfg_a = _task_and_config(p, plan("ablation", p)[0], "ablation", data)
    assert cfg == cfg_a and unet_task.describe() == ablation_task.describe()
    assert set(unet_task.code) - set(ablation_task.code) == {Path(__file__).parents[1] / "lib/hyperscale/hyperseg/unet.py"}


@pytest.mark.parametrize("name", ["cpu", "paper"])
def test_tradeoff_unet_widths_bracket_hyperseg_s_flops(name):
    """The rule of hs.tradeoff-unet: one U-Net cheaper and one dearer than HyperSeg-S at the training size."""
    p = profile(name)
    a, t = p["hyperseg"]["ablation"], p["hyperseg"]["tradeoff"]
    side = p["data"][a["data"]]["size"]
    hs = count(lambda: hyperseg("S-camvid", 11, backbone="b1", backbone_width=a["backbone_width"]), (side, side))["flops"]
    ratios = [count(lambda: UNet(11, w, t["unet_depth"]), (side, side))["flops"] / hs for w in t["unet_widths"]]
    assert min(ratios) < 1 < max(ratios), ratios


def test_unet_keeps_the_input_size_and_says_what_is_wrong():
    net = UNet(5, width=2, depth=3).eval()
    assert net(torch.randn(2, 3, 24, 40)).shape == (2, 5, 24, 40)
    with pytest.raises(ValueError, match="multiples of 8"):
        net(torch.randn(1, 3, 20, 40))
    with pytest.raises(ValueError, match="width and depth >= 1"):
        UNet(5, width=0)
