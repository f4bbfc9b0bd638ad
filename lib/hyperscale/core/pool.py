"""Training runs side by side: a pool of worker processes with one thread each, `JOBS` of them.

Why runs and not threads: on 2 cores, two single-threaded runs side by side train 1.16-1.57x the
steps per hour of one run on two threads (1.33x on the Intel machine of 2026-12-06's measurement, commit 51250db; README, "What a
stage's training costs"), and a two-thread run collapses 3-20x as soon as any other process is
busy (OpenMP threads wait on each other at every op), where one-thread runs keep their share. One thread per run also keeps a run's bytes independent of the
machine's core count (`hyperscale.THREADS`).

Why a process pool (concurrent.futures) and not submitit's local executor (`core.jobs`, `make launch`):
inside a stage the runs' results are wanted back at once, failures as exceptions, progress as
it happens; submitit's local jobs communicate through pickles in a folder that it polls, which
fits a cluster, where the jobs outlive the command that submitted them. (multiprocessing.Pool
waits forever for a task whose worker was killed; concurrent.futures reports a broken pool.)

Every worker trains one run at a time, writes its output to a log (`.logs/<paper>/<experiment>/
<run>.log`) and reports its step to the parent, which draws one overall bar and prints one line
per finished run (both on stderr: progress, not part of a page). A run that fails stops the pool
and the stage with the run's name, its error and its log; runs already finished keep their
folders, runs cut short keep their checkpoints, and a rerun resumes them to the same bytes.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from .errors import InputError, SettingsError
from .processes import die_with_parent

LOGS = Path(".logs")


def cores() -> int:
    """CPU cores this process may use (its affinity mask, which a container or `taskset` narrows)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def workers(environ=os.environ, here: bool = True) -> int:
    """`JOBS` (environment; `make study JOBS=1`): runs trained at a time, default one per core.
    `here`: they train on this machine (not as cluster jobs), so more threads than cores is worth a warning."""
    raw = environ.get("JOBS", "").strip()
    if not raw:
        return cores()
    if not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"JOBS={raw!r}: expected a whole number of runs to train at a time, at least 1 "
                            f"(default: the {cores()} cores here; JOBS=1 trains one run at a time)")
    n = int(raw)
    from .. import THREADS

    if here and n * THREADS > cores():
        print(f"warning: JOBS={n} x HYPERSCALE_THREADS={THREADS} threads on {cores()} cores: runs will wait on "
              f"each other (allowed; fewer is faster)", file=sys.stderr)
    return n


class RunFailed(RuntimeError):
    """A run in the pool raised something other than an input error, or its worker died."""


class _Stopped(Exception):
    """Raised in a worker at its next step once the pool is stopping (another run failed)."""


# Shared with every worker: [job index + 1 (0: idle), step, total steps] per worker, and a stop flag.
_slots = _stop = _slot = None


def _start_worker(slots, stop, counter) -> None:
    global _slots, _stop, _slot
    # Forked from a notebook's kernel, sys.stdout and sys.stderr are the kernel's channels to the
    # notebook: write to the file descriptors instead (each job points them at its log).
    sys.stdout, sys.stderr = (open(fd, "w", buffering=1, closefd=False) for fd in (1, 2))
    die_with_parent(signal.SIGTERM)  # a killed stage leaves no worker training behind
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    with counter.get_lock():
        _slot, counter.value = counter.value, counter.value + 1
    _slots, _stop = slots, stop


def _report(index: int) -> Callable[[int, int], None]:
    def report(step: int, total: int) -> None:
        if _stop.value:
            raise _Stopped
        _slots[3 * _slot: 3 * _slot + 3] = [index + 1, step, total]
    return report


def _train(index: int, job, log: Path):
    """One job in a worker, its output to its log and its step to the shared slot: (row, error)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    saved = os.dup(1), os.dup(2)
    with open(log, "w") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            return job.fn(*job.args, progress=_report(index)), None
        except _Stopped:
            return None, None
        except InputError as e:  # its message says what to fix
            return None, e
        except BaseException as e:  # noqa: BLE001  (a worker reports, it does not die silently)
            traceback.print_exc()
            return None, RunFailed(f"{job.label} failed: {type(e).__name__}: {e} (traceback in {log})")
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            _slots[3 * _slot] = 0


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m // 60}:{m % 60:02d}:{s:02d}" if m >= 60 else f"{m}:{s:02d}"


def train_side_by_side(jobs: list, n_workers: int, root: Path) -> list[dict]:
    """Train `jobs` (core.jobs.Job, whose fn takes `progress=`) in `n_workers` one-thread processes.
    Returns their rows in the jobs' order; the first failure stops the others and is raised."""
    if not jobs:
        return []
    n_workers = min(n_workers, len(jobs))
    # Forked, as torch's DataLoader forks its workers: they start at once with the stage's imports
    # (a spawned worker spent 6-8 s here importing torch and torchmetrics before its first step).
    # The executor forks every worker at the first submit, from this thread, before any bar exists.
    ctx = mp.get_context("fork")
    slots, stop, counter = ctx.Array("q", 3 * n_workers, lock=False), ctx.Value("b", 0), ctx.Value("i", 0)
    logs = [root / LOGS / f"{job.label}.log" for job in jobs]
    rows, start = [None] * len(jobs), time.perf_counter()
    pool = ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_start_worker, initargs=(slots, stop, counter))
    futures = {pool.submit(_train, i, job, log): i for i, (job, log) in enumerate(zip(jobs, logs))}
    print(f"{len(jobs)} runs to train, {n_workers} at a time (one thread each; logs in {LOGS}/)", file=sys.stderr)
    bar = tqdm(total=len(jobs), unit="run", file=sys.stderr, dynamic_ncols=True, mininterval=1.0)
    try:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
            busy = [(int(slots[3 * k]) - 1, int(slots[3 * k + 1]), int(slots[3 * k + 2]))
                    for k in range(n_workers) if slots[3 * k]]
            bar.set_postfix_str("; ".join(f"{jobs[i].label.rsplit('/', 1)[-1]} {s}/{t}" for i, s, t in busy))
            for future in done:
                index = futures[future]
                try:
                    row, error = future.result()
                except BrokenProcessPool:
                    raise RunFailed(
                        f"a training worker died (killed, or by the out-of-memory killer: see `dmesg`) while "
                        f"training {', '.join(jobs[i].label for i, *_ in busy) or jobs[index].label}; rerun the "
                        f"stage: finished runs are kept and interrupted ones resume from their checkpoints") from None
                if error is not None:
                    raise error
                rows[index] = row
                bar.write(f"[{bar.n + 1}/{len(jobs)}] {jobs[index].label}: {row.get('steps', '?')} steps, "
                          f"{_clock(time.perf_counter() - start)} elapsed", file=sys.stderr)
                bar.update()
    finally:
        stop.value = 1  # on a failure or Ctrl-C: the other runs stop at their next step (checkpoints resume them)
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
    return rows
