"""The SSHN / Hyper-UNet chapter's figures and tables, drawn from `measures.Results` (the files
the evaluation wrote). Each function returns a matplotlib figure or a DataFrame; the chapter
notebook (notebooks/sshn.ipynb) only arranges them with its prose."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

from ..core.claims import doubling_frame, doubling_text
from ..core.models import load_model
from ..core.report import plain_log, settle_step
from ..core.stats import estimate
from .analysis import feature_maps, pareto_mask
from .evaluate import cv_phis
from .measures import ARCH_NAMES, FIG4_PHIS, Results, run_group
from .runs import EXPERIMENTS, plan, run_dir

PAPER_METHODS = ("Fixed", "Stochastic", "FiLM", "SSHN")
INIT_COLOURS = ("C0", "C4", "C5")  # SSHN's parametrisations, in params order (C1-C3: the other methods)


def _band(ax, c, color, **kw):
    ax.fill_between(c.index, c["mean"] - c["std"].fillna(0), c["mean"] + c["std"].fillna(0), color=color, **kw)


def dice_vs_phi(R: Results):
    """Fig. 3: every single model over the grid (lines, ± std over seeds), each Fixed U-Net at its phi."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for j, (init, c) in enumerate(R.sshn_curves.items()):
        ax.plot(c.index, c["mean"], color=INIT_COLOURS[j], label=f"SSHN, {init} (one model)")
        if (c["n"] > 1).all():
            _band(ax, c, INIT_COLOURS[j], alpha=0.15)
    for i, (m, c) in enumerate(R.others.items(), start=1):
        ax.plot(c.index, c["mean"], color=f"C{i}", ls="--", label=f"{m} (one model)")
        if (c["n"] > 1).all():
            _band(ax, c, f"C{i}", alpha=0.15)
    f = R.fixed_pts
    ax.errorbar(f.index, f["mean"], yerr=f["std"].fillna(0), fmt="o", color="C3", capsize=3, label="Fixed (one model per φ)")
    ax.set(xlabel="rescaling factor φ", ylabel="test Dice (mean over foreground labels)",
           title=f"atlas2d test split, {len(R.p['main']['seeds'])} seed(s)")
    ax.legend()
    fig.tight_layout()
    return fig


def main_table(R: Results) -> pd.DataFrame:
    """Table 1's comparison at the Fixed phis: mean ± std over seeds, the gap in Dice points with its 95 %
    interval (Welch), the paper's gap."""
    t1 = R.ref["table1"]
    paper = pd.Series(np.subtract(t1["oasis_sshn"], t1["oasis_fixed"]), index=t1["phi"])
    phis = R.p["main"]["fixed_phis"]
    cell = lambda c, p: f"{c.loc[p, 'mean']:.3f} ± {c.loc[p, 'std']:.3f}"  # noqa: E731
    gaps = {i: R.judging(i).gap for i in R.sshn_curves}
    return pd.DataFrame({"φ": phis, "Fixed": [cell(R.fixed_pts, p) for p in phis],
                         **{f"SSHN ({i})": [cell(c, p) for p in phis] for i, c in R.sshn_curves.items()},
                         **{m: [cell(c, p) for p in phis] for m, c in R.others.items()},
                         **{k: v for i, g in gaps.items() for k, v in (
                             (f"SSHN ({i}) − Fixed (Dice points)", [estimate(g[f"φ={p:g}"]).text for p in phis]),)},
                         "paper SSHN − Fixed (OASIS, Dice points)": [paper.get(p, np.nan) for p in phis]})


def paper_gap_mean(R: Results) -> float:
    """The paper's mean SSHN − Fixed over its phi >= 0.05 (Table 1, OASIS), as a fraction."""
    t1 = R.ref["table1"]
    gap = pd.Series(np.subtract(t1["oasis_sshn"], t1["oasis_fixed"]) / 100, index=t1["phi"])
    return float(gap[gap.index >= 0.05].mean())


def best_variants(R: Results) -> pd.DataFrame:
    """Table 5: each method at its best phi, beside the paper's OASIS row."""
    curves = {"Fixed": R.fixed_pts, **R.others, "SSHN": R.sshn_curve}
    rows = []
    for m in PAPER_METHODS:
        c = curves[m]
        best = c["mean"].idxmax()
        mean, std = R.ref["table5"][m]
        rows.append({"method": m, "best φ": best, "test Dice": f"{c.loc[best, 'mean']:.3f} ± {c.loc[best, 'std']:.3f}",
                     "paper OASIS (Table 5)": f"{mean} ± {std}"})
    return pd.DataFrame(rows)


def dice_vs_cost(R: Results, size):
    """Fig. 7: Dice against GMACs of one image; SSHN's Pareto front."""
    fig, ax = plt.subplots(figsize=(7, 4))
    c = R.sshn_curve
    x = np.array([R.g(p) for p in c.index])
    front = pareto_mask(x, c["mean"].values)
    ax.plot(x, c["mean"], color="C0", alpha=0.4, label="SSHN")
    ax.plot(x[front], c["mean"].values[front], color="C0", lw=2, label="SSHN Pareto front")
    for i, (m, o) in enumerate(R.others.items()):
        ax.plot([R.g(p) for p in o.index], o["mean"], color=f"C{i + 1}", ls="--", label=m)
    f = R.fixed_pts
    ax.plot([R.g(p) for p in f.index], f["mean"], "o", color="C3", label="Fixed")
    for p in f.index:
        ax.annotate(f"φ={p:g}", (R.g(p), f.loc[p, "mean"]), textcoords="offset points", xytext=(4, -10), fontsize=8)
    ax.set(xlabel=f"GMACs per {size[0]}x{size[1]} image (GFLOPs = 2 x GMACs)", ylabel="test Dice",
           title="accuracy vs inference cost")
    ax.legend()
    fig.tight_layout()
    return fig


def selection_table(R: Results) -> pd.DataFrame:
    """phi* (Hyper-UNet eq. 3) for each alpha, by GMACs and by measured latency."""
    t = pd.concat([R.t["selection"].merge(R.t["latency"], on="phi"), R.t["selection_latency"]])
    t = t.sort_values(["fraction", "cost"], kind="stable")
    return t.rename(columns={"fraction": "α / best val Dice", "alpha": "α (val Dice)", "phi": "φ*", "gmacs": "GMACs",
                             "latency_ms": "latency (ms)", "val_dice": "val Dice", "test_dice": "test Dice"})


def table1(R: Results, profile: str) -> pd.DataFrame:
    """The paper's Table 1 GFLOPs beside our MAC counts, as ratios to phi = 0."""
    t = pd.DataFrame({"φ": R.ref["table1"]["phi"], "paper GFLOPs": R.ref["table1"]["gflops"]})
    t["paper ratio"] = t["paper GFLOPs"] / t["paper GFLOPs"].iloc[0]
    t["our GMACs, paper architecture"] = [R.gp(p) for p in t["φ"]]
    t["our ratio, paper architecture"] = t["our GMACs, paper architecture"] / t["our GMACs, paper architecture"].iloc[0]
    t[f"our ratio, {profile} profile"] = [R.g(p) / R.g(0.0) for p in t["φ"]]
    return t


def per_structure(R: Results):
    """Fig. 4: Dice per structure, largest first."""
    fig4 = R.fig4
    fig, ax = plt.subplots(figsize=(11, 4))
    xs = np.arange(len(fig4))
    cols = ["Fixed φ=1/2"] + [f"SSHN φ=1/{round(1 / p)}" for p in FIG4_PHIS]
    for i, col in enumerate(cols):
        ax.bar(xs + (i - 1.5) * 0.2, fig4[col], width=0.2, color=["C3", "C0", "C9", "C2"][i], label=col)
    ax.set_xticks(xs, [f"{n} ({a:.1f}%)" for n, a in zip(fig4.index, fig4["area %"])], rotation=60, ha="right", fontsize=8)
    ax.set(ylabel="test Dice", title="Dice by structure, largest first (share of the brain's area)")
    ax.legend(ncol=4, fontsize=8)
    fig.tight_layout()
    return fig


def registration(R: Results, size):
    """Fig. 6: warped-label Dice against phi and against GMACs; the dotted line is no registration."""
    stats = R.reg.groupby(["method", "phi"])["dice"].agg(["mean", "std"]).reset_index()
    gr = lambda p: R.g(p, "gmacs_registration")  # noqa: E731
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4))
    for i, m in enumerate(("SSHN", "Stochastic", "FiLM")):
        d = stats[stats.method == m]
        a1.plot(d.phi, d["mean"], color=f"C{i}", ls="-" if m == "SSHN" else "--", label=m)
        a2.plot([gr(p) for p in d.phi], d["mean"], color=f"C{i}", ls="-" if m == "SSHN" else "--", label=m)
    d = stats[stats.method == "Fixed"]
    a1.errorbar(d.phi, d["mean"], yerr=d["std"].fillna(0), fmt="o", color="C3", capsize=3, label="Fixed")
    a2.plot([gr(p) for p in d.phi], d["mean"], "o", color="C3", label="Fixed")
    for a in (a1, a2):
        a.axhline(R.reg_none, color="grey", ls=":", label="no registration")
        a.set(ylabel="test Dice of warped labels")
    a1.set(xlabel="rescaling factor φ", title="registration Dice vs φ")
    a2.set(xlabel=f"GMACs per {size[0]}x{size[1]} pair", title="vs inference cost")
    a1.legend(fontsize=8)
    fig.tight_layout()
    return fig


def registration_table(R: Results) -> pd.DataFrame:
    phis = R.p["registration"]["fixed_phis"]
    return pd.DataFrame({"φ": phis, **{m: [R.reg[(R.reg.method == m) & np.isclose(R.reg.phi, p)].dice.mean() for p in phis]
                                      for m in PAPER_METHODS}})


def natural(R: Results):
    """Hyper-UNet Fig. 3 on scenes; right: Dice / Dice at phi = 0.5 on both datasets."""
    stats = R.t["natural"].groupby(["method", "phi"])["dice"].agg(["mean", "std"]).reset_index()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4))
    s = stats[stats.method == "SSHN"].set_index("phi")
    a1.plot(s.index, s["mean"], color="C0", label="SSHN (one model)")
    _band(a1, s, "C0", alpha=0.15)
    f = stats[stats.method == "Fixed"].set_index("phi")
    a1.errorbar(f.index, f["mean"], yerr=f["std"].fillna(0), fmt="o", color="C3", capsize=3, label="Fixed (one model per φ)")
    a1.set(xlabel="rescaling factor φ", ylabel="test Dice (object)", title=f"scenes, {len(R.p['natural']['seeds'])} seed(s)")
    a1.legend()
    for ls, (name, sc, fx) in zip(("-", "--"), [("atlas2d", R.sshn_curve["mean"], R.fixed_pts["mean"]),
                                                 ("scenes", s["mean"], f["mean"])]):
        a2.plot(sc.index, sc / sc[0.5], ls=ls, color="C0", label=f"SSHN, {name}")
        a2.plot(fx.index, fx / fx[0.5], ls=ls, marker="o", color="C3", label=f"Fixed, {name}")
    a2.set(xlabel="rescaling factor φ", ylabel="Dice / Dice at φ = 0.5", title="relative fall with φ")
    a2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def training_cost(R: Results) -> pd.DataFrame:
    """Per model of the main comparison (mean over seeds): parameters and steps; ms per step measured
    both ways (the interleaved benchmark, and the runs' own logs) and the minutes each gives."""
    t = R.main_runs.merge(R.time[["run", "wall_seconds", "seconds_per_step"]], on="run")
    t = t.assign(log_minutes=t.wall_seconds / 60, log_ms=1000 * t.seconds_per_step)
    t = t.groupby("group", sort=False)[["parameters", "steps", "log_ms", "log_minutes"]].mean()
    bench = R.t["step_times"].set_index("model")
    t["ms per step (benchmark, median)"] = bench.ms_median
    t["IQR (ms)"] = bench.ms_p75 - bench.ms_p25
    t["minutes (steps x benchmark)"] = [R.minutes(g) for g in t.index]
    return t.rename(columns={"log_ms": "ms per step (run logs)", "log_minutes": "minutes (run logs, wall)"})[
        ["parameters", "steps", "ms per step (benchmark, median)", "IQR (ms)", "minutes (steps x benchmark)",
         "ms per step (run logs)", "minutes (run logs, wall)"]].rename_axis("model")


def paper_table3(R: Results) -> pd.DataFrame:
    t = pd.DataFrame(R.ref["table3_all"], index=["Stochastic", "FiLM", "Fixed (all)", "SSHN"]).T
    t["Fixed / SSHN"] = t["Fixed (all)"] / t["SSHN"]
    return t


def prior_width(R: Results):
    """Fig. 8: Dice at the centre phi for each prior width, train and test, beside Fixed (the main one, and
    one trained to the prior runs' cap) and the main SSHN."""
    pr, c = R.t["prior"], R.p["prior"]["center"]
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, sp in enumerate(("train", "test")):
        d = pr[(pr.model == "SSHN") & (pr.split == sp)].groupby("r")["dice"].agg(["mean", "std"])
        ax.errorbar(2 * d.index, d["mean"], yerr=d["std"].fillna(0), fmt="o-", color=f"C{i}", capsize=3,
                    label=f"SSHN, {sp}")
        ax.axhline(pr[(pr.model == "Fixed") & (pr.split == sp)]["dice"].mean(), color=f"C{i}", ls="--", lw=1,
                   label=f"Fixed φ={c:g}, {sp}")
    ax.axhline(R.fixed_c_test_of("Fixed, prior's cap"), color="C1", ls="-.", lw=1,
               label=f"Fixed φ={c:g} at the prior runs' cap, test")
    lo, hi = R.p["hyper"]["phi_range"]
    ax.axhline(R.sshn_curve.loc[c, "mean"], color="grey", ls=":", label=f"main SSHN (U({lo:g}, {hi:g})), test")
    ax.set(xlabel="width 2r of the training prior", ylabel=f"Dice at φ = {c:g}", title="prior width")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def transfer(R: Results):
    """Fig. 9: weights from phi' = 0.5 run at other phi."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (w, d) in enumerate(R.transfer.groupby("weights")):
        ax.errorbar(d["phi"], d["mean"], yerr=d["std"].fillna(0), fmt="o-", capsize=3, color=f"C{i}", label=w)
    ax.axvspan(0.45, 0.6, color="grey", alpha=0.1, label="paper: usable range of h(0.5)")
    ax.set(xlabel="rescaling factor φ at inference", ylabel="test Dice", title="weights from φ' = 0.5 run at φ")
    ax.legend()
    fig.tight_layout()
    return fig


def separate(R: Results, size):
    """Figs. 12-13: Dice over phi_0 and phi_1 (mean over the other factors), and every setting against GMACs."""
    sep0, single0 = R.sep0, R.single0
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.2))
    heat = sep0.groupby(["phi_0", "phi_1"])["dice"].mean().unstack()
    sns.heatmap(heat, annot=True, fmt=".3f", cmap="viridis", ax=a1, cbar_kws={"label": "test Dice"})
    a1.set(xlabel="φ₁", ylabel="φ₀", title="mean over the other factors")
    a2.scatter(sep0.gmacs, sep0.dice, s=12, color="C1", alpha=0.6, label="separate factors, every setting")
    sf = pareto_mask(sep0.gmacs.values, sep0.dice.values)
    order = np.argsort(sep0.gmacs.values[sf])
    a2.plot(sep0.gmacs.values[sf][order], sep0.dice.values[sf][order], "D-", color="C1",
            label="separate factors, Pareto front")
    a2.plot([R.g(p) for p in single0.index], single0.values, color="C0", label="single factor (SSHN)")
    a2.set(xlabel=f"GMACs per {size[0]}x{size[1]} image", ylabel="test Dice", title="accuracy vs cost")
    a2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def architectures(R: Results):
    """Fig. 10: one panel per primary network: its SSHN over phi, its Fixed U-Nets at their phi."""
    a = R.t["architectures"]
    order = R.arch_order
    fig, axes = plt.subplots(1, len(order), figsize=(3.2 * len(order), 3.4), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, x in zip(axes, order):
        d = a[a.arch == x]
        c = d[d.method == "SSHN"].groupby("phi")["dice"].agg(["mean", "std"])
        ax.plot(c.index, c["mean"], color="C0", label="SSHN (one model)")
        _band(ax, c, "C0", alpha=0.2)
        f = d[d.method == "Fixed"].groupby("phi")["dice"].agg(["mean", "std"])
        ax.errorbar(f.index, f["mean"], yerr=f["std"].fillna(0), fmt="o", color="C3", capsize=3, label="Fixed")
        ax.set(title=ARCH_NAMES[x], xlabel="rescaling factor φ")
    axes[0].set(ylabel="test Dice")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def architecture_table(R: Results, arch_time: pd.DataFrame) -> pd.DataFrame:
    """Per primary network: SSHN − Fixed at each Fixed phi, SSHN's best, parameters and ms per step (seed 0)."""
    a, seed, p0 = R.t["architectures"], R.p["arch"]["seeds"][0], R.p["arch"]["fixed_phis"][0]
    runs = R.runs[R.runs.experiment.isin(["main", "arch"])]
    runs = runs.merge(pd.concat([R.time, arch_time])[["run", "seconds_per_step"]], on="run").set_index("run")
    names = {x: (f"fixed-phi{p0:g}-seed{seed}", f"sshn-{R.main_init}-seed{seed}") if x == "unet"
             else (f"{x}-fixed-phi{p0:g}-seed{seed}", f"{x}-sshn-seed{seed}") for x in R.arch_order}
    rows = []
    for x in R.arch_order:
        curve = a[(a.arch == x) & (a.method == "SSHN")].groupby("phi")["dice"].mean()
        fixed, sshn = names[x]
        rows.append({"primary network": ARCH_NAMES[x],
                     **{f"SSHN − Fixed (Dice points), φ={p:g}": estimate(R.arch_gap[f"{ARCH_NAMES[x]} φ={p:g}"]).text
                        for p in R.p["arch"]["fixed_phis"]},
                     "SSHN best": curve.max(), "at φ": curve.idxmax(), "parameters (Fixed)": runs.loc[fixed, "parameters"],
                     f"ms per step, Fixed φ={p0:g}": 1000 * runs.loc[fixed, "seconds_per_step"],
                     "ms per step, SSHN": 1000 * runs.loc[sshn, "seconds_per_step"]})
    return pd.DataFrame(rows)


def _main_sshn(R: Results, root=None):
    run = next(r for r in plan("main", R.p) if r.method == "sshn" and r.seed == R.p["main"]["seeds"][0]
               and r.info.get("init") == R.main_init)
    return load_model(run_dir(run, root) / "model.pt")


@torch.no_grad()
def predicted_weights(R: Results, root=None):
    """App. D, Figs. 14-15: CV of the predicted weights per layer, and four weights of three layers vs phi."""
    cvw, net, phis = R.cvw, _main_sshn(R, root), cv_phis(R.p)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4))
    a1.errorbar(cvw["depth"], cvw["cv_median"], yerr=[cvw["cv_median"] - cvw["cv_p10"], cvw["cv_p90"] - cvw["cv_median"]],
                fmt="o", capsize=2)
    a1.set_xticks(cvw["depth"], cvw.index, rotation=70, fontsize=8)
    a1.set(yscale="log", ylabel="CV of predicted weights over φ", title="variation per layer")
    plain_log(a1)
    thetas = [net.theta(p) for p in phis]
    for i, name in enumerate([cvw.index[0], cvw.index[len(cvw) // 2], cvw.index[-1]]):
        for j in range(4):
            a2.plot(phis, [t[name][0].flatten()[j].item() for t in thetas], color=f"C{i}", alpha=0.7,
                    label=name if j == 0 else None)
    a2.set(xlabel="φ", ylabel="predicted weight", title="four weights per layer vs φ")
    a2.legend()
    fig.tight_layout()
    return fig


def feature_map_grid(R: Results, image: np.ndarray, root=None, stages=("enc0", "enc1", "enc2", "dec1", "dec0")):
    """Fig. 16: one channel of each stage's output on one image at each phi (the channel varying most at 0.5)."""
    net, x = _main_sshn(R, root), torch.from_numpy(image[None])
    phis = R.p["eval"]["feature_phis"]
    maps = {p: feature_maps(net, x, p) for p in phis}
    fig, axes = plt.subplots(len(stages), len(phis) + 1, figsize=(2.1 * (len(phis) + 1), 2.1 * len(stages)))
    for i, st in enumerate(stages):
        ch = int(maps[0.5][st][0].flatten(1).std(1).argmax())
        axes[i, 0].imshow(image[0], cmap="gray")
        axes[i, 0].set_ylabel(f"{st}, channel {ch}")
        for j, p in enumerate(phis):
            m = maps[p][st][0, ch]
            axes[i, j + 1].imshow(m.numpy(), cmap="magma")
            if i == 0:
                axes[i, j + 1].set_title(f"φ = {p:g}")
            axes[i, j + 1].set_xlabel(f"{m.shape[-2]}x{m.shape[-1]} px", fontsize=7)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_title("input")
    fig.tight_layout()
    return fig


def feature_table(R: Results) -> pd.DataFrame:
    """Mean r with the same channel and with the other channels at phi = 0.5, per weights, stage and phi."""
    fs = R.t["feature_similarity"]
    away = fs[~np.isclose(fs.phi, 0.5)]
    t = away.assign(phi=away.phi.map("φ = {:g}".format)).pivot_table(index=["weights", "stage"], columns="phi",
                                                                     values=["matched", "other"], sort=False)
    t.columns = [f"{'same channel' if k == 'matched' else 'other channels'}, {p}" for k, p in t.columns]
    return t


def convergence_table(R: Results) -> pd.DataFrame:
    """Per model of the main comparison: how many seeds ended by their own rule (a plateau or the end of
    their schedule, not a cap), steps taken, the step of the best validation score, the step from which
    validation stayed within `train.min_delta` of that best (core.report.settle_step; mean ± std over
    seeds), and the best score."""
    t = R.main_runs
    c = R.t["curves"]
    tol = R.p["train"]["min_delta"]
    settled = {run: settle_step(h, "val_dice", tol) for run, h in c[c.experiment == "main"].groupby("run")}
    pm = lambda s: f"{s.mean():.0f} ± {s.std(ddof=1):.0f}" if len(s) > 1 else f"{s.mean():.0f}"  # noqa: E731
    return pd.DataFrame([{"model": g, "converged": f"{int(d.converged.sum())}/{len(d)}", "steps": pm(d.steps),
                          "best step": pm(d.best_step), f"within {tol:g} of best from step": pm(d.run.map(settled)),
                          "best validation Dice": d.best_score.mean()} for g, d in t.groupby("group", sort=False)])


def experiments_convergence(R: Results) -> pd.DataFrame:
    """Per experiment: its step budget, how many of its runs ended by their own rule, and whether they
    converged by core/train.py's rule (for a schedule: confirmed by the budget-doubling check)."""
    steps = lambda e: (2 if e == "doubled" else 1) * (R.p.get(e, {}).get("max_steps") or R.p["train"]["max_steps"])  # noqa: E731
    runs = lambda e: R.runs[R.runs.experiment == e]  # noqa: E731
    return pd.DataFrame([{"experiment": e, "budget (steps)": steps(e), "runs ended by their rule":
                          f"{int(runs(e).converged.sum())}/{len(runs(e))}",
                          "converged": "yes" if R.converged(e) == 1 else "no"}
                         if R.ran(e) else {"experiment": e, "budget (steps)": "-", "runs ended by their rule": "-",
                                           "converged": "not run in this profile"}
                         for e in EXPERIMENTS if not R.ran(e) or len(runs(e))])


def doubling_table(R: Results) -> pd.DataFrame:
    """The budget-doubling check (core.claims.doubling_check) of SSHN minus Fixed test Dice (mean over the Fixed
    phis) per main SSHN (R.variants) that has doubled runs."""
    return doubling_frame({i: c for i in R.variants if (c := R.doubling(i)) is not None}, "SSHN")


def learning_curves(R: Results):
    """Validation Dice against optimizer step for every run of the main comparison, one panel per
    model, one line per seed; a dot marks each run's best validation score."""
    c = R.t["curves"]
    c = c[c.experiment == "main"].assign(group=lambda d: d.run.map(run_group))
    groups = list(dict.fromkeys(c.group))
    ncol = 4
    fig, axes = plt.subplots(-(-len(groups) // ncol), ncol, figsize=(13, 2.8 * -(-len(groups) // ncol)),
                             sharex=True, sharey=True, squeeze=False)
    for ax, g in zip(axes.flat, groups):
        for i, (seed, d) in enumerate(c[c.group == g].groupby("seed")):
            ax.plot(d.step, d.val_dice, color=f"C{i}", lw=1, label=f"seed {seed}")
            best = d.loc[d.val_dice.idxmax()]
            ax.plot(best.step, best.val_dice, "o", color=f"C{i}", ms=4)
        ax.axvline(R.p["train"]["max_steps"], color="grey", ls=":", lw=1)
        ax.set_title(g, fontsize=9)
    for ax in axes.flat[len(groups):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("optimizer step")
    for ax in axes[:, 0]:
        ax.set_ylabel("validation Dice")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def dice_definitions(R: Results) -> pd.DataFrame:
    """Test Dice at each Fixed phi under both definitions, and spurious labels per image (mean over seeds)."""
    d = R.t["dice"]
    d = d[d.phi.round(4).isin([round(p, 4) for p in R.p["main"]["fixed_phis"]])]
    name = lambda r: f"SSHN ({r.init})" if r.method == "SSHN" else r.method  # noqa: E731
    t = d.assign(model=[name(r) for r in d.itertuples()]).groupby(["model", "phi"], sort=False)[
        ["dice", "dice_present", "spurious"]].mean().reset_index()
    return t.rename(columns={"phi": "φ", "dice": "Dice (strict)", "dice_present": "Dice (labels present only)",
                             "spurious": "spurious labels per image"})


def earlier_scale_sentence(root) -> str:
    """The main comparison at the stand-in's earlier scale (references/earlier: atlas2d at 64 px, before
    the time budget of 2026-12-06), from what its evaluation wrote."""
    d = Path(root) / "references/earlier"
    S = json.loads((d / "sshn_atlas2d_64px_summary.json").read_text())
    claims = pd.read_csv(d / "sshn_atlas2d_64px_claims.csv", keep_default_na=False).set_index("id").verdict
    return (f"At {S['image_size'][0]} px (the stand-in before the time budget of 2026-12-06; references/earlier), SSHN minus "
            "Fixed was " + "; ".join(f"{i} {g['mean']:+.3f} ± {g['std']:.3f}" for i, g in S["sshn_minus_fixed_by_init"].items())
            + (" (every doubling check agreed)" if all(c["agrees"] for c in S["doubling"].values())
               else " (not every doubling check agreed)")
            + "; its central verdicts: " + ", ".join(f"`{i}` {v}" for i, v in claims.items()) + ".")


def doubling_sentence(S: dict, first_seed) -> str:
    """The budget-doubling check in words, per parametrisation, from summary.json's `doubling`."""
    def one(i, c):
        if c is None:
            return f"{i}: no doubling check (its runs stopped on validation plateaus)"
        return f"{i}: " + doubling_text(c)
    return f"The budget-doubling check, seed {first_seed}: " + "; ".join(one(i, c) for i, c in S["doubling"].items()) + "."



# What each ablation's section says below its figure (the chapter shows `core.report.not_run` where
# the profile leaves the ablation out)
def registration_text(R: Results, M: dict) -> str:
    return (f"Before registration the label maps overlap with Dice {R.reg_none:.3f}. Relative to Fixed at its φ: "
            + "; ".join(f"{m} " + ", ".join(f"{k} {a.diff / 100:+.3f}" for k, a in g.items()) for m, g in R.reg_gap.items())
            + f" ({len(R.p['registration']['seeds'])} seed(s). Relative to Fixed, the paper's "
              f"{M['paper_reg_sshn_minus_fixed']} for SSHN; {M['paper_reg_dynamic_minus_fixed'].split(': ', 1)[1]}.)")


def natural_text(R: Results) -> str:
    drop = R.rel_drop
    return (f"Relative Dice lost from φ = 0.5 to φ = {R.low:g}: " + "; ".join(
        f"{m}: atlas2d {100 * drop[('atlas2d', m)]:.1f} %, scenes {100 * drop[('scenes', m)]:.1f} %" for m in ("Fixed", "SSHN"))
        + ". SSHN minus Fixed on scenes: " + ", ".join(f"{k} {a.diff / 100:+.3f}" for k, a in R.nat_gap.items()) + ".")


def prior_text(R: Results, M: dict) -> str:
    p = R.p
    pr, main_c = R.pr_test, R.sshn_curve.loc[p["prior"]["center"], "mean"]
    lo, hi = p["hyper"]["phi_range"]
    fixed_cap = R.fixed_c_test_of("Fixed, prior's cap")
    return (f"Test Dice at φ = 0.5 by r: " + ", ".join(f"r = {r:g}: {v:.3f}" for r, v in pr.items())
            + f"; Fixed φ = 0.5: {R.fixed_c_test:.3f}; the main SSHN (prior U({lo:g}, {hi:g})): {main_c:.3f}. "
            + f"The prior runs stop at {p['prior']['max_steps'] or p['train']['max_steps']} steps, the main runs at "
              f"{p['train']['max_steps']} steps, so the two are not at equal training. "
            + (f"The control that separates the hypernetwork from the cost of the wide prior is an SSHN trained at the "
               f"single φ = {p['prior']['center']:g} (r = 0) against a Fixed U-Net trained there with the same steps cap "
               f"(dash-dotted): {M['prior_r0_minus_fixed_equal_budget']:+.3f} test Dice (Fixed at {fixed_cap:.3f}); "
               f"against the main Fixed U-Net, trained longer, {-M['prior_r0_minus_fixed'].diff / 100:+.3f}. "
               if 0.0 in pr.index else "")
            + ("One seed per prior, so steps between neighbouring r are not tested against seed noise."
               if len(p["prior"]["seeds"]) == 1 else ""))


def separate_text(R: Results, M: dict) -> str:
    frac = R.claim_args("sshn.separate-majority-high")["frac"]
    return ("Influence of each factor (range of its marginal mean Dice over its levels): "
            + ", ".join(f"{k.replace('phi_', 'φ')}: {v:.3f}" for k, v in M["separate_influence"].items())
            + f". Best φ₀ level: {M['separate_best_phi0']:g}. Settings within {100 * frac:g} % of the best: "
              f"{100 * M['separate_share_high'](frac=frac):.0f} %. Largest gap between the two fronts at the "
              f"single-factor model's costs: {M['separate_front_gap']:.3f} Dice.")


def architectures_text(R: Results) -> str:
    a = R.p["arch"]
    return (f"{len(a['seeds'])} seed(s), capped at {a['max_steps'] or R.p['train']['max_steps']} steps. SSHN − Fixed is "
            f"the test Dice difference at the Fixed φ (mean over seeds); the paper reads Fig. 10 as SSHN matching the "
            f"Fixed family for every variant.")
