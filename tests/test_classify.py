"""Alg. 1 training: subsets, augmentation, determinism and resuming."""
import numpy as np
import pytest
import torch

from hyperscale.classify import ClassifyConfig, augment, stratified_subset, train_classifier
from hyperscale.data import Dataset, Split
from hyperscale.models import create_model


@pytest.fixture
def tiny_images():
    rng = np.random.default_rng(0)
    labels = np.arange(48) % 3
    images = rng.random((48, 1, 16, 16), dtype=np.float32) * 0.2
    images[:, 0, 4:12, 4:12] += labels[:, None, None] * 0.4  # learnable: brightness codes the class
    return Dataset("tiny", ["a", "b", "c"], {"train": Split(images[:36], labels[:36]),
                                               "test": Split(images[36:], labels[36:])})


def test_stratified_subset_keeps_class_shares():
    labels = np.array([0] * 60 + [1] * 30 + [2] * 10)
    idx = stratified_subset(labels, 20)
    assert len(idx) == 20 and np.bincount(labels[idx]).tolist() == [12, 6, 2]
    assert stratified_subset(labels, None).tolist() == list(range(100))


def test_augment_is_a_seeded_crop_and_flip():
    x = torch.arange(2 * 8 * 8, dtype=torch.float32).reshape(2, 1, 8, 8)
    a = augment(x, torch.Generator().manual_seed(0))
    b = augment(x, torch.Generator().manual_seed(0))
    assert a.shape == x.shape and torch.equal(a, b)
    same = augment(x, torch.Generator().manual_seed(0), pad=0)  # no padding: only flips
    assert all(torch.equal(s, o) or torch.equal(s, o.flip(-1)) for s, o in zip(same, x))


def _run(data, tmp_path=None, epochs=2):
    torch.manual_seed(0)
    model = create_model("vgg16", num_classes=3, in_chans=1, input_size=16, width_mult=0.0625, design="adaptor")
    cfg = ClassifyConfig(epochs=epochs, batch_size=12, lr=0.05, alpha_every=2)
    res = train_classifier(model, data, cfg, seed=0, checkpoint=tmp_path and tmp_path / "ck.pt", progress=False)
    return model, res


def test_training_is_deterministic_learns_and_moves_alpha(tiny_images):
    m1, r1 = _run(tiny_images)
    m2, r2 = _run(tiny_images)
    assert r1.test_acc == r2.test_acc and r1.s_trace == r2.s_trace
    assert r1.steps == 6 and len(r1.s_trace) == 3 and len(r1.history) == 2
    assert m1.shape_factors() != pytest.approx([(4 / 16) ** (1 / 3)] * 3, abs=1e-7)  # alpha was updated


def test_finished_checkpoint_returns_the_same_result(tiny_images, tmp_path):
    _, first = _run(tiny_images, tmp_path)
    _, again = _run(tiny_images, tmp_path)
    assert again.steps == first.steps and again.test_acc == first.test_acc and again.history == first.history


def test_bad_config_fails_clearly():
    with pytest.raises(ValueError, match="shapes.train.epochs"):
        ClassifyConfig(epochs=0)
    with pytest.raises(ValueError, match="smaller than one batch"):
        ClassifyConfig(n_train=10, batch_size=64)
