"""Choosing the rescaling factor after training (Hyper-UNet §3.1, eq. 3).

phi* = argmin_phi C(f_phi)  s.t.  Acc(f_phi, D') >= alpha: the cheapest phi whose accuracy on
held-out data D' reaches the minimum alpha. A trained hypernetwork gives every phi without
further training, so a grid search costs only evaluations; the chosen weights are then
materialised into a plain U-Net and the hypernetwork is dropped (§3.1, last sentence).
The cost C is the GMACs of one image (flops.py's convention) or the measured CPU latency.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..core.data import Split
from ..core.flops import count_macs
from ..core.metrics import mean_dice
from .hypernet import SSHN, materialize
from .tasks import dice_scores
from .unet import UNet

COSTS = ("gmacs", "latency_ms")


def select_phi(phis, accuracy, cost, alpha: float) -> float:
    """Eq. 3 on a grid: the phi of least cost with accuracy >= alpha (ties: the more accurate)."""
    phis, accuracy, cost = (np.asarray(v, float) for v in (phis, accuracy, cost))
    if not (len(phis) == len(accuracy) == len(cost)) or len(phis) == 0:
        raise ValueError(f"phis, accuracy and cost must be equally long and non-empty; got "
                         f"{len(phis)}, {len(accuracy)}, {len(cost)}")
    ok = np.flatnonzero(accuracy >= alpha)
    if len(ok) == 0:
        best = int(np.nanargmax(accuracy))
        raise ValueError(f"no phi reaches the minimum accuracy alpha={alpha:g}; the best is "
                         f"{accuracy[best]:.4g} at phi={phis[best]:g}. Lower alpha.")
    i = min(ok, key=lambda j: (cost[j], -accuracy[j]))
    return float(phis[i])


def latency_ms(net: UNet, image_shape: tuple[int, int, int], repeats: int = 7) -> float:
    """Median wall time in ms of one forward pass on one image (CPU, after one warm-up pass)."""
    x = torch.randn(1, *image_shape)
    with torch.no_grad():
        net(x)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            net(x)
            times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times))


@dataclass
class Selection:
    phi: float
    net: UNet  # the materialised f_phi*: no hypernetwork needed
    table: pd.DataFrame  # phi, dice (held-out), gmacs, latency_ms


def landscape(sshn: SSHN, held_out: Split, phis, num_classes: int, batch_size: int = 64) -> pd.DataFrame:
    """Held-out Dice and GMACs of f_phi for every phi of the grid."""
    shape = tuple(held_out.images.shape[1:])
    rows = []
    for phi in phis:
        net = materialize(sshn, phi)
        rows.append({"phi": float(phi), "dice": mean_dice(dice_scores(net, held_out, phi, num_classes, batch_size)),
                     "gmacs": count_macs(net, shape) / 1e9})
    return pd.DataFrame(rows)


def latencies(sshn: SSHN, phis, image_shape: tuple[int, int, int]) -> pd.DataFrame:
    """Measured CPU latency of f_phi for every phi of the grid (a timing: it differs run to run)."""
    return pd.DataFrame([{"phi": float(p), "latency_ms": latency_ms(materialize(sshn, p), image_shape)} for p in phis])


def select_model(sshn: SSHN, held_out: Split, num_classes: int, alpha: float, phis, cost: str = "gmacs",
                 table: pd.DataFrame | None = None) -> Selection:
    """phi* for `alpha` on `held_out` under `cost`, with its plain U-Net. Pass `table` (from
    `landscape`, joined with `latencies` for that cost) to reuse one evaluation of the grid for
    several alphas."""
    if cost not in COSTS:
        raise ValueError(f"cost must be one of {COSTS}; got {cost!r}")
    if table is None:
        table = landscape(sshn, held_out, phis, num_classes)
        if cost == "latency_ms":
            table = table.merge(latencies(sshn, phis, tuple(held_out.images.shape[1:])), on="phi")
    phi = select_phi(table.phi, table.dice, table[cost], alpha)
    return Selection(phi, materialize(sshn, phi), table)
