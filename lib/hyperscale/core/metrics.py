"""Metrics, from torchmetrics with every convention set explicitly (tests pin each one against a
hand computation, so a changed library default cannot move our numbers silently).

Dice (SSHN §4.1): 2|y ∩ ŷ| / (|y| + |ŷ|) per image and foreground label; a label absent from
both maps has no Dice there (NaN, skipped in the mean) and a label predicted but absent, or
missed, scores 0 (the strict definition; MONAI's `ignore_empty` would skip it). An image's
score is the mean over its labels with a Dice, the set's the mean over images. The other
definition, `mean_dice(per_label, present)`, averages only the labels present in the ground
truth (a spurious label then costs nothing); `spurious_labels` counts what it forgives.
mIoU (HyperSeg): IoU per class from one confusion matrix accumulated over the whole set,
averaged over classes, `ignore_index` pixels left out. PSNR, SSIM and MS-SSIM (HyperConv):
images in [0, 1] (`data_range=1`), mean over images.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics.classification import MulticlassJaccardIndex
from torchmetrics.functional.image import (multiscale_structural_similarity_index_measure, peak_signal_noise_ratio,
                                           structural_similarity_index_measure)
from torchmetrics.functional.segmentation import dice_score


def dice_per_label(pred: Tensor, target: Tensor, num_classes: int) -> Tensor:
    """Dice of every foreground label in every image: (N, num_classes - 1), NaN where undefined.

    pred, target: integer label maps (N, H, W). torchmetrics divides in float32; we return float64
    so that means over many images and labels are taken in double precision.
    """
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} must have the same shape")
    return dice_score(pred.long(), target.long(), num_classes=num_classes, include_background=False, average="none",
                      input_format="index", aggregation_level="samplewise").double()


def present_labels(target: Tensor, num_classes: int) -> Tensor:
    """Which foreground labels each ground-truth map holds: (N, num_classes - 1) bool."""
    return torch.stack([(target == k).flatten(1).any(1) for k in range(1, num_classes)], dim=1)


def mean_dice(per_label: Tensor, present: Tensor | None = None) -> float:
    """Mean over images of the mean over the foreground labels with a Dice (the strict score); with
    `present` (from `present_labels`), of the labels present in the ground truth only."""
    if present is not None:
        per_label = per_label.masked_fill(~present, float("nan"))
    return per_label.nanmean(dim=1).mean().item()


def spurious_labels(per_label: Tensor, present: Tensor) -> Tensor:
    """Labels predicted but absent from the ground truth, per image (where the strict Dice is 0)."""
    return (~present & ~per_label.isnan()).sum(1)


def mean_iou(num_classes: int, ignore_index: int | None = None) -> MulticlassJaccardIndex:
    """A metric to `update(pred, target)` batch by batch; `compute()` gives mIoU over the
    accumulated confusion matrix (macro average over classes, background counted as a class)."""
    return MulticlassJaccardIndex(num_classes, average="macro", ignore_index=ignore_index, zero_division=0)


def psnr(pred: Tensor, target: Tensor) -> float:
    """PSNR in dB, per image, averaged over images (N, C, H, W in [0, 1])."""
    per_image = peak_signal_noise_ratio(pred, target, data_range=1.0, reduction="none", dim=(1, 2, 3))
    return per_image.mean().item()


def ssim(pred: Tensor, target: Tensor) -> float:
    """SSIM with an 11-pixel Gaussian window (sigma 1.5), mean over images."""
    return structural_similarity_index_measure(pred, target, data_range=1.0, kernel_size=11, sigma=1.5).item()


def ms_ssim(pred: Tensor, target: Tensor, scales: int = 5) -> float:
    """MS-SSIM over `scales` scales with the standard weights renormalised; 5 scales need images of
    at least ~160 px, so smaller patches use fewer (say which where it is reported)."""
    betas = torch.tensor((0.0448, 0.2856, 0.3001, 0.2363, 0.1333))[:scales]
    return multiscale_structural_similarity_index_measure(
        pred, target, data_range=1.0, kernel_size=11, sigma=1.5, betas=tuple((betas / betas.sum()).tolist())).item()
