"""Alg. 1 as a core task: subsets, augmentation, determinism, resuming, the alpha interval."""
import numpy as np
import pytest
import torch

from hyperscale.core.data import Dataset, Split
from hyperscale.core.models import create_model
from hyperscale.core.train import train
from hyperscale.shape_adaptor.train import AlgConfig, Classification, augment, stratified_subset

ALG = dict(epochs=2, batch_size=12, optimizer={"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4,
                                               "schedule": "cosine"},
           alpha_optimizer={"name": "sgd", "lr": 0.1, "every": 2})


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


def _run(data, run_dir=None, **alg):
    torch.manual_seed(0)
    model = create_model("vgg16", num_classes=3, in_chans=1, input_size=16, width_mult=0.0625, design="adaptor")
    task = Classification(data, AlgConfig(**{**ALG, **alg}))
    res = train(model, task, task.train_config(), seed=0, run_dir=run_dir, progress=False)
    return model, res, task


def test_training_is_deterministic_learns_and_moves_alpha(tiny_images):
    m1, r1, t1 = _run(tiny_images)
    m2, r2, t2 = _run(tiny_images)
    assert r1.last_score == r2.last_score and t1.s_trace == t2.s_trace
    assert r1.steps == 6 and len(t1.s_trace) == 3 and len(r1.history) == 2  # alpha every 2 steps; a row per epoch
    assert [h["step"] for h in r1.history] == [3, 6] and r1.last_score == r1.history[-1]["test_acc"]
    assert m1.shape_factors() != pytest.approx([(4 / 16) ** (1 / 3)] * 3, abs=1e-7)  # alpha was updated


def test_the_last_weights_are_kept(tiny_images):
    model, res, _ = _run(tiny_images, epochs=3)
    assert res.stopped_by == ["max_steps"] and res.steps == 9  # no early stopping, no best-weights restore


def test_a_run_ends_its_schedule_when_both_learning_rates_decay(tiny_images):
    _, res, _ = _run(tiny_images, alpha_optimizer={**ALG["alpha_optimizer"], "schedule": "cosine"})
    assert res.stopped_by == ["schedule"]  # core/train.py's convergence rule then takes it as ended by its rule


def test_doubled_runs_train_twice_the_epochs(tiny_images):
    from hyperscale.shape_adaptor.runs import Run, setup
    p = {"data": {"input_size": 16}, "width_mult": 0.0625, "train": ALG,
         "adaptor": {"r_min": 0.5, "r_max": 1.0, "d_last": 2, "d_out": 4, "d_limit": None}}
    run = Run("vgg16-adaptor-seed0", "vgg16", "adaptor", 0)
    assert [setup(run, e, p, tiny_images)[2].max_steps for e in ("table1", "doubled")] == [6, 12]


def test_finished_checkpoint_returns_the_same_result(tiny_images, tmp_path):
    _, first, t1 = _run(tiny_images, tmp_path)
    _, again, t2 = _run(tiny_images, tmp_path)
    assert again.steps == first.steps and again.last_score == first.last_score and again.history == first.history
    assert t2.s_trace == t1.s_trace  # the task's own state travels with the checkpoint


def test_bad_config_fails_clearly():
    with pytest.raises(ValueError, match="epochs"):
        AlgConfig(**{**ALG, "epochs": 0})
    with pytest.raises(ValueError, match="every"):
        AlgConfig(**{**ALG, "alpha_optimizer": {"name": "sgd", "every": 0}})
    with pytest.raises(ValueError, match="smaller than one batch"):
        AlgConfig(**{**ALG, "n_train": 10})
