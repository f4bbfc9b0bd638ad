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
from .core.jobs import Job, executor, launch
from .core.project import project_root
from .hyperconv import runs as hyperconv_runs
from .hyperseg import runs as hyperseg_runs
from .shape_adaptor import runs as shape_adaptor_runs
from .sshn import runs as sshn_runs

# Each paper's run plan: EXPERIMENTS, AFTER (experiments that start from another's results),
# jobs(experiment, root) -> [(run, train_run's arguments)], pending, train_named.
PAPERS = {"sshn": sshn_runs, "shape_adaptor": shape_adaptor_runs, "hyperconv": hyperconv_runs,
          "hyperseg": hyperseg_runs}


def pending_jobs(root: Path, papers=PAPERS, wave: int = 0) -> list[Job]:
    """The runs of every paper's experiments in `wave` (0: those that start from scratch,
    1: those that start from another experiment's results) that have training left."""
    out = []
    for paper, mod in papers.items():
        for experiment in mod.EXPERIMENTS:
            if (experiment in mod.AFTER) != bool(wave):
                continue
            for run, args in mod.jobs(experiment, root):
                if mod.pending(*args, root):
                    # A job gets names, not data: it loads its own (pickled arrays would be GBs)
                    out.append(Job(f"{paper}/{experiment}/{run.name}", mod.train_named,
                                   (experiment, run.name, str(root))))
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executor", choices=["local", "slurm"], default="local")
    parser.add_argument("--jobs", type=int, default=1, help="jobs at a time (each trains its share of the runs)")
    parser.add_argument("--timeout-min", type=int, default=24 * 60)
    parser.add_argument("--gpus", type=int, default=0, help="GPUs per job")
    parser.add_argument("--slurm", nargs="*", default=[], metavar="KEY=VALUE", help="e.g. partition=gpu")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, not {args.jobs}")
    root = Path(project_root())
    ex = executor(args.executor, root / ".launch", args.jobs, THREADS, args.timeout_min, args.gpus)
    if args.slurm:
        ex.update_parameters(**{f"slurm_{k}": v for k, v in (kv.split("=", 1) for kv in args.slurm)})
    trained = []
    for wave in (0, 1):  # the second wave's plans read the first wave's results
        jobs = pending_jobs(root, wave=wave)
        print(f"{len(jobs)} pending runs" + (" that start from finished ones" if wave else ""))
        trained += launch(jobs, ex, args.jobs)
    print(f"trained {len(trained)} runs; now `dvc repro` records them")


if __name__ == "__main__":
    run_stage(lambda: main(sys.argv[1:]))
