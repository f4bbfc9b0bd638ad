"""The HyperConv chapter's figures, from the evaluation's tables (runs/eval/hyperconv/)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator

from ..core.report import plain_log


def eq1_figure(eq1: pd.DataFrame, block: dict):
    """Eqs. 1-2 by count: parameters per FLOP of a convolution and a HyperConvolution, and the
    share of the HyperConvolution's FLOPs its MLP takes, against the image side."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.4))
    a1.loglog(eq1.side, eq1.conv_params / eq1.conv_flops, "o-", label="3x3 convolution (eq. 2)")
    a1.loglog(eq1.side, eq1.hc_params / eq1.hc_flops, "s-", label=f"HyperConvolution, n_hid = {block['n_hid']} (eq. 1)")
    a1.set(xlabel="image side (px)", ylabel="parameters per FLOP", title="parameters per FLOP")
    a1.legend(fontsize=8)
    a2.semilogx(eq1.side, 100 * eq1.hc_mlp_flops / eq1.hc_flops, "s-", color="C1")
    a2.set(xlabel="image side (px)", ylabel="MLP share of FLOPs (%)", ylim=(0, 100),
           title="the MLP's share of a HyperConvolution's FLOPs")
    plain_log(a1, a2)
    fig.suptitle(f"One layer, {block['c_in']} -> {block['c_out']} channels, filter input of {block['c_hyper']} channels",
                 fontsize=10)
    fig.tight_layout()
    return fig


def sweep_figure(counts: pd.DataFrame):
    """FLOPs against parameters at 12.6 MPix: the n_hid sweep, the no-HC width sweep, Table 1."""
    fig, ax = plt.subplots(figsize=(6.4, 4))
    styles = {"sweep hc": ("s-", "HyperConv, n_fwd = n_embed = 8, n_hid swept"),
              "sweep no hc": ("o-", "no HC, n_fwd swept"), "table1": ("*", "Table 1's networks")}
    for kind, (style, label) in styles.items():
        d = counts[counts.kind == kind].sort_values("params")
        ax.loglog(d.params, d.flops_12_6, style, ms=9 if kind == "table1" else 5, label=label)
        if kind == "table1":
            for r in d.itertuples():
                ax.annotate(r.network, (r.params, r.flops_12_6), fontsize=7, xytext=(4, 2), textcoords="offset points")
    ax.set(xlabel="parameters", ylabel="FLOPs at a 12.6 MPix RAW frame",
           title="Figs. 3-4's x-axes by count: FLOPs vs parameters")
    plain_log(ax)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def grouped_figure(grouped: pd.DataFrame):
    """Time of the per-sample grouped convolution and of a per-sample loop, over a standard
    convolution of the same shape, against the image side, one line per batch size."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for i, (b, d) in enumerate(grouped.groupby("batch")):
        ax.semilogx(d["size"], d.grouped_over_standard, "o-", color=f"C{i}", label=f"grouped, batch {b}")
        ax.semilogx(d["size"], d.loop_over_standard, "x--", color=f"C{i}", alpha=0.6, label=f"loop, batch {b}")
    ax.axhline(1, color="k", lw=0.8)
    ax.axhline(1.3, color="grey", lw=0.8, ls=":")
    plain_log(ax)
    ax.set(xlabel="image side (px)", ylabel="time / standard convolution's",
           title=f"Per-sample convolution, {grouped.channels.iloc[0]} -> {grouped.channels.iloc[0]} channels, 3x3")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def sweep_error_figure(res: pd.DataFrame, threshold: float):
    """Figs. 3-4 trained: test error (1 - MS-SSIM; mean and std over seeds) and training error
    against parameters, for the n_hid sweep with HyperConvolutions and the width sweep without;
    a dotted line where the parameters equal the training targets' values."""
    fig, ax = plt.subplots(figsize=(6.8, 4))
    for hc, (label, style, colour) in {True: ("HyperConv, n_hid swept", "s", "C0"),
                                       False: ("no HC, n_fwd swept", "o", "C1")}.items():
        g = res[res.hc.astype(bool) == hc].groupby("n_hid" if hc else "n_fwd")
        x = g.params.first()
        ax.errorbar(x, 1 - g.test_ms_ssim.mean(), yerr=g.test_ms_ssim.std(ddof=1), fmt=style + "-", color=colour,
                    capsize=3, label=f"{label}: test")
        ax.plot(x, 1 - g.train_ms_ssim.mean(), style + "--", color=colour, alpha=0.5, label=f"{label}: training")
    ax.axvline(threshold, color="grey", ls=":", lw=1, label="parameters = training target values")
    ax.set(xscale="log", xlabel="parameters", ylabel="error, 1 - MS-SSIM",
           title="Test and training error against parameters (isp stand-in)")
    plain_log(ax)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def depth_figure(depth: pd.DataFrame):
    """Activation RMS after each layer of a stack of HyperConvolutions (solid) and of He-initialised
    standard convolutions (dashed), one colour per width, on N(0, 1) input (RMS 1)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for i, (c, d) in enumerate(depth.groupby("width")):
        for kind, style in (("HyperConv", "-"), ("He-initialised convolution", "--")):
            g = d[d.kind == kind].sort_values("layer")
            ax.semilogy(g.layer, g.rms, style, color=f"C{i}", label=f"{kind}, width {c}")
    ax.axhline(1, color="k", lw=0.8)
    plain_log(ax)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="layer", ylabel="activation RMS (input: 1)", title="Activation scale over depth (GELU between layers)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
