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
images in [0, 1], one value per image (the caller averages). SSIM and MS-SSIM use a Gaussian
window of sigma 1.5, 11 px wide (3.5 sigma either side, as torchmetrics derives it from sigma),
K1 = 0.01, K2 = 0.03, reflect padding; MS-SSIM takes the first `scales` of the standard weights,
renormalised, and clips negative terms at 0 (torchmetrics' 'relu' normalisation). SSIM and
MS-SSIM are our own (`_ssim_terms`) because torchmetrics' 2-D 11 x 11 window costs about as
much as HyperConv's whole training step at 64 px, where a separable one costs half; tests pin
both to torchmetrics, values and gradients.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics.classification import MulticlassJaccardIndex
from torchmetrics.functional.image import peak_signal_noise_ratio
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


def psnr(pred: Tensor, target: Tensor) -> Tensor:
    """PSNR in dB of each image (N, C, H, W in [0, 1])."""
    return peak_signal_noise_ratio(pred, target, data_range=1.0, reduction="none", dim=(1, 2, 3))


SIGMA, K1, K2 = 1.5, 0.01, 0.03
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003, finest scale first


def _window(dtype) -> Tensor:
    r = int(3.5 * SIGMA + 0.5)
    g = torch.exp(-torch.arange(-r, r + 1, dtype=dtype) ** 2 / (2 * SIGMA ** 2))
    return g / g.sum()


def _ssim_terms(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Per image: SSIM averaged over every pixel, and the contrast-structure term averaged over
    the pixels whose window lies inside the image (torchmetrics' conventions for both)."""
    g = _window(x.dtype)
    r, n, c = len(g) // 2, x.shape[0], x.shape[1]
    if min(x.shape[-2:]) <= r:
        raise ValueError(f"SSIM's {len(g)}-px window needs images wider than {r} px; got {tuple(x.shape)}")
    xy = F.pad(torch.cat([x, y]), (r,) * 4, mode="reflect")
    px, py = xy[:n], xy[n:]
    s = torch.cat([px, py, px * px, py * py, px * py], 1)
    k = 5 * c
    s = F.conv2d(F.conv2d(s, g.view(1, 1, 1, -1).expand(k, 1, 1, -1), groups=k), g.view(1, 1, -1, 1).expand(k, 1, -1, 1),
                 groups=k)
    mx, my, sxx, syy, sxy = s.split(c, 1)
    mxx, myy, mxy = mx * mx, my * my, mx * my
    cs = (2 * (sxy - mxy) + K2 ** 2) / ((sxx - mxx).clamp_min(0) + (syy - myy).clamp_min(0) + K2 ** 2)
    sim = (2 * mxy + K1 ** 2) / (mxx + myy + K1 ** 2) * cs
    return sim.flatten(1).mean(1), cs[..., r:-r, r:-r].flatten(1).mean(1)


def ssim(pred: Tensor, target: Tensor) -> Tensor:
    """SSIM of each image (N, C, H, W in [0, 1])."""
    return _ssim_terms(pred, target)[0]


def ms_ssim(pred: Tensor, target: Tensor, scales: int = 5) -> Tensor:
    """MS-SSIM of each image over `scales` scales (each halves the sides); differentiable, so it
    is also a loss. Five scales need images of at least ~176 px; smaller patches use fewer
    (say which where it is reported)."""
    if not 1 <= scales <= len(MS_SSIM_WEIGHTS):
        raise ValueError(f"MS-SSIM has 1-{len(MS_SSIM_WEIGHTS)} scales; got {scales}")
    w = torch.tensor(MS_SSIM_WEIGHTS[:scales], dtype=pred.dtype)
    terms = []
    for i in range(scales):
        sim, cs = _ssim_terms(pred, target)
        terms.append((sim if i == scales - 1 else cs).clamp_min(0))
        pred, target = F.avg_pool2d(pred, 2), F.avg_pool2d(target, 2)
    return torch.stack(terms).pow((w / w.sum()).view(-1, 1)).prod(0)
