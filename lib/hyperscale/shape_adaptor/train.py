"""Training classifiers whose shape is learned alongside their weights (Shape Adaptor Alg. 1), as a
task for the core loop.

Every step: one minibatch (augmented), the memory penalty rho (eq. 8, inside the model's
forward), one backward pass; an SGD step on the weights, and every `alpha_every` steps
(alpha_s) an SGD step on the shape parameters with their own learning rate (lambda_1). Alg. 1
updates alpha first and then w; we take both steps from one backward pass on the same batch
(the official code also uses the same batch), which differs only in w seeing the pre-update alpha.

The paper's recipe (official code, lorenmt/shape-adaptor): SGD, batch 128, 200 epochs, alpha_s = 20, alpha
lr 0.1, best test accuracy over epochs. We report the **final** test accuracy instead: picking
the best epoch on the test set flatters every method (the loop keeps the last weights and the
test accuracy of every epoch is only recorded). Weight optimiser: SGD, momentum 0.9, weight
decay 5e-4, cosine learning-rate decay (the supplementary with the paper's exact choice is not
in our copy). Augmentation: random crop with 4-pixel zero padding and horizontal flip, the
usual recipe for 32x32 sets. Augmentation runs on the CPU (the run's random generator lives
there), then the minibatch goes to the task's device; test images go to the model's, and the
predictions come back to the CPU (core.device).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import PositiveInt, model_validator

from ..core.data import Dataset, Split
from ..core.device import device_of
from ..core.io import checksum_arrays
from ..core.params import Schema, upto
from ..core.train import OptimizerConfig, TrainConfig

_HERE = Path(__file__).parent
CODE = tuple(_HERE / f for f in ("train.py", "classifiers.py", "adaptor.py"))


class AlgConfig(Schema):
    """params.yaml shape_adaptor.train."""
    epochs: PositiveInt  # paper (official code): 200
    batch_size: upto(1024, lo=2)  # paper (official code): 128; BatchNorm needs 2 images a batch
    optimizer: OptimizerConfig  # the weights w
    alpha_optimizer: OptimizerConfig  # the shape parameters alpha: lr lambda_1, `every` alpha_s
    n_train: upto(1_300_000) | None = None  # train on a class-stratified subset of this many images (None: all)
    augment: bool = True
    eval_batch_size: upto(4096) = 256

    @model_validator(mode="after")
    def _one_batch(self):
        if self.n_train is not None and self.n_train < self.batch_size:
            raise ValueError(f"n_train={self.n_train} is smaller than one batch ({self.batch_size})")
        return self


def stratified_subset(labels: np.ndarray, n: int | None, seed: int = 0) -> np.ndarray:
    """Indices of n images with the class proportions of `labels` (all, in order, if n is None)."""
    if n is None or n >= len(labels):
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    take = np.floor(counts / counts.sum() * n).astype(int)
    take[np.argsort(-(counts / counts.sum() * n - take))[: n - take.sum()]] += 1
    idx = [rng.choice(np.flatnonzero(labels == c), k, replace=False) for c, k in zip(classes, take)]
    return np.sort(np.concatenate(idx))


def augment(x: torch.Tensor, gen: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop from the zero-padded image and random horizontal flip, per image."""
    b, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    dy, dx = torch.randint(0, 2 * pad + 1, (2, b), generator=gen)
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None].expand(b, x.shape[1], h, w + 2 * pad)
    x = padded.gather(2, rows)
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :].expand(b, x.shape[1], h, w)
    x = x.gather(3, cols)
    flip = torch.rand(b, generator=gen) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


@torch.no_grad()
def accuracy(model, split: Split, mean: torch.Tensor, std: torch.Tensor, batch_size: int = 256) -> float:
    """Top-1 accuracy in % of `model` on `split`."""
    model.eval()
    x, y, device = torch.from_numpy(split.images), torch.from_numpy(split.labels), device_of(model)
    correct = sum(int((model((x[i:i + batch_size].to(device) - mean) / std).argmax(1).cpu() == y[i:i + batch_size]).sum())
                  for i in range(0, len(x), batch_size))
    return 100.0 * correct / len(x)


class Classification:
    """Alg. 1 on data['train'] (or its stratified `n_train` subset), one shuffled pass per epoch;
    scored by test accuracy (in %) after every epoch; records s(alpha) after each alpha step (Fig. 4)."""

    phases = ("ce",)
    score_name = "test_acc"
    code = CODE

    def __init__(self, data: Dataset, cfg: AlgConfig, device: torch.device | str = "cpu"):
        idx = stratified_subset(data["train"].labels, cfg.n_train)
        self.x = torch.from_numpy(data["train"].images[idx])
        self.y = torch.from_numpy(data["train"].labels[idx])
        self.device = torch.device(device)
        self.mean, self.std = (v.to(self.device) for v in (self.x.mean((0, 2, 3), keepdim=True),
                                                           self.x.std((0, 2, 3), keepdim=True)))
        self.test, self.cfg = data["test"], cfg
        self.steps_per_epoch = len(self.x) // cfg.batch_size  # the last partial batch is dropped
        self.order, self.s_trace = None, []

    def __len__(self) -> int:
        return len(self.x)

    def sample(self, gen: torch.Generator, batch_size: int, step: int):
        b = step % self.steps_per_epoch
        if b == 0:
            self.order = torch.randperm(len(self.x), generator=gen)
        i = self.order[b * batch_size:(b + 1) * batch_size]
        x = augment(self.x[i], gen) if self.cfg.augment else self.x[i]
        return x.to(self.device), self.y[i].to(self.device)

    def loss(self, model, batch, phase: str) -> torch.Tensor:
        x, y = batch
        return F.cross_entropy(model((x - self.mean) / self.std), y)

    def score(self, model) -> dict[str, float]:
        return {"test_acc": accuracy(model, self.test, self.mean, self.std, self.cfg.eval_batch_size),
                "d_cout": model.final_size()}

    def param_groups(self, model) -> dict[str, list]:
        return {"weights": model.weight_parameters(), "alpha": model.alpha_parameters()}

    def after_step(self, model, step: int, stepped: list[str]) -> None:
        if "alpha" in stepped:
            self.s_trace.append({"step": step, **{f"s{k}": s for k, s in enumerate(model.shape_factors())}})

    def state_dict(self) -> dict:
        return {"order": self.order, "s_trace": self.s_trace}

    def load_state_dict(self, state: dict) -> None:
        self.order, self.s_trace = state["order"], state["s_trace"]

    def describe(self) -> dict:
        return {"task": "classification", **self.cfg.model_dump(include={"n_train", "augment", "eval_batch_size"})}

    def checksum(self) -> str:
        return checksum_arrays({"images": self.x.numpy(), "labels": self.y.numpy(), "test_images": self.test.images,
                                "test_labels": self.test.labels})

    def train_config(self) -> TrainConfig:
        """Epochs as the core loop's steps: validate and checkpoint once per epoch, keep the last weights."""
        spe = self.steps_per_epoch
        return TrainConfig(batch_size=self.cfg.batch_size, max_steps=self.cfg.epochs * spe, eval_every=spe,
                           checkpoint_every=spe, restore_best=False,
                           optimizers={"weights": self.cfg.optimizer, "alpha": self.cfg.alpha_optimizer})
