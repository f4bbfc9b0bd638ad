"""An experiment's runs as jobs: side by side inside a stage (`core.pool`), or on a cluster engine
(submitit, with SLURM or its local executor: `make launch`).

Every run is independent and idempotent (a finished checkpoint returns its result at once), so
its training can happen anywhere that sees the workspace: a stage first trains its pending runs
in the worker pool, then reads every run back in order and writes the experiment's table; on a
cluster, `dvc repro` on the head node reads back what the jobs trained. For the cluster we
schedule nothing ourselves: the pending runs are cut into `n_jobs` shares, each share is one
submitit job that trains its runs one after another, and the engine runs the jobs.
"""
from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import checkpoint as ckpt
from .pool import train_side_by_side, workers
from .project import project_root


def finished(model, task, cfg, seed: int, run_dir) -> bool:
    """Whether `run_dir` holds a finished checkpoint of exactly this run (the key `train` uses).

    It repeats `train`'s key and phase count rather than sharing a helper with it: train.py is part
    of every run's key, so changing it would retrain every run."""
    path = Path(run_dir) / "checkpoint.pt"
    if not path.exists():
        return False
    ck = ckpt.load(path, ckpt.run_key(model, task, cfg, seed))
    n_phases = 1 + (cfg.finetune_steps > 0 and len(task.phases) > 1)
    return ck is not None and ck["phase"] >= n_phases


@dataclass(frozen=True)
class Job:
    """One run to train: `label` names it; `fn(*args, progress=...)` trains it (a module-level
    function that loads its own data: a job is sent to another process by name, not by value)."""
    label: str
    fn: Callable
    args: tuple


def pending_jobs(runs, experiment: str, root, planned=None) -> list[Job]:
    """The runs of `experiment` with training left, as jobs labelled paper/experiment/run. `runs` is
    a paper's run-plan module (hyperscale.<paper>.runs): jobs(experiment, root) -> [(run, args)],
    pending(*args, root), train_named(experiment, name, root, progress)."""
    paper = runs.__name__.split(".")[-2]
    planned = runs.jobs(experiment, root) if planned is None else planned
    return [Job(f"{paper}/{experiment}/{run.name}", runs.train_named, (experiment, run.name, str(root)))
            for run, args in planned if runs.pending(*args, root)]


def train_planned(out: Path, planned: list, train_one: Callable, runs=None, experiment: str | None = None,
                  root=None) -> list:
    """`train_one(*args)` for every (run, args) of `planned` (training a run or reading it back),
    after removing the folders under `out` of runs no longer planned, so that an experiment's
    folder holds exactly its runs. Returns what each call returned (one row per run).

    Given the paper's run-plan module `runs` and JOBS > 1, the runs with training left first train
    in the worker pool, `JOBS` at a time; `train_one` then reads them back. Their bytes are the
    same either way (one thread per run, its own seed)."""
    for stale in (d for d in Path(out).glob("*") if d.is_dir() and d.name not in {r.name for r, _ in planned}):
        shutil.rmtree(stale)
    n = workers()
    if runs is not None and n > 1:
        root = Path(root or project_root())
        todo = pending_jobs(runs, experiment, root, planned)
        if len(todo) > 1:  # a single run trains here, in the stage's own process
            train_side_by_side(todo, n, root)
    return [train_one(*args) for _, args in planned]


def _train_share(share: list[Job]) -> list[str]:
    done = []
    for job in share:
        job.fn(*job.args)
        done.append(job.label)
    return done


def executor(kind: str, folder: Path, jobs: int, threads: int, timeout_min: int, gpus: int):
    """A submitit executor: `local` (subprocesses of this machine) or `slurm`."""
    import submitit

    if kind not in ("local", "slurm"):
        raise ValueError(f"executor must be local or slurm, not {kind!r}")
    ex = submitit.AutoExecutor(folder=folder, cluster=kind)
    ex.update_parameters(timeout_min=timeout_min, cpus_per_task=threads, gpus_per_node=gpus, nodes=1,
                         tasks_per_node=1, slurm_array_parallelism=jobs)
    if kind == "local" and jobs * threads > (os.cpu_count() or 1):
        # More threads than cores: OpenMP's spinning waits then cost up to 100x (seen here).
        # The policy changes only how idle threads wait, not what they compute.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return ex


def launch(jobs: list[Job], ex, n_jobs: int, log=print) -> list[str]:
    """Submit `jobs` as up to `n_jobs` submitit jobs and wait for them; the labels trained."""
    if not jobs:
        return []
    shares = [jobs[k::n_jobs] for k in range(min(n_jobs, len(jobs)))]
    start = time.perf_counter()
    submitted = ex.map_array(_train_share, shares)
    log(f"{len(jobs)} runs in {len(shares)} jobs ({', '.join(str(j.job_id) for j in submitted)}); logs in {ex.folder}")
    done = []
    for job in submitted:
        done += job.result()  # re-raises a job's error, naming its log
    log(f"done in {time.perf_counter() - start:.0f} s")
    return done
