"""Where things live in the project, and what machine and software produced a result."""
from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

from .errors import SettingsError

PACKAGES = ("torch", "numpy", "scipy", "nibabel", "scikit-image", "pandas", "matplotlib", "ptflops", "torchmetrics",
            "pydantic", "dvc", "papermill", "jupyter-book")
# Environment variables that change numbers (hyperscale/__init__.py) or speed.
RECORDED_ENV = ("MKL_CBWR", "ONEDNN_MAX_CPU_ISA", "OMP_NUM_THREADS", "LD_PRELOAD")


def project_root(start: str | os.PathLike | None = None) -> Path:
    """The nearest folder at or above `start` (default: cwd) holding dvc.yaml and params.yaml.

    Notebooks resolve their paths against it, so they run the same from papermill (cwd = the
    project) and from nbval (cwd = notebooks/).
    """
    here = Path(start or os.getcwd()).resolve()
    for d in (here, *here.parents):
        if (d / "dvc.yaml").exists() and (d / "params.yaml").exists():
            return d
    raise SettingsError(f"{here} is not inside the study (no folder with dvc.yaml and params.yaml at or above "
                        f"it); run the command from the project's folder")


def tcmalloc_loaded() -> bool:
    try:
        return "tcmalloc" in Path("/proc/self/maps").read_text()
    except OSError:
        return False


def environment_info() -> dict:
    """Software versions and machine facts recorded beside every timing."""
    import torch

    cpu = platform.processor()
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                   if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = {}
    for p in PACKAGES:
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = None
    return {"python": platform.python_version(), "packages": versions, "cpu": cpu, "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "tcmalloc": tcmalloc_loaded(),
            "cuda": torch.cuda.is_available(), "platform": platform.platform(),
            "env": {k: os.environ.get(k) for k in RECORDED_ENV}}
