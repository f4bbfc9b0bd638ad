import math

import pytest
import torch

from hyperscale.core.losses import cross_entropy, soft_dice
from hyperscale.core.metrics import (dice_per_label, mean_dice, mean_iou, ms_ssim, present_labels, psnr,
                                     spurious_labels, ssim)


def test_dice_on_hand_made_masks():
    target = torch.zeros(1, 4, 4, dtype=torch.long)
    pred = torch.zeros(1, 4, 4, dtype=torch.long)
    target[0, :2, :2] = 1  # 4 pixels of label 1
    pred[0, :2, :1] = 1  # 2 of them found, none extra: Dice = 2*2 / (4 + 2)
    target[0, 3, 3] = 2  # label 2 missed entirely: Dice 0
    pred[0, 0, 3] = 3  # label 3 predicted, absent from the target: Dice 0
    d = dice_per_label(pred, target, num_classes=5)  # label 4 absent from both: NaN
    assert d.shape == (1, 4)
    assert d[0, 0].item() == pytest.approx(2 * 2 / 6, rel=1e-6)  # torchmetrics divides in float32
    assert d[0, 1].item() == 0 and d[0, 2].item() == 0
    assert math.isnan(d[0, 3].item())
    assert mean_dice(d) == pytest.approx((2 * 2 / 6) / 3, rel=1e-6)  # mean over the labels present, background excluded
    present = present_labels(target, 5)
    assert present.tolist() == [[True, True, False, False]]
    # only labels 1 and 2 are in the ground truth: the spurious label 3 is forgiven
    assert mean_dice(d, present) == pytest.approx((2 * 2 / 6) / 2, rel=1e-6)
    assert spurious_labels(d, present).tolist() == [1]


def test_perfect_prediction_scores_one_and_background_is_ignored():
    y = torch.randint(0, 4, (3, 8, 8))
    assert mean_dice(dice_per_label(y, y, 4)) == 1.0
    only_background_wrong = y.clone()
    only_background_wrong[y == 0] = 0
    assert mean_dice(dice_per_label(only_background_wrong, y, 4)) == 1.0


def test_soft_dice_loss_is_zero_for_confident_correct_logits():
    y = torch.randint(0, 3, (2, 6, 6))
    logits = 50 * torch.nn.functional.one_hot(y, 3).movedim(-1, 1).float()
    assert soft_dice(logits, y).item() < 1e-4
    assert cross_entropy(logits, y).item() < 1e-4
    assert soft_dice(-logits, y).item() > 0.9


def test_mean_iou_accumulates_one_confusion_matrix_and_ignores_pixels():
    metric = mean_iou(num_classes=3, ignore_index=255)
    target = torch.tensor([[[0, 0, 1, 1], [2, 2, 255, 255]]])
    pred = torch.tensor([[[0, 1, 1, 1], [2, 0, 0, 2]]])
    metric.update(pred[:, :1], target[:, :1])  # two batches: one matrix over both
    metric.update(pred[:, 1:], target[:, 1:])
    # class 0: TP 1, FP 1, FN 1 -> 1/3; class 1: TP 2, FP 1 -> 2/3; class 2: TP 1, FN 1 -> 1/2 (255 ignored)
    assert metric.compute().item() == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)


def test_psnr_and_ssim_known_answers():
    x = torch.full((2, 3, 48, 48), 0.5)
    y = x + 0.1
    assert psnr(y, x) == pytest.approx(10 * math.log10(1 / 0.01), rel=1e-5)  # MSE 0.01, data range 1
    assert ssim(x, x) == pytest.approx(1.0)
    # Uniform images: no variance, so SSIM is its luminance term (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1).
    c1 = 0.01 ** 2
    luminance = (2 * 0.5 * 0.6 + c1) / (0.25 + 0.36 + c1)
    assert ssim(y, x) == pytest.approx(luminance, rel=1e-5)
    # MS-SSIM over 3 scales: contrast-structure terms are 1, luminance enters with the last scale's weight.
    weights = [0.0448, 0.2856, 0.3001]
    assert ms_ssim(y, x, scales=3) == pytest.approx(luminance ** (weights[-1] / sum(weights)), rel=1e-4)
