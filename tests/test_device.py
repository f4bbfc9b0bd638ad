"""Training on params.yaml's `device` without a GPU here: every task's training step must run
where its model lives, which the meta device checks (it refuses to mix with CPU tensors, as a
GPU does); every score function must send its inputs to the model's device and bring the
predictions back to the CPU for its metrics."""
import numpy as np
import pytest
import torch

from hyperscale.core import device as D
from hyperscale.core.data import Dataset, Split
from hyperscale.core.models import create_model
from hyperscale.core.params import ParamsError, profile, validate
from hyperscale.hyperconv.train import Restoration, TaskConfig as RestorationConfig, image_metrics
from hyperscale.hyperseg.model import hyperseg
from hyperscale.hyperseg.train import Segmentation, TaskConfig as SegmentationConfig, segmentation_metrics
from hyperscale.hyperseg.unet import UNet
from hyperscale.shape_adaptor.adaptor import resize
from hyperscale.shape_adaptor.train import AlgConfig, Classification, accuracy
from hyperscale.sshn import runs as sshn_runs
from hyperscale.sshn.tasks import dice_scores

META = torch.device("meta")


def test_params_name_a_device_or_fail_in_one_line():
    assert D.resolve("cpu") == torch.device("cpu")
    assert D.resolve("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    for bad in ("gpu", "cuda:x", "CPU", 0, None):
        with pytest.raises(ParamsError, match=r"device: .* is not one of cpu, cuda, cuda:N or auto"):
            D.resolve(bad)
    if not torch.cuda.is_available():
        with pytest.raises(ParamsError, match=r"device: cuda:1 but torch sees 0 GPU\(s\).*set device: cpu or auto"):
            D.resolve("cuda:1")


def test_the_device_comes_from_params_yaml(tmp_path):
    (tmp_path / "params.yaml").write_text("profile: cpu\ndevice: cpu\n")
    assert D.from_params(tmp_path) == torch.device("cpu")
    (tmp_path / "params.yaml").write_text("profile: cpu\ndevice: tpu\n")
    with pytest.raises(ParamsError, match="'tpu' is not one of"):
        D.from_params(tmp_path)


def _dataset(name, classes, x_shape, y_of):
    g = np.random.default_rng(0)
    split = lambda n: Split(g.uniform(0, 1, (n, *x_shape)).astype(np.float32), y_of(g, n))  # noqa: E731
    return Dataset(name, classes, {"train": split(8), "val": split(2), "test": split(2)})


def _step_on_meta(model, task):
    model.to(META).train()
    loss = task.loss(model, task.sample(torch.Generator().manual_seed(0), 2, 0), task.phases[0])
    loss.backward()
    assert loss.device == META and all(p.grad.device == META for p in model.parameters() if p.grad is not None)


def _atlas():
    data = _dataset("atlas2d", list("abc"), (1, 32, 32), lambda g, n: g.integers(0, 3, (n, 32, 32)).astype(np.uint8))
    return Dataset(data.name, data.label_names, data.splits, {"params": {"copies": {"train": 2, "val": 2, "test": 2}}})


def test_sshn_trains_on_the_models_device():
    p = validate("sshn", profile("smoke")["sshn"])
    data, seen = _atlas(), set()
    for experiment in ("main", "separate", "arch", "registration"):
        for run in sshn_runs.plan(experiment, p):
            key = (run.method, run.task, repr(run.model))
            if key not in seen:  # each network once (the seeds are the same network)
                seen.add(key)
                model = sshn_runs.build(run, p, data)
                _step_on_meta(model, sshn_runs.task_of(run, model, p, data, META))
    assert {(m, t) for m, t, _ in seen} == {(m, t) for m in ("fixed", "stochastic", "film", "sshn")
                                             for t in ("segmentation", "registration")}


SEG = lambda: _dataset("multiscenes", list("abcd"), (3, 64, 64),  # noqa: E731
                       lambda g, n: g.integers(0, 4, (n, 64, 64)).astype(np.uint8))


@pytest.mark.parametrize("build", [lambda: hyperseg("S-camvid", 4, backbone_width=0.25),
                                   lambda: hyperseg("S-camvid", 4, backbone_width=0.25, dynamic=False),
                                   lambda: UNet(4, width=3, depth=3)], ids=["dpwconv", "static", "unet"])
def test_hyperseg_trains_on_the_models_device(build):
    _step_on_meta(build(), Segmentation(SEG(), SegmentationConfig(), META))


def test_hyperconv_trains_on_the_models_device():
    data = _dataset("isp", [], (4, 32, 32), lambda g, n: g.uniform(0, 1, (n, 3, 64, 64)).astype(np.float32))
    for model in (create_model("hc_unet", n_fwd=8, n_embed=8, n_hid=4, hc=True), create_model("hc_unet", n_fwd=8)):
        _step_on_meta(model, Restoration(data, RestorationConfig(n_train=8), META))


def test_shape_adaptor_trains_on_the_models_device():
    data = _dataset("tiny", list("abc"), (1, 16, 16), lambda g, n: np.arange(n) % 3)
    cfg = AlgConfig(epochs=1, batch_size=4, optimizer={"name": "sgd"}, alpha_optimizer={"name": "sgd"})
    # An adaptor turns s(alpha) into an integer size every step (a GPU waits for it; the meta device
    # has no number to give), so the whole step runs on the human design, and the adaptor's
    # differentiable resize on its own.
    _step_on_meta(create_model("vgg16", num_classes=3, in_chans=1, input_size=16, width_mult=0.0625, design="human"),
                  Classification(data, cfg, META))
    assert resize(torch.zeros(2, 1, 8, 8, device=META), 6, torch.tensor(0.75, device=META)).device == META


class _Elsewhere(torch.nn.Module):
    """A model on the meta device whose outputs (`out` per image) are ordinary CPU tensors: a
    score function that passes it CPU inputs, or computes its metric on the device, fails."""

    def __init__(self, out):
        super().__init__()
        self.w, self.out = torch.nn.Parameter(torch.zeros(1, device=META)), out

    def forward(self, x, *condition):
        assert x.device == META, "inputs must go to the model's device"
        return self.out.expand(len(x), *self.out.shape)


def test_score_functions_feed_the_models_device_and_measure_on_the_cpu():
    labels = np.zeros((2, 4, 4), np.uint8)
    logits = torch.zeros(2, 4, 4)
    logits[0] = 1.0
    assert segmentation_metrics(_Elsewhere(logits), np.zeros((2, 3, 4, 4), np.float32), labels, 2)["pixel_acc"] == 100.0
    target = np.full((2, 3, 64, 64), 0.5, np.float32)
    assert image_metrics(_Elsewhere(torch.full((3, 64, 64), 0.5)), np.zeros((2, 4, 32, 32), np.float32), target)["psnr"] \
        == np.inf
    one = torch.zeros(3, 4, 4)
    one[1] = 1.0  # label 1 everywhere
    split = Split(np.zeros((2, 1, 4, 4), np.float32), np.ones((2, 4, 4), np.uint8))
    assert dice_scores(_Elsewhere(one), split, 0.25, 3)[:, 0].tolist() == [1.0, 1.0]
    test = Split(np.zeros((3, 1, 4, 4), np.float32), np.array([2, 2, 2]))
    one_hot = torch.tensor([0.0, 0.0, 1.0])
    assert accuracy(_Elsewhere(one_hot), test, torch.zeros(1, device=META), torch.ones(1, device=META)) == 100.0
