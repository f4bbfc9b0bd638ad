"""The Shape Adaptor chapter's experiments as lists of runs (Shape Adaptor §4-5).

`plan(experiment, p)` turns the `shapes` section of params.yaml into named `Run`s;
`run_experiment` trains each (resuming from its checkpoint), measures it and writes one
row per run to `results.csv`. Experiments, with the paper's table or figure:

* table1: every network, human vs shape adaptor, every seed (Table 1).
* n_adaptors: the ablation network with other numbers of adaptors (Table 2).
* init: the ablation network with other initial s(alpha) (Table 3).
* fix: Fix(Final), retrained with table1's learned shape frozen, and Fix(Large), the largest
  uniform shape under the memory limit (Table 4). Reads table1's results.
* random: random frozen shapes under the memory limit (Fig. 5).
* autosc: AutoSC on MobileNetV2 (Table 5).
* s_grad: the "grid" estimator of grad s against the official "detach" (our ablation).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .claims import welch_p
from .classify import ClassifyConfig, stratified_subset, train_classifier
from .data import Dataset, Split, load_dataset
from .flops import count_macs
from .io import write_json, write_text
from .models import create_model
from .models.shape_adaptor import n_adaptors as eq3_n_adaptors

EXPERIMENTS = ("table1", "n_adaptors", "init", "fix", "random", "autosc", "s_grad")


@dataclass
class Run:
    name: str  # folder name, unique within an experiment
    net: str
    design: str
    seed: int
    setting: str = ""  # what this run varies, e.g. "N=5"
    model: dict = field(default_factory=dict)  # constructor overrides


def eq3_count(p: dict) -> int:
    a = p["adaptor"]
    return eq3_n_adaptors(p["data"]["input_size"], a["d_last"], a["r_min"])


def plan(experiment: str, p: dict, table1: pd.DataFrame | None = None) -> list[Run]:
    """The runs of `experiment` for the `shapes` params `p` (fix needs table1's results)."""
    if experiment not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {experiment!r}; known: {EXPERIMENTS}")
    net, seed0, n = p["ablation_net"], p["seeds"][0], eq3_count(p)
    a = p["adaptor"]
    if experiment == "table1":
        return [Run(f"{f}-{d}-seed{s}", f, d, s, d) for f in p["nets"] for d in ("human", "adaptor") for s in p["seeds"]]
    if experiment == "n_adaptors":
        return [Run(f"{net}-N{k}", net, "adaptor", seed0, f"N={k}", {"n_adaptors": k}) for k in p["n_adaptors"]]
    if experiment == "init":
        return [Run(f"{net}-s{s:g}", net, "adaptor", seed0, f"s0={s:g}", {"init_s": [s] * n}) for s in p["init_s"]]
    if experiment == "fix":
        if table1 is None:
            raise ValueError("the fix experiment needs table1's results (run `dvc repro train_shapes@table1`)")
        runs = []
        for s in p["seeds"]:
            row = table1[(table1.net == net) & (table1.design == "adaptor") & (table1.seed == s)]
            if row.empty:
                raise ValueError(f"table1 has no {net} adaptor run for seed {s}")
            runs.append(Run(f"{net}-final-seed{s}", net, "adaptor", s, "Fix (Final)",
                            {"fixed_s": floats(row.iloc[0]["s_final"])}))
            # Largest uniform shape under the memory limit; without a limit, no down-sampling at all.
            large = (a["d_limit"] / p["data"]["input_size"]) ** (1 / n) if a["d_limit"] else a["r_max"]
            runs.append(Run(f"{net}-large-seed{s}", net, "adaptor", s, "Fix (Large)",
                            {"fixed_s": [min(large, a["r_max"] - 1e-4)] * n}))
        return runs
    if experiment == "random":
        rng = np.random.default_rng(p["random_seed"])
        runs = []
        while len(runs) < p["n_random"]:
            s = rng.uniform(a["r_min"], a["r_max"], n)
            if a["d_limit"] is None or p["data"]["input_size"] * np.prod(s) <= a["d_limit"]:
                runs.append(Run(f"{net}-random{len(runs)}", net, "adaptor", seed0, "random",
                                {"fixed_s": [round(float(v), 4) for v in s]}))
        return runs
    if experiment == "autosc":
        return [Run(f"mobilenetv2-autosc-seed{s}", "mobilenetv2", "autosc", s, "AutoSC",
                    {"width_mult": p["autosc_width_mult"]}) for s in p["seeds"]]
    return [Run(f"{net}-grid-seed{s}", net, "adaptor", s, "s_grad=grid", {"s_grad": "grid"}) for s in p["seeds"]]


def load_data(p: dict) -> Dataset:
    """The `shapes.data` set, its test split cut to a class-stratified `n_test` images."""
    d = p["data"]
    ds = load_dataset(d["name"], d["root"])
    size = ds.splits["train"].images.shape[-1]
    if size != d["input_size"]:
        raise ValueError(f"shapes.data.input_size={d['input_size']} but {d['name']} images are {size}x{size}")
    test = ds["test"]
    keep = stratified_subset(test.labels, d.get("n_test"), seed=1)
    return Dataset(ds.name, ds.label_names, {"train": ds["train"], "test": Split(test.images[keep], test.labels[keep])},
                   ds.meta)


def build(run: Run, p: dict, data: Dataset):
    a = p["adaptor"]
    cfg = dict(num_classes=data.num_classes, in_chans=data.in_channels, input_size=p["data"]["input_size"],
               width_mult=p["width_mult"], design=run.design, r_min=a["r_min"], r_max=a["r_max"],
               d_last=a["d_last"], d_out=a["d_out"], d_limit=a["d_limit"])  # n_adaptors: eq. 3 unless a run sets it
    cfg.update(run.model)
    torch.manual_seed(run.seed)
    return create_model(run.net, **cfg)


def run_experiment(experiment: str, p: dict, out_dir, table1: pd.DataFrame | None = None,
                   progress: bool = True) -> pd.DataFrame:
    """Train (or resume) every run of `experiment`; write out_dir/<run>/… and out_dir/results.csv."""
    out_dir = Path(out_dir)
    data = load_data(p)
    cfg = ClassifyConfig(**p["train"])
    rows = []
    for run in plan(experiment, p, table1):
        model = build(run, p, data)
        s_init = model.shape_factors()
        run_dir = out_dir / run.name
        res = train_classifier(model, data, cfg, run.seed, checkpoint=run_dir / "checkpoint.pt", progress=progress)
        shape = (data.in_channels, p["data"]["input_size"], p["data"]["input_size"])
        model.eval()
        rho = model.update_rho()  # the memory penalty the final shape runs with
        layers = model.feature_shapes()
        row = {"experiment": experiment, "run": run.name, "net": run.net, "design": run.design, "seed": run.seed,
               "setting": run.setting, "test_acc": res.test_acc, "n_adaptors": len(model.adaptors),
               "s_init": " ".join(f"{s:.4f}" for s in s_init),
               "s_final": " ".join(f"{s:.4f}" for s in model.shape_factors()),
               "rho": rho, "d_cout": model.final_size(), "sizes": " ".join(str(s[-1]) for s in layers),
               "macs": count_macs(model, shape, count_resize=False), "macs_with_resize": count_macs(model, shape),
               # Fig. 5's memory proxy: activation floats one image leaves after the stem and every cell
               "memory": int(sum(np.prod(s) for s in layers)),
               "params": sum(q.numel() for q in model.weight_parameters()),
               "steps": res.steps, "train_seconds": res.train_seconds}
        write_json(run_dir / "metrics.json", row)
        write_text(run_dir / "history.csv", pd.DataFrame(res.history).to_csv(index=False))
        write_text(run_dir / "s_trace.csv", pd.DataFrame(res.s_trace).to_csv(index=False))
        rows.append(row)
    results = pd.DataFrame(rows)
    write_text(out_dir / "results.csv", results.to_csv(index=False, float_format="%.6g"))
    return results


def floats(s) -> list[float]:
    """The space-separated numbers of a results.csv cell (s_init, s_final, sizes)."""
    return [float(v) for v in str(s).split()] if isinstance(s, str) and s.strip() else []


def measures(results: dict[str, pd.DataFrame], paper: dict, p: dict) -> dict:
    """The quantities the claims ledger tests (references/shape_adaptor.yaml), from the runs' results."""
    from scipy.stats import spearmanr

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
