"""Where a run trains: params.yaml's top-level `device`.

`cpu` (the smoke and cpu profiles), `cuda` or `cuda:N` (that GPU, or a clear error where there is
none), or `auto` (the first GPU when torch sees one, else the CPU: the paper profile). A run's
model and each minibatch go to the device; validation and test inputs follow the model
(`device_of`), and predictions come back to the CPU for the metrics, which are cheap.

The device is not part of a run's key, so a checkpoint resumes on any device: a cluster's GPU
jobs train the runs and `dvc repro` on a head node without a GPU reads them back. Outputs are
byte-identical on one CPU build (the cpu profile's promise); a GPU gives the same run to
rounding only, as its convolution kernels are not deterministic and a resumed run does not
restore the GPU's random state.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import torch

from .params import ParamsError, check_device, load


def resolve(name: str) -> torch.device:
    """The torch device params.yaml's `device: name` means on this machine."""
    if check_device(name) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        n = torch.cuda.device_count()
        index = int(name.partition(":")[2] or 0)
        if index >= n:
            raise ParamsError(f"params.yaml: device: {name} but torch sees {n} GPU(s) "
                              f"(torch {torch.__version__}, CUDA {torch.version.cuda}); "
                              f"set device: cpu or auto, or install a CUDA build of torch")
    return torch.device(name)


def from_params(root=None) -> torch.device:
    """The device of the project's params.yaml (under `root`), resolved; the CPU where it names none."""
    params = load(Path(root) / "params.yaml" if root else None)
    return resolve(params.get("device", "cpu"))


def device_of(model) -> torch.device:
    """Where `model`'s inputs must go: its parameters' (or buffers') device; the CPU for a plain
    function or a module with neither (a baseline that predicts the labels it was given)."""
    if not isinstance(model, torch.nn.Module):
        return torch.device("cpu")
    t = next(itertools.chain(model.parameters(), model.buffers()), None)
    return torch.device("cpu") if t is None else t.device
