"""The quantities the chapter's claims test (references/cost.yaml), from what evaluate_cost measured."""
from __future__ import annotations

import re

import pandas as pd
from scipy.stats import spearmanr

from ..core.benchmark import ratio_interval, rounds_of
from ..core.claims import interval

TIMING_MEASURES = ("flops_latency_rank", "flops_train_step_rank", "time_over_flop_ratio", "flops_latency_rank_paper_sizes")


def pairs(counts: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """cost.claims-in-time's pairs (first, second) by network name, as its rule names them."""
    names = set(counts.network)
    hc = sorted((int(m[1]), n) for n in names if (m := re.fullmatch(r"sweep hc-nhid(\d+)", n)))
    static = sorted(n for n in names if n.startswith("ablation ") and n.endswith("-static"))
    out = {"SSHN: U-Net at φ = 0.4 / 0.5 (sshn.flops-cut-0.4)": ("fixed φ=0.4", "fixed φ=0.5")}
    if hc:
        out["HyperConv: largest / smallest n_hid (hc.fixed-flops-sweep)"] = (hc[-1][1], hc[0][1])
    if static:
        out["HyperSeg-S: without / with DPWConv (hs.wo-dpwconv-slight-fps)"] = (static[0], static[0][:-7] + "-dpwconv")
    out["Shape Adaptor: AutoSC / human MobileNetV2 (sa.autosc-cost)"] = ("mobilenetv2 AutoSC", "mobilenetv2 human")
    return {k: v for k, v in out.items() if set(v) <= names}


def rank_correlation(counts: pd.DataFrame, latency: pd.DataFrame, kind: str) -> dict[str, float]:
    """{paper: Spearman's rho between FLOPs and the median time of `kind`} over its networks."""
    t = latency[latency.kind == kind].merge(counts, on=["paper", "network"])
    return {paper: float(spearmanr(g.flops, g.ms).statistic) for paper, g in t.groupby("paper", sort=False)}


def time_over_flops(counts: pd.DataFrame, rounds: pd.DataFrame) -> dict:
    """{pair: (latency ratio) / (FLOP ratio)} at batch 1, the latency ratio's interval from the rounds."""
    fl = counts.set_index("network").flops
    ms = rounds_of(rounds[rounds.kind == "batch 1"], "network", "ms")
    out = {}
    for label, (a, b) in pairs(counts).items():
        med, lo, hi = (v / (fl[a] / fl[b]) for v in ratio_interval(ms[a], ms[b]))
        out[label] = interval(med, lo, hi)
    return out


def measures(counts: pd.DataFrame, latency: pd.DataFrame, rounds: pd.DataFrame, paper_counts: pd.DataFrame,
             paper_latency: pd.DataFrame) -> dict:
    """The claims' measures; paper_*: the networks at the papers' sizes (cost.networks)."""
    return {"flops_latency_rank": rank_correlation(counts, latency, "batch 1"),
            "flops_train_step_rank": rank_correlation(counts, latency, "training step"),
            "time_over_flop_ratio": time_over_flops(counts, rounds),
            "flops_latency_rank_paper_sizes": rank_correlation(paper_counts, paper_latency, "batch 1")}


def table(counts: pd.DataFrame, latency: pd.DataFrame) -> pd.DataFrame:
    """One row per network: counts, memory and the three medians (ms)."""
    t = latency.pivot_table(index=["paper", "network"], columns="kind", values="ms", sort=False)
    return counts.set_index(["paper", "network"]).join(t).reset_index()

