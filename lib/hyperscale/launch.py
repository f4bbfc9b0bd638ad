"""Train a profile's pending runs as cluster jobs, then let `dvc repro` record them.

    python -m hyperscale.launch --executor slurm --jobs 64     # or: make launch EXECUTOR=slurm JOBS=64
    dvc repro                                                   # on the head node: reads every run back

Runs the training stages of params.yaml's profile would run, for every paper, through
submitit (core/jobs.py): SLURM on a cluster, its local executor here. Jobs write into this
workspace's runs/ (it must be on a filesystem the nodes share); a run already finished is not
submitted. SLURM options beyond the job count (partition, account, GPUs) come from
`--slurm KEY=VALUE`, passed to submitit as `slurm_KEY`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import THREADS
from .core.cli import run_stage
from .core.device import resolve
from .core.jobs import Job, executor, launch, pending_jobs
from .core.pool import workers
from .core.params import ParamsError, validate_all
from .core.params import load as load_params
from .core.project import project_root
from .hyperconv import runs as hyperconv_runs
from .hyperseg import runs as hyperseg_runs
from .shape_adaptor import runs as shape_adaptor_runs
from .sshn import runs as sshn_runs

# Each paper's run plan: EXPERIMENTS, AFTER (experiments that start from another's results),
# jobs(experiment, root) -> [(run, train_run's arguments)], pending, train_named.
PAPERS = {"sshn": sshn_runs, "shape_adaptor": shape_adaptor_runs, "hyperconv": hyperconv_runs,
          "hyperseg": hyperseg_runs}


def pending(root: Path, papers=PAPERS, wave: int = 0) -> list[Job]:
    """The runs of every paper's experiments in `wave` (0: those that start from scratch,
    1: those that start from another experiment's results) that have training left."""
    return [job for mod in papers.values() for experiment in mod.EXPERIMENTS
            if (experiment in mod.AFTER) == bool(wave) for job in pending_jobs(mod, experiment, root)]


def check_params(root: Path, executor_kind: str, gpus: int) -> None:
    """params.yaml checked before anything is submitted (a bad value once failed every job, after
    queueing): every section, and a device the jobs will have. Local jobs run here, so the device
    must exist here; cluster jobs run elsewhere, so only its name and a GPU request are checked."""
    params = load_params(root / "params.yaml")
    validate_all(params)
    device = params.get("device", "cpu")
    if executor_kind == "local":
        resolve(device)
    elif device.startswith("cuda") and gpus < 1:
        raise ParamsError(f"params.yaml: device: {device}, but the jobs ask for no GPU; add --gpus 1 "
                          f"(or set device: auto or cpu)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executor", choices=["local", "slurm"], default="local")
    parser.add_argument("--jobs", type=int, help="jobs at a time, each training its share of the runs "
                                                 "(default: JOBS, else one per core)")
    parser.add_argument("--timeout-min", type=int, default=24 * 60)
    parser.add_argument("--gpus", type=int, default=0, help="GPUs per job")
    parser.add_argument("--slurm", nargs="*", default=[], metavar="KEY=VALUE", help="e.g. partition=gpu")
    args = parser.parse_args(argv)
    args.jobs = workers(here=args.executor == "local") if args.jobs is None else args.jobs
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, not {args.jobs}")
    bad = [kv for kv in args.slurm if not kv.partition("=")[0] or "=" not in kv]
    if bad:
        parser.error(f"--slurm takes KEY=VALUE options (e.g. --slurm partition=gpu), not {' '.join(bad)}")
    root = Path(project_root())
    check_params(root, args.executor, args.gpus)
    ex = executor(args.executor, root / ".launch", args.jobs, THREADS, args.timeout_min, args.gpus)
    if args.slurm:
        ex.update_parameters(**{f"slurm_{k}": v for k, v in (kv.split("=", 1) for kv in args.slurm)})
    trained = []
    for wave in (0, 1):  # the second wave's plans read the first wave's results
        jobs = pending(root, wave=wave)
        print(f"{len(jobs)} pending runs" + (" that start from finished ones" if wave else ""))
        trained += launch(jobs, ex, args.jobs)
    print(f"trained {len(trained)} runs; now `dvc repro` records them")


if __name__ == "__main__":
    run_stage(lambda: main(sys.argv[1:]))
