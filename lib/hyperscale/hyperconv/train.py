"""Training HyperConv's RAW-to-RGB networks (appendix Tables 3-4) as a task for the core loop.

Loss: MSE + (1 - MS-SSIM), the paper's double-descent loss (appendix Table 3); Adam with the
paper's selected lr and betas comes from params.yaml. Validation scores MS-SSIM on the
validation split (higher is better: early stopping and model selection use it); the test split
is scored once, after training (`image_metrics`).

Metrics from core.metrics: at our 64-px patches MS-SSIM uses the first three scales (64, 32
and 16 px) with the standard weights renormalised; the window is the standard Gaussian of
sigma 1.5 (11 px) at every scale.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import PositiveInt

from ..core.data import Dataset
from ..core.io import checksum_arrays
from ..core.metrics import ms_ssim, psnr, ssim
from ..core.params import Schema

_HERE = Path(__file__).parent
CODE = (*(_HERE / f for f in ("train.py", "layers.py", "unet.py")), _HERE.parent / "core" / "metrics.py")
SCALES = 3  # MS-SSIM scales at 64 px


class TaskConfig(Schema):
    """params.yaml hyperconv.<experiment>.task."""
    n_train: PositiveInt  # training pairs (the first of a seeded permutation of the split)
    eval_batch_size: PositiveInt = 64


@torch.no_grad()
def image_metrics(model, images: np.ndarray, targets: np.ndarray, batch_size: int = 64) -> dict[str, float]:
    """Mean PSNR (dB), MS-SSIM and SSIM of `model` over a split (per image, then averaged)."""
    model.eval()
    ps, ms, ss = [], [], []
    for i in range(0, len(images), batch_size):
        x, y = torch.from_numpy(images[i:i + batch_size]), torch.from_numpy(targets[i:i + batch_size])
        p = model(x).clamp(0, 1)
        ps.append(psnr(p, y)), ms.append(ms_ssim(p, y, SCALES)), ss.append(ssim(p, y))
    return {"psnr": float(torch.cat(ps).mean()), "ms_ssim": float(torch.cat(ms).mean()),
            "ssim": float(torch.cat(ss).mean())}


class Restoration:
    """Packed RAW -> RGB on data['train'] (its first `n_train` pairs of a permutation seeded 0),
    minibatches drawn with replacement by step; loss MSE + 1 - MS-SSIM; scored by validation MS-SSIM."""

    phases = ("mse_msssim",)
    score_name = "val_ms_ssim"
    code = CODE

    def __init__(self, data: Dataset, cfg: TaskConfig):
        train = data["train"]
        if cfg.n_train > len(train):
            raise ValueError(f"n_train={cfg.n_train} exceeds the {len(train)} training pairs of {data.name}; "
                             f"lower it or build more (params.yaml data.{data.name}.per_photo)")
        idx = np.sort(np.random.default_rng(0).permutation(len(train))[: cfg.n_train])
        self.x, self.y = torch.from_numpy(train.images[idx]), torch.from_numpy(train.labels[idx])
        self.val, self.cfg = data["val"], cfg

    def __len__(self) -> int:
        return len(self.x)

    def sample(self, gen: torch.Generator, batch_size: int, step: int):
        i = torch.randint(0, len(self.x), (batch_size,), generator=gen)
        return self.x[i], self.y[i]

    def score(self, model) -> dict[str, float]:
        return {f"val_{k}": v for k, v in image_metrics(model, self.val.images, self.val.labels,
                                                         self.cfg.eval_batch_size).items()}

    def checksum(self) -> str:
        return checksum_arrays({"x": self.x.numpy(), "y": self.y.numpy(), "val_x": self.val.images,
                                "val_y": self.val.labels})

    def loss(self, model, batch, phase: str) -> torch.Tensor:
        x, y = batch
        p = model(x)
        return F.mse_loss(p, y) + 1 - ms_ssim(p, y, SCALES).mean()

    def describe(self) -> dict:
        return {"task": "restoration", "loss": "mse + 1 - ms_ssim", "scales": SCALES, **self.cfg.model_dump()}
