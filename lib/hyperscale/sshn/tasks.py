"""What SSHN's models are trained on, as tasks for the core loop (SSHN §3, §4.1).

A task draws each step's minibatch and rescaling factor: a Fixed U-Net always uses its own
phi (no draw), every single-model method (SSHN, Stochastic, FiLM) draws phi ~ U(phi_range)
(§3, eq. 2), one per resizing step for separate factors (App. C.2). Segmentation trains
with cross-entropy, then optionally soft Dice (§4.1); registration with MSE + lambda L_reg.
Both are scored by mean Dice on the validation split, averaged over `val_phis`. Minibatches go
to the task's device; validation images go to the model's, and predictions come back to the
CPU for the Dice (core.device).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..core.data import Dataset, Split
from ..core.device import device_of
from ..core.losses import LOSSES
from ..core.metrics import dice_per_label, mean_dice
from .registration import PENALTIES, register, registration_dice, registration_loss, same_slice_pairs

_HERE = Path(__file__).parent
_CORE = _HERE.parent / "core"
# The files a run's numbers depend on besides the loop (part of its checkpoint key).
CODE = tuple(_HERE / f for f in ("unet.py", "hypernet.py", "baselines.py", "registration.py", "tasks.py")) + \
    (_CORE / "losses.py", _CORE / "metrics.py")


@dataclass(frozen=True)
class Constant:
    """A Fixed network's phi: the same every step, no random draw."""
    phi: float

    def sample(self, gen: torch.Generator):
        return self.phi


@dataclass(frozen=True)
class Uniform:
    """phi ~ U(low, high) every step; with `n`, a tuple of n independent factors (App. C.2)."""
    low: float
    high: float
    n: int | None = None

    def sample(self, gen: torch.Generator):
        draws = [self.low + (self.high - self.low) * torch.rand((), generator=gen).item() for _ in range(self.n or 1)]
        return tuple(draws) if self.n else draws[0]


def prior_of(model) -> Constant | Uniform:
    """The training prior a model was built for: its own phi (Fixed) or U(phi_range)."""
    c = model.config
    if "phi_range" not in c:
        return Constant(c["phi"])
    return Uniform(*c["phi_range"], n=c["n_stages"] - 1 if c.get("separate") else None)


def phi_label(phi) -> str:
    """A phi (or a tuple of separate factors) as text: '0.25', '0.1-0.3-0.5-0.5'."""
    return "-".join(f"{p:g}" for p in phi) if isinstance(phi, (list, tuple)) else f"{phi:g}"


def to_tensors(split: Split) -> tuple[Tensor, Tensor]:
    return torch.from_numpy(split.images), torch.from_numpy(split.labels.astype(np.int64))


@torch.no_grad()
def dice_scores(model, split: Split, phi, num_classes: int, batch_size: int = 64) -> Tensor:
    """Dice per image and foreground label (N, K-1) of `model` at `phi` on `split`."""
    model.eval()
    x, y = to_tensors(split)
    device = device_of(model)
    return torch.cat([dice_per_label(model(x[i:i + batch_size].to(device), phi).argmax(1).cpu(), y[i:i + batch_size],
                                     num_classes)
                      for i in range(0, len(x), batch_size)])


class _PhiTask:
    """What both tasks share: minibatch + phi per step, the score averaged over `val_phis`."""

    score_name = "val_dice"
    code = CODE

    def __init__(self, data: Dataset, prior, val_phis, eval_batch_size: int, device: torch.device | str = "cpu"):
        if not val_phis:
            raise ValueError("val_phis is empty: a run needs at least one phi to validate at")
        self.data, self.prior, self.val_phis, self.eval_batch_size = data, prior, list(val_phis), eval_batch_size
        self.device = torch.device(device)

    def sample(self, gen: torch.Generator, batch_size: int, step: int):
        idx = torch.randperm(len(self), generator=gen)[:batch_size]
        return idx, self.prior.sample(gen)

    def score(self, model) -> dict[str, float]:
        per_phi = {phi_label(p): self.score_at(model, p) for p in self.val_phis}
        return {"val_dice": float(np.mean(list(per_phi.values()))), **{f"val_dice_phi{k}": v for k, v in per_phi.items()}}

    def describe(self) -> dict:
        return {"task": type(self).__name__, "prior": repr(self.prior), "val_phis": self.val_phis,
                "eval_batch_size": self.eval_batch_size}

    def checksum(self) -> str:
        return self.data.checksum(["train", "val"])


class Segmentation(_PhiTask):
    """Cross-entropy on data['train'] ("ce" phase), then optionally soft Dice ("dice")."""

    phases = ("ce", "dice")

    def __init__(self, data: Dataset, prior, val_phis, eval_batch_size: int = 64, device: torch.device | str = "cpu"):
        super().__init__(data, prior, val_phis, eval_batch_size, device)
        self.x, self.y = to_tensors(data["train"])

    def __len__(self) -> int:
        return len(self.x)

    def loss(self, model, batch, phase: str) -> Tensor:
        idx, phi = batch
        return LOSSES[phase](model(self.x[idx].to(self.device), phi), self.y[idx].to(self.device))

    def score_at(self, model, phi) -> float:
        return mean_dice(dice_scores(model, self.data["val"], phi, self.data.num_classes, self.eval_batch_size))


class Registration(_PhiTask):
    """MSE(x_m o phi, x_f) + lam L_reg(phi) over every same-slice pair of data['train']; scored by
    the warped-label Dice on data['val']'s pairs. atlas2d's meta gives the copies per slice."""

    phases = ("mse+reg",)

    def __init__(self, data: Dataset, prior, val_phis, lam: float, penalty: str = "l1", eval_batch_size: int = 64,
                 device: torch.device | str = "cpu"):
        if lam < 0 or penalty not in PENALTIES:
            raise ValueError(f"registration needs lam >= 0 and penalty in {PENALTIES}; got {lam}, {penalty!r}")
        super().__init__(data, prior, val_phis, eval_batch_size, device)
        self.lam, self.penalty = lam, penalty
        self.x = torch.from_numpy(data["train"].images)
        self.pairs = pairs_of(data, "train")

    def __len__(self) -> int:
        return len(self.pairs)

    def loss(self, model, batch, phase: str) -> Tensor:
        idx, phi = batch
        m, f = self.pairs[idx.numpy()].T
        moving, fixed = self.x[m].to(self.device), self.x[f].to(self.device)
        moved, flow = register(model, moving, fixed, phi)
        return registration_loss(moved, fixed, flow, self.lam, self.penalty)

    def score_at(self, model, phi) -> float:
        return split_dice(model, self.data, "val", phi, self.eval_batch_size)

    def describe(self) -> dict:
        return {**super().describe(), "lam": self.lam, "penalty": self.penalty}


def pairs_of(data: Dataset, split: str) -> np.ndarray:
    """The same-slice registration pairs of one split of atlas2d."""
    try:
        copies = data.meta["params"]["copies"][split]
    except KeyError:
        raise ValueError(f"dataset {data.name!r} does not record its copies per slice (atlas2d's meta.json does); "
                         f"registration pairs need them") from None
    return same_slice_pairs(len(data[split]), copies)


def split_dice(net, data: Dataset, split: str, phi, batch_size: int = 64) -> float:
    """Mean over a split's pairs of the mean over foreground labels of the warped-label Dice."""
    s = data[split]
    scores = registration_dice(net, torch.from_numpy(s.images), torch.from_numpy(s.labels.astype(np.int64)),
                               pairs_of(data, split), data.num_classes, phi, batch_size)
    return scores.nanmean(1).mean().item()
