"""Exact parameter and FLOP counts of HyperConv's networks, by code, at any input size (HyperConv §4, eqs. 1-2).

Convention: **FLOPs = 2 x multiply-accumulates**, the convention of eq. 1-2 ("one
multiply-accumulate as 2 FLOPs"); the chapter checks, by counting the appendix networks at
Table 1's 12.6 MPix, that the tables use it too. Counted: every convolution (grouped and
transposed included) and every matrix product, per image (batch 1), through torch's
`FlopCounterMode` on the meta device, so a 12.6 MPix input costs no memory or time. Not
counted: biases, activations, pooling, normalisation and bilinear upsampling (a few FLOPs per
pixel against thousands per conv). We do not use the project's ptflops counter
(`hyperscale.core.flops`) here because it runs the model on real tensors, which at the
papers' sizes needs tens of GB.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

HYPER_HEADS = (".mlp", ".bias", ".gain")  # the modules that predict filters, biases and gains from the pooled input


def count(build: Callable[[], nn.Module], input_shape: tuple) -> dict:
    """Parameters and FLOPs of one forward pass of `build()` on one input of shape (C, H, W)
    (or one per argument: a tuple of such shapes), with the FLOPs of the filter-predicting
    MLPs (and bias/gain heads) apart."""
    shapes = input_shape if isinstance(input_shape[0], tuple) else (input_shape,)
    with torch.device("meta"):
        model = build()
        xs = [torch.empty(1, *s) for s in shapes]
    with FlopCounterMode(display=False) as fc:
        model(*xs)
    per_module = fc.get_flop_counts()
    total = int(sum(per_module["Global"].values()))
    heads = sum(int(sum(v.values())) for k, v in per_module.items() if k.endswith(HYPER_HEADS))
    return {"params": sum(p.numel() for p in model.parameters()), "flops": total, "mlp_flops": heads}


def conv_counts(c_in: int, c_out: int, k: int, h: int, w: int) -> dict:
    """Eq. 2: a 'same' k x k convolution without bias on an h x w map."""
    return {"params": c_in * c_out * k * k, "flops": 2 * c_in * c_out * k * k * h * w}


def hyperconv_counts(c_in: int, c_hyper: int, c_out: int, k: int, n_hid: int, h: int, w: int) -> dict:
    """Eq. 1 for our HyperConv without bias or gain heads: the per-sample convolution plus an MLP
    c_hyper -> n_hid -> n_hid -> c_out c_in k^2 (with biases) and the constant filter."""
    p = c_out * c_in * k * k
    mlp_weights = c_hyper * n_hid + n_hid * n_hid + n_hid * p
    return {"params": p + mlp_weights + 2 * n_hid + p, "flops": 2 * p * h * w + 2 * mlp_weights, "mlp_flops": 2 * mlp_weights}


def n_hid_matching(build_of: Callable[[int], nn.Module], params: float, high: int = 1 << 14) -> int:
    """The MLP width n whose network `build_of(n)` has the parameter count nearest `params`
    (parameters grow monotonically with n; bisection over counts on the meta device)."""
    def n_params(n):
        with torch.device("meta"):
            return sum(p.numel() for p in build_of(n).parameters())
    lo, hi = 1, high
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if n_params(mid) < params else (lo, mid)
    return min((lo, hi), key=lambda n: abs(n_params(n) - params))
