"""What the SSHN / Hyper-UNet claims read: quantities derived from the evaluation's tables.

`Results.load(root)` reads every table `evaluate` wrote (the chapter uses the same object for
its figures); `measures(R)` gives the dict the claims ledger's rules test
(references/sshn.yaml, references/hyper_unet.yaml); `summary(R, M)` the numbers a reader
checks first, and, apart, the measured training costs.
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.benchmark import median_interval, rounds_of
from ..core.claims import NOT_RUN, Shown, converged_share, doubling_check, effect_of, interval, percent, points
from ..core.io import read_csv
from ..core.params import section
from ..core.project import project_root
from ..core.report import timings
from ..core.stats import Arms, estimate
from ..data import load_dataset
from .analysis import (DICE, cheapest_matching, dice_arms, factor_influence, front_value, gap_to_fixed, label_fractions,
                       no_loss_range, seed_values)
from .runs import EXPERIMENTS, HUNET, folder

OUT = Path("runs/eval/sshn")
ARCH_NAMES = {"unet": "U-Net", "resunet": "Residual U-Net", "seunet": "SE-U-Net", "fpn": "FPN", "pspnet": "PSPNet"}
FIG4_PHIS = (0.125, 0.25, 0.5)
TABLES = ("dice", "dice_per_label", "val_dice", "doubled", "gmacs", "transfer", "prior", "separate", "cv", "architectures", "registration",
          "natural", "curves", "feature_similarity", "select", "selection")
# The table each ablation's runs are scored into (Results.ran: whether the profile runs it)
ABLATION_TABLES = {"prior": "prior", "separate": "separate", "arch": "architectures", "registration": "registration",
                   "natural": "natural"}
# Measures computed from measured times: their claims go to the timing ledger (core.claims.write_ledgers).
TIMING = ("train_ratio_paper_grid", "single_model_time_spread", "single_over_fixed_model_time")
# Measures read from the main comparison's SSHN (Results.main_init): their claims are judged once per
# parametrisation (claims_by_init.csv). The analyses of a single SSHN (transfer, predicted weights,
# feature maps, phi* selection) and the other experiments use the paper's parametrisation only.
BY_INIT = ("sshn_minus_fixed", "grid_mean_per_seed", "best_vs_best_fixed", "share_near_best", "no_loss_phi",
           "no_loss_cut_paper_arch", "match_best_fixed_cut_paper_arch", "no_loss_cut_paper_table",
           "match_best_fixed_phi", "size_dependence", "size_gap_mean", "prior_widest_vs_full", "separate_front_gap",
           "natural_drop_minus_atlas", "best_cheaper_minus_best_fixed", "sshn_drop_at_phi_max", "sshn_at_phi_vs_best_fixed")


def run_group(name: str) -> str:
    """A run's name without its seed: 'fixed-phi0.25-seed1' -> 'fixed-phi0.25'."""
    return name.rsplit("-seed", 1)[0]


class Results:
    """The evaluation's tables and what the chapter derives from them (one place for both)."""

    def __init__(self, p: dict, tables: dict[str, pd.DataFrame], ref: dict, runs: pd.DataFrame, time: pd.DataFrame,
                 test_labels: np.ndarray, label_names: list[str], ref_hu: dict | None = None, main_init: str | None = None):
        self.p, self.t, self.ref, self.ref_hu = p, tables, ref, ref_hu
        self.runs = runs.assign(group=runs.run.map(run_group))  # every experiment's runs.csv, with its name
        self.time = time.assign(group=time.run.map(run_group))
        self.test_labels, self.label_names = test_labels, label_names
        self.claims = [c for r in (ref, ref_hu or {}) for c in r.get("claims", [])]
        # The SSHN parametrisation the measures judge: the first (the paper's text) unless asked.
        self.main_init = main_init or p["main"]["inits"][0]
        self.K = len(label_names)

    def judging(self, init: str) -> "Results":
        """The same results, with the main comparison's SSHN of parametrisation `init`."""
        return Results(self.p, self.t, self.ref, self.runs, self.time, self.test_labels, self.label_names, self.ref_hu,
                       init)

    def ran(self, experiment: str) -> bool:
        """Whether this profile runs `experiment` (an ablation's section may say `run: false`)."""
        return self.p.get(experiment, {}).get("run", True)

    def converged(self, experiment: str) -> float:
        """Share of an experiment's runs that converged by core/train.py's rule: each ended on a plateau
        or at the end of its schedule, and the schedule's runs pass the budget-doubling check (main: the
        Fixed U-Nets and the judged SSHN, Stochastic and FiLM having no doubled runs; other
        experiments have no check, so schedule-trained runs there do not count)."""
        if not self.ran(experiment):
            return NOT_RUN
        r = self.runs[self.runs.experiment == experiment]
        if experiment in ("main", "doubled"):
            r = r[r.method.eq("fixed") | r.init.fillna("").eq(self.main_init)]
        return converged_share(r, [self.doubling(self.main_init)] if experiment in ("main", "doubled") else [])

    def doubling(self, init: str) -> dict | None:
        """The budget-doubling check (core.claims.doubling_check) of SSHN (parametrisation `init`) minus
        Fixed, averaged over the Fixed phis, in Dice points, against half the δ of the claim it guards
        (sshn.beats-fixed; hunet.beats-fixed for Hyper-UNet's prior); None without doubled runs."""
        d = self.t["doubled"]
        d = d[(d.budget == 2) & (d.method.eq("Fixed") | d.init.eq(init))]
        if d.empty:
            return None
        phis = self.p["main"]["fixed_phis"]
        doubled = {s: 100 * float(np.mean([g[(g.method == "SSHN") & np.isclose(g.phi, q)].dice.item()
                                            - g[(g.method == "Fixed") & np.isclose(g.phi, q)].dice.item() for q in phis]))
                   for s, g in d.groupby("seed")}
        gap = 100 * self.seed_gap(init)
        claim = "hunet.beats-fixed" if init == HUNET else "sshn.beats-fixed"
        return doubling_check(gap.to_dict(), doubled, float(gap.std(ddof=1)), len(gap), self.delta(claim), DICE)

    def delta(self, claim_id: str) -> float:
        """A claim's effect of interest δ as its ledger states it (args.delta; the smallest, if per member)."""
        d = effect_of(self.claims, claim_id)
        return float(min(d.values()) if isinstance(d, dict) else d)

    @classmethod
    def load(cls, root=None) -> "Results":
        import yaml

        root = Path(root or project_root())
        out = root / OUT
        tables = {n: read_csv(out / f"{n}.csv", keep_default_na=n not in ("dice", "dice_per_label", "val_dice", "doubled", "curves"))
                  for n in TABLES}
        tables["latency"] = read_csv(out / "timing" / "latency.csv")
        tables["step_times"] = read_csv(out / "timing" / "step_times.csv").fillna({"init": ""})
        tables["step_rounds"] = read_csv(out / "timing" / "step_rounds.csv")
        tables["selection_latency"] = read_csv(out / "timing" / "selection.csv")
        ref, ref_hu = (yaml.safe_load((root / "references" / f"{n}.yaml").read_text()) for n in ("sshn", "hyper_unet"))
        runs = pd.concat([read_csv(folder(e, root) / "runs.csv").assign(experiment=e) for e in EXPERIMENTS])
        main = runs[runs.experiment == "main"]
        time = timings(root / "runs/sshn/main").merge(main[["run", "method"]], on="run")
        ds = load_dataset("atlas2d", root / "data" / "atlas2d")
        return cls(section("sshn", root / "params.yaml"), tables, ref, runs, time, ds["test"].labels, ds.label_names,
                   ref_hu)

    # Main comparison (Fig. 3, Tables 1, 5)
    @cached_property
    def stats(self) -> pd.DataFrame:
        by = self.t["dice"].groupby(["method", "init", "phi"])["dice"]
        return pd.DataFrame({"mean": by.mean(), "std": by.std(ddof=1), "n": by.count()}).reset_index()

    def curve(self, method: str, init: str = "") -> pd.DataFrame:
        s = self.stats
        return s[(s.method == method) & (s.init == init)].set_index("phi")

    @property
    def sshn_curve(self) -> pd.DataFrame:
        return self.curve("SSHN", self.main_init)

    @property
    def sshn_curves(self) -> dict[str, pd.DataFrame]:
        """SSHN's curve per parametrisation (the paper's text first)."""
        return {i: self.curve("SSHN", i) for i in self.p["main"]["inits"]}

    def seed_gap(self, init: str) -> pd.Series:
        """Per seed: SSHN (parametrisation `init`) minus the same seed's Fixed U-Net, averaged over the Fixed phis."""
        phis = self.p["main"]["fixed_phis"]
        return sum(self.per_seed("SSHN", q, init) - self.per_seed("Fixed", q) for q in phis) / len(phis)

    @property
    def variants(self) -> list[str]:
        """The main SSHNs: one per parametrisation, and Hyper-UNet's prior (HUNET) where it was trained."""
        return self.p["main"]["inits"] + ([HUNET] if self.p["main"].get("hunet_prior") else [])

    @property
    def prior(self) -> list[float]:
        """The training prior U(lo, hi) of the judged SSHN."""
        return list(self.p["main"]["hunet_prior"] if self.main_init == HUNET else self.p["hyper"]["phi_range"])

    @property
    def main_runs(self) -> pd.DataFrame:
        return self.runs[self.runs.experiment == "main"]

    @property
    def fixed_pts(self) -> pd.DataFrame:
        return self.curve("Fixed")

    @property
    def others(self) -> dict[str, pd.DataFrame]:
        return {m: self.curve(m) for m in ("Stochastic", "FiLM")}

    def per_seed(self, method, phi, init=None) -> pd.Series:
        return seed_values(self.t["dice"], method, phi, init)

    def sshn_at(self, phi) -> pd.Series:
        return self.per_seed("SSHN", phi, self.main_init)

    @cached_property
    def gap(self) -> dict:
        return gap_to_fixed(self.t["dice"], "SSHN", self.p["main"]["fixed_phis"], self.main_init)

    @cached_property
    def other_gap(self) -> dict:
        return {m: gap_to_fixed(self.t["dice"], m, self.p["main"]["fixed_phis"]) for m in self.others}

    def on_grid(self, method, init="") -> pd.Series:
        d, e = self.t["dice"], self.p["eval"]
        grid = np.round(np.arange(0, e["phi_max"] + 1e-9, e["phi_step"]), 4)
        return d[(d.method == method) & (d.init == init) & d.phi.isin(grid)].groupby("seed")["dice"].mean()

    @property
    def best_sshn_phi(self) -> float:
        return float(self.sshn_curve["mean"].idxmax())

    @property
    def best_fixed_phi(self) -> float:
        return float(self.fixed_pts["mean"].idxmax())

    def val_best_phi(self, method: str, init: str = "") -> float:
        """The phi with the best validation Dice (mean over seeds): how Table 5's bests are picked here."""
        v = self.t["val_dice"]
        return float(v[(v.method == method) & (v.init == init)].groupby("phi")["dice"].mean().idxmax())

    @property
    def best_fixed(self) -> float:
        return float(self.fixed_pts["mean"].max())

    @property
    def half(self) -> pd.Series:
        c = self.sshn_curve
        return c.loc[[p for p in c.index if p <= self.p["eval"]["phi_max"]], "mean"]

    def no_loss_phi(self, tol: float) -> float:
        """The lowest phi from which every grid phi up to 0.5 keeps SSHN's Dice within `tol` of its Dice at 0.5."""
        return no_loss_range(self.half, 0.5, tol=tol)

    def match_phi(self, tol: float) -> float:
        """The cheapest grid phi where SSHN comes within `tol` of the best Fixed model's Dice (NaN if none)."""
        return cheapest_matching(self.half, self.gmacs["gmacs"], self.best_fixed - tol)[0]

    def claim_test(self, claim_id: str) -> dict:
        """A claim's `test` in the ledger files (the chapter quotes the same tolerances and margins)."""
        return next(c["test"] for c in self.claims if c["id"] == claim_id)

    def claim_args(self, claim_id: str) -> dict:
        """A claim's `measure_args` in the ledger files."""
        return self.claim_test(claim_id)["measure_args"]

    # Cost (Fig. 7, Table 1)
    @property
    def gmacs(self) -> pd.DataFrame:
        return self.t["gmacs"].set_index("phi")

    def g(self, phi, column="gmacs") -> float:
        return self.gmacs.loc[round(phi, 4), column]

    def gp(self, phi) -> float:
        return self.g(phi, "gmacs_paper_arch")

    # Per structure (Fig. 4)
    @cached_property
    def fig4(self) -> pd.DataFrame:
        lab = self.t["dice_per_label"]

        def mean(m, phi, init=""):
            return lab[(lab.method == m) & (lab.init == init) & np.isclose(lab.phi, phi)].groupby("label")["dice"].mean()

        frac = pd.Series(label_fractions(self.test_labels, self.K), index=self.label_names[1:])
        return pd.DataFrame({"area %": 100 * frac, "Fixed φ=1/2": mean("Fixed", 0.5),
                             **{f"SSHN φ=1/{round(1 / p)}": mean("SSHN", p, self.main_init) for p in FIG4_PHIS}}) \
            .sort_values("area %", ascending=False)

    @property
    def size_gap(self) -> pd.Series:
        return self.fig4["SSHN φ=1/8"] - self.fig4["Fixed φ=1/2"]

    @property
    def small(self) -> pd.Series:
        return self.fig4["area %"] <= self.fig4["area %"].median()

    # Transfer (Fig. 9)
    @cached_property
    def transfer(self) -> pd.DataFrame:
        return self.t["transfer"].groupby(["weights", "phi"])["dice"].agg(["mean", "std"]).reset_index()

    @property
    def drop(self) -> dict[str, pd.Series]:
        return {w: d.set_index("phi")["mean"][0.5] - d.set_index("phi")["mean"] for w, d in self.transfer.groupby("weights")}

    @property
    def away(self) -> list[float]:
        return [p for p in self.p["eval"]["transfer_phis"] if not np.isclose(p, 0.5)]

    # Prior width (Fig. 8)
    @property
    def pr_test(self) -> pd.Series:
        pr = self.t["prior"]
        return pr[(pr.model == "SSHN") & (pr.split == "test")].groupby("r")["dice"].mean()

    def prior_seeds(self, model: str):
        """Test Dice at the prior's centre per seed: of `model`'s SSHN at a prior width r (a function of r),
        or of a Fixed model (a Series)."""
        pr = self.t["prior"]
        pr = pr[(pr.model == model) & (pr.split == "test")]
        if model == "SSHN":
            return lambda r: pr[np.isclose(pr.r, r)].set_index("seed")["dice"]
        return pr.set_index("seed")["dice"]

    def fixed_c_test_of(self, model: str) -> float:
        pr = self.t["prior"]
        return pr[(pr.model == model) & (pr.split == "test")]["dice"].mean()

    @property
    def fixed_c_test(self) -> float:
        """The main Fixed U-Net at the prior's centre (trained to its plateau)."""
        return self.fixed_c_test_of("Fixed")

    # Separate factors (App. C.2)
    @property
    def sep0(self) -> pd.DataFrame:
        sep = self.t["separate"]
        return sep[sep.seed == self.p["separate"]["seeds"][0]]

    @property
    def single0(self) -> pd.Series:
        d = self.t["dice"]
        return d[(d.method == "SSHN") & (d.init == self.main_init) & (d.seed == self.p["main"]["seeds"][0])] \
            .set_index("phi")["dice"]

    @property
    def separate_low_drop(self) -> dict[str, float]:
        """For phi_0 and phi_1: marginal mean Dice at the factor's best level minus at its lowest (App. C.2)."""
        out = {}
        for f in ("phi_0", "phi_1"):
            m = self.sep0.groupby(f)["dice"].mean()
            out[f"{f} at {m.index.min():g}"] = float(m.max() - m[m.index.min()])
        return out

    @property
    def best_cheaper_vs_best_fixed(self):
        """Hyper-UNet Fig. 5: the SSHN at the grid phi cheaper than the best Fixed model's with the best
        validation Dice, against that Fixed model, both picked on validation and scored on test (per seed);
        {} if no grid phi is cheaper. Picking on test would favour whichever side has more phis to choose
        from."""
        fixed_phi = self.val_best_phi("Fixed")
        v = self.t["val_dice"]
        val = v[(v.method == "SSHN") & (v.init == self.main_init)].groupby("phi")["dice"].mean()
        cheaper = val[[q for q in val.index if self.g(q) < self.g(fixed_phi) - 1e-12]]
        if cheaper.empty:
            return {}
        return {f"SSHN φ={cheaper.idxmax():g} − Fixed φ={fixed_phi:g}":
                dice_arms(self.sshn_at(cheaper.idxmax()), self.per_seed("Fixed", fixed_phi))}

    @property
    def front_gap(self) -> float:
        sep0, single0 = self.sep0, self.single0
        in_range = [p for p in single0.index if sep0.gmacs.min() - 1e-12 <= self.g(p) <= sep0.gmacs.max() + 1e-12]
        return max(abs(front_value(sep0.gmacs, sep0.dice, self.g(p)) - single0[p]) for p in in_range)

    # Predicted weights (App. D)
    @property
    def cvw(self) -> pd.DataFrame:
        cv = self.t["cv"]
        return cv[cv.kind == "weight"].set_index("layer")

    @property
    def cv_ends(self) -> list[str]:
        return [self.cvw.index[0], self.cvw.index[-1]]

    @property
    def peak_depth(self) -> float:
        cvw = self.cvw
        return float(cvw["depth"][cvw["cv_median"].idxmax()] / cvw["depth"].max())

    # Architecture ablation (Fig. 10) and feature maps (Fig. 16)
    @property
    def arch_order(self) -> list[str]:
        return ["unet", *self.p["arch"]["archs"]]

    @property
    def arch_gap(self) -> dict:
        """Per primary network and Fixed phi of the ablation: SSHN minus Fixed, per seed."""
        a = self.t["architectures"]
        return {f"{ARCH_NAMES[x]} φ={p:g}": dice_arms(seed_values(a[a.arch == x], "SSHN", p),
                                                     seed_values(a[a.arch == x], "Fixed", p))
                for x in self.arch_order for p in self.p["arch"]["fixed_phis"]}

    def feature_margin(self, weights: str = "SSHN", min_px: int | None = None) -> pd.Series:
        """Per stage: mean r with the same channel at phi = 0.5 minus mean r with the other channels
        (away from 0.5), for SSHN's predicted weights or the Fixed U-Net's own weights (T-Fixed), at the
        stages still `min_px` wide at every phi compared (smaller maps are nearly constant, so r says
        little there; by default sshn.features-similar's measure_args)."""
        min_px = self.claim_args("sshn.features-similar")["min_px"] if min_px is None else min_px
        fs = self.t["feature_similarity"]
        away = fs[~np.isclose(fs.phi, 0.5) & (fs.weights == weights)]
        stages = [st for st, n in away.groupby("stage", sort=False)["size"].min().items() if n >= min_px]
        return (away.groupby("stage")["matched"].mean() - away.groupby("stage")["other"].mean())[stages]

    # Registration (Table 2, Fig. 6)
    @property
    def reg(self) -> pd.DataFrame:
        r = self.t["registration"]
        return r[r.method != "no registration"]

    @property
    def reg_none(self) -> float:
        r = self.t["registration"]
        return float(r[r.method == "no registration"].dice.iloc[0])

    @property
    def reg_gap(self) -> dict:
        return {m: gap_to_fixed(self.reg, m, self.p["registration"]["fixed_phis"]) for m in ("SSHN", "Stochastic", "FiLM")}

    # Natural images (Hyper-UNet Fig. 3)
    @property
    def nat_gap(self) -> dict:
        return gap_to_fixed(self.t["natural"], "SSHN", self.p["natural"]["fixed_phis"])

    @property
    def low(self) -> float:
        return min(set(self.p["natural"]["fixed_phis"]) & set(self.p["main"]["fixed_phis"]))

    def rel_drop_seeds(self, data: str, method: str) -> pd.Series:
        """Per seed: the share of Dice `method` loses from phi = 0.5 to the lowest phi both datasets train."""
        at = (lambda p: seed_values(self.t["natural"], method, p)) if data == "scenes" else (
            (lambda p: self.sshn_at(p)) if method == "SSHN" else (lambda p: self.per_seed(method, p)))
        return 1 - at(self.low) / at(0.5)

    def drop_seeds(self, weights: str, phi: float) -> pd.Series:
        """Per seed: the Dice that weights `weights` (T-SSHN: h(0.5); T-Fixed: the Fixed phi = 0.5 model's) lose
        from phi = 0.5 to `phi`."""
        t = self.t["transfer"]
        t = t[t.weights == weights]
        at = lambda p: t[np.isclose(t.phi, p)].set_index("seed")["dice"]  # noqa: E731
        return at(0.5) - at(phi)

    @property
    def rel_drop(self) -> dict:
        nat_at = lambda m, p: seed_values(self.t["natural"], m, p)  # noqa: E731
        low = self.low
        return {("atlas2d", "Fixed"): 1 - self.per_seed("Fixed", low).mean() / self.per_seed("Fixed", 0.5).mean(),
                ("atlas2d", "SSHN"): 1 - self.sshn_at(low).mean() / self.sshn_at(0.5).mean(),
                ("scenes", "Fixed"): 1 - nat_at("Fixed", low).mean() / nat_at("Fixed", 0.5).mean(),
                ("scenes", "SSHN"): 1 - nat_at("SSHN", low).mean() / nat_at("SSHN", 0.5).mean()}

    # Training cost (Table 3): steps to convergence x the step time measured in one process (sshn/benchmark.py)
    @property
    def step_ms(self) -> pd.Series:
        return self.t["step_times"].set_index("model")["ms_median"]

    def minutes(self, group: str) -> float:
        """Training minutes of one model: its mean steps over seeds times its median step time."""
        return self.main_runs[self.main_runs.group == group].steps.mean() * self.step_ms[group] / 60000

    def minutes_by_round(self, group: str) -> np.ndarray:
        """`minutes` with each benchmark round's step time: the rounds pair the models, so a ratio of
        two models' minutes has one value per round (its interval: core.benchmark.median_interval)."""
        ms = rounds_of(self.t["step_rounds"], "model", "ms")[group]
        return self.main_runs[self.main_runs.group == group].steps.mean() * ms / 60000

    @property
    def fixed_groups(self) -> list[str]:
        return list(dict.fromkeys(self.main_runs[self.main_runs.method == "fixed"].group))

    @property
    def fixed_minutes(self) -> float:
        """All of one seed's Fixed models."""
        return sum(self.minutes(g) for g in self.fixed_groups)

    @property
    def single_minutes(self) -> dict[str, float]:
        return {"Stochastic": self.minutes("stochastic"), "FiLM": self.minutes("film"),
                "SSHN": self.minutes(f"sshn-{self.main_init}")}

    @property
    def n_paper_fixed(self) -> int:
        return len(self.ref["setup"]["fixed_phis"])


def _in_points(m):
    """A Dice measure (a number or {case: number}) shown in points, the papers' unit."""
    if isinstance(m, dict):
        return {k: _in_points(v) for k, v in m.items()}
    return points(m)


def _match(R: Results, tol: float) -> Shown:
    """The cheapest grid phi where SSHN comes within `tol` of the best Fixed model; if none, how close it came."""
    phi = R.match_phi(tol)
    return Shown(phi, f"φ = {phi:g}" if not np.isnan(phi) else
                 f"none: SSHN's best grid Dice is {points(R.half.max() - R.best_fixed).text} from the best Fixed model's")


def _timed(ratios: np.ndarray) -> Shown:
    """A ratio of measured times, one per benchmark round: its median with its 95 % interval."""
    return interval(*median_interval(ratios))


def _prior(R: Results) -> dict:
    pr_test, r = R.pr_test, R.pr_test.index
    sshn, fixed = R.prior_seeds("SSHN"), R.prior_seeds("Fixed")
    return {
        "prior_r0_minus_fixed": dice_arms(fixed, sshn(0.0)) if 0.0 in r else dice_arms(fixed.iloc[:0], fixed.iloc[:0]),
        "prior_r0_minus_fixed_equal_budget": (float(pr_test[0.0] - R.fixed_c_test_of("Fixed, prior's cap"))
                                              if 0.0 in r else float("nan")),
        "prior_widest_minus_narrowest": dice_arms(sshn(r[-1]), sshn(r[0])),
        "prior_widest_minus_fixed": dice_arms(sshn(r[-1]), fixed),
        "prior_widest_vs_full": dice_arms(sshn(r[-1]), R.sshn_at(R.p["prior"]["center"])),
    }


def _separate(R: Results) -> dict:
    sep0 = R.sep0
    return {
        "separate_low_drop": _in_points(R.separate_low_drop),
        "separate_influence": _in_points(factor_influence(sep0).to_dict()),
        "separate_best_phi0": float(sep0.groupby("phi_0")["dice"].mean().idxmax()),
        "separate_phi0_levels": int(sep0["phi_0"].nunique()),
        "separate_share_high": lambda frac: percent(float((sep0.dice >= frac * sep0.dice.max()).mean())),
        "separate_front_gap": points(float(R.front_gap)),
    }


# The measures of each experiment a profile may leave out (its section's `run: false`): computed only
# where it ran; the claims that need it say it was not run (core.claims.NOT_RUN).
ABLATION_MEASURES = {
    "prior": _prior,
    "separate": _separate,
    "arch": lambda R: {"arch_sshn_minus_fixed": R.arch_gap},
    "registration": lambda R: {
        "reg_sshn_minus_fixed": R.reg_gap["SSHN"],
        "reg_dynamic_minus_fixed": {f"{m} {k}": a.flipped() for m in ("Stochastic", "FiLM")
                                    for k, a in R.reg_gap[m].items()}},
    "natural": lambda R: {
        "natural_sshn_minus_fixed": R.nat_gap,
        "natural_drop_minus_atlas": {m: Arms(tuple(R.rel_drop_seeds("scenes", m)), tuple(R.rel_drop_seeds("atlas2d", m)),
                                             False, "per cent", 100.0) for m in ("Fixed", "SSHN")}},
}


def measures(R: Results) -> dict:
    """The quantities the claims' rules test (keys are the claims' `measure`). Dice differences are
    shown in points and cost cuts in per cent, as the papers print them (core.claims.Shown)."""
    drop, away, t1, t3 = R.drop, R.away, R.ref["table1"], R.ref["table3_all"]
    cvw, ends, small, size_gap = R.cvw, R.cv_ends, R.small, R.size_gap
    gp = R.gp
    nat_arch = R.gmacs["gmacs_natural_arch"]
    # training minutes per benchmark round: one Fixed model (the mean of the grid's) and each single model
    one_fixed = sum(R.minutes_by_round(g) for g in R.fixed_groups) / len(R.fixed_groups)
    single = {m: R.minutes_by_round(g) for m, g in (("Stochastic", "stochastic"), ("FiLM", "film"),
                                                     ("SSHN", f"sshn-{R.main_init}"))}
    return {
        "sshn_minus_fixed": R.gap,
        "fixed_minus_dynamic": {f"{m} {k}": a.flipped() for m, og in R.other_gap.items() for k, a in og.items()},
        "grid_mean_per_seed": {m: dice_arms(R.on_grid("SSHN", R.main_init), R.on_grid(m)) for m in R.others},
        # each side's best phi picked on the validation split, compared on the test split
        "best_vs_best_fixed": {f"SSHN φ={R.val_best_phi('SSHN', R.main_init):g} − Fixed φ={R.val_best_phi('Fixed'):g}":
                               dice_arms(R.sshn_at(R.val_best_phi("SSHN", R.main_init)),
                                         R.per_seed("Fixed", R.val_best_phi("Fixed")))},
        # SSHN at a given phi against the best Fixed model (picked on validation), per seed
        "sshn_at_phi_vs_best_fixed": lambda phi: {f"SSHN φ={phi:g} − Fixed φ={R.val_best_phi('Fixed'):g}":
                                                  dice_arms(R.sshn_at(phi), R.per_seed("Fixed", R.val_best_phi("Fixed")))},
        # Functions of the tolerances their claims give as measure_args (core.claims.measure_value)
        "share_near_best": lambda tol: percent(float((R.half >= R.half.max() - tol).mean())),
        "no_loss_phi": R.no_loss_phi,
        "no_loss_cut_paper_arch": lambda tol: percent(1 - gp(R.no_loss_phi(tol)) / gp(0.5)),
        "match_best_fixed_cut_paper_arch": lambda tol: (percent(1 - gp(R.match_phi(tol)) / gp(R.best_fixed_phi))
                                                        if not np.isnan(R.match_phi(tol)) else _match(R, tol)),
        "no_loss_cut_paper_table": lambda tol: percent(1 - np.interp(R.no_loss_phi(tol), t1["phi"], t1["gflops"])
                                                       / t1["gflops"][-1]),
        "match_best_fixed_phi": lambda tol: _match(R, tol),
        "max_cut_paper_arch": percent(1 - gp(0.0) / gp(0.5)),
        # Table 1's cost growth from phi = 0 to 0.5 over our count's of the described U-Net (a constant
        # factor between conventions, MACs or FLOPs, cancels in each ratio)
        "table1_cost_growth_vs_arch": Shown((t1["gflops"][10] / t1["gflops"][0]) / (gp(0.5) / gp(0.0)),
                                            f"Table 1: {t1['gflops'][10] / t1['gflops'][0]:.2f}x from φ = 0 to 0.5; "
                                            f"our count of the described U-Net: {gp(0.5) / gp(0.0):.2f}x"),
        "flops_cut_0p4_paper_arch": percent(1 - gp(0.4) / gp(0.5)),
        "flops_cut_0p3_paper_arch": percent(1 - gp(0.3) / gp(0.5)),
        "flops_cut_0p4_natural_arch": percent(1 - nat_arch.loc[0.4] / nat_arch.loc[0.5]),
        "flops_ratio_0p5_over_0p25_natural_arch": nat_arch.loc[0.5] / nat_arch.loc[0.25],
        "flops_cut_0p25_natural_arch": percent(1 - nat_arch.loc[0.25] / nat_arch.loc[0.5]),
        "best_cheaper_minus_best_fixed": R.best_cheaper_vs_best_fixed,
        "sshn_drop_at_phi_max": points(float(R.sshn_curve["mean"].max() - R.sshn_curve["mean"].iloc[-1])),
        "single_over_fixed_model_time": _timed(single["SSHN"] / one_fixed),
        "paper_table_cut_0p4": percent(1 - t1["gflops"][8] / t1["gflops"][10]),
        "paper_table_cut_0p3": percent(1 - t1["gflops"][6] / t1["gflops"][10]),
        "paper_table_cut_0p15": percent(1 - t1["gflops"][3] / t1["gflops"][10]),
        "train_ratio_paper_grid": _timed(one_fixed * R.n_paper_fixed / single["SSHN"]),
        "paper_table_train_ratio_min": min(v[2] / v[3] for v in t3.values()),
        "single_model_time_spread": _timed(np.max(list(single.values()), axis=0) / np.min(list(single.values()), axis=0)),
        "size_dependence": points(float(abs(size_gap[small].mean() - size_gap[~small].mean()))),
        "size_gap_mean": points(float(size_gap.mean())),
        "transfer_advantage": {f"φ={p:g}": dice_arms(R.drop_seeds("T-Fixed", p), R.drop_seeds("T-SSHN", p)) for p in away},
        "transfer_worst_drop": lambda low, high: points(drop["T-SSHN"][[p for p in R.p["eval"]["transfer_phis"]
                                                                         if low - 1e-9 <= p <= high + 1e-9]].max()),
        "cv_middle_vs_ends": {"values": cvw["cv_median"].drop(ends).to_dict(),
                              "baseline": float(cvw["cv_median"][ends].max())},
        "cv_peak_depth": R.peak_depth,

        # SSHN's margin as a share of the margin identical weights give (the Fixed phi = 0.5 U-Net run at each phi)
        "feature_margin_vs_shared": lambda min_px: (R.feature_margin("SSHN", min_px)
                                                    / R.feature_margin("T-Fixed", min_px)).to_dict(),
        **{f"converged_{e}": R.converged(e) for e in EXPERIMENTS},
        **{k: v for e, of in ABLATION_MEASURES.items() if R.ran(e) for k, v in of(R).items()},
        # Stochastic's and FiLM's runs need no doubling check where they stopped on plateaus; none was run for them
        "dynamic_checked": float(not R.main_runs[R.main_runs.method.isin(["stochastic", "film"])]
                                 .stopped_by.str.startswith("schedule").any()
                                 or R.runs[R.runs.experiment.eq("doubled")].method.isin(["stochastic", "film"]).any()),
        # Hyper-UNet §4.2 trains OASIS with phi ~ U(0, 1), Pets and CUB with U(0, 0.6); the natural runs use
        # hyper.phi_range, the main ones that of the judged SSHN
        "prior_is_hunet_oasis": float(R.prior == [0.0, 1.0]),
        "prior_is_hunet_natural": float(list(R.p["hyper"]["phi_range"]) == [0.0, 0.6]),
        **paper_values(R.ref),
    }


def _range(diffs) -> str:
    lo, hi = min(diffs), max(diffs)
    return f"{lo:+.1f}" if lo == hi else f"{lo:+.1f} to {hi:+.1f}"


def _two_three(gaps: dict[str, list[float]]) -> dict[str, Shown]:
    """§1's "by 2-3 %" read two ways over Table 1's datasets (SSHN minus Fixed at every phi > 0): at
    least 2 points in some dataset, and between 2 and 3 in some dataset; 1 where one does."""
    def which(ok) -> Shown:
        hits = [ds for ds, g in gaps.items() if ok(min(g), max(g))]
        return Shown(float(bool(hits)), ", ".join(f"{ds}: {min(gaps[ds]):+.1f} to {max(gaps[ds]):+.1f}" for ds in hits)
                     or "no dataset")
    return {"at least 2 at every φ > 0": which(lambda lo, hi: lo >= 2),
            "2 to 3 at every φ > 0": which(lambda lo, hi: lo >= 2 and hi <= 3)}


def paper_values(ref: dict) -> dict:
    """The paper's side of the claims that compare, computed from the transcribed tables (never typed)."""
    t1, t2 = ref["table1"], ref["table2"]
    gap = [s - f for s, f in zip(t1["oasis_sshn"], t1["oasis_fixed"])]
    at0 = [g for p, g in zip(t1["phi"], gap) if p == 0]
    best = max(t1["oasis_sshn"])
    reg = {m: [v - f for v, f in zip(t2[m], t2["fixed"])] for m in ("sshn", "stochastic", "film")}
    every = {ds: [s - f for s, f in zip(v["sshn"], v["fixed"])] for ds, v in ref["table1_all"].items()}
    return {
        # Table 5 against the best over phi of the same method in Table 1 (0 where it is that best)
        "paper_table5_below_table1_best": {f"{ds} {m}": round(max(ref["table1_all"][ds][m]) - v, 1)
                                           for ds, row in ref["table5_all"].items() for m, v in row.items()},
        "paper_table2_sshn_minus_fixed": {f"φ={p:g}": round(d, 1) for p, d in zip(t2["phi"], reg["sshn"])},
        "paper_table1_sshn_minus_fixed": {"values": {f"{ds} φ={p:g}": round(g, 1) for ds, gs in every.items()
                                                     for p, g in zip(t1["phi"], gs)}, "baseline": 0.0},
        "paper_table1_two_three": _two_three({ds: [round(g, 1) for p, g in zip(t1["phi"], gs) if p > 0]
                                              for ds, gs in every.items()}),
        "paper_sshn_minus_fixed": f"OASIS, Table 1: {_range([g for p, g in zip(t1['phi'], gap) if p > 0])} Dice points "
                                  f"at every φ > 0; {at0[0]:+.1f} at φ = 0",
        "paper_share_above_089": f"Table 1: SSHN ≥ 89.0 at {sum(v >= 89.0 for v in t1['oasis_sshn'])} of "
                                 f"{len(t1['phi'])} φ ({sum(v > 89.0 for v in t1['oasis_sshn'])} strictly above); "
                                 f"best {best:.1f}",
        "paper_reg_sshn_minus_fixed": f"OASIS, Table 2: {_range(reg['sshn'])} Dice points",
        "paper_reg_dynamic_minus_fixed": f"OASIS, Table 2: Stochastic {_range(reg['stochastic'])}, "
                                         f"FiLM {_range(reg['film'])} Dice points",
    }


def summary(R: Results, M: dict, ledger: pd.DataFrame, profile: str, image_size) -> tuple[dict, dict]:
    """(summary of the results, measured training cost): the second differs from run to run.
    `ledger` is the claims ledger of the results (not of the timing claims)."""
    fixed_pts, sshn_curve, gap, g, gp = R.fixed_pts, R.sshn_curve, R.gap, R.g, R.gp
    summary = {
        "profile": profile, "seeds": len(R.p["main"]["seeds"]), "image_size": list(image_size),
        "verdicts": ledger.groupby(["paper", "verdict"]).size().unstack(fill_value=0).to_dict(orient="index"),
        "fixed_dice": {f"{p:g}": float(fixed_pts.loc[p, "mean"]) for p in fixed_pts.index},
        "sshn_dice_at_fixed_phis": {f"{p:g}": float(sshn_curve.loc[p, "mean"]) for p in fixed_pts.index},
        "sshn_minus_fixed_by_init": {i: {"mean": float(R.seed_gap(i).mean()), "std": float(R.seed_gap(i).std(ddof=1)),
                                         "seeds": len(R.seed_gap(i))} for i in R.variants},
        "converged": {e: float(R.converged(e)) for e in R.runs.experiment.unique()},
        "doubling": {i: R.doubling(i) for i in R.variants},  # core/train.py's budget-doubling check
        "minus_fixed_mean": {"SSHN": float(np.mean([a.diff for a in gap.values()])) / 100,
                             **{m: float(np.mean([a.diff for a in og.values()])) / 100 for m, og in R.other_gap.items()}},
        "sshn_best": {"phi": R.best_sshn_phi, "dice": float(sshn_curve["mean"].max())},
        "fixed_best": {"phi": R.best_fixed_phi, "dice": R.best_fixed},
        "gmacs_ratio_phi0p5_over_phi0": g(0.5) / g(0.0),
        "gmacs_paper_arch_ratio_phi0p5_over_phi0": gp(0.5) / gp(0.0),
        "measures": {k: v for k, v in M.items() if isinstance(v, float) and v is not NOT_RUN and k not in TIMING},
    }
    fixed, sshn = R.time[R.time.method == "fixed"], R.time[R.time.group == f"sshn-{R.main_init}"]
    cost = {"step_time_ratio_sshn_over_fixed": float(R.step_ms[f"sshn-{R.main_init}"] / R.step_ms[R.fixed_groups].mean()),
            # the same ratio from the runs' own timing.json (stages run at different moments: load decides it)
            "step_time_ratio_from_run_logs": float(sshn.seconds_per_step.mean() / fixed.seconds_per_step.mean()),
            "train_minutes_fixed_total": float(R.fixed_minutes),
            "train_minutes": {m: float(v) for m, v in R.single_minutes.items()},
            "measures": {k: M[k] for k in TIMING}}
    return summary, cost
