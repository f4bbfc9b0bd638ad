"""The HyperSeg chapter's trained experiments as lists of runs (HyperSeg §4, Table 4's ablation).

`plan(experiment, p)` turns the `hyperseg` section of params.yaml into named `Run`s;
`run_experiment` trains each with the core loop (resuming from its checkpoint) on params.yaml's
`device` into runs/hyperseg/<experiment>/<run>/, scores it on the test split and writes one row per run to
the experiment's `results.csv`. Experiments:

* ablation: each template with each backbone, with and without DPWConv ("w/o DPWConv",
  Table 4), the backbone narrowed by `backbone_width` and trained from scratch, on the
  `multiscenes` stand-in. The cpu profile trains HyperSeg-S with EfficientNet-B1 (its budget);
  the paper profile Table 4's whole grid (S and L, EfficientNet-B1 and ResNet-18).
* tradeoff: plain U-Nets (hyperseg/unet.py) at `unet_widths`, trained exactly as the ablation's
  runs (its data, task and train settings): the baselines of the speed-accuracy trade-off
  (Figs. 1 and 4), beside the ablation's HyperSeg-S with and without DPWConv.
* doubled: the first seed of every ablation network and of every U-Net at twice the budget (the
  budget-doubling check of core/train.py's convergence rule), when the runs train a
  fixed cosine schedule; none when they stop on plateaus (the paper profile).
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
from ..core.params import section
from ..core.project import project_root
from ..core.train import TrainConfig, converged, on_schedule, save_run, train
from .model import hyperseg
from .train import Segmentation, TaskConfig, segmentation_metrics
from .unet import CODE as UNET_CODE, UNet

EXPERIMENTS = ("ablation", "tradeoff", "doubled")
ROW = ("experiment", "run", "seed", "test_miou", "test_pixel_acc", "params", "steps", "best_step", "stopped_by",
       "converged", "train_loss")  # besides the run's model settings
RUNS_DIR = Path("runs/hyperseg")


@dataclass
class Run:
    name: str  # folder name, unique within an experiment
    seed: int
    model: dict = field(default_factory=dict)  # hyperseg()'s arguments, or UNet's (with "unet": True)


def plan(experiment: str, p: dict) -> list[Run]:
    """The runs of `experiment` for the `hyperseg` params `p`."""
    if experiment not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {experiment!r}; known: {EXPERIMENTS}")
    if experiment == "doubled":
        if not on_schedule(TrainConfig(**p["ablation"]["train"])):
            return []
        return [r for e in ("ablation", "tradeoff") for r in plan(e, p) if r.seed == p[e]["seeds"][0]]
    s = p[experiment]
    if experiment == "tradeoff":
        return [Run(f"unet-w{w}-seed{k}", k, {"unet": True, "width": w, "depth": s["unet_depth"]})
                for w in s["unet_widths"] for k in s["seeds"]]
    return [Run(f"{t}-{b}-{'dpwconv' if dyn else 'static'}-seed{k}", k,
                {"template": t, "backbone": b, "backbone_width": s["backbone_width"], "dynamic": dyn})
            for t in s["templates"] for b in s["backbones"] for dyn in (True, False) for k in s["seeds"]]


def load_data(p: dict) -> Dataset:
    """Every experiment's data: the ablation's (the tradeoff's U-Nets train on it too)."""
    name = p["ablation"]["data"]
    return load_dataset(name, project_root() / "data" / name)


def build(run: Run, data: Dataset):
    torch.manual_seed(run.seed)
    m = dict(run.model)
    if m.pop("unet", False):
        return UNet(data.num_classes, **m)
    return hyperseg(m.pop("template"), data.num_classes, **m)


def _task_and_config(p: dict, run: Run, experiment: str, data: Dataset, device="cpu"
                     ) -> tuple[Segmentation, TrainConfig]:
    s = p["ablation"]  # the tradeoff's U-Nets train exactly as the ablation's networks
    task = Segmentation(data, TaskConfig(**s["task"]), device)
    if run.model.get("unet"):
        task.code = task.code + UNET_CODE  # the U-Net's source is part of its runs' key
    cfg = TrainConfig(**s["train"])
    if experiment == "doubled":  # twice the budget, the schedule stretched over it
        cfg = cfg.model_copy(update={"max_steps": 2 * cfg.max_steps})
    return task, cfg


def setup(run: Run, experiment: str, p: dict, data: Dataset, device="cpu"):
    """The run's model (on `device`), task and training config (also what hyperscale.bench times)."""
    return build(run, data).to(device), *_task_and_config(p, run, experiment, data, device)


def train_run(run: Run, experiment: str, p: dict, data: Dataset, root, progress=True) -> dict:
    """Train (or read back) one run and score it on the test split; its row of results.csv."""
    out = folder(experiment, root) / run.name
    model, task, cfg = setup(run, experiment, p, data, device_from_params(root))
    res = train(model, task, cfg, run.seed, out, progress=progress, desc=f"{experiment}/{run.name}")
    test = segmentation_metrics(model, data["test"].images, data["test"].labels, data.num_classes)
    model.cpu()
    row = {"experiment": experiment, "run": run.name, "seed": run.seed, **run.model,
           **{f"test_{k}": v for k, v in test.items()}, "params": sum(q.numel() for q in model.parameters()),
           "steps": res.steps, "best_step": res.best_step, "stopped_by": "+".join(res.stopped_by),
           "converged": converged(res.stopped_by),
           "train_loss": res.history[-1]["loss"]}  # over the last validation interval
    save_run(out, model, res, **row)
    return row


def run_experiment(experiment: str, root=None, progress: bool = True) -> pd.DataFrame:
    """Train (or read back) every run of `experiment`; write its runs and results.csv (one row per run).
    The experiment's folder holds exactly its runs: folders of runs no longer planned are removed."""
    root = Path(root or project_root())
    out = folder(experiment, root)
    planned = jobs(experiment, root)
    results = pd.DataFrame(train_planned(out, planned, lambda *args: train_run(*args, root, progress),
                                         sys.modules[__name__], experiment, root), columns=None if planned else ROW)
    write_text(out / "results.csv", results.to_csv(index=False, float_format="%.6g"))
    return results


AFTER: dict[str, str] = {}  # for hyperscale.launch: no experiment starts from another's results


def jobs(experiment: str, root) -> list:
    """The runs of `experiment`, each as (run, the arguments `train_run` needs)."""
    p = section("hyperseg", Path(root) / "params.yaml")
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
    """Every experiment's results.csv (doubled's has only its header where nothing was doubled)."""
    root = Path(root or project_root())
    return {e: read_csv(folder(e, root) / "results.csv") for e in EXPERIMENTS}
