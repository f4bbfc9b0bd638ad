"""What a FLOP buys: every network counted and measured, and the chapter's ledger.

    python -m hyperscale.cost.evaluate            (stage evaluate_cost; params.yaml `cost`)

Writes runs/eval/cost/:
- networks.csv: per network its parameters, FLOPs in the common convention and in its paper's,
  and the peak memory of one inference (batch 1) and one training step (the paper's training
  batch); counted, so the same bytes on every run; specs.json (and models/): what rebuilds each
  network of both tables where the data are not (`make gpu-probe`);
- networks_paper.csv: the same for each paper's networks at its own widths and input sizes
  (cost.networks, sizes="paper"), memory tracked on fake tensors (cost.measure);
- timing/latency.csv: per network the median and 95 % interval of its batch-1 latency, its
  latency at the training batch and its training step, in ms, with the device and the threads;
  timing/rounds.csv: every round; timing/latency_paper.csv and rounds_paper.csv: batch 1 at the
  papers' sizes (a training step there takes up to minutes on this CPU); timing/claims.csv: the
  ledger (every claim reads a time);
- summary.json.
"""
from __future__ import annotations

import multiprocessing as mp
import shutil
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from ..core.claims import load_claims, write_ledgers
from ..core.cli import run_stage
from ..core.device import resolve
from ..core.io import write_json, write_text
from ..core.params import load as load_params, section
from ..core.pool import workers
from ..core.project import project_root
from .measure import count_row, count_table, time_tables
from .measures import TIMING_MEASURES, measures
from .networks import networks, spec

OUT = "runs/eval/cost"


def evaluate(root=None) -> dict:
    root = Path(root or project_root())
    p = section("cost", root / "params.yaml")
    nets, paper_nets = networks(root), networks(root, sizes="paper")
    counts, paper_counts = count_table(nets), paper_count_table(root, len(paper_nets))
    latency, rounds = time_tables(nets, p["repeats"], p["warmup"], resolve("cpu"))
    paper_latency, paper_rounds = time_tables(paper_nets, p["paper_repeats"], 0, resolve("cpu"), ("batch 1",))
    out = root / OUT
    write_text(out / "networks.csv", counts.to_csv(index=False))
    write_text(out / "networks_paper.csv", paper_counts.to_csv(index=False))
    specs = []
    for i, n in enumerate(nets + paper_nets):  # what `make gpu-probe` rebuilds on a machine without the data
        f = None
        if n.model_file:
            f = f"models/{i}.pt"
            (out / "models").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(n.model_file, out / f)
        specs.append(spec(n, f))
    write_json(out / "specs.json", specs)
    write_text(out / "timing" / "latency.csv", latency.to_csv(index=False))
    write_text(out / "timing" / "rounds.csv", rounds.to_csv(index=False))
    write_text(out / "timing" / "latency_paper.csv", paper_latency.to_csv(index=False))
    write_text(out / "timing" / "rounds_paper.csv", paper_rounds.to_csv(index=False))
    _, timing = write_ledgers(load_claims(root / "references" / "cost.yaml"),
                              measures(counts, latency, rounds, paper_counts, paper_latency), out, TIMING_MEASURES)
    summary = {"profile": load_params(root / "params.yaml")["profile"], "networks": len(counts),
               "networks_paper": len(paper_counts),
               "verdicts": timing.verdict.value_counts().to_dict()}
    write_json(out / "summary.json", summary)
    return summary


@lru_cache
def _paper_networks(root: Path) -> list:
    return networks(root, sizes="paper")


def _paper_row(root: Path, i: int) -> dict:
    return count_row(_paper_networks(root)[i], shapes_only=True)


def paper_count_table(root: Path, n: int) -> pd.DataFrame:
    """count_row of the n networks at the papers' sizes, in worker processes (core.pool.workers; a
    worker rebuilds the list, as a network's builder does not pickle): 2.5 min on one core here,
    deterministic, and nothing is timed meanwhile."""
    with ProcessPoolExecutor(workers(), mp_context=mp.get_context("spawn")) as pool:
        rows = list(tqdm(pool.map(_paper_row, [root] * n, range(n)), total=n, desc="counting at the papers' sizes"))
    return pd.DataFrame(rows)


def main() -> None:
    run_stage(evaluate)


if __name__ == "__main__":  # run the importable module, so registries filled on import are the ones used
    from hyperscale.cost.evaluate import main

    main()
