"""Registration: the spatial transformer against known shifts, the regulariser, pairs, Dice."""
import numpy as np
import pytest
import torch

from hyperscale.core.models import create_model
from hyperscale.sshn.registration import (gradient_loss, register, registration_dice, registration_loss, same_slice_pairs,
                                     spatial_transform, warp_labels)


def test_zero_flow_is_the_identity():
    x = torch.randn(2, 3, 9, 7)
    torch.testing.assert_close(spatial_transform(x, torch.zeros(2, 2, 9, 7)), x)


def test_constant_flow_shifts_by_whole_pixels():
    x = torch.arange(6 * 8, dtype=torch.float32).reshape(1, 1, 6, 8)
    flow = torch.zeros(1, 2, 6, 8)
    flow[:, 1] = 2.0  # dx = +2: each pixel reads the one two columns to its right
    flow[:, 0] = -1.0  # dy = -1: ... and one row up
    moved = spatial_transform(x, flow)
    torch.testing.assert_close(moved[0, 0, 1:, :-2], x[0, 0, :-1, 2:])
    labels = torch.randint(0, 5, (1, 6, 8))
    warped = warp_labels(labels, flow)
    assert warped.dtype == labels.dtype and torch.equal(warped[0, 1:, :-2], labels[0, :-1, 2:])


def test_half_pixel_flow_interpolates():
    x = torch.tensor([[[[0.0, 10.0, 20.0]]]])
    flow = torch.zeros(1, 2, 1, 3)
    flow[:, 1] = 0.5
    torch.testing.assert_close(spatial_transform(x, flow), torch.tensor([[[[5.0, 15.0, 20.0]]]]))


def test_gradient_loss_known_values():
    const = torch.full((1, 2, 5, 5), 3.0)
    assert gradient_loss(const) == 0 and gradient_loss(const, "l2") == 0
    ramp = torch.zeros(1, 2, 5, 5)
    ramp[:, :, :, :] = 2 * torch.arange(5.0)  # d/dx = 2, d/dy = 0
    assert gradient_loss(ramp, "l1") == pytest.approx(1.0) and gradient_loss(ramp, "l2") == pytest.approx(2.0)
    with pytest.raises(ValueError, match="penalty"):
        gradient_loss(ramp, "l3")
    x = torch.rand(1, 1, 5, 5)
    assert registration_loss(x, x, ramp, lam=0.5) == pytest.approx(0.5)


def test_bad_flow_shape_fails_clearly():
    with pytest.raises(ValueError, match=r"flow must be \(B, 2, H, W\)"):
        spatial_transform(torch.zeros(1, 1, 4, 4), torch.zeros(1, 2, 4, 5))


def test_same_slice_pairs():
    pairs = same_slice_pairs(6, 3)
    assert len(pairs) == 12 and all(a // 3 == b // 3 and a != b for a, b in pairs)
    with pytest.raises(ValueError, match="copies"):
        same_slice_pairs(5, 3)


def test_registration_with_the_unet_and_perfect_dice_at_zero_flow():
    torch.manual_seed(0)
    net = create_model("fixed", in_channels=2, num_classes=2, width=4, n_stages=3, phi=0.5)
    images = torch.rand(4, 1, 16, 16)
    moved, flow = register(net, images[:2], images[2:])
    assert moved.shape == (2, 1, 16, 16) and flow.shape == (2, 2, 16, 16)
    labels = torch.randint(0, 3, (4, 16, 16))
    identity = lambda x: torch.zeros(len(x), 2, *x.shape[-2:])
    d = registration_dice(identity, images, labels, np.array([[0, 0], [1, 1]]), num_classes=3)
    assert d.shape == (2, 2) and torch.allclose(d, torch.ones_like(d))


def _pairs_dataset(copies=2):
    """Two 'slices', each seen by `copies` shifted subjects: registration has something to undo."""
    from hyperscale.core.data import Dataset, Split

    rng = np.random.default_rng(0)

    def split(n_slices):
        labels = np.zeros((n_slices * copies, 16, 16), np.uint8)
        for i in range(n_slices * copies):
            o = 3 + i % copies
            labels[i, o:o + 8, o:o + 8] = 1
        images = (labels[:, None] + rng.normal(0, 0.05, (len(labels), 1, 16, 16))).astype(np.float32)
        return Split(images, labels)

    return Dataset("pairs", ["background", "square"], {"train": split(4), "val": split(2), "test": split(2)},
                   meta={"params": {"copies": {"train": copies, "val": copies, "test": copies}}})


def test_registration_task_trains_and_scores_with_the_core_loop():
    from hyperscale.core.train import TrainConfig, train
    from hyperscale.sshn.tasks import Registration, prior_of

    data = _pairs_dataset()
    torch.manual_seed(0)
    net = create_model("sshn", in_channels=2, num_classes=2, width=4, n_stages=3)
    task = Registration(data, prior_of(net), [0.5], lam=0.01)
    assert len(task) == 8  # ordered pairs of distinct copies per slice
    res = train(net, task, TrainConfig(batch_size=4, max_steps=10, eval_every=5, patience_steps=50, checkpoint_every=5),
                seed=0, progress=False)
    assert [h["phase"] for h in res.history] == ["mse+reg", "mse+reg"]
    assert 0 <= res.best_score <= 1 and res.score_name == "val_dice"


def test_registration_task_rejects_data_without_copies_and_bad_settings():
    from hyperscale.core.data import Dataset
    from hyperscale.sshn.tasks import Registration, Uniform

    data = _pairs_dataset()
    with pytest.raises(ValueError, match="penalty"):
        Registration(data, Uniform(0, 0.5), [0.5], lam=0.01, penalty="l3")
    with pytest.raises(ValueError, match="copies per slice"):
        Registration(Dataset("x", data.label_names, data.splits), Uniform(0, 0.5), [0.5], lam=0.01)
