"""Training with validation-based early stopping, resumable checkpoints (SSHN §4.4, App. A).

One loop for every method: each step draws phi from `model.sample_phi` (Fixed: its own phi;
SSHN: U(phi_range)), one minibatch, and takes an Adam step on the loss of the current phase.
Phases: cross-entropy until validation Dice stops improving (`patience` validations without a
new best) or `max_steps`; then, if `dice_finetune_steps` > 0, soft-Dice fine-tuning from the
best cross-entropy weights, stopped the same way (§4.1). The best validation weights are kept.

A checkpoint every `checkpoint_every` steps holds model, optimizer, RNG states and history,
so an interrupted run resumes where it stopped and ends with the same numbers. It is reused
only if configuration, seed, training data and the library's code are all unchanged; a
finished run's checkpoint then returns its result without training again. It also keeps the
state at the end of the first phase, so a later run can `extend` a finished one to a larger
`max_steps`: the same numbers as training that long from the start, for the extra steps only.
"""
from __future__ import annotations

import copy
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from .data import Dataset, Split
from .io import load_checkpoint, torch_save, write_json, write_text
from .losses import LOSSES
from .metrics import dice_per_label, mean_dice
from .models import method_of, save_model


_LIB = Path(__file__).parent
# The library files a segmentation training run depends on (dvc.yaml's train deps list the same).
TRAIN_CODE = ("train.py", "registration.py", "losses.py", "metrics.py", "data/__init__.py", "models/__init__.py",
              "models/unet.py", "models/sshn.py", "models/dynamic.py")


@dataclass
class TrainConfig:
    batch_size: int = 16
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.99)  # App. A
    max_steps: int = 3000  # cap of the cross-entropy phase
    eval_every: int = 100  # steps between validations
    patience: int = 5  # validations without improvement before stopping a phase
    dice_finetune_steps: int = 0  # cap of the soft-Dice phase (0 = no fine-tuning)
    checkpoint_every: int = 200
    eval_batch_size: int = 64

    def __post_init__(self):
        for name in ("batch_size", "max_steps", "eval_every", "patience", "checkpoint_every", "eval_batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"train.{name} must be a positive integer; got {getattr(self, name)}")
        if self.dice_finetune_steps < 0:
            raise ValueError(f"train.dice_finetune_steps must be >= 0; got {self.dice_finetune_steps}")
        self.betas = tuple(self.betas)


@dataclass
class TrainResult:
    steps: int = 0  # optimizer steps taken
    best_val_dice: float = float("-inf")
    best_step: int = 0
    train_seconds: float = 0.0  # wall time of the optimizer steps alone
    wall_seconds: float = 0.0  # wall time of the whole run (validation and checkpoints included)
    stopped_by: list[str] = field(default_factory=list)  # per phase: "patience" or "max_steps"
    history: list[dict] = field(default_factory=list)  # one row per validation

    @property
    def seconds_per_step(self) -> float:
        return self.train_seconds / max(self.steps, 1)


def to_tensors(split: Split) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.from_numpy(split.images), torch.from_numpy(split.labels.astype(np.int64))


class Segmentation:
    """The segmentation objective (SSHN §4.1): cross-entropy on data['train'] ("ce" phase), then
    optionally soft Dice ("dice"); the validation score is mean Dice on data['val']."""

    phases = ("ce", "dice")

    def __init__(self, data: Dataset, eval_batch_size: int = 64):
        self.data, self.eval_batch_size = data, eval_batch_size
        self.x, self.y = to_tensors(data["train"])

    def __len__(self) -> int:
        return len(self.x)  # training examples a minibatch is drawn from

    def loss(self, model, idx: torch.Tensor, phi, phase: str) -> torch.Tensor:
        return LOSSES[phase](model(self.x[idx], phi), self.y[idx])

    def score(self, model, phi) -> float:
        return mean_dice(evaluate(model, self.data["val"], phi, self.data.num_classes, self.eval_batch_size))

    def checksum(self) -> str:
        return self.data.checksum(["train", "val"])


@torch.no_grad()
def evaluate(model, split: Split, phi: float, num_classes: int, batch_size: int = 64) -> torch.Tensor:
    """Dice per image and foreground label (N, K-1) of `model` at `phi` on `split`."""
    model.eval()
    x, y = to_tensors(split)
    scores = [dice_per_label(model(x[i:i + batch_size], phi).argmax(1), y[i:i + batch_size], num_classes)
              for i in range(0, len(x), batch_size)]
    return torch.cat(scores)


def phi_label(phi) -> str:
    """A phi (or a tuple of separate factors) as text: '0.25', '0.1-0.3-0.5-0.5'."""
    return "-".join(f"{p:g}" for p in phi) if isinstance(phi, (list, tuple)) else f"{phi:g}"


def _run_key(model, task, cfg: TrainConfig, seed: int, val_phis, extends: str | None = None) -> str:
    """What a checkpoint must match to be resumed: configuration, seed, data and library code (and,
    for an extension, the run it extends)."""
    code = hashlib.sha256(b"".join((_LIB / f).read_bytes() for f in TRAIN_CODE))
    blob = json.dumps({"model": model.config, "train": asdict(cfg), "seed": seed, "val_phis": list(val_phis),
                       "task": type(task).__name__, "data": task.checksum(), "code": code.hexdigest(),
                       "extends": extends}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _phase_end(path, model, task, cfg: TrainConfig, seed: int, val_phis) -> dict:
    """The state at the end of the first phase of the finished run whose checkpoint is `path`,
    checked to be this run but for max_steps, patience and dice_finetune_steps."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"cannot extend {path}: no such checkpoint (train that run first)")
    end = torch.load(path, map_location="cpu", weights_only=False).get("phase_end")
    if end is None:
        raise ValueError(f"cannot extend {path}: its run has not finished its first phase")
    src = TrainConfig(**end["train"])
    same = replace(cfg, max_steps=src.max_steps, patience=src.patience, dice_finetune_steps=src.dice_finetune_steps)
    if _run_key(model, task, same, seed, val_phis) != end["key"]:
        raise ValueError(f"cannot extend {path}: it was trained with another model, data, seed, val_phis, code or "
                         f"training setting (only max_steps, patience and dice_finetune_steps may differ)")
    if cfg.max_steps < end["phase_step"]:
        raise ValueError(f"cannot extend {path} to max_steps={cfg.max_steps}: it already took {end['phase_step']}")
    return end


def train(model: torch.nn.Module, data: Dataset, cfg: TrainConfig, seed: int, val_phis,
          checkpoint: str | Path | None = None, progress: bool = True, task=None,
          extend: str | Path | None = None) -> TrainResult:
    """Train `model` in place on data['train'], early-stopping on data['val']; returns the record.

    `task` is the objective (default `Segmentation(data)`; registration.Registration for §4.1's
    registration): its phases' losses, the number of training examples and the validation score.
    The model's initial weights must already be seeded by the caller (torch.manual_seed(seed)
    before create_model); `seed` here drives minibatch and phi sampling.
    `extend`: the checkpoint of a finished run of this model and seed; training continues from
    the last step of its first phase (not its best weights) up to `cfg.max_steps`.
    """
    task = task or Segmentation(data, cfg.eval_batch_size)
    if len(task) < cfg.batch_size:
        raise ValueError(f"train.batch_size={cfg.batch_size} exceeds the {len(task)} training examples")
    phases = task.phases[:1] + (task.phases[1:2] if cfg.dice_finetune_steps > 0 else ())
    caps = [cfg.max_steps, cfg.dice_finetune_steps]
    gen = torch.Generator().manual_seed(seed)
    # fused: one kernel for every parameter; 27 % off an SSHN step here (its heads hold ~6M weights).
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=cfg.betas, fused=True)
    source = _phase_end(extend, model, task, cfg, seed, val_phis) if extend else None
    key = _run_key(model, task, cfg, seed, val_phis, extends=source["key"] if source else None)
    res, phase, phase_step, stale = TrainResult(), 0, 0, 0
    best_state, phase_end = copy.deepcopy(model.state_dict()), None

    checkpoint = Path(checkpoint) if checkpoint else None
    ck = load_checkpoint(checkpoint, key) or source
    if ck is not None:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        gen.set_state(ck["gen"])
        torch.set_rng_state(ck["torch_rng"])
        best_state, res, phase_end = ck["best_state"], TrainResult(**ck["result"]), ck.get("phase_end")
        phase, phase_step, stale = ck["phase"], ck["phase_step"], ck["stale"]
        print(f"resumed from {checkpoint if ck is not source else extend} at step {res.steps}")

    def state() -> dict:
        return {"key": key, "train": asdict(cfg), "model": model.state_dict(), "opt": opt.state_dict(),
                "gen": gen.get_state(), "torch_rng": torch.get_rng_state(), "best_state": best_state,
                "result": asdict(res), "phase": phase, "phase_step": phase_step, "stale": stale}

    def save_checkpoint():
        if checkpoint:
            torch_save({**state(), "phase_end": phase_end}, checkpoint)

    start = time.perf_counter() - res.wall_seconds
    bar = tqdm(total=sum(caps[:len(phases)]), initial=res.steps, desc=type(model).__name__, disable=not progress,
               mininterval=1.0)
    while phase < len(phases):
        while phase_step < caps[phase] and stale < cfg.patience:
            model.train()
            t0 = time.perf_counter()
            idx = torch.randperm(len(task), generator=gen)[: cfg.batch_size]
            phi = model.sample_phi(gen)
            loss = task.loss(model, idx, phi, phases[phase])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            res.train_seconds += time.perf_counter() - t0
            res.steps += 1
            phase_step += 1
            bar.update()
            if phase_step % cfg.eval_every == 0 or phase_step == caps[phase]:
                model.eval()
                with torch.no_grad():
                    per_phi = {phi_label(p): task.score(model, p) for p in val_phis}
                score = float(np.mean(list(per_phi.values())))  # what early stopping and model selection use
                if score > res.best_val_dice:
                    res.best_val_dice, res.best_step, stale = score, res.steps, 0
                    best_state = copy.deepcopy(model.state_dict())
                else:
                    stale += 1
                res.history.append({"step": res.steps, "phase": phases[phase], "loss": loss.item(),
                                    "val_dice": score, **{f"val_dice_phi{k}": v for k, v in per_phi.items()}})
                bar.set_postfix(loss=f"{loss.item():.3f}", val_dice=f"{score:.3f}", best=f"{res.best_val_dice:.3f}")
            if res.steps % cfg.checkpoint_every == 0:
                res.wall_seconds = time.perf_counter() - start
                save_checkpoint()
        if phase == 0:  # what `extend` continues from: the last weights and optimizer state, not the best
            phase_end = copy.deepcopy(state())
        res.stopped_by.append("patience" if stale >= cfg.patience else "max_steps")
        phase, phase_step, stale = phase + 1, 0, 0
        model.load_state_dict(best_state)  # the next phase (and the result) starts from the best weights
        if phase < len(phases):
            opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=cfg.betas)
        res.wall_seconds = time.perf_counter() - start
        save_checkpoint()
    bar.close()
    return res


def save_run(out_dir, model, result: TrainResult, **info) -> dict:
    """Write model.pt, metrics.json (summary) and history.csv (one row per validation: loss, mean
    validation Dice and Dice at each validation phi) of a finished run; returns the summary."""
    out_dir = Path(out_dir)
    summary = {**info, "method": method_of(model), "config": model.config, "steps": result.steps,
               "best_step": result.best_step, "best_val_dice": result.best_val_dice,
               "train_seconds": result.train_seconds, "wall_seconds": result.wall_seconds,
               "seconds_per_step": result.seconds_per_step, "stopped_by": result.stopped_by,
               "parameters": sum(p.numel() for p in model.parameters())}
    save_model(model, out_dir / "model.pt")
    write_text(out_dir / "history.csv", pd.DataFrame(result.history).to_csv(index=False, float_format="%.6g"))
    write_json(out_dir / "metrics.json", summary)
    return summary
