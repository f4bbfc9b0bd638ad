"""Training HyperConv's RAW-to-RGB networks (appendix Tables 3-4) as a task for the core loop.

Loss: MSE + (1 - MS-SSIM), the paper's double-descent loss (appendix Table 3); Adam with the
paper's selected lr and betas comes from params.yaml. Validation scores MS-SSIM on the
validation split (higher is better: early stopping and model selection use it); the test split
is scored once, after training (`image_metrics`).

Metrics from core.metrics (torchmetrics): at our 64-px patches MS-SSIM uses the first three
scales (64, 32 and 16 px) with the standard weights renormalised; SSIM and MS-SSIM use the
standard Gaussian window of sigma 1.5, 11 px wide. The loss's MS-SSIM is `ms_ssim_loss`, the same
formula with the window applied as two 1-D passes: torchmetrics' 11 x 11 window cost as much as
the whole network's training step at 64 px, this one half that (tests pin it to torchmetrics,
values and gradients). Minibatches go to the task's device; validation and test images go to
the model's, and the predictions come back to the CPU for the metrics (core.device).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..core.data import Dataset
from ..core.device import device_of
from ..core.io import checksum_arrays
from ..core.metrics import ms_ssim, psnr, ssim
from ..core.params import Schema, upto

_HERE = Path(__file__).parent
CODE = tuple(_HERE / f for f in ("train.py", "layers.py", "unet.py"))
SCALES = 3  # MS-SSIM scales at 64 px
SIGMA, K1, K2 = 1.5, 0.01, 0.03  # torchmetrics' (and Wang et al.'s) SSIM constants
WEIGHTS = (0.0448, 0.2856, 0.3001)  # the standard MS-SSIM weights of our scales, renormalised below


class TaskConfig(Schema):
    """params.yaml hyperconv.<experiment>.task."""
    n_train: upto(100_000)  # training pairs (the first of a seeded permutation of the split)
    eval_batch_size: upto(1024) = 64


def _window(dtype, device) -> torch.Tensor:
    r = int(3.5 * SIGMA + 0.5)  # torchmetrics' window radius for a Gaussian of SIGMA: 5 (11 px)
    g = torch.exp(-torch.arange(-r, r + 1, dtype=dtype, device=device) ** 2 / (2 * SIGMA ** 2))
    return g / g.sum()


def _ssim_terms(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: SSIM over every pixel, and the contrast-structure term over the pixels whose
    window lies inside the image (torchmetrics' conventions, reflect padding)."""
    g = _window(x.dtype, x.device)
    r, n, c = len(g) // 2, x.shape[0], x.shape[1]
    xy = F.pad(torch.cat([x, y]), (r,) * 4, mode="reflect")
    px, py = xy[:n], xy[n:]
    k = 5 * c
    s = torch.cat([px, py, px * px, py * py, px * py], 1)
    s = F.conv2d(F.conv2d(s, g.view(1, 1, 1, -1).expand(k, 1, 1, -1), groups=k), g.view(1, 1, -1, 1).expand(k, 1, -1, 1),
                 groups=k)
    mx, my, sxx, syy, sxy = s.split(c, 1)
    mxx, myy, mxy = mx * mx, my * my, mx * my
    cs = (2 * (sxy - mxy) + K2 ** 2) / ((sxx - mxx).clamp_min(0) + (syy - myy).clamp_min(0) + K2 ** 2)
    sim = (2 * mxy + K1 ** 2) / (mxx + myy + K1 ** 2) * cs
    return sim.flatten(1).mean(1), cs[..., r:-r, r:-r].flatten(1).mean(1)


def ms_ssim_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - MS-SSIM over SCALES scales, mean over images: core.metrics.ms_ssim's value (torchmetrics,
    negative terms clipped at 0), differentiable and with a separable window."""
    w = torch.tensor(WEIGHTS, dtype=pred.dtype, device=pred.device)
    terms = []
    for i in range(SCALES):
        sim, cs = _ssim_terms(pred, target)
        terms.append((sim if i == SCALES - 1 else cs).clamp_min(0))
        pred, target = F.avg_pool2d(pred, 2), F.avg_pool2d(target, 2)
    return 1 - torch.stack(terms).pow((w / w.sum()).view(-1, 1)).prod(0).mean()


@torch.no_grad()
def image_metrics(model, images: np.ndarray, targets: np.ndarray, batch_size: int = 64) -> dict[str, float]:
    """Mean PSNR (dB), MS-SSIM and SSIM of `model` over a split (means over images)."""
    model.eval()
    device = device_of(model)
    pred = torch.cat([model(torch.from_numpy(images[i:i + batch_size]).to(device)).clamp(0, 1).cpu()
                      for i in range(0, len(images), batch_size)])
    y = torch.from_numpy(targets)
    return {"psnr": psnr(pred, y), "ms_ssim": ms_ssim(pred, y, SCALES), "ssim": ssim(pred, y)}


class Restoration:
    """Packed RAW -> RGB on data['train'] (its first `n_train` pairs of a permutation seeded 0),
    minibatches drawn with replacement by step; loss MSE + 1 - MS-SSIM; scored by validation MS-SSIM."""

    phases = ("mse_msssim",)
    score_name = "val_ms_ssim"
    code = CODE

    def __init__(self, data: Dataset, cfg: TaskConfig, device: torch.device | str = "cpu"):
        train = data["train"]
        if cfg.n_train > len(train):
            raise ValueError(f"n_train={cfg.n_train} exceeds the {len(train)} training pairs of {data.name}; "
                             f"lower it or build more (params.yaml data.{data.name}.per_photo)")
        idx = np.sort(np.random.default_rng(0).permutation(len(train))[: cfg.n_train])
        self.x, self.y = torch.from_numpy(train.images[idx]), torch.from_numpy(train.labels[idx])
        self.val, self.cfg, self.device = data["val"], cfg, torch.device(device)

    def __len__(self) -> int:
        return len(self.x)

    def sample(self, gen: torch.Generator, batch_size: int, step: int):
        i = torch.randint(0, len(self.x), (batch_size,), generator=gen)
        return self.x[i].to(self.device), self.y[i].to(self.device)

    def score(self, model) -> dict[str, float]:
        return {f"val_{k}": v for k, v in image_metrics(model, self.val.images, self.val.labels,
                                                         self.cfg.eval_batch_size).items()}

    def checksum(self) -> str:
        return checksum_arrays({"x": self.x.numpy(), "y": self.y.numpy(), "val_x": self.val.images,
                                "val_y": self.val.labels})

    def loss(self, model, batch, phase: str) -> torch.Tensor:
        x, y = batch
        p = model(x)
        return F.mse_loss(p, y) + ms_ssim_loss(p, y)

    def describe(self) -> dict:
        return {"task": "restoration", "loss": "mse + 1 - ms_ssim", "scales": SCALES, **self.cfg.model_dump()}
