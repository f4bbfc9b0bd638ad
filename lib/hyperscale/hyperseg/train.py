"""Training HyperSeg on a segmentation set as a task for the core loop (§4; the official configs).

Loss: pixel-wise cross-entropy, IGNORE (255) pixels left out; the official code uses a
bootstrapped cross-entropy (the hardest pixels only), which the paper does not mention. Adam
with lr and betas from params.yaml. Validation scores mIoU over the validation split's
accumulated confusion matrix (core.metrics.mean_iou; higher is better: early stopping and model
selection use it); the test split is scored once, after training (`segmentation_metrics`).
Minibatches go to the task's device; validation and test images go to the model's, and the
predictions come back to the CPU for the metrics (core.device).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..core.data import Dataset
from ..core.device import device_of
from ..core.io import checksum_arrays
from ..core.metrics import mean_iou
from ..core.params import Schema, upto

_HERE = Path(__file__).parent
CODE = tuple(_HERE / f for f in ("train.py", "model.py", "meta.py", "dpwconv.py", "context.py", "backbones.py"))
IGNORE = 255


class TaskConfig(Schema):
    """params.yaml hyperseg.<experiment>.task."""
    eval_batch_size: upto(1024) = 32


@torch.no_grad()
def segmentation_metrics(model, images: np.ndarray, labels: np.ndarray, num_classes: int,
                         batch_size: int = 32) -> dict[str, float]:
    """mIoU (%) from one confusion matrix over the split, and pixel accuracy (%), IGNORE left out."""
    model.eval()
    metric, correct, counted, device = mean_iou(num_classes, ignore_index=IGNORE), 0, 0, device_of(model)
    for i in range(0, len(images), batch_size):
        y = torch.from_numpy(labels[i:i + batch_size]).long()
        pred = model(torch.from_numpy(images[i:i + batch_size]).to(device)).argmax(1).cpu()
        metric.update(pred, y)
        keep = y != IGNORE
        correct, counted = correct + int((pred[keep] == y[keep]).sum()), counted + int(keep.sum())
    return {"miou": 100 * float(metric.compute()), "pixel_acc": 100 * correct / max(counted, 1)}


class Segmentation:
    """Images -> label maps on data['train'], minibatches drawn with replacement by step; scored by validation mIoU."""

    phases = ("ce",)
    score_name = "val_miou"
    code = CODE

    def __init__(self, data: Dataset, cfg: TaskConfig, device: torch.device | str = "cpu"):
        self.x, self.y = torch.from_numpy(data["train"].images), torch.from_numpy(data["train"].labels).long()
        self.val, self.cfg, self.num_classes, self.device = data["val"], cfg, data.num_classes, torch.device(device)

    def __len__(self) -> int:
        return len(self.x)

    def sample(self, gen: torch.Generator, batch_size: int, step: int):
        i = torch.randint(0, len(self.x), (batch_size,), generator=gen)
        return self.x[i].to(self.device), self.y[i].to(self.device)

    def loss(self, model, batch, phase: str) -> torch.Tensor:
        x, y = batch
        return F.cross_entropy(model(x), y, ignore_index=IGNORE)

    def score(self, model) -> dict[str, float]:
        m = segmentation_metrics(model, self.val.images, self.val.labels, self.num_classes, self.cfg.eval_batch_size)
        return {f"val_{k}": v for k, v in m.items()}

    def describe(self) -> dict:
        return {"task": "segmentation", "loss": "cross-entropy", "ignore_index": IGNORE, **self.cfg.model_dump()}

    def checksum(self) -> str:
        return checksum_arrays({"x": self.x.numpy(), "y": self.y.numpy(), "val_x": self.val.images,
                                "val_y": self.val.labels})
