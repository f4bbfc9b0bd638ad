"""The HyperSeg chapter's figures, from the evaluation's tables (runs/eval/hyperseg/)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from ..core.report import plain_log


def speed_figure(dpw: pd.DataFrame, fps: pd.DataFrame):
    """Left: each decoder level's dynamic patch-wise convolution time over a static convolution's
    of the same shapes (batch 1), by the level's stride. Middle: each network's throughput our way
    (batch 1, BatchNorm folded, images/s). Right: the official script's (batch 16, BatchNorm removed,
    batches/s, what it prints as FPS); one unit per axis."""
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(13, 3.6), gridspec_kw={"width_ratios": (1.2, 1, 1)})
    for layer, d in dpw.groupby("layer", sort=False):
        a1.semilogy(d.stride, d.dynamic_over_static, "o-", label=layer)
    a1.axhline(1.5, color="grey", ls="--", lw=1, label="the issue's goal (1.5x)")
    a1.set_xscale("log", base=2)
    plain_log(a1)
    a1.set_xticks(sorted(dpw.stride.unique()), [str(s) for s in sorted(dpw.stride.unique())])
    a1.invert_xaxis()
    a1.set(xlabel="decoder level's stride (coarse to fine)", ylabel="DPWConv time / static conv time",
           title="DPWConv against static convolutions, batch 1")
    a1.legend(fontsize=8)
    x = range(len(fps))
    for ax, col, colour, ylabel, title in (
            (a2, "fps_batch1_folded", "C0", "images/s", "ours: batch 1, BatchNorm folded"),
            (a3, "batches_per_s_official", "C1", "batches/s",
             f"official script: batch {fps.official_batch.iloc[0]}, BatchNorm removed")):
        ax.bar(list(x), fps[col], 0.6, color=colour)
        ax.set_xticks(list(x), fps.network, rotation=20, fontsize=8)
        ax.set(ylabel=ylabel, title=title)
    fig.suptitle(f"Whole networks at {fps.input.iloc[0]} px, this CPU", fontsize=10)
    fig.tight_layout()
    return fig


def border_figure(profile: pd.DataFrame, borders: list[int]):
    """The change of the predicted class probabilities between neighbouring columns (left) and rows
    (right), by position, averaged over the test images and over seeds, with and without DPWConv;
    dashed lines mark the pairs that straddle a patch border."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
    for ax, (axis, name) in zip(axes, (("x", "columns"), ("y", "rows"))):
        d = profile[profile.axis == axis].groupby(["dynamic", "pair"]).change.mean()
        for dyn, label in ((True, "with DPWConv"), (False, "w/o DPWConv")):
            ax.plot(d[dyn].index + 0.5, d[dyn].values, label=label)
        for b in borders:
            ax.axvline(b + 0.5, color="grey", ls="--", lw=1)
        ax.set(xlabel=f"position between {name} i and i + 1 (px)", title=f"neighbouring {name}")
    axes[0].set_ylabel("mean sum_c |p_c(i) - p_c(i + 1)|")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def tradeoff_figure(tradeoff: pd.DataFrame, speed: pd.DataFrame):
    """Figs. 1 and 4 at our scale: each trained network's test mIoU (mean ± std over seeds) against
    its FLOPs per image (left) and its measured images/s at batch 1 (right), at the training size."""
    t = tradeoff.merge(speed[["network", "fps_batch1", "input"]], on="network")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, (col, label) in zip(axes, (("flops", "MFLOPs per image (2 per multiply-accumulate)"),
                                       ("fps_batch1", "images/s, batch 1, this CPU"))):
        for i, r in enumerate(t.itertuples()):
            x = getattr(r, col) / (1e6 if col == "flops" else 1)
            ax.errorbar(x, r.test_miou_mean, yerr=r.test_miou_std, fmt="os^D"[i % 4], color=f"C{i}", capsize=3,
                        label=r.network)
        ax.set(xlabel=label, title=f"at {t.input.iloc[0]} px")
    axes[0].set_ylabel("test mIoU (%)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig
