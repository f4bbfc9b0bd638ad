"""Dice overlap (SSHN §4.1): Dice(y, y_hat) = 2|y ∩ y_hat| / (|y| + |y_hat|), foreground labels only."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def dice_per_label(pred: Tensor, target: Tensor, num_classes: int) -> Tensor:
    """Dice of every foreground label in every image: (N, num_classes - 1).

    pred, target: integer label maps (N, H, W). A label absent from both maps of an image
    has no defined Dice there and gets NaN; a label predicted but absent (or missed) gets 0.
    """
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} must have the same shape")
    p = F.one_hot(pred.long(), num_classes).flatten(1, -2)[..., 1:]  # (N, HW, K-1), background dropped
    t = F.one_hot(target.long(), num_classes).flatten(1, -2)[..., 1:]
    inter = (p & t).sum(1).double()
    total = (p.sum(1) + t.sum(1)).double()
    return torch.where(total > 0, 2 * inter / total.clamp(min=1), torch.full_like(total, float("nan")))


def mean_dice(per_label: Tensor) -> float:
    """Mean over images of the mean over the foreground labels present (the paper's score)."""
    return per_label.nanmean(dim=1).mean().item()
