"""Learned 2D registration, VoxelMorph style (SSHN §4.1 "Registration"; Balakrishnan et al. 2019).

A network f(x_m, x_f) predicts a displacement field phi (B, 2, H, W) in pixels, (dy, dx); a
spatial transformer warps the moving image, x_m o phi, by bilinear sampling at p + phi(p).
Loss: MSE(x_m o phi, x_f) + lambda_reg * L_reg(phi), where L_reg penalises the spatial
gradient of phi (the paper calls it total variation: `penalty="l1"`; VoxelMorph's diffusion
regulariser is `penalty="l2"`). Evaluation warps the moving image's label map (nearest
neighbour) and scores Dice against the fixed image's labels.

The registration network is f_phi itself (`UNet` / `SSHN` with in_channels = 2 and
num_classes = 2 output channels read as the field), so every method of the segmentation
chapter carries over unchanged; `tasks.Registration` trains them with the core loop.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..core.device import device_of
from ..core.metrics import dice_per_label

PENALTIES = ("l1", "l2")


def _grid(flow: Tensor) -> Tensor:
    """Sampling grid for grid_sample (align_corners=True): pixel p + flow(p) in [-1, 1] units, (x, y) order."""
    _, _, h, w = flow.shape
    axis = lambda n: torch.arange(n, dtype=flow.dtype, device=flow.device)  # noqa: E731
    ys, xs = torch.meshgrid(axis(h), axis(w), indexing="ij")
    y = (ys + flow[:, 0]) * (2 / max(h - 1, 1)) - 1
    x = (xs + flow[:, 1]) * (2 / max(w - 1, 1)) - 1
    return torch.stack((x, y), -1)


def spatial_transform(image: Tensor, flow: Tensor, mode: str = "bilinear") -> Tensor:
    """x o phi: `image` (B, C, H, W) sampled at p + flow(p); outside the image reads the border."""
    if flow.ndim != 4 or flow.shape[1] != 2 or flow.shape[-2:] != image.shape[-2:] or len(flow) != len(image):
        raise ValueError(f"flow must be (B, 2, H, W) matching the image {tuple(image.shape)}; got {tuple(flow.shape)}")
    return F.grid_sample(image, _grid(flow), mode=mode, padding_mode="border", align_corners=True)


def warp_labels(labels: Tensor, flow: Tensor) -> Tensor:
    """Label maps (B, H, W) warped by nearest-neighbour sampling (labels stay integers)."""
    moved = spatial_transform(labels[:, None].to(flow.dtype), flow, mode="nearest")
    return moved[:, 0].round().to(labels.dtype)


def gradient_loss(flow: Tensor, penalty: str = "l1") -> Tensor:
    """Mean |d phi| ("l1", total variation) or mean (d phi)^2 ("l2") over both axes' forward differences."""
    if penalty not in PENALTIES:
        raise ValueError(f"penalty must be one of {PENALTIES}; got {penalty!r}")
    dy, dx = flow[..., 1:, :] - flow[..., :-1, :], flow[..., :, 1:] - flow[..., :, :-1]
    f = torch.abs if penalty == "l1" else torch.square
    return (f(dy).mean() + f(dx).mean()) / 2


def registration_loss(moved: Tensor, fixed: Tensor, flow: Tensor, lam: float, penalty: str = "l1") -> Tensor:
    """L = MSE(x_m o phi, x_f) + lambda_reg L_reg(phi) (SSHN §4.1)."""
    return F.mse_loss(moved, fixed) + lam * gradient_loss(flow, penalty)


def register(net, moving: Tensor, fixed: Tensor, phi: float | None = None) -> tuple[Tensor, Tensor]:
    """(moved image, flow) for a registration network taking [moving, fixed] as its two channels."""
    x = torch.cat([moving, fixed], 1)
    flow = net(x, phi) if phi is not None else net(x)
    return spatial_transform(moving, flow), flow


def same_slice_pairs(n: int, copies: int) -> np.ndarray:
    """(moving, fixed) index pairs between different synthetic subjects of the same atlas2d slice.

    atlas2d stores each slice's `copies` samples consecutively, so sample j shows slice
    j // copies; every ordered pair of distinct copies of a slice is a registration pair.
    """
    if copies < 2 or n % copies:
        raise ValueError(f"need >= 2 copies per slice and n divisible by copies; got n={n}, copies={copies}")
    return np.array([(s + a, s + b) for s in range(0, n, copies) for a in range(copies) for b in range(copies)
                     if a != b])


@torch.no_grad()
def registration_dice(net, images: Tensor, labels: Tensor, pairs: np.ndarray, num_classes: int,
                      phi: float | None = None, batch_size: int = 32) -> Tensor:
    """Dice (n_pairs, K - 1) of each moving label map warped onto its fixed image's labels (the
    images go to the network's device, the flows come back to the CPU)."""
    scores, device = [], device_of(net)
    for i in range(0, len(pairs), batch_size):
        m, f = pairs[i:i + batch_size, 0], pairs[i:i + batch_size, 1]
        _, flow = register(net, images[m].to(device), images[f].to(device), phi)
        scores.append(dice_per_label(warp_labels(labels[m], flow.cpu()), labels[f], num_classes))
    return torch.cat(scores)
