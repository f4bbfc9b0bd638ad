"""Shape adaptor: a resizing layer with a learnable reshaping factor (Shape Adaptor §3).

Liu, Lin, Wang, Zhang, Perazzi, Johns, "Shape Adaptor: A Learnable Resizing Module", ECCV 2020;
official code https://github.com/lorenmt/shape-adaptor (CC BY-NC-SA; read for facts, not copied).

A module mixes two resizing branches F1(x, r1) and F2(x, r2), r1 < r2, after resizing both
bilinearly (G) to one size set by the learned factor s(alpha) = (r2 - r1) alpha + r1 (eq. 1-2),
alpha = sigmoid(alpha_bar). The output size is an integer, so s cannot receive a gradient
directly; §3.1 approximates it by moving s with alpha's gradient. `s_grad` picks how:

* "detach" (the official code, which takes s with `.item()`): s is a constant of the backward
  pass; alpha learns only through the mixing weights (1 - alpha, alpha).
* "grid": G samples its input on a grid whose spacing follows the real-valued s, so the loss
  also differentiates through s (our straight-through reading of "grad s ~ s(grad alpha)").
  When s times the input size is an integer the two give the same output.

The heuristics of §3.2 are plain functions: the number of adaptors (eq. 3), their
initialisation (eq. 4-5) and the memory penalty rho (eq. 6-8).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

S_GRAD = ("detach", "grid")
EPS = 1e-4  # eq. 5's epsilon


def check_range(r_min: float, r_max: float) -> None:
    if not (0 < r_min < r_max):
        raise ValueError(f"a shape adaptor's search space needs 0 < r_min < r_max; got ({r_min}, {r_max})")


def n_adaptors(d_in: float, d_last: float, r_min: float) -> int:
    """Eq. 3: N = ceil(log_{1/r_min}(D_in / D_last)), enough modules of factor ~r_min to reach D_last."""
    if not (0 < r_min < 1) or d_last <= 0 or d_in < d_last:
        raise ValueError(f"eq. 3 needs 0 < r_min < 1 and 0 < D_last <= D_in; got r_min={r_min}, "
                         f"D_in={d_in}, D_last={d_last}")
    # The small tolerance keeps exact powers (32 -> 2 at r_min 0.5 is 4, not 5) from rounding up.
    return max(1, math.ceil(math.log(d_in / d_last) / math.log(1 / r_min) - 1e-9))


def s_of_alpha(alpha, r_min: float, r_max: float):
    """s(alpha) = (r_max - r_min) alpha + r_min (§3.1)."""
    return (r_max - r_min) * alpha + r_min


def init_alpha_bar(d_in: float, d_out: float, n: int, r_min: float, r_max: float, d_last: float) -> float:
    """Eq. 4-5: the raw alpha_bar that makes N equal adaptors shrink D_in to D_out.

    The printed eq. 5 is garbled; solving eq. 4 with s(alpha) gives s = (D_out / D_in)^(1/N) and
    alpha_bar = logit((s - r_min) / (r_max - r_min)) = ln((s - r_min) / (r_max - s) + eps);
    ln(eps) (the smallest shape) when D_last > D_out.
    """
    check_range(r_min, r_max)
    if d_last > d_out:
        return math.log(EPS)
    s = (d_out / d_in) ** (1 / n)
    if not (r_min <= s < r_max):
        raise ValueError(f"D_out={d_out} from D_in={d_in} with {n} adaptors needs s={s:.4f} per adaptor, "
                         f"outside the search space [{r_min}, {r_max}); change d_out or the number of adaptors")
    return math.log((s - r_min) / (r_max - s) + EPS)


def alpha_bar_for_s(s: float, r_min: float, r_max: float) -> float:
    """The raw alpha_bar whose s(sigmoid(alpha_bar)) is `s` (eq. 5 for one module)."""
    check_range(r_min, r_max)
    if not (r_min < s < r_max):
        raise ValueError(f"s={s} must lie strictly inside the search space ({r_min}, {r_max})")
    return math.log((s - r_min) / (r_max - s))


def memory_rho(d_limit: float | None, d_cout: float, n: int) -> float:
    """Eq. 8: rho = (D_limit / D_cout)^(1/N) when the final feature size D_cout exceeds D_limit, else 1."""
    if d_limit is None or d_cout <= d_limit:
        return 1.0
    return (d_limit / d_cout) ** (1 / n)


def penalised_alpha(alpha, rho: float, r_min: float, r_max: float):
    """Eq. 6: alpha_rho = alpha rho + r_min / (r_max - r_min) (rho - 1), so s(alpha_rho) = s(alpha) rho (eq. 7)."""
    return alpha * rho + r_min / (r_max - r_min) * (rho - 1)


def resize(x: Tensor, size: int, s=None) -> Tensor:
    """G: bilinear resize of a square map to `size` (align_corners=True, as the official code).

    With a tensor `s`, samples on a grid whose spacing follows s (the "grid" estimator), so the
    output is differentiable in s; it equals the plain resize when s * x.shape[-1] == size.
    """
    if s is None:
        if x.shape[-1] == size and x.shape[-2] == size:
            return x
        return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=True)
    d = x.shape[-1]
    # Output pixel j sits at input coordinate j (d - 1) / (s d - 1); in [-1, 1] units: -1 + 2 j / (s d - 1).
    coords = -1 + 2 * torch.arange(size, dtype=x.dtype, device=x.device) / (s * d - 1).clamp_min(1e-6)
    grid = torch.stack(torch.broadcast_tensors(coords[None, :], coords[:, None]), -1)  # (size, size, [x, y])
    return F.grid_sample(x, grid.expand(len(x), -1, -1, -1), mode="bilinear", padding_mode="border",
                         align_corners=True)


class ShapeAdaptor(nn.Module):
    """Eq. 1: (1 - alpha) G(F1(x), s / r1) + alpha G(F2(x), s / r2), times `scale`.

    `f1`, `f2`: the two resizing branches (r1 < r2). The down-sampling adaptors of Fig. 2 are
    (max-pool, identity) in a conv cell and (shortcut 1x1 conv, residual weight layers) with
    scale 2 in a residual cell. `learn_alpha=False` freezes the shape (Fix baselines).
    """

    def __init__(self, f1: nn.Module, f2: nn.Module, r1: float = 0.5, r2: float = 1.0, alpha_bar: float = 0.0,
                 scale: float = 1.0, s_grad: str = "detach", learn_alpha: bool = True):
        super().__init__()
        check_range(r1, r2)
        if s_grad not in S_GRAD:
            raise ValueError(f"s_grad must be one of {S_GRAD}; got {s_grad!r}")
        self.f1, self.f2 = f1, f2
        self.r1, self.r2, self.scale, self.s_grad = r1, r2, scale, s_grad
        self.alpha_bar = nn.Parameter(torch.tensor(float(alpha_bar)), requires_grad=learn_alpha)
        self.rho = 1.0  # memory penalty (eq. 6-8), set by the network before each forward pass

    def alpha(self) -> Tensor:
        return penalised_alpha(torch.sigmoid(self.alpha_bar), self.rho, self.r1, self.r2)

    def s(self) -> float:
        """The current reshaping factor s(alpha_rho) in (r1, r2) (eq. 7)."""
        return float(s_of_alpha(self.alpha().detach(), self.r1, self.r2))

    def out_size(self, d_in: int) -> int:
        return max(1, round(self.s() * d_in))

    def forward(self, x: Tensor) -> Tensor:
        alpha = self.alpha()
        size = self.out_size(x.shape[-1])
        s = s_of_alpha(alpha, self.r1, self.r2) if self.s_grad == "grid" else None
        y1 = resize(self.f1(x), size, None if s is None else s / self.r1)
        y2 = resize(self.f2(x), size, None if s is None else s / self.r2)
        return self.scale * ((1 - alpha) * y1 + alpha * y2)
