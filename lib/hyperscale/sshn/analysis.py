"""The SSHN / Hyper-UNet chapter's analyses: functions the evaluation applies to trained models.

Each function answers one figure or quoted number of the two papers (Ortiz, Guttag, Dalca):
the "same Dice at x % fewer FLOPs" numbers (SSHN §5.1, Hyper-UNet §4.2.3), Pareto fronts
(Fig. 7, Fig. 13), per-structure Dice by size (Fig. 4), the coefficient of variation of the
predicted weights (App. D, Fig. 14), how alike the feature maps are across phi (App. D,
Fig. 16) and the influence of each separate factor (App. C.2).
Inputs are plain tables (phi -> Dice, phi -> GMACs) so every function can be checked on a
synthetic curve.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ..core.stats import Arms
from .tasks import dice_scores, phi_label
from .unet import unet_apply


def seed_values(table: pd.DataFrame, method: str, phi: float, init: str | None = None) -> pd.Series:
    """Dice per seed of `method` at `phi` in a long results table (method, seed, phi, dice[, init])."""
    rows = table[(table.method == method) & np.isclose(table.phi, phi)]
    if init is not None:
        rows = rows[rows.init == init]
    return rows.set_index("seed")["dice"]


DICE = "Dice points"  # the unit the papers print Dice differences in (a Dice of 0.905 is 90.5)


def dice_arms(a: pd.Series, b: pd.Series) -> Arms:
    """Per-seed Dice of two models as a comparison a - b in Dice points. Not paired: SSHN draws phi from
    the generator that also orders the minibatches, so one seed's Fixed and SSHN runs see different data
    orders (Welch's interval; core.stats)."""
    return Arms(tuple(a.to_numpy()), tuple(b.to_numpy()), False, DICE, 100.0)


def gap_to_fixed(table: pd.DataFrame, method: str, phis, init: str | None = None) -> dict[str, Arms]:
    """{"φ=p": `method` minus Fixed at p, per seed} for every Fixed phi p."""
    return {f"φ={p:g}": dice_arms(seed_values(table, method, p, init), seed_values(table, "Fixed", p)) for p in phis}


def cheapest_matching(dice: pd.Series, gmacs: pd.Series, target: float) -> tuple[float, float]:
    """(phi, GMACs) of the cheapest phi whose Dice reaches `target`; (nan, nan) if none does.

    SSHN §5.1: "SSHN achieves similar performance to the best baseline with phi = 0.15".
    `dice` and `gmacs` are indexed by phi.
    """
    ok = dice[dice >= target].index
    if len(ok) == 0:
        return float("nan"), float("nan")
    phi = min(ok, key=lambda p: (gmacs[p], p))
    return float(phi), float(gmacs[phi])


def no_loss_range(dice: pd.Series, ref_phi: float, tol: float) -> float:
    """The smallest phi such that every phi of the grid in [phi, ref_phi] keeps Dice >= Dice(ref_phi) - tol.

    SSHN §5.1: "for phi in [0.25, 0.5] there is no loss in quality".
    """
    floor = dice[ref_phi] - tol
    grid = sorted(p for p in dice.index if p <= ref_phi)
    lowest = ref_phi
    for p in reversed(grid):
        if dice[p] < floor:
            break
        lowest = p
    return float(lowest)


def pareto_mask(cost, value) -> np.ndarray:
    """True where no other point is at most as costly and strictly better (or cheaper and as good)."""
    cost, value = np.asarray(cost, float), np.asarray(value, float)
    keep = np.ones(len(cost), bool)
    for i in range(len(cost)):
        dominated = (cost <= cost[i]) & (value >= value[i]) & ((cost < cost[i]) | (value > value[i]))
        keep[i] = not dominated.any()
    return keep


def front_value(cost, value, budget: float) -> float:
    """Best value among points costing at most `budget` (the Pareto front read at that cost)."""
    cost, value = np.asarray(cost, float), np.asarray(value, float)
    ok = cost <= budget + 1e-12
    return float(value[ok].max()) if ok.any() else float("nan")


def label_fractions(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Share of brain (foreground) pixels taken by each foreground label 1..K-1 (Fig. 4's sort key)."""
    counts = np.bincount(labels.ravel(), minlength=num_classes)[1:].astype(float)
    return counts / counts.sum()


@torch.no_grad()
def parameter_cv(model, phis) -> pd.DataFrame:
    """Coefficient of variation sigma / |mu| of every predicted parameter over `phis` (App. D, Fig. 14).

    One row per conv tensor and kind (weight, bias): its median, 10th and 90th percentile CV.
    """
    thetas = [model.theta(p) for p in phis]
    rows = []
    for depth, name in enumerate(thetas[0]):
        for kind, i in (("weight", 0), ("bias", 1)):
            stack = torch.stack([t[name][i].flatten() for t in thetas])  # (n_phi, n_params)
            cv = (stack.std(0, unbiased=False) / stack.mean(0).abs().clamp_min(1e-12)).numpy()
            rows.append({"layer": name, "depth": depth, "kind": kind, "n": cv.size, "cv_median": np.median(cv),
                         "cv_p10": np.percentile(cv, 10), "cv_p90": np.percentile(cv, 90)})
    return pd.DataFrame(rows)


def separate_grid(model, split, grid, num_classes: int, gmacs_of, progress=None) -> pd.DataFrame:
    """Test Dice of a separate-factor SSHN at every combination of `grid` per resizing step (App. C.2).

    `gmacs_of(phis)` gives the cost of one setting. One row per setting: phi_0 .. phi_{n-1}, dice, gmacs.
    """
    n = model.config["n_stages"] - 1
    combos = list(itertools.product(grid, repeat=n))
    rows = []
    for phis in (progress(combos) if progress else combos):
        scores = dice_scores(model, split, tuple(phis), num_classes)
        rows.append({**{f"phi_{i}": p for i, p in enumerate(phis)}, "setting": phi_label(phis),
                     "dice": scores.nanmean(1).mean().item(), "gmacs": gmacs_of(phis)})
    return pd.DataFrame(rows)


def factor_influence(grid: pd.DataFrame) -> pd.Series:
    """Range (max - min) over its levels of each factor's marginal mean Dice: how much phi_i matters."""
    factors = [c for c in grid.columns if c.startswith("phi_")]
    return pd.Series({f: np.ptp(grid.groupby(f)["dice"].mean().values) for f in factors})


@torch.no_grad()
def feature_maps(model, x: torch.Tensor, phi) -> dict[str, torch.Tensor]:
    """Every stage's output of `model` (any model with `theta(phi)`) on images x at phi (Fig. 16)."""
    feats = {}
    unet_apply(model.theta(phi), x, phi, model.config["n_stages"], arch=model.config.get("arch", "unet"),
               features=feats)
    return feats


def feature_similarity(model, x: torch.Tensor, phis, ref_phi: float = 0.5) -> pd.DataFrame:
    """How alike each stage's feature maps are at phi and at ref_phi (App. D, Fig. 16: "the predicted
    kernels extract similar anatomical regions for different values of phi").

    Maps are resized to the input's size; r is the Pearson correlation over pixels of one image's
    map of one channel. One row per (stage, phi): `matched`, the mean r of each channel with the
    same channel at ref_phi, and `other`, its mean r with the other channels there (the baseline:
    what r is between maps that are not the same feature); `size`, the stage's side at phi.
    """
    def unit(f):  # (N, C, H*W) at the input size, each map centred and scaled to unit norm
        f = F.interpolate(f, size=x.shape[-2:], mode="bilinear", align_corners=False).flatten(2)
        f = f - f.mean(-1, keepdim=True)
        return f / f.norm(dim=-1, keepdim=True).clamp_min(1e-12)

    ref = {name: unit(f) for name, f in feature_maps(model, x, ref_phi).items()}
    rows = []
    for phi in phis:
        for name, f in feature_maps(model, x, phi).items():
            r = torch.einsum("ncp,ndp->cd", unit(f), ref[name]) / len(x)  # channel x channel, mean over images
            c = r.shape[0]
            rows.append({"stage": name, "phi": float(phi), "size": min(f.shape[-2:]),
                         "matched": r.diagonal().mean().item(),
                         "other": ((r.sum() - r.diagonal().sum()) / (c * (c - 1))).item()})
    return pd.DataFrame(rows)
