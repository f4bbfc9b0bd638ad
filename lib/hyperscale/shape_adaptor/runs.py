"""The Shape Adaptor chapter's experiments as lists of runs (Shape Adaptor §4-5).

`plan(experiment, p)` turns the `shape_adaptor` section of params.yaml into named `Run`s;
`run_experiment` trains each with the core loop (resuming from its checkpoint) on params.yaml's
`device` into runs/shape_adaptor/<experiment>/<run>/, measures it and writes one row per run to the
experiment's `results.csv`. Experiments, with the paper's table or figure:

* table1: every network, human vs shape adaptor, every seed (Table 1).
* doubled: table1's first seed of every network and design at twice the epochs (the
  budget-doubling check of core/train.py's convergence rule), when the runs train a fixed cosine
  schedule; the ablations below get none (no central claim reads them: the budget goes to Table 1
  first).
* n_adaptors: the ablation network with other numbers of adaptors (Table 2).
* init: the ablation network with other initial s(alpha) (Table 3).
* fix: Fix(Final), retrained with table1's learned shape frozen, and Fix(Large), the largest
  uniform shape under the memory limit (Table 4). Reads table1's results.
* random: random frozen shapes under the memory limit (Fig. 5).
* autosc: AutoSC on MobileNetV2 (Table 5).
* s_grad: the "grid" estimator of grad s against the official "detach" (our ablation).
* fig1: ResNet-50's two human designs, for CIFAR (B) and for ImageNet (A), every fig1 seed (Fig. 1).

`shape_adaptor.run` may leave an ablation out (`{experiment: false}`: no runs, and its claims say so);
the cpu profile leaves out all of them but AutoSC, to keep within its time budget.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..core.data import Dataset, Split
from ..data import load_dataset
from ..core.device import from_params as device_from_params
from ..core.flops import count_macs
from ..core.io import read_csv, read_json, write_text
from ..core.jobs import finished, train_planned
from ..core.models import create_model
from ..core.params import section
from ..core.project import project_root
from ..core.train import converged, save_run, train
from .adaptor import n_adaptors as eq3_n_adaptors
from .train import AlgConfig, Classification, stratified_subset

EXPERIMENTS = ("table1", "doubled", "n_adaptors", "init", "fix", "random", "autosc", "s_grad", "fig1")
RUNS_DIR = Path("runs/shape_adaptor")
ROW = ("experiment", "run", "net", "design", "seed", "setting", "test_acc", "n_adaptors", "s_init", "s_final", "rho",
       "d_cout", "sizes", "macs", "macs_with_resize", "memory", "params", "steps", "stopped_by", "converged")


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
    if not ran(experiment, p):
        return []
    net, seed0, n = p["ablation_net"], p["seeds"][0], eq3_count(p)
    a = p["adaptor"]
    if experiment == "table1":
        return [Run(f"{f}-{d}-seed{s}", f, d, s, d) for f in p["nets"] for d in ("human", "adaptor") for s in p["seeds"]]
    if experiment == "doubled":
        return [r for r in plan("table1", p) if r.seed == seed0] if on_schedule(p) else []
    if experiment == "n_adaptors":
        return [Run(f"{net}-N{k}", net, "adaptor", seed0, f"N={k}", {"n_adaptors": k}) for k in p["n_adaptors"]]
    if experiment == "init":
        return [Run(f"{net}-s{s:g}", net, "adaptor", seed0, f"s0={s:g}", {"init_s": [s] * n}) for s in p["init_s"]]
    if experiment == "fix":
        if table1 is None:
            raise ValueError("the fix experiment needs table1's results (run `dvc repro train_shape_adaptor@table1`)")
        runs = []
        for s in p["seeds"]:
            row = table1[(table1.net == net) & (table1.design == "adaptor") & (table1.seed == s)]
            if row.empty:
                raise ValueError(f"table1 has no {net} adaptor run for seed {s}; train table1 first "
                                 f"(`dvc repro train_shape_adaptor@table1`)")
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
    if experiment == "fig1":  # the CIFAR design (Human Designed B) and ImageNet's (A) of ResNet-50
        return [Run(f"resnet50-{k}-seed{s}", "resnet50", "human", s, f"Human Designed {k}", {"stem": stem} if k == "A" else {})
                for k, stem in (("B", "cifar"), ("A", "imagenet")) for s in p["fig1_seeds"]]
    return [Run(f"{net}-grid-seed{s}", net, "adaptor", s, "s_grad=grid", {"s_grad": "grid"}) for s in p["seeds"]]


def ran(experiment: str, p: dict) -> bool:
    """Whether the profile runs `experiment` (params.yaml's `shape_adaptor.run` may leave an ablation out)."""
    return p.get("run", {}).get(experiment, True)


def on_schedule(p: dict) -> bool:
    """Whether the runs train a fixed schedule (core.train.on_schedule): the task never stops early,
    so every learning rate, the weights' and alpha's, must decay to 0."""
    return all(p["train"][o].get("schedule") == "cosine" for o in ("optimizer", "alpha_optimizer"))


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


def setup(run: Run, experiment: str, p: dict, data: Dataset, device="cpu"):
    """The run's model (on `device`), task and training config (also what hyperscale.bench times)."""
    model = build(run, p, data).to(device)  # before the task, as the runs were first trained
    alg = AlgConfig(**p["train"])
    if experiment == "doubled":  # twice the budget, the schedule stretched over it
        alg = alg.model_copy(update={"epochs": 2 * alg.epochs})
    task = Classification(data, alg, device)
    return model, task, task.train_config()


def train_run(run: Run, experiment: str, p: dict, data: Dataset, root, progress=True) -> dict:
    """Train (or read back) one run and measure it; its row of results.csv."""
    out = folder(experiment, root) / run.name
    model, task, cfg = setup(run, experiment, p, data, device_from_params(root))
    s_init = model.shape_factors()
    res = train(model, task, cfg, run.seed, out, progress=progress, desc=f"{experiment}/{run.name}")
    model.cpu()  # measured on the CPU, as every other run
    shape = (data.in_channels, p["data"]["input_size"], p["data"]["input_size"])
    model.eval()
    rho = model.update_rho()  # the memory penalty the final shape runs with
    layers = model.feature_shapes()
    row = {"experiment": experiment, "run": run.name, "net": run.net, "design": run.design, "seed": run.seed,
           "setting": run.setting, "test_acc": res.last_score, "n_adaptors": len(model.adaptors),
           "s_init": " ".join(f"{s:.4f}" for s in s_init),
           "s_final": " ".join(f"{s:.4f}" for s in model.shape_factors()),
           "rho": rho, "d_cout": model.final_size(), "sizes": " ".join(str(s[-1]) for s in layers),
           "macs": count_macs(model, shape, count_resize=False), "macs_with_resize": count_macs(model, shape),
           # Fig. 5's memory proxy: activation floats one image leaves after the stem and every cell
           "memory": int(sum(np.prod(s) for s in layers)),
           "params": sum(q.numel() for q in model.weight_parameters()), "steps": res.steps,
           "stopped_by": " ".join(res.stopped_by), "converged": converged(res.stopped_by)}
    save_run(out, model, res, **row)
    write_text(out / "s_trace.csv", pd.DataFrame(task.s_trace).to_csv(index=False))
    return row


def _plan(experiment: str, p: dict, root) -> list[Run]:
    """The plan, with table1's learned shapes (each run's metrics.json) where `fix` needs them."""
    table1 = None
    if experiment == "fix" and ran("fix", p):
        files = [folder("table1", root) / r.name / "metrics.json" for r in plan("table1", p)]
        table1 = pd.DataFrame([read_json(f) for f in files if f.exists()], columns=["net", "design", "seed", "s_final"])
    return plan(experiment, p, table1)


def run_experiment(experiment: str, root=None, progress: bool = True) -> pd.DataFrame:
    """Train (or read back) every run of `experiment`; write its runs and results.csv (one row per run).

    The experiment's folder holds exactly its runs: folders of runs no longer planned are removed.
    """
    root = Path(root or project_root())
    out = folder(experiment, root)
    planned = jobs(experiment, root)
    results = pd.DataFrame(train_planned(out, planned, lambda *args: train_run(*args, root, progress),
                                         sys.modules[__name__], experiment, root), columns=None if planned else ROW)
    write_text(out / "results.csv", results.to_csv(index=False, float_format="%.6g"))
    return results


# For hyperscale.launch: the experiments whose runs start from another experiment's results.
AFTER = {"fix": "table1"}


def jobs(experiment: str, root) -> list:
    """The runs of `experiment`, each as (run, the arguments `train_run` needs)."""
    p = section("shape_adaptor", Path(root) / "params.yaml")
    data = load_data(p)
    return [(run, (run, experiment, p, data)) for run in _plan(experiment, p, root)]


def train_named(experiment: str, name: str, root, progress=False) -> dict:
    """Train the run `name` of `experiment` (what a job does; it loads its own data)."""
    args = next(a for run, a in jobs(experiment, root) if run.name == name)
    return train_run(*args, root, progress=progress)


def pending(run: Run, experiment: str, p: dict, data: Dataset, root) -> bool:
    """Whether `run` still has training to do (no finished checkpoint of its configuration)."""
    return not finished(*setup(run, experiment, p, data), run.seed, folder(experiment, root) / run.name)


def folder(experiment: str, root=None) -> Path:
    """Where an experiment's runs and results.csv live."""
    return Path(root or project_root()) / RUNS_DIR / experiment


def results(root=None) -> dict[str, pd.DataFrame]:
    """Every experiment's results.csv."""
    root = Path(root or project_root())
    return {e: read_csv(folder(e, root) / "results.csv") for e in EXPERIMENTS}


def floats(s) -> list[float]:
    """The space-separated numbers of a results.csv cell (s_init, s_final, sizes)."""
    return [float(v) for v in str(s).split()] if isinstance(s, str) and s.strip() else []
