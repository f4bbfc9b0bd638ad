import math

import torch

from hyperscale.losses import cross_entropy, soft_dice
from hyperscale.metrics import dice_per_label, mean_dice


def test_dice_on_hand_made_masks():
    target = torch.zeros(1, 4, 4, dtype=torch.long)
    pred = torch.zeros(1, 4, 4, dtype=torch.long)
    target[0, :2, :2] = 1  # 4 pixels of label 1
    pred[0, :2, :1] = 1  # 2 of them found, none extra: Dice = 2*2 / (4 + 2)
    target[0, 3, 3] = 2  # label 2 missed entirely: Dice 0
    pred[0, 0, 3] = 3  # label 3 predicted, absent from the target: Dice 0
    d = dice_per_label(pred, target, num_classes=5)  # label 4 absent from both: NaN
    assert d.shape == (1, 4)
    assert d[0, 0].item() == 2 * 2 / 6
    assert d[0, 1].item() == 0 and d[0, 2].item() == 0
    assert math.isnan(d[0, 3].item())
    assert mean_dice(d) == (2 * 2 / 6) / 3  # mean over the labels present, background excluded


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
