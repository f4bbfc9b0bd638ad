"""What every paper's training-log pages show: each run's result, time and learning curves; and
`plain_log`, the tick labels every chapter's log axes use; `not_run`, what a chapter says of an
experiment its profile leaves out."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import LogFormatter

from .io import read_json


class _PlainLog(LogFormatter):
    """matplotlib's choice of which log ticks to label, printed as plain numbers (40, 0.002, 1e6), not 4×10¹."""

    def __call__(self, x, pos=None):
        if not super().__call__(x, pos):
            return ""
        return f"{x:g}" if 1e-3 <= abs(x) < 1e5 else f"{x:.0e}".replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")


def not_run(section: str) -> str:
    """What a chapter says where its profile leaves an experiment out (its section's `run: false`)."""
    return (f"**Not run in this profile.** The cpu profile leaves it out to keep `make study` within its time budget "
            f"(set on 2026-12-06: first what no central verdict reads, then the central comparison that came last in the "
            f"study's order); its claims are inconclusive for that reason. "
            f"`run: true` under `{section}` in params.yaml runs it (the paper profile does).")


def plain_log(*axes) -> None:
    """Plain tick labels on every log-scaled axis of the given Axes (call it after setting the scales)."""
    for ax in axes:
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() == "log":
                base = axis.get_transform().base
                axis.set_major_formatter(_PlainLog(base, labelOnlyBase=False))
                axis.set_minor_formatter(_PlainLog(base, labelOnlyBase=False))


def histories(folder) -> dict[str, pd.DataFrame]:
    """history.csv (one row per validation) of every run under `folder`, by run name."""
    return {p.parent.name: pd.read_csv(p) for p in sorted(Path(folder).glob("*/history.csv"))}


def timings(folder) -> pd.DataFrame:
    """timing.json of every run under `folder`: run, train_seconds, wall_seconds, seconds_per_step.
    Measured times: they differ from run to run, unlike everything else a run writes."""
    keys = ("train_seconds", "wall_seconds", "seconds_per_step")
    rows = [{"run": p.parent.name, **{k: read_json(p)[k] for k in keys}} for p in sorted(Path(folder).glob("*/timing.json"))]
    return pd.DataFrame(rows, columns=["run", *keys])


def with_times(runs: pd.DataFrame, timing: pd.DataFrame) -> pd.DataFrame:
    """`runs` (one row per run, column `run`) with minutes of training and ms per optimizer step."""
    t = timing.assign(minutes=timing.wall_seconds / 60, ms_per_step=1000 * timing.seconds_per_step)
    return runs.merge(t[["run", "minutes", "ms_per_step"]], on="run", how="left")


def settle_step(history: pd.DataFrame, score: str, tol: float) -> int | float:
    """The first validated step from which the score never again falls more than `tol` below the run's
    best: how long the run took to get where it ended up (the steps to converge, for runs
    that all train a fixed budget); NaN if its last validation is itself more than `tol` below the
    best (a run that keeps its last weights and ended below its best). Descriptive: no verdict reads it."""
    s = history[score].to_numpy()
    low = s < s.max() - tol
    last_low = low.nonzero()[0].max() if low.any() else -1
    return float("nan") if last_low == len(s) - 1 else int(history["step"].iloc[last_low + 1])


def learning_curves(hists: dict[str, pd.DataFrame], score: str, title: str = ""):
    """Left: mean training loss between validations; right: the validation score; one line per run,
    a marker where it was best; nothing without runs (an experiment the profile leaves out)."""
    if not hists:
        return None
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.6))
    for i, (name, h) in enumerate(hists.items()):
        color = f"C{i % 10}"
        a1.plot(h["step"], h["loss"], color=color, lw=1, label=name)
        a2.plot(h["step"], h[score], color=color, lw=1)
        best = h[score].idxmax()
        a2.plot(h["step"][best], h[score][best], "o", color=color, ms=4)
    a1.set(xlabel="optimizer step", ylabel="mean training loss since the last validation", title="training loss")
    a2.set(xlabel="optimizer step", ylabel=score.replace("_", " "), title=f"{score.replace('_', ' ')} (o: best)")
    a1.legend(fontsize=7, ncol=2 if len(hists) > 8 else 1)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def forest_plot(comparisons: pd.DataFrame, title: str = ""):
    """Every member of every comparison of trained runs (a chapter's comparisons.csv, core.claims): its
    estimate and interval in units of its claim's δ (an effect claim: lines at 0 and 1) or margin (an
    equivalence: the band from -1 to 1), so that one axis holds every unit; coloured by the member's
    verdict. Nothing without comparisons (a profile that trains none)."""
    from .claims import COLOURS

    if comparisons.empty:
        return None
    c = comparisons.iloc[::-1].reset_index(drop=True)  # the ledger's order from the top
    fig, ax = plt.subplots(figsize=(8, 0.8 + 0.32 * len(c)))
    scaled = c[["estimate", "low", "high"]].div(c.bound, axis=0)
    for i, r in c.iterrows():
        s = scaled.loc[i]
        edge = "#333" if r.central else "#888"
        ax.plot([s.low, s.high], [i, i], color=edge, lw=2 if r.central else 1)
        ax.plot(s.estimate, i, "o", ms=6, mfc=COLOURS.get(r.verdict, "#fff"), mec=edge)
        if r.kind == "equivalence":
            ax.fill_between([-1, 1], i - 0.4, i + 0.4, color="#eee", zorder=0)
    ax.axvline(0, color="grey", lw=1)
    ax.axvline(1, color="grey", lw=1, ls="--")
    labels = [f"{r.id}{': ' + r.member if r.member else ''} "
              + (f"(δ {r.bound:g} {r.unit})" if r.kind == "effect" else f"(margin ±{r.bound:g} {r.unit})")
              for r in c.itertuples()]
    ax.set_yticks(range(len(c)), labels, fontsize=7)
    ax.set_xlabel("difference / the claim's δ (dashed: δ) or its margin (grey band: inside the margin)")
    ax.set_title(title or "every comparison of trained runs: estimate and interval (bold: central claims)")
    fig.tight_layout()
    return fig


def versus_table(arms: dict, baseline: str) -> pd.DataFrame:
    """Comparisons of several settings with one baseline ({setting: core.stats.Arms, a the setting}): each
    setting's score (mean over seeds) and its difference to the baseline with its 95 % interval."""
    from .stats import estimate

    return pd.DataFrame({"setting": list(arms), "ours": [sum(a.a) / len(a.a) for a in arms.values()],
                         f"minus {baseline} (ours)": [estimate(a).text for a in arms.values()]})
