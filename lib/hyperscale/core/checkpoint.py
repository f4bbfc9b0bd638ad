"""Checkpoints of a training run: its key, saving, resuming, extending, and its timing file.

A run's **key** hashes everything its numbers depend on: model config, training config,
seed, the task's settings and data checksum, and the code of the task and this loop (each
task lists its own files). A checkpoint is resumed only under the same key, so a changed
dataset, setting or library never resumes a stale run; a finished run's checkpoint returns its
result without training again. A checkpoint also keeps the state at the end of the first
phase, so a later run can **extend** a finished one to a larger `max_steps`.

Checkpoints hold no timings (the same run gives the same bytes): the run's wall times go to
`timing.json` beside it, which is carried on when a run resumes.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .io import UnreadableFile, load_torch, read_json, save_torch, write_json

_CORE = Path(__file__).parent
LOOP_CODE = (_CORE / "train.py", _CORE / "checkpoint.py")


def code_hash(files) -> str:
    return hashlib.sha256(b"".join(Path(f).read_bytes() for f in files)).hexdigest()


def run_key(model, task, cfg, seed: int, extends: str | None = None) -> str:
    """What a checkpoint must match to be resumed (and, for an extension, the run it extends)."""
    blob = json.dumps({"model": model.config, "method": getattr(model, "method", type(model).__name__),
                       "train": cfg.model_dump(), "seed": seed, "task": task.describe(), "data": task.checksum(),
                       "code": code_hash([*task.code, *LOOP_CODE]), "extends": extends}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load(path, key: str) -> dict | None:
    """The checkpoint at `path` if the run `key` wrote it; None (saying why) if there is none,
    it belongs to another run, or it cannot be read (the run then starts from scratch)."""
    if path is None or not Path(path).exists():
        return None
    try:
        ck = load_torch(path)
    except UnreadableFile as e:
        print(f"ignoring checkpoint: {e}; training from scratch")
        return None
    if ck.get("key") != key:
        print(f"ignoring {path}: it belongs to another configuration, seed, dataset or code version")
        return None
    return ck


def save(path, state: dict) -> None:
    save_torch(state, path)


def phase_end(path, model, task, cfg, seed: int) -> dict:
    """The state at the end of the first phase of the finished run whose checkpoint is `path`,
    checked to be this run but for max_steps, patience and finetune_steps."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"cannot extend {path}: no such checkpoint (train that run first)")
    end = load_torch(path).get("phase_end")
    if end is None:
        raise ValueError(f"cannot extend {path}: its run has not finished its first phase")
    src = type(cfg)(**end["train"])
    same = cfg.model_copy(update=dict(max_steps=src.max_steps, patience=src.patience, finetune_steps=src.finetune_steps))
    if run_key(model, task, same, seed) != end["key"]:
        raise ValueError(f"cannot extend {path}: it was trained with another model, data, seed, task, code or "
                         f"training setting (only max_steps, patience and finetune_steps may differ)")
    if cfg.max_steps < end["phase_step"]:
        raise ValueError(f"cannot extend {path} to max_steps={cfg.max_steps}: it already took {end['phase_step']}")
    return end


def timing_path(checkpoint) -> Path:
    return Path(checkpoint).with_name("timing.json")


def load_timing(checkpoint, key: str) -> dict:
    """Seconds already spent on run `key` (carried over when it resumes); zeros if unknown."""
    path = timing_path(checkpoint)
    t = read_json(path) if path.exists() else {}
    if t.get("key") != key:
        return {"train_seconds": 0.0, "wall_seconds": 0.0, "timed_steps": 0}
    return {k: t[k] for k in ("train_seconds", "wall_seconds", "timed_steps")}


def save_timing(checkpoint, key: str, timing: dict, env: dict) -> None:
    per_step = timing["train_seconds"] / timing["timed_steps"] if timing["timed_steps"] else None
    write_json(timing_path(checkpoint), {"key": key, **timing, "seconds_per_step": per_step, "env": env})
