"""Counting HyperSeg's parameters and FLOPs by code, on the meta device (no memory, no time).

Two conventions side by side (Tables 2-4 say they use pytorch-OpCounter, `thop`):
- `flops`: everything the forward pass computes, 2 FLOPs per multiply-accumulate: torch's
  FlopCounterMode (every convolution, matrix product and einsum, so the dynamic patch-wise
  convolutions too) plus bilinear interpolation at 4 multiply-accumulates per output value,
  which FlopCounterMode counts as 0. Unfolding patches is a copy, not arithmetic: 0.
- `thop_macs`: what thop.profile reports, multiply-accumulates of the nn.Module layers it has
  rules for (convolutions, BatchNorm, linear, ...). It does not see functional calls, so it
  misses the dynamic convolutions (their weights are generated, they are F.conv2d / einsum
  calls) and F.interpolate.
`dynamic_flops` is the part of `flops` inside the meta blocks' patch-wise convolutions,
`interp_flops` the part in bilinear interpolation, `mapper_params` and `mapper_flops` the
weight mappers' w_i (eqs. 6-7).
"""
from __future__ import annotations

import warnings
from typing import Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .meta import MetaBlock

with warnings.catch_warnings():  # thop compares torch versions with distutils, which warns
    warnings.simplefilter("ignore", DeprecationWarning)
    import thop


def _bilinear_flops(*args, out_shape=None, **kwargs) -> int:
    return 2 * 4 * int(torch.Size(out_shape).numel())  # 4 multiply-accumulates per output value


BILINEAR = {torch.ops.aten.upsample_bilinear2d: _bilinear_flops}


def count(build: Callable[[], nn.Module], size: tuple[int, int], in_chans: int = 3) -> dict:
    """Parameters, FLOPs (2 per MAC, all of the forward pass), the dynamic convolutions' and the
    interpolations' shares, and thop's MACs of one (in_chans, *size) image through `build()` in eval mode."""
    with torch.device("meta"):
        model = build().eval()
        x = torch.empty(1, in_chans, *size)
    with torch.no_grad(), FlopCounterMode(display=False, custom_mapping=BILINEAR) as fc:
        model(x)
    per_module = fc.get_flop_counts()  # keyed by module path, prefixed with the model's class name
    blocks = [name for name, m in model.named_modules() if isinstance(m, MetaBlock)]
    mapper = sum(int(sum(v.values())) for k, v in per_module.items() if k.endswith(".mapper"))
    in_blocks = sum(int(sum(per_module.get(f"{type(model).__name__}.{b}", {}).values())) for b in blocks)
    mapper_params = sum(p.numel() for name, m in model.named_modules() if name.endswith(".mapper")
                        for p in m.parameters())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        macs, _ = thop.profile(model, inputs=(x,), verbose=False)
    interp = sum(int(v) for op, v in per_module["Global"].items() if op in BILINEAR)
    return {"params": sum(p.numel() for p in model.parameters()), "flops": int(fc.get_total_flops()),
            "dynamic_flops": in_blocks - mapper, "interp_flops": interp, "thop_macs": int(macs),
            "mapper_params": mapper_params, "mapper_flops": mapper}
