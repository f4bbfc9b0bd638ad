"""The HyperConv chapter's trained experiments as lists of runs (HyperConv §5.2-5.4).

`plan(experiment, p)` turns the `hyperconv` section of params.yaml into named `Run`s;
`run_experiment` trains each with the core loop (resuming from its checkpoint) on params.yaml's
`device` into runs/hyperconv/<experiment>/<run>/, scores it on the test split and writes one row per run to
the experiment's `results.csv`. Experiments:

* sweep: the UNet-like network with HyperConvolutions at n_fwd = n_embed = 8 and growing MLPs
  (n_hid), and the same network without them at growing widths (n_fwd), on the `isp` stand-in
  (Figs. 3-4: test error against parameters, and FLOPs against parameters).
* table1: Table 1's six networks with every width (n_fwd, n_embed, n_hid) divided by `divisor`
  (n_fwd and n_embed kept even and at least 2), trained with the sweep's data, task and settings.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch

from ..core.data import Dataset
from ..data import load_dataset
from ..core.device import from_params as device_from_params
from ..core.io import read_csv, write_text
from ..core.jobs import finished, train_planned
from ..core.models import create_model
from ..core.params import section
from ..core.project import project_root
from ..core.train import TrainConfig, converged, save_run, train
from .counting import count
from .train import Restoration, TaskConfig, image_metrics

EXPERIMENTS = ("sweep", "table1")
RUNS_DIR = Path("runs/hyperconv")


@dataclass
class Run:
    name: str  # folder name, unique within an experiment
    seed: int
    model: dict = field(default_factory=dict)  # HCUNet's constructor arguments
    row: str = ""  # the paper's Table 1 row this run scales down (table1)


def _even(x: float) -> int:
    return max(2, 2 * round(x / 2))


def plan(experiment: str, p: dict) -> list[Run]:
    """The runs of `experiment` for the `hyperconv` params `p`."""
    if experiment not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {experiment!r}; known: {EXPERIMENTS}")
    s = p[experiment]
    if not s.get("run", True):  # left out of this profile
        return []
    if experiment == "sweep":
        hc = [Run(f"hc-nhid{n}-seed{k}", k,
                  {"n_fwd": s["n_fwd"], "n_embed": s["n_embed"], "n_hid": n, "hc": True})
              for n in s["n_hid"] for k in s["seeds"]]
        no_hc = [Run(f"nohc-nfwd{w}-seed{k}", k, {"n_fwd": w, "hc": False})
                 for w in s["no_hc_widths"] for k in s["seeds"]]
        return hc + no_hc
    runs = []
    for f, e, h in s["rows"]:  # table1
        row = f"({f}, no HC)" if e is None else f"({f}, {e}, {h})"
        d = s["divisor"]
        model = ({"n_fwd": _even(f / d), "hc": False} if e is None else
                 {"n_fwd": _even(f / d), "n_embed": _even(e / d), "n_hid": max(2, round(h / d)), "hc": True})
        tag = f"hc-{model['n_fwd']}-{model['n_embed']}-{model['n_hid']}" if model["hc"] else f"nohc-nfwd{model['n_fwd']}"
        if any(r.name.startswith(f"{tag}-") for r in runs):
            raise ValueError(f"hyperconv.table1: at divisor {d} two rows become the same network {tag}; "
                             f"lower the divisor")
        runs += [Run(f"{tag}-seed{k}", k, model, row) for k in s["seeds"]]
    return runs


def load_data(p: dict) -> Dataset:
    name = p["sweep"]["data"]  # every experiment trains on the sweep's data
    return load_dataset(name, project_root() / "data" / name)


def build(run: Run):
    torch.manual_seed(run.seed)
    return create_model("hc_unet", **run.model)


def _task_and_config(p: dict, data: Dataset, device="cpu") -> tuple[Restoration, TrainConfig]:
    s = p["sweep"]  # table1 trains as the sweep does
    return Restoration(data, TaskConfig(**s["task"]), device), TrainConfig(**s["train"])


def setup(run: Run, experiment: str, p: dict, data: Dataset, device="cpu"):
    """The run's model (on `device`), task and training config (also what hyperscale.bench times)."""
    return build(run).to(device), *_task_and_config(p, data, device)


def train_run(run: Run, experiment: str, p: dict, data: Dataset, root, progress=True) -> dict:
    """Train (or read back) one run and score it on the test split; its row of results.csv."""
    out = folder(experiment, root) / run.name
    model, task, cfg = setup(run, experiment, p, data, device_from_params(root))
    res = train(model, task, cfg, run.seed, out, progress=progress, desc=f"{experiment}/{run.name}")
    c = count(lambda: create_model("hc_unet", **run.model), tuple(data["train"].images.shape[1:]))
    test, fit = (image_metrics(model, x, y) for x, y in
                 ((data["test"].images, data["test"].labels), (task.x.numpy(), task.y.numpy())))
    model.cpu()
    row = {"experiment": experiment, "run": run.name, "seed": run.seed, **({"row": run.row} if run.row else {}),
           **run.model, **{f"test_{k}": v for k, v in test.items()}, **{f"train_{k}": v for k, v in fit.items()},
           "params": c["params"], "flops": c["flops"], "mlp_flops": c["mlp_flops"], "steps": res.steps,
           "best_step": res.best_step, "converged": converged(res.stopped_by)}
    save_run(out, model, res, **row)
    return row


def run_experiment(experiment: str, root=None, progress: bool = True) -> pd.DataFrame:
    """Train (or read back) every run of `experiment`; write its runs and results.csv (one row per run).
    The experiment's folder holds exactly its runs: folders of runs no longer planned are removed."""
    root = Path(root or project_root())
    out = folder(experiment, root)
    planned = jobs(experiment, root)
    results = pd.DataFrame(train_planned(out, planned, lambda *args: train_run(*args, root, progress),
                                         sys.modules[__name__], experiment, root),
                           columns=None if planned else ["experiment", "run", "seed"])  # none: a header to read
    write_text(out / "results.csv", results.to_csv(index=False, float_format="%.6g"))
    return results


AFTER: dict[str, str] = {}  # for hyperscale.launch: no experiment starts from another's results


def jobs(experiment: str, root) -> list:
    """The runs of `experiment`, each as (run, the arguments `train_run` needs)."""
    p = section("hyperconv", Path(root) / "params.yaml")
    data = load_data(p)
    return [(run, (run, experiment, p, data)) for run in plan(experiment, p)]


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
