"""`make gpu-probe`: the chapter's times and memory measured again on a GPU (issue 27).

    python -m hyperscale.cost.probe [--device cuda] [--out data/gpu/cost.csv] [--repeats 6] [--warmup 1]

Rebuilds every network from runs/eval/cost/specs.json (written by evaluate_cost, so the GPU
machine needs no datasets: carry runs/eval/cost to it), times inference at batch 1 and at the
training batch and a training step exactly as evaluate_cost does on the CPU (interleaved rounds,
one paper at a time, each call ending in a device synchronisation), and measures peak memory with
the same tracker, plus the CUDA allocator's own peak (what the card had to hold, its caching and
workspaces included). Writes one CSV with the device's name; the chapter reads it where it exists.
With `--device cpu` it runs anywhere (make test runs it at smoke sizes).
"""
from __future__ import annotations

import argparse
import importlib
import time
from pathlib import Path

import pandas as pd
import torch

from ..core.cli import run_stage
from ..core.data import DataMissingError
from ..core.device import resolve
from ..core.io import read_json, write_text
from ..core.project import project_root
from .measure import loss, peak_bytes, time_tables
from .networks import example, from_spec

PACKAGES = ("sshn", "hyperconv", "hyperseg", "shape_adaptor")  # each registers its models on import


def allocator_peak(net, device: torch.device, train: bool) -> int | None:
    """The CUDA allocator's peak bytes over one inference or training step (None off CUDA)."""
    if device.type != "cuda":
        return None
    model, x = net.build().to(device), example(net, net.batch if train else 1).to(device)
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    if train:
        loss(model.train(), x).backward()
    else:
        with torch.inference_mode():
            model.eval()(x)
    torch.cuda.synchronize(device)
    return int(torch.cuda.max_memory_allocated(device))


def probe(device: str, out, repeats: int, warmup: int, specs=None) -> pd.DataFrame:
    for p in PACKAGES:
        importlib.import_module(f"hyperscale.{p}")
    root = project_root()
    specs = Path(specs or root / "runs/eval/cost/specs.json")
    if not specs.exists():
        raise DataMissingError(f"{specs} is missing: run `dvc repro evaluate_cost` (or `make study`) first, "
                                f"and carry runs/eval/cost to the GPU machine")
    dev = resolve(device)
    nets = [from_spec(s, specs.parent) for s in read_json(specs)]
    start = time.perf_counter()
    latency, _ = time_tables(nets, repeats, warmup, dev)
    memory = pd.DataFrame([{"network": n.name,
                            "mem_infer_bytes": peak_bytes(lambda n=n: (n.build().to(dev), example(n, 1).to(dev)), False),
                            "mem_train_bytes": peak_bytes(lambda n=n: (n.build().to(dev), example(n, n.batch).to(dev)), True),
                            "allocator_infer_bytes": allocator_peak(n, dev, False),
                            "allocator_train_bytes": allocator_peak(n, dev, True)} for n in nets])
    table = latency.merge(memory, on="network").assign(minutes=(time.perf_counter() - start) / 60)
    write_text(Path(out), table.to_csv(index=False))
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out", default="data/gpu/cost.csv")
    ap.add_argument("--repeats", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--specs", default=None)
    a = ap.parse_args()
    run_stage(lambda: print(probe(a.device, a.out, a.repeats, a.warmup, a.specs)
                            .pivot_table(index="network", columns="kind", values="ms", sort=False).round(2)))


if __name__ == "__main__":  # run the importable module, so registries filled on import are the ones used
    from hyperscale.cost.probe import main

    main()
