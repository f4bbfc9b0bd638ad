"""Peak memory of one inference or one training step of a network, from its tensors.

torch's MemTracker (torch.distributed._tools; the allocator statistics exist on CUDA only, and the
profiler's per-op numbers do not add up to a peak) follows every tensor the network's operations
create or free, on any device, and reports the peak of their live bytes: parameters, inputs,
activations and temporaries (inference), and gradients and optimizer state too (training step).
Counted from the tensors, so the same on every run and device. With `shapes_only` the operations
run on fake tensors (torch's FakeTensorMode), which carry shapes and no data: the same bytes,
tracked without computing or allocating them, so a training step that would not fit this machine
is measured all the same.

A training step here is forward, `loss` (the mean square of the outputs, the same for every
network) and backward, then one Adam step: what the chapter "What a FLOP buys" times and what the
HyperConv and HyperSeg chapters measure their memory with (tests/test_cost.py: known answers).
"""
from __future__ import annotations

from contextlib import nullcontext
from typing import Callable

import torch
from torch import nn
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.distributed._tools.mem_tracker import MemTracker


def outputs(y) -> list[torch.Tensor]:
    """A network's output tensors (VDN returns two)."""
    return [t for t in (y if isinstance(y, (tuple, list)) else (y,)) if isinstance(t, torch.Tensor)]


def loss(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The training step's loss, the same for every network: the mean square of its outputs."""
    return sum(t.float().square().mean() for t in outputs(model(x)))


class PeakTracker(MemTracker):
    """MemTracker keeping only the peak of all live bytes, the one number read here. Its own update
    also keeps every module's peak, walking all tracked modules after each operation: 4-5x the
    time of a training step (HyperSeg-S, 9.4 s against 1.7 s), for numbers nobody reads. The
    peak is updated exactly as there; tests/test_cost.py checks the two agree."""

    def _update_peak_stats(self, peak_state) -> None:
        for dev, snap in self._curr_mem_snap.items():
            if self._peak_mem.get(dev, 0) < snap["Total"]:
                self._peak_mem[dev] = snap["Total"]
                self._peak_mem_snap[dev] = dict(snap)


def peak_bytes(make: Callable[[], tuple[nn.Module, torch.Tensor]], train: bool, shapes_only: bool = False,
               tracker: type[MemTracker] = PeakTracker) -> int:
    """Peak live bytes of the tensors of one inference (train=False) or one training step of the
    model and input `make()` returns, model and input included (torch's MemTracker); with
    `shapes_only`, on fake tensors (module docstring)."""
    model, x = make()
    with FakeTensorMode(allow_non_fake_inputs=True) if shapes_only else nullcontext():
        t = tracker()
        t.track_external(model, x)
        if train:
            opt = torch.optim.Adam(model.parameters(), lr=1e-6)
            t.track_external(opt)
        with t:
            if train:
                model.train()
                loss(model, x).backward()
                opt.step()
            else:
                model.eval()
                with torch.inference_mode():
                    model(x)
    return int(sum(s["Total"] for s in t.get_tracker_snapshot("peak").values()))
