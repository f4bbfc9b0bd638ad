"""The study's processes die with the process that started them.

A stage is a chain: `dvc repro` -> the notebook runner -> its kernel -> training workers. DVC drops
its lock when it is killed, so a runner that outlived it would train the same runs as the rerun,
at the same time, into the same folders. Each link therefore asks Linux to signal it when its
parent dies (`prctl(PR_SET_PDEATHSIG)`); the kernel already polls its parent (ipykernel does).
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Have `sig` sent to this process when its parent exits; exit now if it already has.

    On systems without prctl (not Linux) this does nothing."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if parent == 1 or os.getppid() != parent:  # orphaned before (or while) asking
        os.kill(os.getpid(), sig)


def children(pid: int | None = None) -> list[int]:
    """The process ids whose parent is `pid` (default: this process)."""
    me, out = str(pid or os.getpid()), []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[1] == me:
                out.append(int(stat.parent.name))
        except (OSError, IndexError):
            continue
    return out


def kill_children() -> None:
    """SIGKILL this process's children (a stopped stage must not leave a busy kernel behind)."""
    for pid in children():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
