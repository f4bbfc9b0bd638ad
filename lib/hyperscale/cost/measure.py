"""What a network costs, measured: time of inference and of a training step, and peak
memory of each.

Times: core.benchmark's interleaved rounds (every network of a paper takes its turn in each round,
after a warm-up, so a slow spell hits all alike; medians and their 95 % intervals), on the
threads torch has (the study's runs use one; the caller records it). A training step is what
core.train's step does to a network, with the loss fixed for all: forward, the mean square of the
outputs, backward and one Adam step (a task's own loss and sampling cost the same for every
network of a paper, so they cannot change a ranking within it).

Memory: core.memory's peak of the tensors' live bytes (torch's MemTracker), at the papers' sizes
(`shapes_only`) on fake tensors. A network whose forward reads its weights as numbers (Shape
Adaptor's resizing factors) cannot run on fake tensors; `shapes_only` then runs its inference for
real and gives None for its training step (`count_row`).
"""
from __future__ import annotations

from contextlib import nullcontext
from typing import Callable

import pandas as pd
import torch
from torch import nn
from torch._subclasses.fake_tensor import DataDependentOutputException
from tqdm.auto import tqdm

from ..core.benchmark import interleaved_rounds, median_interval
from ..core.memory import loss, peak_bytes
from .networks import Network, example, flops, n_params


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


KINDS = ("batch 1", "training batch", "training step")


def count_row(n: Network, shapes_only: bool = False) -> dict:
    """One network's parameters, FLOPs (common and its paper's), and peak memory of a batch-1
    inference and of a training step at its batch. `shapes_only` (the papers' sizes): tracked on
    fake tensors and counted on the meta device, where the forward allows; where it does not
    (module docstring), the inference runs for real and the training step's memory is None."""
    torch.manual_seed(0)
    mem = lambda b, train, fake: peak_bytes(lambda: (n.build(), example(n, b)), train, fake)  # noqa: E731
    fake = shapes_only
    try:
        infer = mem(1, False, fake)
    except DataDependentOutputException:
        infer, fake = mem(1, False, False), False
    with torch.device("meta") if fake else nullcontext():  # a count reads shapes alone
        fl = flops(n)  # (the papers' own counters build on the meta device themselves, but Shape Adaptor's)
    return {"paper": n.paper, "network": n.name, "input": "×".join(map(str, n.shape)), "params": n_params(n.build()),
            "flops": fl, "paper_count": n.paper_count(), "paper_unit": n.paper_unit, "batch": n.batch,
            "mem_infer_bytes": infer, "mem_train_bytes": mem(n.batch, True, fake) if fake or not shapes_only else None}


def count_table(nets: list[Network]) -> pd.DataFrame:
    return pd.DataFrame([count_row(n) for n in tqdm(nets, desc="counting networks")])


def time_tables(nets: list[Network], repeats: int, warmup: int, device: torch.device,
                kinds: tuple[str, ...] = KINDS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per network and kind: median ms and its interval; every round). One paper's networks take
    turns round by round (core.benchmark), each kind of call (of `kinds`) a turn of its own."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    summary, rounds = [], []
    for paper in tqdm(list(dict.fromkeys(n.paper for n in nets)), desc="timing papers"):
        calls = {}
        for n in (n for n in nets if n.paper == paper):
            torch.manual_seed(0)
            model = n.build().to(device)
            trained = n.build().to(device) if "training step" in kinds else None
            x1 = example(n, 1).to(device)
            xb = example(n, n.batch).to(device) if set(kinds) - {"batch 1"} else None
            make = {"batch 1": lambda: inference(model, x1), "training batch": lambda: inference(model, xb),
                    "training step": lambda: train_step(trained, xb)}
            for kind in kinds:
                calls[(n.name, kind)] = lambda c=make[kind](): (c(), sync())
        for (name, kind), ms in interleaved_rounds(calls, repeats, warmup).items():
            med, lo, hi = median_interval(ms)
            summary.append({"paper": paper, "network": name, "kind": kind, "ms": med, "ms_low": lo, "ms_high": hi})
            rounds += [{"paper": paper, "network": name, "kind": kind, "round": r, "ms": v} for r, v in enumerate(ms)]
    meta = {"device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
            "threads": torch.get_num_threads()}
    return pd.DataFrame(summary).assign(**meta), pd.DataFrame(rounds)
