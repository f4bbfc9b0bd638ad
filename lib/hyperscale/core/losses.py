"""Segmentation losses (SSHN §4.1): cross-entropy with the background label (App. A), then
an optional fine-tuning phase with soft Dice (Milletari et al. 2016; Sudre et al. 2017)."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def cross_entropy(logits: Tensor, target: Tensor) -> Tensor:
    return F.cross_entropy(logits, target.long())


def soft_dice(logits: Tensor, target: Tensor, eps: float = 1e-5) -> Tensor:
    """1 - mean soft Dice over images and foreground labels, from softmax probabilities."""
    probs = logits.softmax(1)[:, 1:].flatten(2)  # (N, K-1, HW)
    onehot = F.one_hot(target.long(), logits.shape[1]).movedim(-1, 1)[:, 1:].flatten(2).to(probs.dtype)
    dice = (2 * (probs * onehot).sum(-1) + eps) / (probs.sum(-1) + onehot.sum(-1) + eps)
    return 1 - dice.mean()


LOSSES = {"ce": cross_entropy, "dice": soft_dice}
