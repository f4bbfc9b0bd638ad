"""`make gpu-probe`: the chapter's times and memory measured again on a GPU.

    python -m hyperscale.cost.probe [--device cuda] [--out data/gpu/cost.csv] [--repeats 6] [--warmup 1]
                                    [--sizes profile paper]

Rebuilds every network of both tables, at the cpu profile's sizes and at the papers' own, from
runs/eval/cost/specs.json (written by evaluate_cost, so the GPU machine needs no datasets: carry
runs/eval/cost to it), times inference at batch 1 and at the training batch and a training step
exactly as evaluate_cost does on the CPU (interleaved rounds, one paper and one table at a time,
each call ending in a device synchronisation), and measures peak memory with the same tracker,
plus the CUDA allocator's own peak (what the card had to hold, its caching and workspaces
included). At the papers' sizes a training step the card cannot hold (`fits`) is left out, its
network timed at batch 1 only. Writes one CSV with the device's name; the chapter reads it where
it exists. With `--device cpu` it runs anywhere (make test runs it at smoke sizes).
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
from ..core.memory import loss, peak_bytes
from ..core.project import project_root
from .measure import KINDS, time_tables
from .networks import SIZES, example, from_spec

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


def fits(net, tracked: dict, capacity: int | None) -> bool:
    """Whether `net`'s training step fits a card of `capacity` bytes (None: the CPU's, not checked):
    its tensors' peak as evaluate_cost tracked it (`tracked`, by network; unknown where the forward
    reads its weights as numbers) at most 80 % of it, the rest left to the allocator's caching and
    workspaces."""
    peak = tracked.get(net.name)
    return capacity is None or peak is None or pd.isna(peak) or peak <= 0.8 * capacity


def or_none(measure):
    """`measure()`, or None where the card runs out of memory."""
    try:
        return measure()
    except torch.cuda.OutOfMemoryError:
        torch.cuda.empty_cache()
        return None


def probe(device: str, out, repeats: int, warmup: int, specs=None, sizes=SIZES) -> pd.DataFrame:
    for p in PACKAGES:
        importlib.import_module(f"hyperscale.{p}")
    root = project_root()
    specs = Path(specs or root / "runs/eval/cost/specs.json")
    if not specs.exists():
        raise DataMissingError(f"{specs} is missing: run `dvc repro evaluate_cost` (or `make study`) first, "
                                f"and carry runs/eval/cost to the GPU machine")
    dev = resolve(device)
    nets = [from_spec(s, specs.parent) for s in read_json(specs)]
    paper = specs.parent / "networks_paper.csv"
    tracked = pd.read_csv(paper).set_index("network").mem_train_bytes.to_dict() if paper.exists() else {}
    capacity = torch.cuda.get_device_properties(dev).total_memory if dev.type == "cuda" else None
    start = time.perf_counter()
    tables = []
    for table_sizes in sizes:  # network names repeat across the two tables, not within one
        group = [n for n in nets if n.sizes == table_sizes]
        ok = [n for n in group if table_sizes == "profile" or fits(n, tracked, capacity)]
        latency = pd.concat([time_tables(g, repeats, warmup, dev, kinds)[0] for g, kinds in
                             ((ok, KINDS), ([n for n in group if n not in ok], ("batch 1",))) if g])
        memory = pd.DataFrame([{
            "network": n.name,
            "mem_infer_bytes": or_none(lambda: peak_bytes(lambda: (n.build().to(dev), example(n, 1).to(dev)), False)),
            "mem_train_bytes": or_none(lambda: peak_bytes(lambda: (n.build().to(dev), example(n, n.batch).to(dev)),
                                                          True)) if n in ok else None,
            "allocator_infer_bytes": or_none(lambda: allocator_peak(n, dev, False)),
            "allocator_train_bytes": or_none(lambda: allocator_peak(n, dev, True)) if n in ok else None}
            for n in group])
        tables.append(latency.merge(memory, on="network").assign(sizes=table_sizes))
    table = pd.concat(tables).assign(minutes=(time.perf_counter() - start) / 60)
    write_text(Path(out), table.to_csv(index=False))
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out", default="data/gpu/cost.csv")
    ap.add_argument("--repeats", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--specs", default=None)
    ap.add_argument("--sizes", nargs="+", choices=SIZES, default=list(SIZES),
                    help="which tables: the cpu profile's sizes, the papers' (default: both)")
    a = ap.parse_args()
    run_stage(lambda: print(probe(a.device, a.out, a.repeats, a.warmup, a.specs, a.sizes)
                            .pivot_table(index=["sizes", "network"], columns="kind", values="ms", sort=False).round(2)))


if __name__ == "__main__":  # run the importable module, so registries filled on import are the ones used
    from hyperscale.cost.probe import main

    main()
