"""The cost of one training step of each main-comparison model, measured in one process (SSHN Table 3).

The runs' own wall times (timing.json) come from stages run at different moments, so what else
the machine was doing decides their ratios: a cold rebuild partly under load once gave
sum(Fixed) / SSHN = 13.1x where the committed run gave 7.4x. Here every model takes its
optimizer steps in one process, interleaved: after `warmup` steps each, `repeats` rounds in
which every model takes one step in turn, so a slow spell hits all of them alike; the median
per model is its step time. A model's training cost is then its steps to convergence (its
run's `steps`) times that step time: both the paper's claim (one SSHN against a grid of Fixed
models) and the honest version of it (what each method needs to converge) follow from the two.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

from ..core.train import _optimizers  # the loop's own optimizers (fused Adam), so a step costs what it cost in training
from .measures import run_group
from .runs import build, config_of, plan, task_of


def step_times(p: dict, data, repeats: int = 30, warmup: int = 3, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Median, 25th and 75th percentile milliseconds per training step of each main-comparison
    model (its first seed's configuration), the models interleaved step by step; and, apart, each
    model's milliseconds in each round (the rounds pair the models: a ratio's interval reads them)."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0; got {repeats}, {warmup}")
    runs = list({run_group(r.name): r for r in plan("main", p) if r.seed == p["main"]["seeds"][0]}.items())
    setups = []
    for group, run in runs:
        model = build(run, p, data)
        task = task_of(run, model, p, data)
        cfg = config_of(run, p)
        opts, _ = _optimizers(model, task, cfg, cfg.max_steps)
        setups.append((group, run, model, task, cfg, list(opts.values())))
    gen = torch.Generator().manual_seed(seed)
    times = {g: [] for g, *_ in setups}
    for r in range(warmup + repeats):
        for group, run, model, task, cfg, opts in setups:
            model.train()
            t0 = time.perf_counter()
            loss = task.loss(model, task.sample(gen, cfg.batch_size, r), task.phases[0])
            for o in opts:
                o.zero_grad(set_to_none=True)
            loss.backward()
            for o in opts:
                o.step()
            if r >= warmup:
                times[group].append(1000 * (time.perf_counter() - t0))
    table = pd.DataFrame([{"model": g, "method": run.method, "init": run.info.get("init", ""),
                           "phi": run.info.get("phi", np.nan), "ms_median": float(np.median(times[g])),
                           "ms_p25": float(np.percentile(times[g], 25)), "ms_p75": float(np.percentile(times[g], 75)),
                           "repeats": repeats} for g, run, *_ in setups])
    return table, pd.DataFrame([{"model": g, "round": r, "ms": t} for g, v in times.items() for r, t in enumerate(v)])
