"""The training loop every paper shares.

A **task** owns what differs between papers: how a minibatch and its condition are drawn
(phi from a prior for SSHN, per-image filters for HyperConv, nothing for a classifier), the
loss of each phase, the validation score and its name, the parameter groups and the code
its numbers depend on (see `Task`). The **config** owns the rest: batch size, the step caps of
the phases, how often to validate, early stopping, and one optimizer (with its schedule and
step interval) per parameter group.

Every step: the task draws a minibatch from the run's generator, one backward pass, then
each optimizer whose interval has come steps. Every `eval_every` steps and at a phase's cap
the task scores the model; a loss that is not finite stops the run (`DivergedError`). A phase stops at its cap, or on a plateau: `patience_steps`
steps in which no validation beat the score that last reset the count by more than
`min_delta` (patience counts steps, not validations, so changing `eval_every` does not change
when a run may stop). With `restore_best` the next phase (and the result) starts from the best
weights (the highest validation score), otherwise the last weights are kept. Checkpoints (`core.checkpoint`) make an
interrupted run resume to the same numbers.

**When a run counts as converged** (written 2026-12-06, before any run it judges; the doubling
check's tolerance changed 2026-12-07, after the cold build of b799960: it was two seed standard
deviations of the gap, which a move of four times the claimed effect passed). A run converged if its
first phase ended by its own rule, not by a cap: on a plateau (above), or, with no early stopping
(`patience_steps: null`) and every optimizer on the cosine schedule, at the end of that schedule,
its learning rate decayed to 0 over the budget `max_steps` (stop cause "schedule"). A comparison of
schedule-trained runs is decided only if more training would not change it: the budget-doubling
check (`core.claims.doubling_check`) trains seeds of every method in the comparison again with twice
the budget (the schedule stretched over it) and asks whether the comparison's gap moved by less than
half the claim's effect δ, with an interval; otherwise its claims are `inconclusive`. This departs
from the papers' "until validation stops improving": a plateau criterion fired on validation noise
here (HyperSeg's U-Nets stopped after 400-1000 steps) and never fired in SSHN's runs within 8000
steps.
"""
from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Protocol

import pandas as pd
import torch
from pydantic import Field, NonNegativeInt, PositiveInt
from tqdm import tqdm

from . import checkpoint as ckpt
from .errors import DivergedError
from .io import write_json, write_text
from .models import save_model
from .params import ParamsError, Schema, upto
from .project import environment_info

class OptimizerConfig(Schema):
    name: Literal["adam", "sgd"] = "adam"
    lr: float = Field(1e-3, gt=0, allow_inf_nan=False)
    betas: Annotated[list[Annotated[float, Field(ge=0, lt=1)]], Field(min_length=2, max_length=2)] = [0.9, 0.999]  # adam
    momentum: float = Field(0.0, ge=0, lt=1)  # sgd
    weight_decay: float = Field(0.0, ge=0, allow_inf_nan=False)
    schedule: Literal["constant", "cosine"] = "constant"  # cosine: lr x 0.5 (1 + cos(pi t / T)), T the phase's cap
    every: int = Field(1, ge=1)  # step every `every` training steps (Shape Adaptor's alpha_s)


GROUPS = ("weights", "alpha")  # the tasks' parameter groups: every weight; Shape Adaptor's alpha beside them


class TrainConfig(Schema):
    batch_size: upto(1024)
    max_steps: PositiveInt  # cap of the first phase
    eval_every: PositiveInt  # steps between validations
    patience_steps: PositiveInt | None = None  # steps without a validation gain > min_delta before a phase stops (None: never)
    min_delta: float = Field(0.0, ge=0, allow_inf_nan=False)  # the gain in score that counts as progress
    finetune_steps: NonNegativeInt = 0  # cap of the task's second phase, if it has one (0: none)
    checkpoint_every: PositiveInt = 200
    restore_best: bool = True  # continue from (and return) the best validation weights
    optimizers: dict[Literal[GROUPS], OptimizerConfig] = {"weights": OptimizerConfig()}


class Task(Protocol):
    phases: tuple[str, ...]  # loss of each phase: the first trains, an optional second fine-tunes
    score_name: str  # the validation score that early stopping and model selection use
    code: tuple[Path, ...]  # library files its numbers depend on (part of the run key)

    def __len__(self) -> int: ...  # training examples
    def sample(self, gen: torch.Generator, batch_size: int, step: int) -> Any: ...  # minibatch + condition
    def loss(self, model, batch, phase: str) -> torch.Tensor: ...
    def score(self, model) -> dict[str, float]: ...  # holds score_name, plus anything worth logging
    def describe(self) -> dict: ...  # the task's settings, for the run key
    def checksum(self) -> str: ...  # of the data it trains and validates on
    # Optional: param_groups(model) -> {group: params} (default {"weights": all}),
    # after_step(model, step, stepped_groups), state_dict() / load_state_dict(state).


@dataclass
class TrainResult:
    score_name: str = "score"
    steps: int = 0  # optimizer steps taken
    best_score: float = -math.inf
    best_step: int = 0
    last_score: float = math.nan  # at the last validation
    stopped_by: list[str] = field(default_factory=list)  # per phase: "plateau", "schedule" or "max_steps"
    history: list[dict] = field(default_factory=list)  # one row per validation
    # Measured, never part of a checkpoint or a result file: see checkpoint.save_timing.
    timing: dict = field(default_factory=lambda: {"train_seconds": 0.0, "wall_seconds": 0.0, "timed_steps": 0})


def _optimizers(model, task, cfg: TrainConfig, cap: int):
    groups = task.param_groups(model) if hasattr(task, "param_groups") else {"weights": list(model.parameters())}
    unknown = set(groups) - set(cfg.optimizers)
    if unknown:
        raise ParamsError(f"the task trains parameter groups {sorted(groups)}; train.optimizers configures "
                          f"{sorted(cfg.optimizers)}: add {sorted(unknown)} to params.yaml")
    opts, scheds = {}, {}
    for name, params in groups.items():
        if not params:  # e.g. a network without shape adaptors has no alpha
            continue
        o = cfg.optimizers[name]
        if o.name == "adam":  # fused: one kernel for every parameter (27 % off an SSHN step here)
            opts[name] = torch.optim.Adam(params, lr=o.lr, betas=tuple(o.betas), weight_decay=o.weight_decay,
                                          fused=True)
        else:
            opts[name] = torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
        if o.schedule == "cosine":
            scheds[name] = torch.optim.lr_scheduler.LambdaLR(
                opts[name], lambda step, total=cap: 0.5 * (1 + math.cos(math.pi * step / total)))
    return opts, scheds


def train(model: torch.nn.Module, task: Task, cfg: TrainConfig, seed: int, run_dir: str | Path | None = None,
          progress: bool | Callable[[int, int], None] = True, desc: str | None = None) -> TrainResult:
    """Train `model` in place on `task`; returns the record (history, best step, why each phase stopped).

    Seed the model's initial weights before building it (torch.manual_seed(seed)); `seed` here
    drives the task's sampling. With `run_dir`, checkpoints go to run_dir/checkpoint.pt and
    timings to run_dir/timing.json. `progress`: a bar, none, or a function given (step, total
    steps) after every step (how a worker of `core.pool` reports).
    """
    if len(task) < cfg.batch_size:
        raise ValueError(f"train.batch_size={cfg.batch_size} exceeds the {len(task)} training examples")
    phases = task.phases[:1] + (task.phases[1:2] if cfg.finetune_steps > 0 else ())
    caps = [cfg.max_steps, cfg.finetune_steps]
    gen = torch.Generator().manual_seed(seed)
    opts, scheds = _optimizers(model, task, cfg, caps[0])
    key = ckpt.run_key(model, task, cfg, seed)
    res, phase, phase_step, loss_sum, loss_n = TrainResult(task.score_name), 0, 0, 0.0, 0
    ref, improved_at = -math.inf, 0  # the score that last reset the patience count, and the phase step it came at
    best_state = copy.deepcopy(model.state_dict())

    path = Path(run_dir) / "checkpoint.pt" if run_dir else None
    ck = ckpt.load(path, key)
    if ck is not None:
        model.load_state_dict(ck["model"])
        if 0 < ck["phase"] < len(phases):  # stopped in a later phase: that phase's optimizers and schedules
            opts, scheds = _optimizers(model, task, cfg, caps[ck["phase"]])
        for name, o in opts.items():
            o.load_state_dict(ck["opts"][name])
        for name, s in scheds.items():
            s.load_state_dict(ck["scheds"][name])
        gen.set_state(ck["gen"])
        torch.set_rng_state(ck["torch_rng"])
        if hasattr(task, "load_state_dict"):
            task.load_state_dict(ck["task"])
        best_state, res = ck["best_state"], TrainResult(**ck["result"])
        phase, phase_step, ref, improved_at, loss_sum, loss_n = (
            ck[k] for k in ("phase", "phase_step", "ref", "improved_at", "loss_sum", "loss_n"))
        # stderr: progress, not part of the record (a resumed run's page equals an uninterrupted one's)
        print(f"{desc or 'run'}: resumed at step {res.steps}", file=sys.stderr)
        res.timing = ckpt.load_timing(path, key)
    env = environment_info()

    def state() -> dict:
        return {"key": key, "train": cfg.model_dump(), "model": model.state_dict(),
                "opts": {k: o.state_dict() for k, o in opts.items()},
                "scheds": {k: s.state_dict() for k, s in scheds.items()}, "gen": gen.get_state(),
                "torch_rng": torch.get_rng_state(), "task": task.state_dict() if hasattr(task, "state_dict") else None,
                "best_state": best_state, "result": {k: v for k, v in asdict(res).items() if k != "timing"},
                "phase": phase, "phase_step": phase_step, "ref": ref, "improved_at": improved_at,
                "loss_sum": loss_sum, "loss_n": loss_n}

    def save_checkpoint():
        if path:
            res.timing["wall_seconds"] = time.perf_counter() - start
            ckpt.save(path, state())
            ckpt.save_timing(path, key, res.timing, env)

    start, steps_before = time.perf_counter() - res.timing["wall_seconds"], res.steps
    total = sum(caps[:len(phases)])
    report = progress if callable(progress) else None
    bar = tqdm(total=total, initial=res.steps, desc=desc or type(model).__name__,
               disable=not progress or report is not None, mininterval=1.0)
    patience = cfg.patience_steps or math.inf
    while phase < len(phases):
        while phase_step < caps[phase] and phase_step - improved_at < patience:
            model.train()
            t0 = time.perf_counter()
            batch = task.sample(gen, cfg.batch_size, res.steps)
            loss = task.loss(model, batch, phases[phase])
            value = loss.item()
            if not math.isfinite(value):  # stop here: later steps and validations would only hide it
                lrs = ", ".join(f"{k} {o.param_groups[0]['lr']:g}" for k, o in opts.items())
                raise DivergedError(f"{desc or type(model).__name__} diverged: its training loss is {value} at step "
                                    f"{res.steps + 1} (learning rate: {lrs}); lower the learning rate in "
                                    f"params.yaml. No result was written")
            for o in opts.values():
                o.zero_grad(set_to_none=True)
            loss.backward()
            res.steps += 1
            phase_step += 1
            stepped = [k for k, o in opts.items() if res.steps % cfg.optimizers[k].every == 0]
            for k in stepped:
                opts[k].step()
                if k in scheds:
                    scheds[k].step()
            res.timing["train_seconds"] += time.perf_counter() - t0
            res.timing["timed_steps"] += 1
            if hasattr(task, "after_step"):
                task.after_step(model, res.steps, stepped)
            loss_sum, loss_n = loss_sum + value, loss_n + 1
            bar.update()
            if report:
                report(res.steps, total)
            if phase_step % cfg.eval_every == 0 or phase_step == caps[phase]:
                model.eval()
                with torch.no_grad():
                    scores = task.score(model)
                score = scores[task.score_name]  # what early stopping and model selection use
                if score > res.best_score:
                    res.best_score, res.best_step = score, res.steps
                    if cfg.restore_best:
                        best_state = copy.deepcopy(model.state_dict())
                if score > ref + cfg.min_delta:
                    ref, improved_at = score, phase_step
                res.last_score = score
                res.history.append({"step": res.steps, "phase": phases[phase], "loss": loss_sum / loss_n, **scores})
                loss_sum, loss_n = 0.0, 0
                bar.set_postfix({"loss": f"{res.history[-1]['loss']:.3f}", task.score_name: f"{score:.3f}",
                                 "best": f"{res.best_score:.3f}"})
            if res.steps % cfg.checkpoint_every == 0:
                save_checkpoint()
        res.stopped_by.append("plateau" if phase_step - improved_at >= patience else
                              "schedule" if on_schedule(cfg) else "max_steps")
        phase, phase_step, ref, improved_at = phase + 1, 0, -math.inf, 0
        if cfg.restore_best:
            model.load_state_dict(best_state)  # the next phase (and the result) starts from the best weights
        if phase < len(phases):
            opts, scheds = _optimizers(model, task, cfg, caps[phase])
        save_checkpoint()
    bar.close()
    if path and (res.steps > steps_before or not ckpt.timing_path(path).exists()):
        res.timing["wall_seconds"] = time.perf_counter() - start
        ckpt.save_timing(path, key, res.timing, env)
    return res


def on_schedule(cfg: TrainConfig) -> bool:
    """Whether the config trains a fixed schedule: no early stopping, every learning rate cosine-decayed to 0."""
    return cfg.patience_steps is None and all(o.schedule == "cosine" for o in cfg.optimizers.values())


def converged(stopped_by: list[str]) -> bool:
    """Whether a run's first phase ended by its own rule (a plateau or the end of its schedule), not by its cap."""
    return stopped_by[:1] in (["plateau"], ["schedule"])


def save_run(run_dir, model, result: TrainResult, **info) -> dict:
    """Write model.pt, metrics.json (the result; no timings) and history.csv (one row per
    validation: mean training loss since the last one and every score) of a finished run."""
    run_dir = Path(run_dir)
    summary = {**info, "method": model.method, "config": model.config, "steps": result.steps,
               "best_step": result.best_step, "score_name": result.score_name, "best_score": result.best_score,
               "last_score": result.last_score, "stopped_by": result.stopped_by,
               "converged": converged(result.stopped_by),
               "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad)}
    save_model(model, run_dir / "model.pt")
    write_text(run_dir / "history.csv", pd.DataFrame(result.history).to_csv(index=False, float_format="%.6g"))
    write_json(run_dir / "metrics.json", summary)
    return summary
