import pytest
import torch

import hyperscale.train as training
from hyperscale.models import create_model, load_model
from hyperscale.train import TrainConfig, save_run, train

CFG = dict(batch_size=4, lr=1e-2, max_steps=30, eval_every=5, patience=100, checkpoint_every=10, eval_batch_size=8)


def fresh(method="sshn"):
    torch.manual_seed(0)
    extra = {"phi": 0.5} if method == "fixed" else {}
    return create_model(method, in_channels=1, num_classes=3, width=4, n_stages=3, **extra)


@pytest.mark.parametrize("method", ["fixed", "sshn"])
def test_same_seed_same_result(toy_data, method):
    a = train(fresh(method), toy_data, TrainConfig(**CFG), seed=1, val_phis=[0.5], progress=False)
    b = train(fresh(method), toy_data, TrainConfig(**CFG), seed=1, val_phis=[0.5], progress=False)
    assert [h["val_dice"] for h in a.history] == [h["val_dice"] for h in b.history]
    assert a.best_step == b.best_step


def test_interrupted_run_resumes_to_the_same_result(toy_data, tmp_path, monkeypatch):
    cfg = TrainConfig(**CFG, dice_finetune_steps=10)
    full_model = fresh()
    full = train(full_model, toy_data, cfg, seed=1, val_phis=[0.25, 0.5], progress=False)

    calls = {"n": 0}
    ce = training.LOSSES["ce"]

    def crash_at_step_25(logits, target):
        calls["n"] += 1
        if calls["n"] == 25:
            raise KeyboardInterrupt
        return ce(logits, target)

    ckpt = tmp_path / "checkpoint.pt"
    monkeypatch.setitem(training.LOSSES, "ce", crash_at_step_25)
    with pytest.raises(KeyboardInterrupt):
        train(fresh(), toy_data, cfg, seed=1, val_phis=[0.25, 0.5], checkpoint=ckpt, progress=False)
    monkeypatch.setitem(training.LOSSES, "ce", ce)

    resumed_model = fresh()
    torch.manual_seed(123)  # the resumed run must not depend on the global RNG state either
    resumed = train(resumed_model, toy_data, cfg, seed=1, val_phis=[0.25, 0.5], checkpoint=ckpt, progress=False)
    assert [(h["step"], h["phase"], h["val_dice"]) for h in resumed.history] == \
           [(h["step"], h["phase"], h["val_dice"]) for h in full.history]
    for p, q in zip(resumed_model.parameters(), full_model.parameters()):
        torch.testing.assert_close(p, q)


def test_checkpoint_of_another_configuration_is_ignored(toy_data, tmp_path, capsys):
    ckpt = tmp_path / "checkpoint.pt"
    train(fresh(), toy_data, TrainConfig(**CFG), seed=1, val_phis=[0.5], checkpoint=ckpt, progress=False)
    other = train(fresh(), toy_data, TrainConfig(**{**CFG, "lr": 1e-3}), seed=1, val_phis=[0.5], checkpoint=ckpt,
                  progress=False)
    assert "ignoring" in capsys.readouterr().out
    assert other.steps == CFG["max_steps"]


def test_early_stopping_and_dice_phase(toy_data):
    cfg = TrainConfig(**{**CFG, "lr": 0.0, "patience": 2, "max_steps": 1000}, dice_finetune_steps=1000)
    res = train(fresh("fixed"), toy_data, cfg, seed=0, val_phis=[0.5], progress=False)
    # lr = 0: only the very first validation is a new best; patience 2 then ends the cross-entropy
    # phase after 3 checks and the Dice phase (which must beat that best) after 2.
    assert res.stopped_by == ["patience", "patience"]
    assert res.steps == 5 * CFG["eval_every"]
    assert [h["phase"] for h in res.history] == ["ce"] * 3 + ["dice"] * 2


def test_training_improves_on_a_learnable_task(toy_data):
    res = train(fresh("fixed"), toy_data, TrainConfig(**{**CFG, "max_steps": 60}), seed=0, val_phis=[0.5],
                progress=False)
    assert res.best_val_dice > res.history[0]["val_dice"]


def test_save_run_writes_a_reloadable_model(toy_data, tmp_path):
    model = fresh()
    res = train(model, toy_data, TrainConfig(**{**CFG, "max_steps": 5}), seed=0, val_phis=[0.5], progress=False)
    summary = save_run(tmp_path, model, res, seed=0)
    assert summary["steps"] == 5 and (tmp_path / "metrics.json").exists() and (tmp_path / "history.csv").exists()
    assert type(load_model(tmp_path / "model.pt")).__name__ == "SSHN"


@pytest.mark.parametrize("bad", [{"batch_size": 0}, {"patience": 0}, {"dice_finetune_steps": -1}])
def test_bad_config_is_rejected(bad):
    with pytest.raises(ValueError, match="train."):
        TrainConfig(**{**CFG, **bad})


def test_batch_larger_than_dataset_is_rejected(toy_data):
    with pytest.raises(ValueError, match="batch_size"):
        train(fresh(), toy_data, TrainConfig(**{**CFG, "batch_size": 64}), seed=0, val_phis=[0.5], progress=False)


def test_checkpoint_of_other_data_is_ignored(toy_data, tmp_path, capsys):
    ckpt = tmp_path / "checkpoint.pt"
    train(fresh(), toy_data, TrainConfig(**CFG), seed=1, val_phis=[0.5], checkpoint=ckpt, progress=False)
    toy_data["train"].images[0, 0, 0, 0] += 1.0
    train(fresh(), toy_data, TrainConfig(**CFG), seed=1, val_phis=[0.5], checkpoint=ckpt, progress=False)
    assert "ignoring" in capsys.readouterr().out


def test_finished_checkpoint_returns_the_result_without_training(toy_data, tmp_path):
    ckpt = tmp_path / "checkpoint.pt"
    first_model, again_model = fresh(), fresh()
    first = train(first_model, toy_data, TrainConfig(**CFG), seed=1, val_phis=[0.5], checkpoint=ckpt, progress=False)
    again = train(again_model, toy_data, TrainConfig(**CFG), seed=1, val_phis=[0.5], checkpoint=ckpt, progress=False)
    assert again.history == first.history and again.train_seconds == first.train_seconds
    for p, q in zip(again_model.parameters(), first_model.parameters()):
        torch.testing.assert_close(p, q)


def test_history_records_dice_at_every_validation_phi(toy_data):
    res = train(fresh(), toy_data, TrainConfig(**CFG), seed=1, val_phis=[0.25, 0.5], progress=False)
    row = res.history[-1]
    assert row["val_dice"] == pytest.approx((row["val_dice_phi0.25"] + row["val_dice_phi0.5"]) / 2)


def test_separate_sshn_trains_with_tuple_phis(toy_data):
    torch.manual_seed(0)
    net = create_model("sshn", in_channels=1, num_classes=3, width=4, n_stages=3, separate=True)
    res = train(net, toy_data, TrainConfig(**CFG), seed=1, val_phis=[(0.5, 0.5)], progress=False)
    assert "val_dice_phi0.5-0.5" in res.history[0]


def test_extending_a_finished_run_equals_training_that_long(toy_data, tmp_path):
    """The budget experiment continues the main runs: 30 + 20 steps must equal 50 from the start."""
    short = TrainConfig(**{**CFG, "patience": 2, "dice_finetune_steps": 5})  # extended from its first phase's end
    long_ = TrainConfig(**{**CFG, "max_steps": 50, "patience": 50})
    ckpt = tmp_path / "short.pt"
    train(fresh(), toy_data, short, seed=1, val_phis=[0.25, 0.5], checkpoint=ckpt, progress=False)
    scratch_model, extended_model = fresh(), fresh()
    scratch = train(scratch_model, toy_data, long_, seed=1, val_phis=[0.25, 0.5], progress=False)
    extended = train(extended_model, toy_data, long_, seed=1, val_phis=[0.25, 0.5], extend=ckpt,
                     checkpoint=tmp_path / "long.pt", progress=False)
    assert [(h["step"], h["val_dice"], h["loss"]) for h in extended.history] == \
           [(h["step"], h["val_dice"], h["loss"]) for h in scratch.history]
    assert (extended.steps, extended.best_step) == (scratch.steps, scratch.best_step)
    for p, q in zip(extended_model.parameters(), scratch_model.parameters()):
        torch.testing.assert_close(p, q)


def test_extending_another_run_is_rejected(toy_data, tmp_path):
    ckpt = tmp_path / "short.pt"
    train(fresh(), toy_data, TrainConfig(**CFG), seed=1, val_phis=[0.5], checkpoint=ckpt, progress=False)
    longer = TrainConfig(**{**CFG, "max_steps": 50})
    with pytest.raises(ValueError, match="only max_steps, patience and dice_finetune_steps may differ"):
        train(fresh(), toy_data, longer, seed=2, val_phis=[0.5], extend=ckpt, progress=False)
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        train(fresh(), toy_data, longer, seed=1, val_phis=[0.5], extend=tmp_path / "missing.pt", progress=False)
