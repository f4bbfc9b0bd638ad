"""What HyperSeg's claims read: every measure of references/hyperseg.yaml, from the evaluation's tables.

`measures(counts, ref, fps_rounds, runs, ..., net)` maps each measure name to a value (a number or {case:
number}); names starting with `paper_` are computed from the transcribed tables alone (the paper
against itself). `counts` is runs/eval/hyperseg/counts.csv (one row per network we build for a
paper row); `fps_rounds` the measured timing/fps_rounds.csv, whose measures (TIMING_MEASURES) go to the timing
ledger; `runs` the trained experiments' results.csv by experiment; `gwi` the weight mappers' counts with
g_wi scaled (gwi.csv); `artefacts` the trained networks' patch-border ratios (artefacts.csv); `memory` the
peak inference memory as the network runs and with every generated weight map kept (memory.csv); `net`
the network the trained claims judge (params.yaml hyperseg.ablation.judged).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.benchmark import ratio_interval, rounds_of
from ..core.claims import Shown, converged_share, distance_in_units, doubling_check, interval
from ..core.stats import Arms

TIMING_MEASURES = ("wo_fps_ratio",)


def column(table: dict, name: str) -> dict[str, float]:
    """One column of a transcribed table, by row, without the rows that do not report it."""
    i = table["columns"].index(name)
    return {k: r["values"][i] for k, r in table["rows"].items() if r["values"][i] is not None}


def measures(counts: pd.DataFrame, ref: dict, fps_rounds: pd.DataFrame | None = None, runs: dict | None = None,
             gwi: pd.DataFrame | None = None, artefacts: pd.DataFrame | None = None,
             memory: pd.DataFrame | None = None, net: dict | None = None, delta: dict | None = None) -> dict:
    c = counts.set_index("row")
    t2, t3, t4 = ref["table2"], ref["table3"], ref["table4"]
    params_paper = {**column(t2, "params_M"), **column(t3, "params_M"), **column(t4, "params_M")}
    gflops_paper = {**column(t2, "gflops"), **column(t3, "gflops")}
    ours_m = (c.params / 1e6).to_dict()
    realtime = [k for k in c.index if k in t3["rows"] or (k in t4["rows"] and "w/o" not in k)]
    without = [k for k in c.index if "w/o" in k]
    counted = [k for k in c.index if k in gflops_paper]
    thop_g = (c.thop_macs / 1e9).to_dict()
    return {
        "params_error_realtime": distance_in_units({k: ours_m[k] for k in realtime}, params_paper),
        "paper_params_realtime": {k: params_paper[k] for k in realtime},
        "params_error_voc": distance_in_units({"HyperSeg-L": ours_m["HyperSeg-L"]}, params_paper),
        "paper_params_voc": params_paper["HyperSeg-L"],
        "params_error_wo": distance_in_units({k: ours_m[k] for k in without}, params_paper),
        "paper_params_wo": {k: params_paper[k] for k in without},
        "gflops_over_thop_gmacs": float(np.median([gflops_paper[k] / thop_g[k] for k in counted])),
        "gflops_error": distance_in_units({k: thop_g[k] for k in counted}, gflops_paper),
        "paper_gflops": {k: gflops_paper[k] for k in counted},
        "thop_missed_share": {k: float((c.dynamic_flops[k] + c.interp_flops[k]) / c.flops[k]) for k in counted},
        **paper_measures(ref),
        **({} if fps_rounds is None else {"wo_fps_ratio": wo_fps_ratio(fps_rounds)}),
        **({} if not runs else trained_measures(runs, net, delta)),
        **({} if gwi is None else {"gwi_mapper_deviation": gwi_deviation(gwi)}),
        **({} if artefacts is None else {"patch_border_excess": border_excess(artefacts, net)}),
        **({} if memory is None else {"weight_memory_saving": weight_memory_saving(memory)}),
    }


def weight_memory_saving(memory: pd.DataFrame) -> dict[str, Shown]:
    """Per network: the peak inference memory with every generated weight map kept over the peak as it runs."""
    mib = lambda x: f"{x / 2 ** 20:.3g} MiB"  # noqa: E731
    return {r.network: Shown(r.peak_bytes_all_kept / r.peak_bytes, f"{r.peak_bytes_all_kept / r.peak_bytes:.3g} "
                             f"({mib(r.peak_bytes_all_kept)} / {mib(r.peak_bytes)}; weight maps {mib(r.weight_map_bytes)})")
            for r in memory.itertuples()}


def judged(res: pd.DataFrame, net: dict) -> pd.DataFrame:
    """The runs of the network the ablation's claims judge, `net` = params.yaml hyperseg.ablation.judged
    ({template, backbone}; the paper profile trains more)."""
    return res[(res.template == net["template"]) & (res.backbone == net["backbone"])]


MIOU = "mIoU points"  # test mIoU is in per cent, so a difference is in points
STATIC = "w/o DPWConv (static decoder)"


def sides(ablation: pd.DataFrame, tradeoff: pd.DataFrame, net: dict) -> dict[str, tuple[pd.Series, pd.Series]]:
    """Per comparison, by seed: HyperSeg-S's test mIoU and that of the network it is compared with (the
    same network w/o DPWConv: the ablation; each plain U-Net: the trade-off)."""
    a = judged(ablation, net)
    d = a.dynamic.astype(bool)
    full = a[d].set_index("seed").test_miou
    return {STATIC: (full, a[~d].set_index("seed").test_miou),
            **{f"U-Net width {w}": (full, g.set_index("seed").test_miou)
               for w, g in tradeoff.groupby(tradeoff.width.astype(int))}}  # (int: doubled's table mixes in NaN)


def doubling(runs: dict, net: dict, delta: dict) -> dict[str, dict]:
    """The budget-doubling check (core.claims.doubling_check) of each comparison, against half the δ its
    claim states (`delta`: {comparison: δ}, "*" for the rest). {} when nothing was doubled (runs that
    stop on plateaus)."""
    twice = runs.get("doubled")
    if twice is None or twice.empty:
        return {}
    unet = twice.get("unet", pd.Series(False, index=twice.index)).fillna(False).astype(bool)
    gap = lambda x: (x[0] - x[1]).dropna()  # noqa: E731  (per seed, on the seeds both sides have)
    first, doubled = sides(runs["ablation"], runs["tradeoff"], net), sides(twice[~unet], twice[unet], net)
    return {k: doubling_check(gap(first[k]).to_dict(), gap(g).to_dict(), float(gap(first[k]).std(ddof=1)),
                              len(gap(first[k])), float(delta.get(k, delta.get("*"))), MIOU)
            for k, g in doubled.items()}


def trained_measures(runs: dict, net: dict, delta: dict) -> dict:
    """Table 4's ablation and Figs. 1 and 4 at our scale: HyperSeg-S's test mIoU per seed against
    the same network without DPWConv (the ablation) and against each plain U-Net and that static
    decoder (the trade-off); and whether each converged."""
    a, t = judged(runs["ablation"], net), runs["tradeoff"]
    checks = doubling(runs, net, delta)
    comparisons = {k: Arms.by_seed(x, y, MIOU) for k, (x, y) in sides(runs["ablation"], t, net).items()}
    unets = [k for k in comparisons if k != STATIC]
    return {"ablation_dpwconv_vs_static": comparisons[STATIC], "tradeoff_vs_unet": comparisons,
            "converged_ablation": converged_share(a, [checks.get(STATIC)]),
            "converged_tradeoff": converged_share(t, [checks.get(u) for u in unets])}


def gwi_deviation(gwi: pd.DataFrame) -> dict[str, float]:
    """Per network: the largest |count at s g_wi x s / count at g_wi - 1| over the scales s and
    over the mappers' parameters and FLOPs (0: exactly inversely proportional, eqs. 6-7)."""
    out = {}
    for net, g in gwi.groupby("network", sort=False):
        base = g[g.scale == 1].iloc[0]
        out[net] = max(abs(r[c] * r.scale / base[c] - 1) for _, r in g[g.scale != 1].iterrows()
                       for c in ("mapper_params", "mapper_flops"))
    return out


def border_excess(artefacts: pd.DataFrame, net: dict) -> dict[str, float]:
    """HyperSeg-S's patch-border ratio with DPWConv over without (means over seeds)."""
    a = judged(artefacts, net)
    d = a.dynamic.astype(bool)
    return {"S": float(a[d].border_ratio.mean() / a[~d].border_ratio.mean())}


def wo_fps_ratio(rounds: pd.DataFrame) -> dict[str, Shown]:
    """Our FPS (batch 1, BatchNorm folded) of 'w/o DPWConv' over the full network's, for S and L: the
    median over rounds of the full network's time over the ablation's, with its 95 % interval."""
    ms = rounds_of(rounds, "network", "ms_batch1_folded")
    return {v: interval(*ratio_interval(ms[f"HyperSeg-{v}"], ms[f"HyperSeg-{v} w/o DPWConv"])) for v in ("S", "L")}


def paper_measures(ref: dict) -> dict:
    """The claims the paper's own tables settle."""
    t2, t3, t4 = ref["table2"], ref["table3"], ref["table4"]
    miou2, g2, p2 = (column(t2, n) for n in ("miou", "gflops", "params_M"))
    best_other = lambda col, k, f=max: f(v for r, v in col.items() if r != k)  # noqa: E731
    m4, f4 = column(t4, "miou"), column(t4, "fps")
    ours4 = {v: m4[f"HyperSeg-{v} EfficientNet-B1"] for v in ("S", "L")}
    p3, p4, outside = column(t3, "params_M"), column(t4, "params_M"), ref["text"]["bisenetv2_l_with_cityscapes"]
    test3, fps3, g3 = column(t3, "miou_test"), column(t3, "fps"), column(t3, "gflops")
    ours3 = [k for k in t3["rows"] if k.startswith("HyperSeg")]
    previous3 = [k for k in t3["rows"] if k not in ours3]
    dominating = lambda k: [o for o in previous3 if o in fps3 and fps3[o] >= fps3[k] and test3[o] >= test3[k]]  # noqa: E731
    return {
        "paper_fps_tradeoff": {k: Shown(float(len(dominating(k))), f"{fps3[k]:g} FPS, {test3[k]:g} %: "
                                        + (", ".join(dominating(k)) or "no") + " previous method at least as fast and accurate")
                               for k in ours3},
        "paper_gflops_tradeoff": {k: round(test3[k] - max(test3[o] for o in previous3 if o in g3 and g3[o] <= g3[k]), 2)
                                  for k in ours3},
        "paper_voc_runtime_columns": float(sum(c in ("fps", "ms", "runtime") for c in t2["columns"])),
        "paper_voc_best": {"mIoU margin": miou2["HyperSeg-L"] - best_other(miou2, "HyperSeg-L"),
                           "GFLOPs below the next": best_other(g2, "HyperSeg-L", min) - g2["HyperSeg-L"],
                           "parameters below the next": best_other(p2, "HyperSeg-L", min) - p2["HyperSeg-L"]},
        "paper_cityscapes_best": {f"{split} mIoU margin": col["HyperSeg-S"] - best_other(col, "HyperSeg-S")
                                  for split, col in (("val", column(t3, "miou_val")), ("test", column(t3, "miou_test")))},
        "paper_camvid_margin": {f"HyperSeg-{v}": x - max(m4[k] for k in t4["previous"]) for v, x in ours4.items()},
        "paper_ablation_text_minus_table": {v: round(drop - (ours4[v] - m4[f"HyperSeg-{v} w/o DPWConv"]), 2) + 0.0
                                            for v, drop in ref["text"]["ablation_miou_drop"].items()},
        "paper_b1_margin": {f"HyperSeg-{v} over {b}": ours4[v] - m4[f"HyperSeg-{v} {b}"]
                            for v in ("S", "L") for b in ("ResNet18", "PSPNet18", "PSPNet50")},
        "paper_wo_fps_ratio": {v: f4[f"HyperSeg-{v} w/o DPWConv"] / f4[f"HyperSeg-{v} EfficientNet-B1"] for v in ("S", "L")},
        "paper_ablation_drop": {v: ours4[v] - m4[f"HyperSeg-{v} w/o DPWConv"] for v in ("S", "L")},
        "paper_backbone_margin": {f"HyperSeg-{v} {b}": round(m4[f"HyperSeg-{v} {b}"] - max(
                                      m4[k] for k in t4["previous"] if t4["rows"][k].get("backbone") == b), 2)
                                  for v in ("S", "L") for b in ("ResNet18", "PSPNet18", "PSPNet50")},
        "paper_outside_data_margin": {"HyperSeg-L": round(ours4["L"] - outside, 2)},
        "paper_outside_data_vs_s": {"HyperSeg-S": round(abs(ours4["S"] - outside), 2)},
        "paper_sml_param_order": {"M over S (Table 3)": round(p3["HyperSeg-M"] - p3["HyperSeg-S"], 2),
                                  "L over S (Table 4)": round(p4["HyperSeg-L EfficientNet-B1"] - p4["HyperSeg-S EfficientNet-B1"], 2),
                                  "L (Table 2) over M (Table 3)": round(p2["HyperSeg-L"] - p3["HyperSeg-M"], 2)},
        "paper_wo_params_below_full": {v: round(p4[f"HyperSeg-{v} EfficientNet-B1"] - p4[f"HyperSeg-{v} w/o DPWConv"], 2) + 0.0
                                       for v in ("S", "L")},
    }
