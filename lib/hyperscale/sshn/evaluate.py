"""The SSHN / Hyper-UNet chapter's evaluation (stage `evaluate_sshn`: `python -m hyperscale.sshn.evaluate`).

Every trained model is scored on the test split and every table the chapter and its claims
read is written to runs/eval/sshn/: one CSV per analysis, the claims ledger (`claims.csv`) and
`summary.json`. Single-model methods (SSHN, Stochastic, FiLM) are evaluated at every phi of a
grid through `materialize`: the hypernetwork writes its weights into a plain U-Net, which then
runs without it (the papers' deployment story); each Fixed model at its own phi. Dice:
`core.metrics`, strict (a label predicted but absent from the ground truth scores 0) and, for
the main comparison, also over the labels present only, with the spurious labels per image
(atlas2d's slices hold about 10 of 23 labels, OASIS's nearly all, so the two differ here
far more than on the paper's data). Measured times (CPU latency,
training time) and the claims they decide go to runs/eval/sshn/timing/, apart from the
results, which are byte-identical from run to run.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from tqdm import tqdm

from ..core.claims import evaluate as judge, load_claims, write_ledgers
from ..core.cli import run_stage
from ..data import load_dataset
from ..core.io import write_json, write_text
from ..core.metrics import mean_dice, present_labels, spurious_labels
from ..core.models import load_model
from ..core.params import load as load_params, section
from ..core.project import project_root
from . import measures
from .analysis import feature_similarity, parameter_cv, separate_grid
from .benchmark import step_times
from .flops import unet_macs
from .hypernet import materialize
from .runs import EXPERIMENTS, HUNET, plan, run_dir
from .select import landscape, latencies, select_model
from .tasks import dice_scores, split_dice

OUT = Path("runs/eval/sshn")
METHODS = {"fixed": "Fixed", "sshn": "SSHN", "stochastic": "Stochastic", "film": "FiLM"}
FIG4_PHIS = (0.125, 0.25, 0.5)  # SSHN Fig. 4: phi = 1/8, 1/4, 1/2
FIG16_IMAGES = 16


def phi_grid(step: float, phi_max: float, *extra) -> list[float]:
    """0, step, ..., phi_max, plus the `extra` phis (so models can be compared at equal phi)."""
    return sorted(set(np.round(np.arange(0, phi_max + 1e-9, step), 4)).union(*map(set, extra)))


def references(root) -> tuple[dict, dict]:
    """The numbers transcribed from SSHN and Hyper-UNet (references/*.yaml)."""
    return tuple(yaml.safe_load((Path(root) / "references" / f"{n}.yaml").read_text()) for n in ("sshn", "hyper_unet"))


class Evaluator:
    """Loads each model once and scores it; every method returns a table."""

    def __init__(self, p: dict, root: Path, progress: bool = True):
        self.p, self.root, self.progress = p, root, progress
        self.ds = load_dataset("atlas2d", root / "data" / "atlas2d")
        self.test, self.K = self.ds["test"], self.ds.num_classes
        self.size = tuple(self.test.images.shape[-2:])
        e = p["eval"]
        self.grid = phi_grid(e["phi_step"], e["phi_max"], p["main"]["fixed_phis"], FIG4_PHIS)
        self.grid05 = lambda extra: phi_grid(0.05, e["phi_max"], extra)  # the ablations' coarser grid

    def bar(self, items, desc):
        return tqdm(items, desc=desc, disable=not self.progress)

    def model(self, run):
        return load_model(run_dir(run, self.root) / "model.pt")

    def dice(self, net, phi, split=None) -> float:
        return mean_dice(dice_scores(net, split or self.test, phi, self.K))

    def main(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Test Dice of every main-comparison model (single models over the grid), overall (both
        definitions, and spurious labels per image) and per label."""
        runs = sorted(plan("main", self.p), key=lambda r: ["sshn", "stochastic", "film", "fixed"].index(r.method))
        rows, label_rows = [], []
        present = present_labels(torch.from_numpy(self.test.labels.astype(np.int64)), self.K)
        for run in self.bar(runs, "main comparison"):
            net = self.model(run)
            single = run.method != "fixed"
            for phi in self.grid if single else [run.info["phi"]]:
                scores = dice_scores(materialize(net, phi) if single else net, self.test, phi, self.K)
                key = {"method": METHODS[run.method], "init": run.info.get("init", ""), "seed": run.seed,
                       "phi": float(phi)}
                rows.append({**key, "dice": mean_dice(scores), "dice_present": mean_dice(scores, present),
                             "spurious": spurious_labels(scores, present).double().mean().item()})
                per_label = scores.nanmean(0)
                label_rows += [{**key, "label": self.ds.label_names[k + 1], "dice": per_label[k].item()}
                               for k in range(self.K - 1)]
        return pd.DataFrame(rows), pd.DataFrame(label_rows)

    def doubled(self) -> pd.DataFrame:
        """Test Dice at every Fixed phi of the budget-doubling check's runs (core/train.py), and of the
        same runs of main: SSHN (every parametrisation) and each Fixed U-Net at its phi."""
        rows = []
        for run in self.bar(plan("doubled", self.p), "budget doubled"):
            for experiment in ("main", "doubled"):
                net = load_model(run_dir(replace(run, experiment=experiment), self.root) / "model.pt")
                for phi in self.p["main"]["fixed_phis"] if run.method == "sshn" else [run.info["phi"]]:
                    rows.append({"budget": 1 if experiment == "main" else 2, "method": METHODS[run.method],
                                 "init": run.info.get("init", ""), "seed": run.seed, "phi": float(phi),
                                 "dice": self.dice(materialize(net, phi) if run.method == "sshn" else net, phi)})
        return pd.DataFrame(rows, columns=["budget", "method", "init", "seed", "phi", "dice"])

    def validation(self) -> pd.DataFrame:
        """Validation Dice of every main SSHN over the grid and of every Fixed U-Net at its phi: what
        picks each method's best phi (Table 5, Hyper-UNet §4.2.1) without looking at the test split."""
        val, rows = self.ds["val"], []
        for run in self.bar([r for r in plan("main", self.p) if r.method in ("sshn", "fixed")], "validation"):
            net = self.model(run)
            phis = self.grid if run.method == "sshn" else [run.info["phi"]]
            rows += [{"method": METHODS[run.method], "init": run.info.get("init", ""), "seed": run.seed,
                      "phi": float(q), "dice": self.dice(materialize(net, q) if run.method == "sshn" else net, q, val)}
                     for q in phis]
        return pd.DataFrame(rows)

    def gmacs(self, ref: dict, ref_hu: dict) -> pd.DataFrame:
        """GMACs at every phi any table needs: ours (segmentation, registration), the paper's OASIS
        U-Net at 160x192, and Hyper-UNet's natural-image U-Net (its size is not stated: 256x256 here)."""
        m, e = self.p["model"], self.p["eval"]
        nat = ref_hu["setup"]["natural"]
        phis = sorted(set(self.grid) | set(ref["table1"]["phi"]) | set(e["transfer_phis"])
                      | set(self.grid05(self.p["registration"]["fixed_phis"])))
        rows = []
        for phi in phis:
            ours = unet_macs(phi, self.size, self.ds.in_channels, self.K, m["width"], m["n_stages"])
            rows.append({
                "phi": float(phi), "gmacs": ours["total"] / 1e9, "gmacs_conv": ours["conv"] / 1e9,
                "gmacs_resize": ours["resize"] / 1e9,
                "gmacs_registration": unet_macs(phi, self.size, 2, 2, m["width"], m["n_stages"])["total"] / 1e9,
                "gmacs_paper_arch": unet_macs(phi, tuple(ref["setup"]["image_size"]), 1, 24, ref["setup"]["width"],
                                              ref["setup"]["n_stages"])["total"] / 1e9,
                "gmacs_natural_arch": unet_macs(phi, (256, 256), 3, 2, nat["encoder"], 5, nat["decoder"])["total"] / 1e9})
        return pd.DataFrame(rows)

    def _main_run(self, method, seed, **info):
        return next(r for r in plan("main", self.p) if r.method == method and r.seed == seed
                    and all(r.info.get(k) == v for k, v in info.items()))

    def main_sshn(self, seed=None):
        """The main SSHN (the first init) of `seed` (default: the first seed)."""
        m = self.p["main"]
        return self.model(self._main_run("sshn", m["seeds"][0] if seed is None else seed, init=m["inits"][0]))

    def transfer(self) -> pd.DataFrame:
        """Fig. 9: h(0.5)'s weights (T-SSHN) and Fixed(0.5)'s weights (T-Fixed), both run at other phi."""
        rows = []
        for s in self.p["main"]["seeds"]:
            nets = {"T-SSHN": materialize(self.main_sshn(s), 0.5), "T-Fixed": self.model(self._main_run("fixed", s, phi=0.5))}
            rows += [{"weights": w, "seed": s, "phi": p, "dice": self.dice(net, p)}
                     for w, net in nets.items() for p in self.p["eval"]["transfer_phis"]]
        return pd.DataFrame(rows)

    def prior(self) -> pd.DataFrame:
        """Fig. 8: train and test Dice at the centre phi, beside the Fixed models there: the main one
        ("Fixed", trained to its plateau) and the prior experiment's ("Fixed, prior's cap")."""
        c, rows = self.p["prior"]["center"], []
        nets = [(("SSHN", run.info["r"]), run.seed, materialize(self.model(run), c)) if run.method == "sshn" else
                (("Fixed, prior's cap", np.nan), run.seed, self.model(run))
                for run in sorted(plan("prior", self.p), key=lambda r: r.seed)]
        nets += [(("Fixed", np.nan), s, self.model(self._main_run("fixed", s, phi=c))) for s in self.p["main"]["seeds"]]
        for (model, r), seed, net in nets:
            rows += [{"model": model, "r": r, "seed": seed, "split": sp, "dice": self.dice(net, c, self.ds[sp])}
                     for sp in ("train", "test")]
        return pd.DataFrame(rows)

    def separate(self) -> pd.DataFrame:
        """App. C.2: every combination of the grid, one factor per resizing step."""
        m = self.p["model"]
        gmacs_of = lambda phis: unet_macs(phis, self.size, self.ds.in_channels, self.K, m["width"],  # noqa: E731
                                          m["n_stages"])["total"] / 1e9
        return pd.concat([separate_grid(self.model(run), self.test, self.p["eval"]["separate_grid"], self.K, gmacs_of,
                                        progress=lambda x: self.bar(x, "separate factors")).assign(seed=run.seed)
                          for run in plan("separate", self.p)])

    def cv(self) -> pd.DataFrame:
        """App. D: coefficient of variation of every predicted parameter over the prior's range."""
        return parameter_cv(self.main_sshn(), cv_phis(self.p))

    def features(self) -> pd.DataFrame:
        """App. D, Fig. 16: how alike each stage's maps are at phi and at 0.5, on the first test images, for
        SSHN's predicted weights and, as the reference of identical weights, the Fixed phi = 0.5 U-Net's
        own weights run at each phi (T-Fixed, as in Fig. 9)."""
        x, seed = torch.from_numpy(self.test.images[:FIG16_IMAGES]), self.p["main"]["seeds"][0]
        fixed = self.model(self._main_run("fixed", seed, phi=0.5))
        phis = self.p["eval"]["feature_phis"]
        return pd.concat([feature_similarity(self.main_sshn(), x, phis).assign(weights="SSHN"),
                          feature_similarity(fixed, x, phis).assign(weights="T-Fixed")])

    def architectures(self) -> pd.DataFrame:
        """App. C.1, Fig. 10: each variant's SSHN on a 0.05 grid and its Fixed U-Nets at their phi; the
        U-Net row is the main comparison's runs of the same seeds."""
        a = self.p["arch"]
        grid = self.grid05(a["fixed_phis"])
        unet = [self._main_run("sshn", s, init=self.p["main"]["inits"][0]) for s in a["seeds"]]
        unet += [self._main_run("fixed", s, phi=phi) for phi in a["fixed_phis"] for s in a["seeds"]]
        runs = sorted(plan("arch", self.p), key=lambda r: r.method != "sshn") + unet
        rows = []
        for run in self.bar(runs, "architecture ablation"):
            net, arch = self.model(run), run.model.get("arch", "unet")
            if run.method == "sshn":
                rows += [{"arch": arch, "method": "SSHN", "seed": run.seed, "phi": float(q),
                          "dice": self.dice(materialize(net, q), q)} for q in grid]
            else:
                phi = run.info["phi"]
                rows.append({"arch": arch, "method": "Fixed", "seed": run.seed, "phi": float(phi), "dice": self.dice(net, phi)})
        return pd.DataFrame(rows)

    def registration(self) -> pd.DataFrame:
        """§4.1, Table 2: warped-label Dice on the test split's same-slice pairs."""
        grid = self.grid05(self.p["registration"]["fixed_phis"])
        no_flow = lambda x, phi=None: torch.zeros(len(x), 2, *x.shape[-2:])  # noqa: E731
        rows = [{"method": "no registration", "seed": -1, "phi": np.nan, "dice": split_dice(no_flow, self.ds, "test", None)}]
        for run in self.bar(plan("registration", self.p), "registration"):
            net = self.model(run)
            if run.method == "fixed":
                phi = run.info["phi"]
                rows.append({"method": "Fixed", "seed": run.seed, "phi": phi, "dice": split_dice(net, self.ds, "test", phi)})
            else:
                rows += [{"method": METHODS[run.method], "seed": run.seed, "phi": q,
                          "dice": split_dice(materialize(net, q), self.ds, "test", q)} for q in grid]
        return pd.DataFrame(rows)

    def natural(self) -> pd.DataFrame:
        """Hyper-UNet Fig. 3 (Pets, CUB): the same comparison on the scenes stand-in."""
        scenes = load_dataset("scenes", self.root / "data" / "scenes")
        test, rows = scenes["test"], []
        runs = plan("natural", self.p)
        for s in self.p["natural"]["seeds"]:
            net = self.model(next(r for r in runs if r.method == "sshn" and r.seed == s))
            rows += [{"method": "SSHN", "seed": s, "phi": float(p),
                      "dice": mean_dice(dice_scores(materialize(net, p), test, p, scenes.num_classes))} for p in self.grid]
            for r in (r for r in runs if r.method == "fixed" and r.seed == s):
                phi = r.info["phi"]
                rows.append({"method": "Fixed", "seed": s, "phi": float(phi),
                             "dice": mean_dice(dice_scores(self.model(r), test, phi, scenes.num_classes))})
        return pd.DataFrame(rows)

    def curves(self) -> pd.DataFrame:
        """Every run's learning curve: its validation score (Dice at its own phi, or averaged over
        train.val_phis) and mean training loss, by step."""
        rows = []
        for e in EXPERIMENTS:
            for run in plan(e, self.p):  # (at least main's runs: the concatenation below is never empty)
                h = pd.read_csv(run_dir(run, self.root) / "history.csv")
                rows.append(h[["step", "phase", "loss", "val_dice"]].assign(
                    experiment=e, run=run.name, method=METHODS[run.method], init=run.info.get("init", ""),
                    seed=run.seed))
        return pd.concat(rows)[["experiment", "run", "method", "init", "seed", "step", "phase", "loss", "val_dice"]]

    def selection(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """Hyper-UNet eq. 3 on the validation split: the grid's Dice and GMACs (select.csv), its
        latencies (a timing), and phi* with its test Dice for each alpha and cost."""
        net, val = self.main_sshn(), self.ds["val"]
        land = landscape(net, val, self.grid, self.K)
        lat = latencies(net, self.grid, tuple(val.images.shape[1:]))
        table = land.merge(lat, on="phi")
        rows = []
        for f in self.p["eval"]["select_fractions"]:
            alpha = f * land.dice.max()
            for cost in ("gmacs", "latency_ms"):
                sel = select_model(net, val, self.K, alpha, self.grid, cost=cost, table=table)
                at = table.set_index("phi").loc[sel.phi]
                rows.append({"fraction": f, "alpha": alpha, "cost": cost, "phi": sel.phi, "gmacs": at.gmacs,
                             "latency_ms": at.latency_ms, "val_dice": at.dice, "test_dice": self.dice(sel.net, sel.phi)})
        chosen = pd.DataFrame(rows)
        return land, lat, chosen


def cv_phis(p: dict) -> np.ndarray:
    return np.round(np.linspace(*p["hyper"]["phi_range"], 11), 4)


def by_init(claims: list[dict], R: measures.Results) -> pd.DataFrame:
    """The claims read from the main SSHN, judged once per parametrisation (params' main.inits)."""
    mine = [c for c in claims if c["test"].get("measure") in measures.BY_INIT]
    return pd.concat([judge(mine, measures.measures(R.judging(i)))[["id", "verdict", "our_value", "inconclusive_because"]]
                      .assign(init=i) for i in R.p["main"]["inits"]])


# The columns of an ablation's table where the profile leaves it out: written with no rows
CUT_COLUMNS = {"prior": ["model", "r", "seed", "split", "dice"],
               "separate": ["phi_0", "phi_1", "phi_2", "phi_3", "setting", "dice", "gmacs", "seed"],
               "architectures": ["arch", "method", "seed", "phi", "dice"],
               "registration": ["method", "seed", "phi", "dice"], "natural": ["method", "seed", "phi", "dice"]}


def evaluate(root=None, progress: bool = True) -> dict:
    """Evaluate every model, write every table, the claims ledger and the summary; returns the summary."""
    root = Path(root or project_root())
    p = section("sshn", root / "params.yaml")
    out, ev = root / OUT, Evaluator(p, root, progress)
    ref, ref_hu = references(root)

    def save(name, df, folder=out):
        write_text(folder / f"{name}.csv", df.to_csv(index=False))

    dice, per_label = ev.main()
    save("dice", dice)
    save("dice_per_label", per_label)
    save("val_dice", ev.validation())
    save("gmacs", ev.gmacs(ref, ref_hu))
    cut = {table for e, table in measures.ABLATION_TABLES.items() if not p[e]["run"]}
    for name in ("doubled", "transfer", "prior", "separate", "cv", "architectures", "registration", "natural", "curves"):
        save(name, pd.DataFrame(columns=CUT_COLUMNS[name]) if name in cut else getattr(ev, name)())
    save("feature_similarity", ev.features())
    land, lat, chosen = ev.selection()
    save("select", land)
    save("selection", chosen[chosen.cost == "gmacs"].drop(columns="latency_ms"))
    save("latency", lat, out / "timing")
    steps, rounds = step_times(p, ev.ds)
    save("step_times", steps, out / "timing")
    save("step_rounds", rounds, out / "timing")
    save("selection", chosen[chosen.cost == "latency_ms"], out / "timing")

    R = measures.Results.load(root)  # read back what was written: the chapter reads the same files
    M = measures.measures(R)
    # Hyper-UNet's claims judge the SSHN trained with its own prior, where there is one
    M_hu = measures.measures(R.judging(HUNET)) if HUNET in R.variants else M
    claims = load_claims(root / "references/sshn.yaml") + load_claims(root / "references/hyper_unet.yaml")
    ledger, _ = write_ledgers(claims, lambda c: M_hu if c["paper"] == "hyper_unet" else M, out,
                              timing_measures=measures.TIMING)
    save("claims_by_init", by_init(claims, R))
    summary, cost = measures.summary(R, M, ledger, load_params(root / "params.yaml")["profile"], ev.size)
    write_json(out / "summary.json", summary)
    write_json(out / "timing" / "cost.json", cost)
    return summary


def main() -> None:
    run_stage(evaluate)


if __name__ == "__main__":  # run the importable module, so registries filled on import are the ones used
    from hyperscale.sshn.evaluate import main

    main()
