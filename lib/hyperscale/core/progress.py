"""`dvc repro` with overall progress: `python -m hyperscale.core.progress [dvc repro arguments]`.

What `make study` runs. DVC's own output (each stage's bars included) passes through unchanged;
when a stage starts, one more line says which of the stages this run will run it is, the time
since the start, and an estimate of what is left from the stages' durations in the last run on
this machine (kept in .dvc/tmp/stage_times.json, which nothing else reads).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

STARTED = re.compile(rb"Running stage '([^']+)'")
TIMES = Path(".dvc/tmp/stage_times.json")


def _clock(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m // 60}:{m % 60:02d}:{s:02d}" if m >= 60 else f"{m}:{s:02d}"


def planned(args: list[str]) -> list[str]:
    """The stages `dvc repro args` would run (a dry run), or every stage where a dry run cannot
    tell (it stops at a dependency an earlier stage has yet to write, as in a first run)."""
    args = [a for a in args if a not in ("-q", "--quiet")]  # a quiet dry run names no stage
    dry = subprocess.run(["dvc", "repro", "--dry", *args], capture_output=True)
    if dry.returncode == 0:
        return [m.decode() for m in STARTED.findall(dry.stdout)]
    out = subprocess.run(["dvc", "stage", "list", "--name-only"], capture_output=True, text=True, check=True).stdout
    return out.split()


def status_line(name: str, started: list[str], stages: list[str], elapsed: float, last: dict) -> str:
    """'[k/n] stage: elapsed, about T left' (T from the last run's times of the stages not yet done)."""
    left = [s for s in stages if s not in started[:-1]] + ([name] if name not in stages else [])
    known = [last[s] for s in left if s in last]
    eta = f"about {_clock(sum(known))} left" if known else "no earlier run timed here"
    if known and len(known) < len(left):
        eta += f" (+ {len(left) - len(known)} stages never timed here)"
    return f"[{len(started)}/{max(len(stages), len(started))}] {name}: {_clock(elapsed)} elapsed, {eta}"


def main(args: list[str]) -> int:
    stages = planned(args)
    if not stages:
        return subprocess.run(["dvc", "repro", *args]).returncode
    last = json.loads(TIMES.read_text()) if TIMES.exists() else {}
    times, current, begun, start, started = dict(last), None, 0.0, time.perf_counter(), []
    proc = subprocess.Popen(["dvc", "repro", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    pending = b""
    while chunk := os.read(proc.stdout.fileno(), 65536):
        sys.stdout.buffer.write(chunk)
        pending = (pending + chunk)[-4096:]
        for name in (m.decode() for m in STARTED.findall(pending)):
            now = time.perf_counter()
            if current is not None:
                times[current] = now - begun
            current, begun = name, now
            started.append(name)
            sys.stdout.buffer.write(f"\n{status_line(name, started, stages, now - start, last)}\n".encode())
            pending = b""
        sys.stdout.flush()
    code = proc.wait()
    if current is not None and code == 0:
        times[current] = time.perf_counter() - begun
    TIMES.parent.mkdir(parents=True, exist_ok=True)
    TIMES.write_text(json.dumps(times, indent=1, sort_keys=True))
    print(f"{'done' if code == 0 else 'failed'} after {_clock(time.perf_counter() - start)}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
