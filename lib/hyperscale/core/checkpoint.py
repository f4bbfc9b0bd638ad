"""Checkpoints of a training run: its key, saving, resuming, and its timing file.

A run's **key** hashes everything its numbers depend on: model config, training config,
seed, the task's settings and data checksum, and the code of the task and this loop (each
task lists its own files). A checkpoint is resumed only under the same key, so a changed
dataset, setting or library never resumes a stale run; a finished run's checkpoint returns its
result without training again.

Checkpoints hold no timings (the same run gives the same bytes): the run's wall times go to
`timing.json` beside it, which is carried on when a run resumes.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from .io import UnreadableFile, load_torch, read_json, save_torch, write_json

_CORE = Path(__file__).parent
LOOP_CODE = (_CORE / "train.py", _CORE / "checkpoint.py")


def code_hash(files) -> str:
    return hashlib.sha256(b"".join(Path(f).read_bytes() for f in files)).hexdigest()


def run_key(model, task, cfg, seed: int) -> str:
    """What a checkpoint must match to be resumed."""
    blob = json.dumps({"model": model.config, "method": getattr(model, "method", type(model).__name__),
                       "train": cfg.model_dump(), "seed": seed, "task": task.describe(), "data": task.checksum(),
                       "code": code_hash([*task.code, *LOOP_CODE])}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load(path, key: str) -> dict | None:
    """The checkpoint at `path` if the run `key` wrote it; None (saying why) if there is none,
    it belongs to another run, or it cannot be read (the run then starts from scratch)."""
    if path is None or not Path(path).exists():
        return None
    try:
        ck = load_torch(path)
    except UnreadableFile as e:
        print(f"ignoring checkpoint: {e}; training from scratch", file=sys.stderr)
        return None
    if ck.get("key") != key:
        print(f"ignoring {Path(path).parent.name}/{Path(path).name}: it belongs to another configuration, seed, "
              f"dataset or code version", file=sys.stderr)
        return None
    return ck


def save(path, state: dict) -> None:
    save_torch(state, path)


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
