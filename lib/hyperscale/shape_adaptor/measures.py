"""What the Shape Adaptor claims read: quantities derived from the runs' results
(references/shape_adaptor.yaml names them)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ..core.claims import welch_p
from .runs import eq3_count, floats


def measures(results: dict[str, pd.DataFrame], paper: dict, p: dict) -> dict:
    """The quantities the claims ledger tests (references/shape_adaptor.yaml), from the runs' results."""
    t1 = results["table1"]
    acc = t1.groupby(["net", "design"]).test_acc
    mean, rng = acc.mean(), acc.max() - acc.min()
    net, n = p["ablation_net"], eq3_count(p)
    sa = t1[t1.design == "adaptor"]
    seed0 = t1[t1.seed == p["seeds"][0]].set_index(["net", "design"])
    m = {
        "table1_sa_minus_human": {f: (mean[f, "adaptor"] - mean[f, "human"],
                                      welch_p(t1[(t1.net == f) & (t1.design == "adaptor")].test_acc,
                                              t1[(t1.net == f) & (t1.design == "human")].test_acc))
                                  for f in p["nets"]},
        "table1_range_ratio": float(np.mean([rng[f, "adaptor"] for f in p["nets"]])
                                    / max(np.mean([rng[f, "human"] for f in p["nets"]]), 1e-9)),
        "macs_ratio_minus_one": {f: float(seed0.loc[(f, "adaptor"), "macs"] / seed0.loc[(f, "human"), "macs"] - 1)
                                 for f in p["nets"]},
        "mean_abs_s_change": float(np.mean([abs(b - a) for _, r in sa.iterrows()
                                            for a, b in zip(floats(r.s_init), floats(r.s_final))])),
        "depth_s_correlation": {r.run: float(np.nan_to_num(spearmanr(range(len(floats(r.s_final))),
                                                                      floats(r.s_final)).statistic))
                                for _, r in sa.iterrows()},
    }
    human = float(mean[net, "human"])
    eq3 = {f"N={n}": float(seed0.loc[(net, "adaptor"), "test_acc"])}
    n_runs = {r.setting: r.test_acc for _, r in results["n_adaptors"].iterrows()} | eq3
    m["table2_vs_human"] = {"values": n_runs, "baseline": human}
    m["table2_eq3"] = {"values": n_runs, "chosen": f"N={n}"}
    s0 = (p["adaptor"]["d_out"] / p["data"]["input_size"]) ** (1 / n)  # eq. 5's initial s
    init_runs = {r.setting: r.test_acc for _, r in results["init"].iterrows()} | {f"s0={s0:.3g} (eq. 5)": eq3[f"N={n}"]}
    m["table3_vs_human"] = {"values": init_runs, "baseline": human}
    standard = t1[(t1.net == net) & (t1.design == "adaptor")].test_acc.tolist()
    fix = {k: d.test_acc.tolist() for k, d in results["fix"].groupby("setting")}
    m["table4_standard_vs_fix"] = {"a": standard, "b": fix}
    m["table4_standard_vs_large"] = {"a": standard, "b": {"Fix (Large)": fix["Fix (Large)"]}}
    rnd = results["random"]
    m["random_vs_sa"] = {"values": {"shape adaptor": eq3[f"N={n}"], **{r.run: r.test_acc for _, r in rnd.iterrows()}},
                         "chosen": "shape adaptor"}
    worst = rnd.loc[rnd.test_acc.idxmin()]
    s_worst = floats(worst.s_final)
    m["worst_random_depth_correlation"] = {worst.run: float(spearmanr(range(len(s_worst)), s_worst).statistic)}
    m["random_memory_spearman"] = (float(np.nan_to_num(spearmanr(rnd.memory, rnd.test_acc).statistic))
                                   if len(rnd) > 2 else float("nan"))
    auto = results["autosc"]
    m["autosc_vs_human"] = {"a": auto.test_acc.tolist(),
                            "b": {"human": t1[(t1.net == "mobilenetv2") & (t1.design == "human")].test_acc.tolist()}}
    m["autosc_macs_ratio"] = float(auto.macs.mean() / seed0.loc[("mobilenetv2", "human"), "macs"])
    # The paper's own tables, for the internal-consistency claims.
    m["paper_table1_sa_minus_human"] = {f"{d} {f}": round(v[1] - v[0], 2) for d, row in paper["table1"].items()
                                        for f, v in row.items()}
    for t, key in (("table2", "paper_table2_aircraft_vgg"), ("table3", "paper_table3_aircraft_vgg")):
        row = paper[t]["Aircraft VGG-16"]
        m[key] = {"values": {str(k): v for k, v in row["sa"].items()}, "baseline": row["human"]}
    return m
