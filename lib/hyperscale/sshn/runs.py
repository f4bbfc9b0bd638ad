"""The SSHN / Hyper-UNet chapter's training runs, as a plan (SSHN §4-5, App. C; Hyper-UNet §4).

`plan(experiment, p)` turns params.yaml's `sshn` section into named `Run`s; `run_experiment`
trains each with the core loop (resuming from its checkpoint; a finished run is read back,
not retrained) into runs/sshn/<experiment>/<run>/ and writes the experiment's `runs.csv`.
Experiments, with what they reproduce:

* main: Fixed U-Nets at `main.fixed_phis` and SSHN (per hypernetwork parametrisation), every
  seed, and Stochastic and FiLM at `main.dynamic_seeds` (default: every seed), all with
  phi ~ U(hyper.phi_range) (§4.3, Fig. 3, Tables 1, 5); and, with
  `main.hunet_prior`, one more SSHN (App. A's text) with Hyper-UNet's prior (its §4.1: U(0, 1) on
  OASIS), labelled init HUNET, which the Hyper-UNet ledger judges. Trained by the
  convergence rule of core/train.py: in the cpu profile a cosine schedule over the budget
  `train.max_steps`, checked by
* doubled: main's first seed of every Fixed U-Net and every SSHN at twice that budget (the
  budget-doubling check of core/train.py; none where main stops on plateaus instead). Stochastic
  and FiLM are left out: no central claim reads them, and their doubled runs would cost a
  quarter of main's time, so their claims stay inconclusive.
* prior: SSHN with phi ~ U(center - r, center + r), scored at the centre (§5.2, Fig. 8), and a
  Fixed U-Net at the centre trained to the same cap: at r = 0 the two differ only by the
  hypernetwork, at equal training (the control that separates it from the cost of the prior).
* separate: SSHN with one phi per resizing step (App. C.2).
* arch: Fixed and SSHN with other primary networks (App. C.1, Fig. 10).
* registration: every method as a registration network (§4.1, Table 2).
* natural: Fixed and SSHN on the `scenes` stand-in for Pets and CUB (Hyper-UNet §4.2).

An experiment whose section sets `max_steps` trains to that budget instead (the ablations' short
budgets; without a doubling check of their own, the claims that compare methods on their runs
are inconclusive), and one whose section says `run: false` has no runs (the cpu profile leaves
the ablations out to keep within its time budget: no central verdict reads them).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
import torch

from ..data import load_dataset
from ..core.device import from_params as device_from_params
from ..core.io import write_text
from ..core.jobs import finished, train_planned
from ..core.models import create_model
from ..core.params import section
from ..core.project import project_root
from ..core.train import TrainConfig, on_schedule, save_run, train
from .tasks import Registration, Segmentation, prior_of

HUNET = "hunet"  # the main SSHN with Hyper-UNet's prior (main.hunet_prior), beside the parametrisations
EXPERIMENTS = ("main", "doubled", "prior", "separate", "arch", "registration", "natural")
RUNS_DIR = Path("runs/sshn")


@dataclass(frozen=True)
class Run:
    experiment: str
    name: str  # folder name, unique within the experiment
    method: str  # fixed | stochastic | film | sshn
    seed: int
    model: dict  # constructor arguments besides the data's channel counts
    val_phis: list
    info: dict = field(default_factory=dict)  # what the chapter groups by: phi, init, arch, r
    data: str = "atlas2d"
    task: str = "segmentation"


def _fixed(exp, phi, seed, val_phis=None, arch="unet", prefix="", **kw) -> Run:
    return Run(exp, f"{prefix}fixed-phi{phi:g}-seed{seed}", "fixed", seed, {"phi": phi, "arch": arch},
               val_phis or [phi], {"phi": phi, "arch": arch}, **kw)


def _single(exp, method, seed, p, val_phis, name=None, phi_range=None, init="paper", info=None, data="atlas2d",
            task="segmentation", **sshn_args) -> Run:
    """A single-model method (SSHN, Stochastic, FiLM) trained with phi ~ U(phi_range)."""
    args = {"phi_range": phi_range or p["hyper"]["phi_range"]}
    if method in ("sshn", "film"):
        args["n_hid"] = p["hyper"]["n_hid"]
    if method == "sshn":
        args |= {"init": init, **sshn_args}  # arch (App. C.1), separate (App. C.2)
    return Run(exp, name or f"{method}-seed{seed}", method, seed, args, val_phis, info or {}, data=data, task=task)


def plan(experiment: str, p: dict) -> list[Run]:
    """The runs of `experiment` for the `sshn` params `p`."""
    if experiment not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {experiment!r}; known: {EXPERIMENTS}")
    if not p.get(experiment, {}).get("run", True):  # left out of this profile
        return []
    val = p["train"]["val_phis"]
    if experiment == "main":
        m = p["main"]
        return ([_fixed("main", phi, s) for phi in m["fixed_phis"] for s in m["seeds"]]
                + [_single("main", "sshn", s, p, val, f"sshn-{i}-seed{s}", init=i, info={"init": i})
                   for i in m["inits"] for s in m["seeds"]]
                + [_single("main", "sshn", s, p, val, f"sshn-{HUNET}-seed{s}", phi_range=m["hunet_prior"],
                           info={"init": HUNET}) for s in m["seeds"] if m.get("hunet_prior")]
                + [_single("main", m_, s, p, val) for m_ in ("stochastic", "film")
                   for s in m.get("dynamic_seeds") or m["seeds"]])
    if experiment == "doubled":
        if not on_schedule(config_of(plan("main", p)[0], p)):
            return []
        first = p["main"]["seeds"][0]
        return [replace(r, experiment="doubled") for r in plan("main", p)
                if r.seed == first and r.method in ("fixed", "sshn")]
    if experiment == "prior":
        c = p["prior"]["center"]
        return ([_fixed("prior", c, s) for s in p["prior"]["seeds"]]
                + [_single("prior", "sshn", s, p, [c], f"sshn-r{r:g}-seed{s}", phi_range=[c - r, c + r], info={"r": r})
                   for r in p["prior"]["rs"] for s in p["prior"]["seeds"]])
    if experiment == "separate":
        n = p["model"]["n_stages"] - 1
        return [_single("separate", "sshn", s, p, [(v,) * n for v in val], f"sshn-seed{s}", separate=True)
                for s in p["separate"]["seeds"]]
    if experiment == "arch":
        a = p["arch"]
        return ([_fixed("arch", phi, s, arch=x, prefix=f"{x}-") for x in a["archs"] for phi in a["fixed_phis"]
                 for s in a["seeds"]]
                + [_single("arch", "sshn", s, p, val, f"{x}-sshn-seed{s}", arch=x, info={"arch": x})
                   for x in a["archs"] for s in a["seeds"]])
    if experiment == "registration":
        r = p["registration"]
        return ([_fixed("registration", phi, s, task="registration") for phi in r["fixed_phis"] for s in r["seeds"]]
                + [_single("registration", m_, s, p, val, task="registration") for m_ in ("stochastic", "film", "sshn")
                   for s in r["seeds"]])
    nat = p["natural"]
    return ([_fixed("natural", phi, s, data="scenes") for phi in nat["fixed_phis"] for s in nat["seeds"]]
            + [_single("natural", "sshn", s, p, val, data="scenes") for s in nat["seeds"]])


def build(run: Run, p: dict, data) -> torch.nn.Module:
    """The run's model, its initial weights drawn from the run's seed."""
    io = ({"in_channels": 2, "num_classes": 2} if run.task == "registration"  # [moving, fixed] -> a 2D field
          else {"in_channels": data.in_channels, "num_classes": data.num_classes})
    torch.manual_seed(run.seed)
    return create_model(run.method, **io, **p["model"], **run.model)


def task_of(run: Run, model, p: dict, data, device="cpu"):
    prior, bs = prior_of(model), p["train"]["eval_batch_size"]
    if run.task == "registration":
        r = p["registration"]
        return Registration(data, prior, run.val_phis, r["lam"], r["penalty"], eval_batch_size=bs, device=device)
    return Segmentation(data, prior, run.val_phis, eval_batch_size=bs, device=device)


def config_of(run: Run, p: dict) -> TrainConfig:
    t = p["train"]
    base = {k: t[k] for k in ("batch_size", "max_steps", "eval_every", "patience_steps", "min_delta",
                              "finetune_steps", "checkpoint_every")}
    if run.experiment == "doubled":  # the budget-doubling check: twice main's budget, the schedule stretched over it
        base["max_steps"] *= 2
    elif cap := p[run.experiment].get("max_steps"):
        base["max_steps"] = cap
    return TrainConfig(**base, optimizers={"weights": t["optimizer"]})


def folder(experiment: str, root=None) -> Path:
    """Where an experiment's runs and runs.csv live."""
    return Path(root or project_root()) / RUNS_DIR / experiment


def run_dir(run: Run, root=None) -> Path:
    return folder(run.experiment, root) / run.name


def setup(run: Run, p: dict, data, device="cpu"):
    """The run's model (on `device`), task and training config (also what hyperscale.bench times)."""
    model = build(run, p, data).to(device)
    return model, task_of(run, model, p, data, device), config_of(run, p)


def train_run(run: Run, p: dict, data, root, progress=True) -> dict:
    """Train (or read back) one run into its folder on params.yaml's `device`; its row of runs.csv."""
    model, task, cfg = setup(run, p, data, device_from_params(root))
    res = train(model, task, cfg, run.seed, run_dir(run, root), progress=progress, desc=f"{run.experiment}/{run.name}")
    model.cpu()
    summary = save_run(run_dir(run, root), model, res, experiment=run.experiment, name=run.name, seed=run.seed,
                       **run.info)
    return {"run": run.name, **run.info, **{k: summary[k] for k in ROW[1:]}}


ROW = ("run", "method", "seed", "steps", "best_step", "best_score", "stopped_by", "converged", "parameters")  # besides run.info


def run_experiment(experiment: str, root=None, progress: bool = True) -> pd.DataFrame:
    """Train (or read back) every run of `experiment`; one row per run (written to runs.csv).

    The experiment's folder holds exactly its runs: folders of runs no longer planned are removed.
    """
    root = Path(root or project_root())
    planned = jobs(experiment, root)
    out = folder(experiment, root)
    rows = train_planned(out, planned, lambda *args: train_run(*args, root, progress),
                         sys.modules[__name__], experiment, root)
    table = pd.DataFrame(rows, columns=None if rows else ROW).assign(stopped_by=lambda d: d.stopped_by.map(", ".join))
    write_text(out / "runs.csv", table.to_csv(index=False, float_format="%.6g"))
    return table


# For hyperscale.launch: the experiments whose runs start from another experiment's results (none here).
AFTER = {}


def jobs(experiment: str, root) -> list:
    """The runs of `experiment`, each as (run, the arguments `train_run` needs)."""
    p = section("sshn", Path(root) / "params.yaml")
    runs = plan(experiment, p)
    datasets = {name: load_dataset(name, Path(root) / "data" / name) for name in dict.fromkeys(r.data for r in runs)}
    return [(run, (run, p, datasets[run.data])) for run in runs]


def train_named(experiment: str, name: str, root, progress=False) -> dict:
    """Train the run `name` of `experiment` (what a job does; it loads its own data)."""
    args = next(a for run, a in jobs(experiment, root) if run.name == name)
    return train_run(*args, root, progress=progress)


def pending(run: Run, p: dict, data, root) -> bool:
    """Whether `run` still has training to do (no finished checkpoint of its configuration)."""
    return not finished(*setup(run, p, data), run.seed, run_dir(run, root))
