"""Patch artefacts (HyperSeg §4, Fig. 5: "without any apparent artifacts, due to the partitioning
of images into patches"), measured instead of looked at.

Each patch of the stride-32 grid gets its own decoder weights, so an artefact would show as
predictions that change more between two neighbouring pixels on either side of a patch border
than between neighbours elsewhere. `border_profile` gives, for every pair of neighbouring columns
(and rows), the mean over images and pixels of sum_c |p_c(a) - p_c(b)|, the L1 change of the
predicted class probabilities; `border_ratio` is its mean over the pairs that straddle a border
over its mean over all the others. Natural images and the decoder's stride-32 features and
bilinear upsampling give a ratio of their own, so the chapter compares the network with DPWConv
against the same network without it.
"""
from __future__ import annotations

import numpy as np
import torch

from .dpwconv import patch_sizes


def border_pairs(n_pixels: int, n_patches: int) -> np.ndarray:
    """Indices i of the neighbouring pairs (i, i + 1) that straddle a patch border (dpw_conv's patches)."""
    return np.cumsum(patch_sizes(n_pixels, n_patches))[:-1] - 1


@torch.no_grad()
def border_profile(model, images: np.ndarray, batch_size: int = 50) -> dict[str, np.ndarray]:
    """{'x': mean change between columns i and i + 1 (W - 1 values), 'y': between rows (H - 1),
    'grid': the patch grid (N_h, N_w)} of `model`'s softmax over `images` (N, C, H, W)."""
    model.eval()
    x_sum, y_sum = 0.0, 0.0
    for i in range(0, len(images), batch_size):
        p = model(torch.from_numpy(images[i:i + batch_size])).double().softmax(1)
        x_sum = x_sum + (p[..., 1:] - p[..., :-1]).abs().sum(1).sum((0, 1))  # (W - 1,)
        y_sum = y_sum + (p[..., 1:, :] - p[..., :-1, :]).abs().sum(1).sum((0, 2))  # (H - 1,)
    n, _, h, w = images.shape
    grid = model.backbone.features(torch.from_numpy(images[:1]))[-1].shape[-2:]  # the context signal's grid
    return {"x": (x_sum / (n * h)).numpy(), "y": (y_sum / (n * w)).numpy(), "grid": tuple(grid)}


def border_ratio(profile: dict[str, np.ndarray]) -> float:
    """Mean change across patch borders over the mean change between all other neighbours, both axes pooled
    (each pair of columns holds H pixel pairs, each pair of rows W)."""
    h, w = len(profile["y"]) + 1, len(profile["x"]) + 1
    if profile["grid"] == (1, 1):
        raise ValueError(f"{h} x {w} images give a 1 x 1 patch grid: no borders to measure; use images of 64 px or more")
    on = np.zeros(w - 1, bool), np.zeros(h - 1, bool)
    on[0][border_pairs(w, profile["grid"][1])] = True
    on[1][border_pairs(h, profile["grid"][0])] = True
    x, y = profile["x"] * h, profile["y"] * w  # totals per pair of columns / rows
    across = (x[on[0]].sum() + y[on[1]].sum()) / (on[0].sum() * h + on[1].sum() * w)
    within = (x[~on[0]].sum() + y[~on[1]].sum()) / ((~on[0]).sum() * h + (~on[1]).sum() * w)
    return float(across / within)
