"""What HyperConv's claims about speed and memory rest on, measured in one process (§4.4, Tables 1-2).

- `grouped_conv_times` (§4.4): the per-sample convolution of a HyperConvolution (one grouped
  convolution over the batch, `per_sample_conv`) against a standard convolution of the same shape
  with shared filters, and against a loop of per-sample convolutions, taking turns call by call
  (core.benchmark.interleaved_ms). A benchmark that prints ratios, not a timed test: absolute
  times are this machine's.
- `network_times`: inference time of every Table 1 and Table 2 network on one input, interleaved
  the same way, in the machine's threads (the count is recorded).
- `peak_conv_memory`: the largest allocation one convolution makes during inference, from
  torch's profiler, as Tables 1-2's "Max. Conv. Mem." is said to be measured. Deterministic for
  a given shape, unlike the times.
- `activation_memory` (§4.2): the peak live bytes of one inference (the FLOP chapter's
  MemTracker, core.memory.peak_bytes) less the parameters': what grows with the image.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

from ..core.benchmark import interleaved_rounds, ratio_interval
from ..core.memory import peak_bytes
from .layers import per_sample_conv

CONV_OPS = ("aten::convolution", "aten::_convolution", "aten::conv2d", "aten::mkldnn_convolution",
            "aten::_slow_conv2d_forward", "aten::thnn_conv2d", "aten::conv_transpose2d")


def grouped_conv_times(batches, sizes, channels: int, repeats: int, warmup: int, seed: int = 0) -> pd.DataFrame:
    """ms per 3x3 'same' convolution: per-sample (grouped), standard (shared filters), per-sample loop
    (medians over the rounds); and each over the standard one: the median of the per-round ratios with
    its 95 % interval (core.benchmark.ratio_interval)."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0; got {repeats}, {warmup}")
    g = torch.Generator().manual_seed(seed)
    rows = []
    for n in batches:
        for s in sizes:
            x = torch.randn(n, channels, s + 2, s + 2, generator=g)  # padded once, as HyperConv pads before convolving
            w = torch.randn(n, channels, channels, 3, 3, generator=g)
            calls = {"grouped": lambda: per_sample_conv(x, w), "standard": lambda: F.conv2d(x, w[0]),
                     "loop": lambda: [F.conv2d(x[i:i + 1], w[i]) for i in range(n)]}
            t = interleaved_rounds(calls, repeats, warmup)
            ratios = {k: ratio_interval(t[k], t["standard"]) for k in ("grouped", "loop")}
            rows.append({"batch": n, "size": s, "channels": channels, **{f"ms_{k}": float(np.median(v)) for k, v in t.items()},
                         **{f"{k}_over_standard{end}": r[i] for k, r in ratios.items()
                            for i, end in enumerate(("", "_low", "_high"))},
                         "repeats": repeats, "threads": torch.get_num_threads()})
    return pd.DataFrame(rows)


def network_times(builds: dict[str, Callable[[], torch.nn.Module]], shapes: dict[str, tuple], repeats: int,
                  warmup: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Median ms of one inference of each network on one input of its shape (C, H, W), interleaved;
    and, apart, each network's ms in each round (the rounds pair the networks for a ratio's interval)."""
    torch.manual_seed(seed)
    nets = {k: b().eval() for k, b in builds.items()}
    xs = {k: torch.rand(1, *shapes[k]) for k in nets}
    t = interleaved_rounds({k: (lambda k=k: nets[k](xs[k])) for k in nets}, repeats, warmup)
    table = pd.DataFrame([{"network": k, "ms": float(np.median(v)), "input": "x".join(map(str, shapes[k])),
                           "repeats": repeats, "threads": torch.get_num_threads()} for k, v in t.items()])
    return table, pd.DataFrame([{"network": k, "round": r, "ms": float(x)} for k, v in t.items() for r, x in enumerate(v)])


def activation_memory(build: Callable[[], torch.nn.Module], shape: tuple, seed: int = 0) -> dict[str, int]:
    """One inference on an input of shape (C, H, W): the parameter count, and in bytes the peak of every live
    tensor, the parameters' share of it, and the rest (activations, temporaries and the input)."""
    def make():
        torch.manual_seed(seed)
        return build(), torch.rand(1, *shape)
    peak = peak_bytes(make, train=False)
    with torch.device("meta"):
        params = list(build().parameters())
    size = sum(p.numel() * p.element_size() for p in params)
    return {"params": sum(p.numel() for p in params), "peak_bytes": peak, "param_bytes": size,
            "activation_bytes": peak - size}


def peak_conv_memory(build: Callable[[], torch.nn.Module], shape: tuple, seed: int = 0) -> int:
    """Bytes: the largest memory one convolution op allocates (its own and its children's) in one
    inference on an input of shape (C, H, W)."""
    torch.manual_seed(seed)
    net, x = build().eval(), torch.rand(1, *shape)
    with torch.inference_mode(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        net(x)
    sizes = [e.cpu_memory_usage for e in prof.events() if e.name in CONV_OPS]
    if not sizes:
        raise RuntimeError("the profiler recorded no convolution; its op names may have changed (CONV_OPS)")
    return int(max(sizes))
