"""What a FLOP buys (issue 27): every network counted and measured, and the chapter's ledger.

    python -m hyperscale.cost.evaluate            (stage evaluate_cost; params.yaml `cost`)

Writes runs/eval/cost/:
- networks.csv: per network its parameters, FLOPs in the common convention and in its paper's,
  and the peak memory of one inference (batch 1) and one training step (the paper's training
  batch); counted, so the same bytes on every run; specs.json (and models/): what rebuilds each
  network where the data are not (`make gpu-probe`);
- timing/latency.csv: per network the median and 95 % interval of its batch-1 latency, its
  latency at the training batch and its training step, in ms, with the device and the threads;
  timing/rounds.csv: every round; timing/claims.csv: the ledger (every claim reads a time);
- summary.json.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from ..core.claims import load_claims, write_ledgers
from ..core.cli import run_stage
from ..core.device import resolve
from ..core.io import write_json, write_text
from ..core.params import load as load_params, section
from ..core.project import project_root
from .measure import count_table, time_tables
from .measures import TIMING_MEASURES, measures
from .networks import networks, spec

OUT = "runs/eval/cost"


def evaluate(root=None) -> dict:
    root = Path(root or project_root())
    p = section("cost", root / "params.yaml")
    nets = networks(root)
    counts = count_table(nets)
    latency, rounds = time_tables(nets, p["repeats"], p["warmup"], resolve("cpu"))
    out = root / OUT
    write_text(out / "networks.csv", counts.to_csv(index=False))
    specs = []
    for i, n in enumerate(nets):  # what `make gpu-probe` rebuilds on a machine without the data
        f = None
        if n.model_file:
            f = f"models/{i}.pt"
            (out / "models").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(n.model_file, out / f)
        specs.append(spec(n, f))
    write_json(out / "specs.json", specs)
    write_text(out / "timing" / "latency.csv", latency.to_csv(index=False))
    write_text(out / "timing" / "rounds.csv", rounds.to_csv(index=False))
    _, timing = write_ledgers(load_claims(root / "references" / "cost.yaml"), measures(counts, latency, rounds),
                              out, TIMING_MEASURES)
    summary = {"profile": load_params(root / "params.yaml")["profile"], "networks": len(counts),
               "verdicts": timing.verdict.value_counts().to_dict()}
    write_json(out / "summary.json", summary)
    return summary


def main() -> None:
    run_stage(evaluate)


if __name__ == "__main__":  # run the importable module, so registries filled on import are the ones used
    from hyperscale.cost.evaluate import main

    main()
