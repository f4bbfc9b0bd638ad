"""What HyperSeg's speed and memory claims rest on, measured in one process (§3.2-3.3, §4; Tables 3-4's FPS).

- `dpw_vs_static`: each decoder level's dynamic patch-wise convolutions (the 1x1 pw1 and, where
  the block has one, the 3x3 depth-wise dw) against static convolutions of the same shapes and
  FLOPs, batch 1, at the sizes a template's decoder sees for a given input. Ratios, not a timed
  test.
- `fps`: images per second of whole networks, two ways side by side. Ours: batch 1, from the
  input tensor to the predicted label map (argmax included), after warm-up, median over the
  repeats, BatchNorm folded into the preceding convolutions and into the weight mappers (the
  same function, computed faster). The official script's: batch 16, BatchNorm replaced by the
  identity (a different function), batches per second, as its FPS column reports.
Calls take turns round by round (`interleaved_ms`), so a slow spell hits all alike; the thread
count is recorded. Times are this machine's and change from run to run.
- `weight_memory` (§3.2: the weights are "generated right before they are consumed, minimizing
  the maximum memory consumption"): the peak live bytes of one inference (torch's
  MemTracker, core.memory), as the network runs and with every weight map its mappers generate kept alive to
  the end, which is the memory of generating them all up front. Counted from tensors, so
  deterministic.
"""
from __future__ import annotations

import copy
from typing import Callable

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

import numpy as np

from ..core.benchmark import interleaved_ms, interleaved_rounds
from ..core.memory import peak_bytes
from .backbones import BasicBlock
from .dpwconv import dpw_conv
from .model import HyperSeg


def decoder_shapes(model: HyperSeg, size: tuple[int, int]) -> list[dict]:
    """Per decoder level: the map (C_in, H, W) its meta block convolves, the patch grid and its layers."""
    grid = (-(-size[0] // 32), -(-size[1] // 32))
    out = []
    for lvl, block in enumerate(model.blocks):
        stride = 32 // 2 ** lvl
        out.append({"level": lvl, "stride": stride, "h": -(-size[0] // stride), "w": -(-size[1] // stride),
                    "grid": grid, "shapes": dict(block.shapes)})
    return out


def dpw_vs_static(model: HyperSeg, size: tuple[int, int], repeats: int, warmup: int, seed: int = 0) -> pd.DataFrame:
    """Median ms of each level's pw1 and dw as dynamic patch-wise and as static convolutions, batch 1."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for s in decoder_shapes(model, size):
        c_mid, c_in, _ = s["shapes"]["pw1"]
        layers = {"pw1": (c_mid, c_in, 1, 1)}
        if "dw" in s["shapes"]:
            layers["dw (3x3 depth-wise)"] = (c_mid, 1, 3, c_mid)
        for name, (o, i, k, groups) in layers.items():
            x = torch.randn(1, i * groups, s["h"], s["w"], generator=g)
            w_dyn = torch.randn(1, o, i, k, k, *s["grid"], generator=g)
            w = w_dyn[0, ..., 0, 0].contiguous()
            ms = interleaved_ms({"dynamic": lambda: dpw_conv(x, w_dyn, groups=groups),
                                 "static": lambda: F.conv2d(x, w, padding=k // 2, groups=groups)}, repeats, warmup)
            rows.append({"level": s["level"], "stride": s["stride"], "layer": name, "map": f"{i * groups}x{s['h']}x{s['w']}",
                         "grid": "x".join(map(str, s["grid"])), "ms_dynamic": ms["dynamic"], "ms_static": ms["static"],
                         "dynamic_over_static": ms["dynamic"] / ms["static"], "threads": torch.get_num_threads()})
    return pd.DataFrame(rows)


def fold_batchnorm(model: HyperSeg) -> HyperSeg:
    """A copy computing the same function with every BatchNorm folded: into the convolution before
    it (Sequential pairs, ResNet's blocks) and into the meta blocks' weight mappers."""
    model = copy.deepcopy(model).eval()
    model.fold_batchnorm()
    for m in model.modules():
        if isinstance(m, nn.Sequential):
            for i in range(len(m) - 1):
                if isinstance(m[i], nn.Conv2d) and isinstance(m[i + 1], nn.BatchNorm2d):
                    m[i], m[i + 1] = fuse_conv_bn_eval(m[i], m[i + 1]), nn.Identity()
        elif isinstance(m, BasicBlock):
            m.conv1, m.bn1 = fuse_conv_bn_eval(m.conv1, m.bn1), nn.Identity()
            m.conv2, m.bn2 = fuse_conv_bn_eval(m.conv2, m.bn2), nn.Identity()
    return model


def remove_batchnorm(model: HyperSeg) -> HyperSeg:
    """A copy with every BatchNorm replaced by the identity, as the official FPS script does."""
    model = copy.deepcopy(model).eval()
    for m in model.modules():
        for name, child in m.named_children():
            if isinstance(child, nn.BatchNorm2d):
                setattr(m, name, nn.Identity())
        if isinstance(getattr(m, "bn", None), nn.ModuleDict):
            m.folded_bias = {k: torch.zeros(o) for k, (o, _, _) in m.shapes.items()}
            m.bn = nn.ModuleDict()
    return model


def fps(builds: dict[str, Callable[[], HyperSeg]], size: tuple[int, int], repeats: int, warmup: int,
        official_batch: int = 16, official_repeats: int = 3, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Images/s of each network at batch 1 (ours) and batches/s at `official_batch` (the official
    script's), both interleaved across the networks; and, apart, our batch-1 milliseconds of each
    network in each round (the rounds pair the networks: a claim's ratio reads them with an interval)."""
    torch.manual_seed(seed)
    nets = {k: b().eval() for k, b in builds.items()}
    ours, theirs = {k: fold_batchnorm(n) for k, n in nets.items()}, {k: remove_batchnorm(n) for k, n in nets.items()}
    x1, x16 = torch.rand(1, 3, *size), torch.rand(official_batch, 3, *size)
    rounds = interleaved_rounds({k: (lambda k=k: ours[k](x1).argmax(1)) for k in nets}, repeats, warmup)
    ms16 = interleaved_ms({k: (lambda k=k: theirs[k](x16)) for k in nets}, official_repeats, min(warmup, 1))
    table = pd.DataFrame([{"network": k, "input": f"{size[0]}x{size[1]}", "fps_batch1_folded": 1000 / np.median(rounds[k]),
                           "batches_per_s_official": 1000 / ms16[k], "official_batch": official_batch,
                           "repeats": repeats, "official_repeats": official_repeats, "threads": torch.get_num_threads()}
                          for k in nets])
    return table, pd.DataFrame([{"network": k, "round": r, "ms_batch1_folded": float(t)}
                                for k, v in rounds.items() for r, t in enumerate(v)])


def weight_memory(build: Callable[[], HyperSeg], size: tuple[int, int], seed: int = 0) -> dict[str, int]:
    """Bytes of one inference (batch 1, eval mode) at `size`: the peak as the network runs, the peak with
    every weight mapper's output kept until the end, and those outputs' total."""
    kept: list[torch.Tensor] = []

    def make(keep: bool):
        torch.manual_seed(seed)
        net = build()
        if keep:
            for name, m in net.named_modules():
                if name.endswith(".mapper"):
                    m.register_forward_hook(lambda mod, args, out: kept.append(out))
        return net, torch.rand(1, 3, *size)
    as_run = peak_bytes(lambda: make(False), train=False)
    all_kept = peak_bytes(lambda: make(True), train=False)
    if not kept:
        raise RuntimeError("no module named *.mapper ran: the weight mappers' names changed (meta.py)")
    return {"peak_bytes": as_run, "peak_bytes_all_kept": all_kept,
            "weight_map_bytes": sum(t.numel() * t.element_size() for t in kept)}
