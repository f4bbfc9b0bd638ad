"""The core training loop with SSHN's segmentation task: determinism, resuming, early
stopping, and runs whose files are byte-identical and safe to load."""
import io
import json
import pickle
import zipfile
from contextlib import contextmanager

import pytest
import torch

import hyperscale.core.losses as losses
from hyperscale.core.errors import DivergedError
from hyperscale.core.io import UnreadableFile, load_torch, save_torch
from hyperscale.core.models import create_model, load_model
from hyperscale.core.train import TrainConfig, save_run, train
from hyperscale.sshn.tasks import Segmentation, prior_of

CFG = dict(batch_size=4, max_steps=30, eval_every=5, patience_steps=500, checkpoint_every=10,
           optimizers={"weights": {"name": "adam", "lr": 1e-2, "betas": [0.9, 0.99]}})


def fresh(method="sshn", **kw):
    torch.manual_seed(0)
    extra = {"phi": 0.5} if method == "fixed" else {}
    return create_model(method, in_channels=1, num_classes=3, width=4, n_stages=3, **extra, **kw)


def fit(model, data, cfg=None, seed=1, val_phis=(0.5,), run_dir=None, **kw):
    task = Segmentation(data, prior_of(model), list(val_phis), eval_batch_size=8)
    return train(model, task, TrainConfig(**{**CFG, **(cfg or {})}), seed, run_dir, progress=False, **kw)


@contextmanager
def crash_at(monkeypatch, loss: str, call: int):
    """Within the block, the `call`-th use of loss `loss` raises KeyboardInterrupt (a run killed mid-way)."""
    original, calls = losses.LOSSES[loss], {"n": 0}

    def crashing(logits, target):
        calls["n"] += 1
        if calls["n"] == call:
            raise KeyboardInterrupt
        return original(logits, target)

    monkeypatch.setitem(losses.LOSSES, loss, crashing)
    try:
        yield
    finally:
        monkeypatch.setitem(losses.LOSSES, loss, original)


@pytest.mark.parametrize("method", ["fixed", "sshn"])
def test_same_seed_same_result(toy_data, method):
    a, b = fit(fresh(method), toy_data), fit(fresh(method), toy_data)
    assert [h["val_dice"] for h in a.history] == [h["val_dice"] for h in b.history]
    assert a.best_step == b.best_step


def test_interrupted_run_resumes_to_the_same_result(toy_data, tmp_path, monkeypatch):
    cfg = {"finetune_steps": 10}
    full_model = fresh()
    full = fit(full_model, toy_data, cfg, val_phis=[0.25, 0.5])

    with crash_at(monkeypatch, "ce", 25), pytest.raises(KeyboardInterrupt):
        fit(fresh(), toy_data, cfg, val_phis=[0.25, 0.5], run_dir=tmp_path)

    resumed_model = fresh()
    torch.manual_seed(123)  # the resumed run must not depend on the global RNG state either
    resumed = fit(resumed_model, toy_data, cfg, val_phis=[0.25, 0.5], run_dir=tmp_path)
    assert [(h["step"], h["phase"], h["val_dice"], h["loss"]) for h in resumed.history] == \
           [(h["step"], h["phase"], h["val_dice"], h["loss"]) for h in full.history]
    for p, q in zip(resumed_model.parameters(), full_model.parameters()):
        torch.testing.assert_close(p, q)


def test_resumed_run_writes_the_bytes_of_an_uninterrupted_one(toy_data, tmp_path, monkeypatch, capsys):
    """DVC hashes checkpoint.pt: a run resumed after a crash must record the same bytes,
    and say so without naming local paths (its page is published)."""
    cfg = {"finetune_steps": 10}
    fit(fresh(), toy_data, cfg, run_dir=tmp_path / "full", desc="main/run")
    with crash_at(monkeypatch, "ce", 25), pytest.raises(KeyboardInterrupt):
        fit(fresh(), toy_data, cfg, run_dir=tmp_path / "resumed", desc="main/run")
    capsys.readouterr()
    fit(fresh(), toy_data, cfg, run_dir=tmp_path / "resumed", desc="main/run")
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err.strip() == "main/run: resumed at step 20"
    assert (tmp_path / "full/checkpoint.pt").read_bytes() == (tmp_path / "resumed/checkpoint.pt").read_bytes()


def test_run_interrupted_in_its_second_phase_resumes_with_that_phases_schedule(toy_data, tmp_path, monkeypatch):
    cfg = {"finetune_steps": 10, "optimizers": {"weights": {"lr": 1e-2, "schedule": "cosine"}}}
    full = fit(fresh(), toy_data, cfg)
    with crash_at(monkeypatch, "dice", 5), pytest.raises(KeyboardInterrupt):
        fit(fresh(), toy_data, cfg, run_dir=tmp_path)
    resumed = fit(fresh(), toy_data, cfg, run_dir=tmp_path)  # from the checkpoint at the end of phase 1
    assert [(h["step"], h["val_dice"], h["loss"]) for h in resumed.history] == \
           [(h["step"], h["val_dice"], h["loss"]) for h in full.history]


def test_checkpoint_of_another_configuration_is_ignored(toy_data, tmp_path, capsys):
    fit(fresh(), toy_data, run_dir=tmp_path)
    other = fit(fresh(), toy_data, {"optimizers": {"weights": {"lr": 1e-3}}}, run_dir=tmp_path)
    assert "ignoring" in capsys.readouterr().err
    assert other.steps == CFG["max_steps"]


def test_early_stopping_and_dice_phase(toy_data):
    e = CFG["eval_every"]
    cfg = {"optimizers": {"weights": {"lr": 1e-12}}, "patience_steps": 2 * e, "max_steps": 1000, "finetune_steps": 1000}
    res = fit(fresh("fixed"), toy_data, cfg, seed=0)
    # lr ~ 0: only each phase's first validation resets the count; 2 x eval_every steps later the
    # phase ends on a plateau, 3 validations in.
    assert res.stopped_by == ["plateau", "plateau"]
    assert res.steps == 6 * e
    assert [h["phase"] for h in res.history] == ["ce"] * 3 + ["dice"] * 3


class _Scripted:
    """A task whose validation scores are given: to test when a phase stops."""
    phases, score_name, code = ("fit",), "score", ()

    def __init__(self, scores):
        self.scores = iter(scores)

    def __len__(self):
        return 8

    def sample(self, gen, batch_size, step):
        return torch.randn(batch_size, 2, generator=gen)

    def loss(self, model, batch, phase):
        return model(batch).pow(2).mean()

    def score(self, model):
        return {"score": next(self.scores)}

    def describe(self):
        return {}

    def checksum(self):
        return ""


class _Tiny(torch.nn.Linear):
    config: dict = {}


@pytest.mark.parametrize("schedule, patience, stopped_by, converged", [
    ("cosine", None, ["schedule"], True),      # the fixed schedule ran out: core/train.py's rule counts it
    ("constant", None, ["max_steps"], False),  # a constant rate stopped by its cap: no rule ended it
    ("cosine", 100, ["max_steps"], False),     # early stopping configured but never fired: the cap stopped it
])
def test_a_run_converged_when_its_own_rule_ended_it(schedule, patience, stopped_by, converged):
    from hyperscale.core.train import converged as converged_

    torch.manual_seed(0)
    cfg = TrainConfig(batch_size=4, max_steps=6, eval_every=2, patience_steps=patience,
                      optimizers={"weights": {"schedule": schedule}})
    res = train(_Tiny(2, 1), _Scripted([0.1, 0.2, 0.3]), cfg, seed=0, progress=False)
    assert (res.steps, res.stopped_by, converged_(res.stopped_by)) == (6, stopped_by, converged)


@pytest.mark.parametrize("min_delta, steps, best_step", [
    (0.0, 8, 5),    # every gain counts: the last is at validation 5 (0.205), so the phase stops 3 later
    (0.01, 7, 5),   # 0.105, 0.108 and 0.205 gain < 0.01: the count runs from 0.2 (validation 4); 0.205 is still the best
    (0.15, 4, 4),   # no gain of 0.15 after 0.1: stop 3 validations after it, keeping the best (0.2)
])
def test_plateau_needs_a_gain_of_min_delta(min_delta, steps, best_step):
    scores = [0.1, 0.105, 0.108, 0.2, 0.205, 0.201, 0.202, 0.203, 0.204]
    torch.manual_seed(0)
    cfg = TrainConfig(batch_size=4, max_steps=100, eval_every=1, patience_steps=3, min_delta=min_delta)
    res = train(_Tiny(2, 1), _Scripted(scores), cfg, seed=0, progress=False)
    assert (res.steps, res.best_step, res.stopped_by) == (steps, best_step, ["plateau"])


def test_training_improves_on_a_learnable_task(toy_data):
    res = fit(fresh("fixed"), toy_data, {"max_steps": 60}, seed=0)
    assert res.best_score > res.history[0]["val_dice"]


def test_save_run_writes_a_reloadable_model_and_no_timings(toy_data, tmp_path):
    model = fresh()
    res = fit(model, toy_data, {"max_steps": 5}, seed=0, run_dir=tmp_path)
    summary = save_run(tmp_path, model, res, seed=0)
    assert summary["steps"] == 5 and summary["score_name"] == "val_dice"
    assert not any("seconds" in k for k in summary)  # timings live in timing.json alone
    timing = json.loads((tmp_path / "timing.json").read_text())
    assert timing["timed_steps"] == 5 and timing["seconds_per_step"] > 0 and timing["env"]["env"]["MKL_CBWR"]
    assert type(load_model(tmp_path / "model.pt")).__name__ == "SSHN"


def test_identical_runs_write_identical_bytes(toy_data, tmp_path):
    """Every file of a run but timing.json is the same, byte for byte, for the same inputs."""
    for d in ("a", "b"):
        model = fresh()
        save_run(tmp_path / d, model, fit(model, toy_data, {"finetune_steps": 5}, run_dir=tmp_path / d), seed=1)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["checkpoint.pt", "history.csv", "metrics.json", "model.pt", "timing.json"]
    for name in names[:-1]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


@pytest.mark.parametrize("bad", [{"batch_size": 0}, {"patience": 0}, {"finetune_steps": -1}, {"max_steps": "20"},
                                 {"max_steps": 2.5}])
def test_bad_config_is_rejected(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        TrainConfig(**{**CFG, **bad})


def test_batch_larger_than_dataset_is_rejected(toy_data):
    with pytest.raises(ValueError, match="batch_size"):
        fit(fresh(), toy_data, {"batch_size": 64})


def test_checkpoint_of_other_data_is_ignored(toy_data, tmp_path, capsys):
    fit(fresh(), toy_data, run_dir=tmp_path)
    toy_data["train"].images[0, 0, 0, 0] += 1.0
    fit(fresh(), toy_data, run_dir=tmp_path)
    assert "ignoring" in capsys.readouterr().err


def test_finished_checkpoint_returns_the_result_without_training(toy_data, tmp_path):
    first_model, again_model = fresh(), fresh()
    first = fit(first_model, toy_data, run_dir=tmp_path)
    timing = (tmp_path / "timing.json").read_bytes()
    again = fit(again_model, toy_data, run_dir=tmp_path)
    assert again.history == first.history and again.steps == first.steps
    assert (tmp_path / "timing.json").read_bytes() == timing  # nothing new was timed
    for p, q in zip(again_model.parameters(), first_model.parameters()):
        torch.testing.assert_close(p, q)


def test_history_records_dice_at_every_validation_phi(toy_data):
    res = fit(fresh(), toy_data, val_phis=[0.25, 0.5])
    row = res.history[-1]
    assert row["val_dice"] == pytest.approx((row["val_dice_phi0.25"] + row["val_dice_phi0.5"]) / 2)


def test_separate_sshn_trains_with_tuple_phis(toy_data):
    res = fit(fresh(separate=True), toy_data, val_phis=[(0.5, 0.5)])
    assert "val_dice_phi0.5-0.5" in res.history[0]


class _RunsCode:
    """A payload that would run code when unpickled without weights_only."""
    def __reduce__(self):
        return (print, ("the payload ran",))


def test_tampered_checkpoint_is_refused_and_never_runs(toy_data, tmp_path, capsys):
    path = tmp_path / "checkpoint.pt"
    buf = io.BytesIO()
    torch.save({"sha256": "x", "payload": {"key": _RunsCode()}}, buf)
    path.write_bytes(buf.getvalue())
    with pytest.raises(UnreadableFile, match="not written by this project"):
        load_torch(path)
    res = fit(fresh(), toy_data, run_dir=tmp_path)  # training refuses it and starts over
    cap = capsys.readouterr()
    out = cap.out + cap.err
    assert "the payload ran" not in out and "ignoring checkpoint" in out and res.steps == CFG["max_steps"]


def test_truncated_checkpoint_restarts_the_run_and_names_the_file(toy_data, tmp_path, capsys):
    fit(fresh(), toy_data, run_dir=tmp_path)
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    res = fit(fresh(), toy_data, run_dir=tmp_path)
    assert f"ignoring checkpoint: {path} is not a readable torch file" in capsys.readouterr().err
    assert res.steps == CFG["max_steps"] and load_torch(path)["result"]["steps"] == CFG["max_steps"]


def test_load_model_names_what_is_wrong(toy_data, tmp_path):
    model = fresh()
    fit(model, toy_data, {"max_steps": 5}, run_dir=tmp_path)
    with pytest.raises(UnreadableFile, match="a training checkpoint"):
        load_model(tmp_path / "checkpoint.pt")
    torch.save(model.state_dict(), tmp_path / "bare.pt")
    with pytest.raises(UnreadableFile, match="not written by hyperscale.core.io.save_torch"):
        load_model(tmp_path / "bare.pt")
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(UnreadableFile, match="empty.pt is empty"):
        load_model(tmp_path / "empty.pt")
    save_run(tmp_path, model, fit(model, toy_data, {"max_steps": 5}), seed=0)
    data = bytearray((tmp_path / "model.pt").read_bytes())
    with zipfile.ZipFile(tmp_path / "model.pt") as zf:  # the largest tensor's bytes, where they lie in the file
        info = max((i for i in zf.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    start = info.header_offset + 30 + len(info.filename) + int.from_bytes(data[info.header_offset + 28:][:2], "little")
    data[start + info.file_size // 2] ^= 0xFF
    (tmp_path / "flipped.pt").write_bytes(bytes(data))
    with pytest.raises(UnreadableFile, match="corrupt"):
        load_model(tmp_path / "flipped.pt")
    with pytest.raises(UnreadableFile, match="no such file"):
        load_model(tmp_path / "missing.pt")


def test_pickled_objects_are_refused_by_the_model_loader(tmp_path):
    save_torch({"module": "os", "method": "x", "config": {}, "state": {}}, tmp_path / "m.pt")
    with pytest.raises(UnreadableFile, match="not part of this library"):
        load_model(tmp_path / "m.pt")
    (tmp_path / "p.pt").write_bytes(pickle.dumps(_RunsCode()))
    with pytest.raises(UnreadableFile):
        load_model(tmp_path / "p.pt")


def test_a_diverging_run_stops_in_one_line_naming_run_step_and_learning_rate(toy_data, tmp_path):
    """lr 1e9 once gave NaN losses and still wrote results: it stops, and no result is written."""
    with pytest.raises(DivergedError, match=r"^main/run diverged: its training loss is nan at step \d+ "
                                            r"\(learning rate: weights 1e\+09\); lower the learning rate"):
        fit(fresh("fixed"), toy_data, {"optimizers": {"weights": {"lr": 1e9}}}, run_dir=tmp_path, desc="main/run")
    assert not (tmp_path / "metrics.json").exists() and not (tmp_path / "model.pt").exists()


def test_settle_step_is_where_validation_stays_near_its_best():
    import math

    import pandas as pd

    from hyperscale.core.report import settle_step

    h = pd.DataFrame({"step": [100, 200, 300, 400, 500], "val_dice": [0.2, 0.6, 0.55, 0.7, 0.69]})
    assert settle_step(h, "val_dice", 0.02) == 400  # 0.55 at 300 is 0.15 below the best
    assert settle_step(h, "val_dice", 0.2) == 200  # (0.55 is within 0.2 of 0.7; 0.2 at 100 is not)
    assert settle_step(h, "val_dice", 1.0) == 100
    assert settle_step(h.iloc[:1], "val_dice", 0.0) == 100
    ended_low = h.assign(val_dice=[0.2, 0.6, 0.7, 0.69, 0.5])  # its last check 0.2 below the best: never settled
    assert math.isnan(settle_step(ended_low, "val_dice", 0.02))
