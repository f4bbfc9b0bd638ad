"""What HyperConv's claims read: every measure of references/hyperconv.yaml, from the evaluation's tables.

`measures(tables, ref)` maps each measure name to a value (a number or {case: number}); names
starting with `paper_` are computed from the transcribed tables alone (the paper against
itself). `tables` are the frames `evaluate` writes: counts, eq1, eq4, equivariance, depth, memory,
memory_pair, and the timed grouped and networks (runs/eval/hyperconv/timing/).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.benchmark import ratio_interval, rounds_of
from ..core.claims import NOT_RUN, Shown, distance_in_units, interval
from ..core.stats import Arms
from .properties import per_layer_factor

TIMING_MEASURES = ("grouped_slowdown_large_batch_small_image", "grouped_slowdown_batch1", "vdn_time_ratio")


def _column(ref_table: dict, name: str) -> dict[str, float]:
    i = ref_table["columns"].index(name)
    return {k: r["values"][i] for k, r in ref_table["rows"].items() if r["values"][i] is not None}


def _ours_rows(ref_table: dict) -> list[str]:
    return [k for k, r in ref_table["rows"].items() if r.get("net") is not None or r.get("div") is not None]


def measures(t: dict[str, pd.DataFrame], ref: dict) -> dict:
    t1, t2 = ref["table1"], ref["table2"]
    counts = t["counts"].set_index("network")
    mine1 = _ours_rows(t1)
    c1 = counts.loc[mine1]
    params_m = (c1.params / 1e6).to_dict()
    flops_t = (c1.flops_12_6 / 1e12).to_dict()
    p_params, p_flops = _column(t1, "params_M"), _column(t1, "flops_T")
    vdn = counts.loc[list(t2["rows"])]
    hc_rows = [k for k in mine1 if t1["rows"][k]["net"][1] is not None]
    no_hc_rows = [k for k in mine1 if t1["rows"][k]["net"][1] is None]
    per_flop = c1.params / c1.flops_12_6
    sweep_hc = counts[counts.kind == "sweep hc"]
    sweep_no = counts[counts.kind == "sweep no hc"]
    growth = lambda s: s.max() / s.min()  # noqa: E731
    eq1, eq4, mem = t["eq1"], t["eq4"].set_index("c_in"), t["memory"].set_index("network")

    per_mpix = (vdn.flops / vdn.mpix / 1e12).to_dict()
    implied_mpix = {k: v / per_mpix[k] for k, v in _column(t2, "flops_T").items()}  # input size giving the paper's FLOPs

    m = {
        "table1_params_error": distance_in_units(params_m, p_params),
        "table1_flops_error": distance_in_units(flops_t, p_flops),
        "paper_table1_params": {k: p_params[k] for k in mine1},
        "paper_table1_flops": {k: p_flops[k] for k in mine1},
        "table1_flops_per_mac": float(np.median([p_flops[k] * 1e12 / (c1.flops_12_6[k] / 2) for k in mine1])),
        "table2_params_error": distance_in_units((vdn.params / 1e6).to_dict(), _column(t2, "params_M")),
        "paper_table2_params": _column(t2, "params_M"),
        "vdn_flop_ratio": float(vdn.flops[vdn["div"] == 1].iloc[0] / vdn.flops[vdn["div"] == 3].iloc[0]),
        "paper_table2_flop_ratio": _column(t2, "flops_T")["VDN"] / _column(t2, "flops_T")["Ours (c/3)"],
        "table2_implied_mpix_spread": growth(pd.Series(implied_mpix)),
        "table2_implied_mpix": implied_mpix,
        "params_per_flop_gain": float(per_flop[hc_rows].min() / per_flop[no_hc_rows].max()),
        "paper_params_per_flop_gain": (min(p_params[k] / p_flops[k] for k in hc_rows)
                                       / max(p_params[k] / p_flops[k] for k in no_hc_rows)),
        "table1_mlp_flop_share": (c1.mlp_flops / c1.flops).loc[hc_rows].to_dict(),
        "table1_mlp_flop_share_by_side": lambda sides: {f"{k}, {s} px": mlp_share_at_side(c1.loc[k], s)
                                                        for k in hc_rows for s in sides},
        "mlp_nobias_params_per_flop": float(eq1.mlp_nobias_params_per_flop.iloc[0]),
        "sweep_flop_growth": {"hc": float(growth(sweep_hc.flops_12_6)),
                              "no HC": float(growth(sweep_no.params) / growth(sweep_no.flops_12_6))},
        "sweep_param_growth": float(growth(sweep_hc.params)),
        "eq2_deviation": (eq1.conv_flops / eq1.conv_params / (2 * eq1.side ** 2) - 1).abs().set_axis(eq1.side).to_dict(),
        # eq. 4 read as eq. 5 implies (the L1 sum outside the square root), and as printed (inside it)
        "eq4_variance_over_he": eq4.var_over_he_eq5.to_dict(),
        "eq4_variance_over_he_as_printed": eq4.var_over_he.to_dict(),
        "eq4_l1_norm": {**{f"eq. 5's reading, C_in = {c}": v for c, v in eq4.l1_eq5.items()},
                        **{f"as printed, C_in = {c}": v for c, v in eq4.l1_eq4.items()}},
        "code_minus_eq4": float(min(eq4.max_code_minus_eq4.max(), eq4.max_code_minus_eq5.max())),  # either reading
        "vdn_memory_ratio": {k: float(mem.bytes["VDN"] / mem.bytes[k]) for k in t2["rows"] if k != "VDN"},
        "paper_table2_memory_ratio": {k: _column(t2, "mem_GB")["VDN"] / v for k, v in _column(t2, "mem_GB").items()
                                      if k != "VDN"},
        "table1_memory_ratio": float(mem.bytes["(96, no HC)"] / mem.bytes["(64, 32, 2048)"]),
        "paper_table1_memory_ratio": _column(t1, "mem_GB")["(96, no HC)"] / _column(t1, "mem_GB")["(64, 32, 2048)"],
        "more_params_no_more_cost": more_params_no_more_cost(c1, mem),
        "equivariance_error": {f"{r.layer}, shift {r.shift}": r.relative_error for r in t["equivariance"].itertuples()},
        "depth_rms_factor": depth_factors(t["depth"]),
        "channel_spread_first_layer": channel_spreads(t["depth"]),
        "memory_pair": memory_pair(t["memory_pair"]),
        "memory_pair_param_match": float(t["memory_pair"].query("role != 'standard'").params.agg(lambda p: p.min() / p.max())),
        **paper_measures(t1, t2),
        "paper_text_vs_code": text_vs_code(ref["text_vs_code"]),
    }
    m.update(trained_measures(t))
    if "grouped" in t:
        g = t["grouped"]
        ratio = lambda r: interval(r.grouped_over_standard, r.grouped_over_standard_low, r.grouped_over_standard_high)  # noqa: E731
        m["grouped_slowdown_large_batch_small_image"] = ratio(
            g[(g.batch == g.batch.max()) & (g["size"] == g["size"].min())].iloc[0])
        m["grouped_slowdown_batch1"] = {int(r["size"]): ratio(r) for _, r in g[g.batch == 1].iterrows()}
        ms = rounds_of(t["networks_rounds"], "network", "ms")
        m["vdn_time_ratio"] = {k: interval(*ratio_interval(ms["VDN"], ms[k])) for k in t2["rows"] if k != "VDN"}
        m["paper_table2_time_ratio"] = {k: _column(t2, "cpu_s_per_mpix")["VDN"] / v
                                        for k, v in _column(t2, "cpu_s_per_mpix").items() if k != "VDN"}
    return m


def mlp_share_at_side(counted: pd.Series, side: int) -> float:
    """The MLPs' share of a network's FLOPs on a side x side RAW frame (packed to side/2 x side/2), from its
    counts at another frame (`counted`: flops, mlp_flops, mpix of the RAW frame): the convolutions grow
    with the pixels, the MLPs do not."""
    per_px = (counted.flops - counted.mlp_flops) / (counted.mpix * 1e6 / 4)
    return float(counted.mlp_flops / (counted.mlp_flops + per_px * (side / 2) ** 2))


def more_params_no_more_cost(c1: pd.DataFrame, mem: pd.DataFrame, big: str = "(64, 32, 2048)",
                             small: str = "(96, no HC)") -> dict[str, Shown]:
    """§6 on Table 1's pair: the no-HC network's FLOPs (at 12.6 MPix) and peak convolution memory over
    those of the HyperConv network with about 770x its parameters (>= 1: the larger costs no more)."""
    ratio = float(c1.params[big] / c1.params[small])
    return {f"{what} {small} / {big} ({ratio:.0f}x the parameters)": Shown(v, f"{v:.3g}") for what, v in (
        ("FLOPs", float(c1.flops_12_6[small] / c1.flops_12_6[big])),
        ("peak convolution memory", float(mem.bytes[small] / mem.bytes[big])))}


def channel_spreads(depth: pd.DataFrame) -> dict[str, Shown]:
    """Per width: the first HyperConvolution's largest output-channel RMS over its smallest, beside He's."""
    first = depth[depth.layer == 1].set_index(["kind", "width"]).channel_spread
    return {f"width {c}": Shown(v, f"{v:.3g} (He-initialised convolution: {first['He-initialised convolution', c]:.3g})")
            for (k, c), v in first.items() if k == "HyperConv"}


def memory_pair(pair: pd.DataFrame) -> dict[str, Shown]:
    """§4.2: the wide network's activation memory over the narrow one's (equal parameters), and the
    standard network's activation memory over its parameters' bytes."""
    r = pair.set_index("role")
    mb = lambda x: f"{x / 2 ** 20:.3g} MiB"  # noqa: E731
    wide, narrow, std = r.loc["wide"], r.loc["narrow"], r.loc["standard"]
    return {f"{wide.network} / {narrow.network} ({wide.params / 1e6:.0f} M parameters each)": Shown(
                wide.activation_bytes / narrow.activation_bytes, f"{wide.activation_bytes / narrow.activation_bytes:.3g} "
                f"({mb(wide.activation_bytes)} / {mb(narrow.activation_bytes)})"),
            f"{std.network}: feature maps / filters": Shown(
                std.activation_bytes / std.param_bytes, f"{std.activation_bytes / std.param_bytes:.3g} "
                f"({mb(std.activation_bytes)} / {mb(std.param_bytes)})")}


def depth_factors(depth: pd.DataFrame) -> dict[str, Shown]:
    """Per width: the HyperConv stack's mean RMS change per layer, shown beside the He-initialised stack's."""
    f = {(k, c): per_layer_factor(g.sort_values("layer").rms.tolist()) for (k, c), g in depth.groupby(["kind", "width"])}
    return {f"width {c}": Shown(v, f"{v:.3g} (He-initialised convolutions: {f['He-initialised convolution', c]:.3g})")
            for (k, c), v in f.items() if k == "HyperConv"}


def paper_measures(t1: dict, t2: dict) -> dict:
    """The claims the paper's own tables settle."""
    ms, ss, fl, params = (_column(t1, c) for c in ("ms_ssim", "ssim", "flops_T", "params_M"))
    psnr = _column(t1, "psnr")
    best = "(64, 32, 2048)"
    pretrained = ("PyNet", "PyNet-CA", "AWNet 4-channel")
    narrow = "(8, 32, 4000)"
    wider = [k for k in ("(32, 32, 2048)", "(32, 16, 2048)") if params[k] < params[narrow]]
    gap = lambda col, split: {k: _column(t2, f"{col}_{split}")[k] - _column(t2, f"{col}_{split}")["VDN"]  # noqa: E731
                              for k in t2["rows"] if k != "VDN"}
    return {
        "paper_best_minus_sota": {"MS-SSIM": ms[best] - max(v for k, v in ms.items() if k != best),
                                  "SSIM": ss[best] - max(v for k, v in ss.items() if k != best)},
        "paper_sota_flops_over_best": {k: fl[k] / fl[best] for k in pretrained},
        "paper_sota_costlier": {k: costlier(t1, k, best) for k in pretrained},
        "paper_table1_hc_minus_no_hc": {k: 100 * (ms[best] - ms[k]) for k in ("(96, no HC)", "(64, no HC)")},
        "paper_bottleneck_deficit": {c: min(vals[k] - vals[narrow] for k in wider)
                                     for c, vals in (("PSNR", psnr), ("MS-SSIM", ms), ("SSIM", ss))},
        "paper_vdn_psnr_gap": {f"{k} {s}": v for s in ("val", "test") for k, v in gap("psnr", s).items()},
        "paper_vdn_ssim_gap": {f"{k} {s}": v for s in ("val", "test") for k, v in gap("ssim", s).items()},
    }


def costlier(t1: dict, other: str, best: str) -> Shown:
    """§5.3.1: the smallest of `other`'s FLOPs, CPU time and memory over `best`'s (Table 1), if `best` beats it
    in every score both report (SSIM, MS-SSIM); else 0, as `best` does not exceed it."""
    cost = {c: _column(t1, c)[other] / _column(t1, c)[best] for c in ("flops_T", "cpu_s", "mem_GB")}
    beaten = [c for c in ("ms_ssim", "ssim") if other in _column(t1, c)]
    exceeds = all(_column(t1, c)[best] > _column(t1, c)[other] for c in beaten)
    text = ", ".join(f"{c.split('_')[0]} x{v:.3g}" for c, v in cost.items())
    return Shown(min(cost.values()) if exceeds else 0.0,
                 f"{text}; {best} {'exceeds' if exceeds else 'does not exceed'} its {' and '.join(beaten)}")


def text_vs_code(pairs: dict) -> dict[str, Shown]:
    """Per transcribed point: 1 where the text's reading and the appendix code's are the same, else 0."""
    return {k: Shown(float(p["text"] == p["code"]), f"text: {p['text']}; code: {p['code']}") for k, p in pairs.items()}


def trained_measures(t: dict) -> dict:
    """The trained experiments' measures; an experiment the profile leaves out (None) is NOT_RUN,
    and its claims say so."""
    of = {"sweep": lambda r: sweep_measures(r, t["counts"]), "table1": table1_measures}
    return {k: v for e, f in of.items() if e in t
            for k, v in (f(t[e]) if t[e] is not None else {f"converged_{e}": NOT_RUN}).items()}


QUALITY, ERROR = "MS-SSIM points", "error points"  # test MS-SSIM x 100, and 1 - MS-SSIM x 100


def _arms(a: pd.DataFrame, b: pd.DataFrame, column: str, unit: str) -> Arms:
    """a minus b per seed, paired: a seed gives every network the same minibatches (the task's draws come
    from the run's generator alone)."""
    return Arms.by_seed(a.set_index("seed")[column], b.set_index("seed")[column], unit)


def sweep_measures(res: pd.DataFrame, counts: pd.DataFrame) -> dict:
    """The trained sweep's claims (Figs. 3-4), as comparisons of test MS-SSIM x 100 per seed, and the fall
    of the no-HC network's test error (1 - MS-SSIM, x 100) from each width to the next. The
    peak test's threshold (in seed standard deviations) and the FLOP window of 'equal FLOPs' are
    the claims' measure_args (references/hyperconv.yaml)."""
    r = res.assign(score=100 * res.test_ms_ssim, err=100 * (1 - res.test_ms_ssim))
    hc, no = r[r.hc.astype(bool)], r[~r.hc.astype(bool)]
    n = sorted(hc.n_hid.unique())
    by_n = {k: g for k, g in hc.groupby("n_hid")}
    mean, std = hc.groupby("n_hid").err.mean(), hc.groupby("n_hid").err.std(ddof=1).fillna(0)
    flops = counts.set_index("network").flops_12_6
    f_hc = flops[f"n_hid = {int(n[-1])}"]

    def shape(peak_sd: float) -> dict[str, float]:
        """An interior n_hid whose error exceeds both neighbours' by more than peak_sd of its seed std; double
        descent needs that peak, so without one the second point cannot count (rule of 2026-12-06, commit 940df64)."""
        peak = any(mean[n[i]] - max(mean[n[i - 1]], mean[n[i + 1]]) > peak_sd * std[n[i]] for i in range(1, len(n) - 1))
        return {"interior peak": float(peak), "and the largest n_hid lowest error": float(peak and mean.idxmin() == n[-1])}

    def equal_flops(low: float, high: float) -> dict[str, Arms]:
        near = [w for w in sorted(no.n_fwd.unique()) if low <= flops[f"no HC, n_fwd = {int(w)}"] / f_hc <= high]
        if not near:
            raise ValueError(f"no network of hyperconv.sweep.no_hc_widths has FLOPs within {low:g}-{high:g}x of the "
                             "largest-n_hid HyperConv network's at 12.6 MPix; add widths around it")
        return {f"no HC, n_fwd = {int(w)}": _arms(by_n[n[-1]], no[no.n_fwd == w], "score", QUALITY) for w in near}

    widths = sorted(no.n_fwd.unique())
    f_no = {w: flops[f"no HC, n_fwd = {int(w)}"] for w in widths}
    steps = {f"n_fwd = {int(a)} -> {int(b)} (x{f_no[b] / f_no[a]:.3g} FLOPs)":
             _arms(no[no.n_fwd == a], no[no.n_fwd == b], "err", ERROR) for a, b in zip(widths, widths[1:])}
    return {"sweep_largest_vs_smallest_nhid": _arms(by_n[n[-1]], by_n[n[0]], "score", QUALITY),
            "sweep_no_hc_error_steps": steps,
            "sweep_double_descent_shape": shape,
            "sweep_hc_vs_no_hc_equal_flops": equal_flops,
            "converged_sweep": float(res.converged.astype(bool).mean())}


def table1_measures(res: pd.DataFrame) -> dict:
    """Table 1's networks trained at a fraction of their widths: test MS-SSIM x 100 per seed, by paper row,
    as comparisons."""
    r = res.assign(score=100 * res.test_ms_ssim)
    rows = {k: g for k, g in r.groupby("row")}
    return {"table1_hc_vs_no_hc": {k: _arms(rows["(64, 32, 2048)"], rows[k], "score", QUALITY)
                                   for k in ("(96, no HC)", "(64, no HC)")},
            "table1_bottleneck": _arms(rows["(32, 16, 2048)"], rows["(8, 32, 4000)"], "score", QUALITY),
            "converged_table1": float(res.converged.astype(bool).mean())}
