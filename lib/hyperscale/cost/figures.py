"""The chapter "What a FLOP buys": its figure and tables (notebooks/cost.ipynb)."""
from __future__ import annotations

import re

import matplotlib.pyplot as plt
import pandas as pd

from ..core.report import plain_log

PAPERS = {"sshn": "SSHN / Hyper-UNet", "hyperconv": "HyperConv", "hyperseg": "HyperSeg", "shape_adaptor": "Shape Adaptor"}


def flops_vs_latency(t: pd.DataFrame, gpu: pd.DataFrame | None = None, sizes: str = "the cpu profile's sizes"):
    """Log FLOPs against log batch-1 latency, a point per network coloured by paper; SSHN's U-Net
    over phi as a line, the FLOP range of HyperConv's n_hid sweep as a band; GPU times hollow."""
    fig, ax = plt.subplots(figsize=(8, 5.5))
    colours = dict(zip(PAPERS, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    sweep = t[t.network.str.fullmatch(r"sweep hc-nhid\d+")]
    if len(sweep):
        ax.axvspan(sweep.flops.min(), sweep.flops.max(), color=colours["hyperconv"], alpha=0.12,
                   label="HyperConv: n_hid sweep's FLOP range (equal FLOPs in the large-image limit)")
    for paper, g in t.groupby("paper", sort=False):
        ax.scatter(g.flops, g["batch 1"], s=22, color=colours[paper], label=PAPERS[paper])
        if gpu is not None and len(gpu):
            on = g.merge(gpu[gpu.kind == "batch 1"][["network", "ms"]], on="network")
            ax.scatter(on.flops, on.ms, s=22, facecolors="none", edgecolors=colours[paper])
    fixed = t[t.network.str.startswith("fixed φ=")].sort_values("flops")
    ax.plot(fixed.flops, fixed["batch 1"], "-", color=colours["sshn"], lw=1,
            label="SSHN: the U-Net over φ (" + ", ".join(re.sub("fixed φ=", "", n) for n in fixed.network) + ")")
    ax.set(xscale="log", yscale="log", xlabel="FLOPs per image (2 per multiply-accumulate)",
           ylabel="latency at batch 1 (ms, median over rounds)",
           title=f"Counted FLOPs against measured latency, {sizes}"
           + (" (filled: CPU, hollow: GPU)" if gpu is not None else " (this machine's CPU)"))
    plain_log(ax)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def network_table(t: pd.DataFrame) -> pd.DataFrame:
    """Every network with its counts, times and memory in readable units (the times `t` has; a
    memory it could not measure: n/a)."""
    mb = lambda b, fmt: (b / 1e6).map(lambda v: "n/a" if pd.isna(v) else fmt.format(v))  # noqa: E731
    out = pd.DataFrame({
        "paper": t.paper.map(PAPERS), "network": t.network, "input": t.input,
        "parameters": t.params.map("{:,}".format),
        "MFLOPs (common)": (t.flops / 1e6).map("{:.3g}".format),
        "paper's count (M)": (t.paper_count / 1e6).map("{:.3g}".format) + " " + t.paper_unit,
        "batch 1 (ms)": t["batch 1"].map("{:.2f}".format)})
    if "training batch" in t:
        out["training batch (ms)"] = t["training batch"].map("{:.1f}".format) + " (" + t.batch.astype(str) + ")"
    if "training step" in t:
        out["training step (ms)"] = t["training step"].map("{:.1f}".format)
    out["inference memory (MB)"] = mb(t.mem_infer_bytes, "{:.2f}")
    out[f"training memory (MB{'' if 'training batch' in t else ', at the training batch'})"] = (
        mb(t.mem_train_bytes, "{:.1f}") + ("" if "training batch" in t else " (" + t.batch.astype(str) + ")"))
    return out
