"""HyperSeg's trained ablation: the run plan, the segmentation task, its metrics and the measures its claim reads."""
import numpy as np
import pandas as pd
import pytest
import torch

from hyperscale.core.data import Dataset, Split
from hyperscale.hyperseg import EfficientNet, hyperseg
from hyperscale.hyperseg.measures import ablation_measures
from hyperscale.hyperseg.runs import build, plan
from hyperscale.hyperseg.train import IGNORE, Segmentation, TaskConfig, segmentation_metrics

ABLATION = {"ablation": {"template": "S-camvid", "backbone_width": 0.25, "seeds": [0, 1]}}


def _scenes(n=6, k=4, side=64):
    g = np.random.default_rng(0)
    split = lambda m: Split(g.uniform(0, 1, (m, 3, side, side)).astype(np.float32),  # noqa: E731
                            g.integers(0, k, (m, side, side)).astype(np.uint8))
    return Dataset("multiscenes", [f"c{i}" for i in range(k)], {"train": split(n), "val": split(2), "test": split(2)})


def test_plan_names_each_variant_and_seed():
    runs = plan("ablation", ABLATION)
    assert [r.name for r in runs] == ["S-camvid-dpwconv-seed0", "S-camvid-dpwconv-seed1", "S-camvid-static-seed0",
                                      "S-camvid-static-seed1"]
    model = build(runs[-1], _scenes())
    assert not model.config["dynamic"] and model.config["backbone_width"] == 0.25 and model.config["num_classes"] == 4
    with pytest.raises(ValueError, match="unknown experiment"):
        plan("table9", ABLATION)


def test_backbone_width_narrows_only_efficientnets():
    with torch.device("meta"):
        assert sum(p.numel() for p in EfficientNet("b1", width_mult=0.25).parameters()) < 0.1 * sum(
            p.numel() for p in EfficientNet("b1").parameters())
    with pytest.raises(ValueError, match="ResNet-18 has one width"):
        hyperseg("S-camvid", 4, backbone="resnet18", backbone_width=0.5)


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


def test_ablation_measures_compare_with_and_without():
    res = pd.DataFrame({"dynamic": [True, True, True, False, False, False], "test_miou": [50, 51, 52, 48, 49, 50],
                        "converged": [True] * 5 + [False]})
    m = ablation_measures(res)
    assert m["ablation_dpwconv_vs_static"] == {"a": [50, 51, 52], "b": {"w/o DPWConv": [48, 49, 50]}}
    assert m["converged_ablation"] == pytest.approx(5 / 6)


def test_hyperseg_is_registered_and_rebuilds_from_its_config():
    from hyperscale.core.models import create_model
    model = hyperseg("S-camvid", 4, backbone_width=0.25, dynamic=False)
    again = create_model(model.method, **model.config)
    assert model.method == "hyperseg" and again.config == model.config
    assert [p.shape for p in again.parameters()] == [p.shape for p in model.parameters()]
