"""What a network costs, measured (issue 27): time of inference and of a training step, and peak
memory of each.

Times: core.benchmark's interleaved rounds (every network of a paper takes its turn in each round,
after a warm-up, so a slow spell hits all alike; medians and their 95 % intervals), on the
threads torch has (the study's runs use one; the caller records it). A training step is what
core.train's step does to a network, with the loss fixed for all: forward, the mean square of the
outputs, backward and one Adam step (a task's own loss and sampling cost the same for every
network of a paper, so they cannot change a ranking within it).

Memory: torch's MemTracker (torch.distributed._tools; the allocator statistics exist on CUDA
only, and the profiler's per-op numbers do not add up to a peak) follows every tensor the
network's operations create or free, on any device, and reports the peak of their live bytes:
parameters, inputs, activations and temporaries (inference), and gradients and optimizer state
too (training step). Counted from the tensors, so the same on every run and device.
"""
from __future__ import annotations

from typing import Callable

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from ..core.benchmark import interleaved_rounds, median_interval
from .networks import Network, example, flops, n_params


def outputs(y) -> list[torch.Tensor]:
    """A network's output tensors (VDN returns two)."""
    return [t for t in (y if isinstance(y, (tuple, list)) else (y,)) if isinstance(t, torch.Tensor)]


def loss(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The training step's loss, the same for every network: the mean square of its outputs."""
    return sum(t.float().square().mean() for t in outputs(model(x)))


def train_step(model: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    """One training step of `model` on `x` (forward, mean-square loss, backward, Adam), as a call."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-6)  # a small step: the timed network stays the same

    def step():
        with torch.inference_mode(False), torch.enable_grad():  # timed inside interleaved_rounds' inference mode
            model.train()
            opt.zero_grad(set_to_none=True)
            loss(model, x).backward()
            opt.step()
    return step


def inference(model: nn.Module, x: torch.Tensor) -> Callable[[], object]:
    model.eval()
    return lambda: model(x)


def peak_bytes(make: Callable[[], tuple[nn.Module, torch.Tensor]], train: bool) -> int:
    """Peak live bytes of the tensors of one inference (train=False) or one training step of the
    model and input `make()` returns, model and input included (torch's MemTracker)."""
    from torch.distributed._tools.mem_tracker import MemTracker

    model, x = make()
    tracker = MemTracker()
    tracker.track_external(model, x)
    if train:
        opt = torch.optim.Adam(model.parameters(), lr=1e-6)
        tracker.track_external(opt)
    with tracker:
        if train:
            model.train()
            loss(model, x).backward()
            opt.step()
        else:
            model.eval()
            with torch.inference_mode():
                model(x)
    return int(sum(s["Total"] for s in tracker.get_tracker_snapshot("peak").values()))


KINDS = ("batch 1", "training batch", "training step")


def count_table(nets: list[Network]) -> pd.DataFrame:
    rows = []
    for n in tqdm(nets, desc="counting networks"):
        torch.manual_seed(0)
        rows.append({"paper": n.paper, "network": n.name, "params": n_params(n.build()), "flops": flops(n),
                     "paper_count": n.paper_count(), "paper_unit": n.paper_unit, "batch": n.batch,
                     "mem_infer_bytes": peak_bytes(lambda: (n.build(), example(n, 1)), train=False),
                     "mem_train_bytes": peak_bytes(lambda: (n.build(), example(n, n.batch)), train=True)})
    return pd.DataFrame(rows)


def time_tables(nets: list[Network], repeats: int, warmup: int, device: torch.device) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per network and kind: median ms and its interval; every round). One paper's networks take
    turns round by round (core.benchmark), each kind of call a turn of its own."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    summary, rounds = [], []
    for paper in tqdm(list(dict.fromkeys(n.paper for n in nets)), desc="timing papers"):
        calls = {}
        for n in (n for n in nets if n.paper == paper):
            torch.manual_seed(0)
            model, trained = n.build().to(device), n.build().to(device)
            x1, xb = example(n, 1).to(device), example(n, n.batch).to(device)
            for kind, call in zip(KINDS, (inference(model, x1), inference(model, xb), train_step(trained, xb))):
                calls[(n.name, kind)] = lambda c=call: (c(), sync())
        for (name, kind), ms in interleaved_rounds(calls, repeats, warmup).items():
            med, lo, hi = median_interval(ms)
            summary.append({"paper": paper, "network": name, "kind": kind, "ms": med, "ms_low": lo, "ms_high": hi})
            rounds += [{"paper": paper, "network": name, "kind": kind, "round": r, "ms": v} for r, v in enumerate(ms)]
    meta = {"device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
            "threads": torch.get_num_threads()}
    return pd.DataFrame(summary).assign(**meta), pd.DataFrame(rounds)
