"""Training throughput of each paper's cpu-profile training step: `python -m hyperscale.bench`.

    python -m hyperscale.bench [--repeats 5] [--seconds 1.5] [--levers] [--compile] [--out FILE]
    python -m hyperscale.bench --budget [--papers sshn ...] [--pair 1.1] [--out FILE]

Needs the embedded data (`make study` builds it first). For one representative run of each
experiment family the study trains most (`FAMILIES`), its model, task and optimizer steps
exactly as training does, in helper processes, under these settings:

- `2 threads, 1 run`: the cpu profile before runs trained side by side (HYPERSCALE_THREADS=2);
- `1 thread x 2 runs`: what a stage does now (core/pool.py): two one-thread runs side by side,
  their steps per second summed;
- each of the two again with a busy neighbour: a process spinning on one core (it stops itself
  after the measurement), as when anything else runs on the machine.

The settings are interleaved round by round (a slow spell hits all of them alike), after a
warm-up; each number is the median over rounds of steps per second. The weighted ratio weights
each family by the training steps its runs may take in the cpu profile (their caps).

`--budget` instead predicts the profile's training time: every planned run of every experiment,
its step budget (the cap) times the step time of its kind (one thread, no neighbour, a run of each
name without its seed timed once) plus its validations; per experiment and per paper, in
one-thread minutes and in wall minutes at JOBS runs side by side (from the per-run slowdown of two
side by side, `--pair`'s measured factor). Data, evaluation and the book are not included.

`--levers` also times, on one thread and one run, what else could make a step cheaper:
channels_last memory format, Adam's foreach implementation instead of the fused one, bf16
autocast, twice the batch (samples per second), and where validation and sampling spend their
time; `--compile` adds torch.compile of the model (slow to compile). Timing goals live here, not in tests.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .core.cli import run_stage
from .core.io import write_text
from .core.project import project_root

# (paper, experiment, runs of the family (regex on run names), representative run (regex))
FAMILIES = (("sshn", "main", r"^fixed-", r"^fixed-phi0\.25-"),
            ("sshn", "main", r"^(sshn|stochastic|film)-", r"^sshn-paper-"),
            ("shape_adaptor", "table1", r".", r"^resnet50-adaptor-"),
            ("hyperconv", "table1", r".", r"^hc-"),
            ("hyperseg", "ablation", r".", r"-dpwconv-"),
            ("hyperseg", "tradeoff", r".", r"^unet-"))


def _runs_module(paper: str):
    from .launch import PAPERS

    return PAPERS[paper]


def _setup(paper: str, experiment: str, name: str, root):
    mod = _runs_module(paper)
    args = next(a for run, a in mod.jobs(experiment, root) if run.name == name)
    return mod.setup(*args)


class Stepper:
    """One run's training step (sample, loss, backward, every optimizer), as core.train takes it."""

    def __init__(self, paper, experiment, name, root, batch_factor=1, foreach=False, channels_last=False,
                 bf16=False, compiled=False):
        import torch

        from .core.train import _optimizers

        self.torch = torch
        self.model, self.task, cfg = _setup(paper, experiment, name, root)
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.forward = torch.compile(self.model) if compiled else self.model
        self.batch = cfg.batch_size * batch_factor
        opts, _ = _optimizers(self.model, self.task, cfg, cfg.max_steps)
        if foreach:
            opts = {k: type(o)(o.param_groups[0]["params"], **{**o.defaults, "fused": None, "foreach": True})
                    for k, o in opts.items()}
        self.opts, self.bf16, self.gen, self.step_no = list(opts.values()), bf16, torch.Generator().manual_seed(0), 0

    def steps(self, n: int) -> float:
        """Seconds for `n` training steps."""
        torch, start = self.torch, time.perf_counter()
        for _ in range(n):
            self.model.train()
            batch = self.task.sample(self.gen, self.batch, self.step_no)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
                loss = self.task.loss(self.forward, batch, self.task.phases[0])
            for o in self.opts:
                o.zero_grad(set_to_none=True)
            loss.backward()
            for o in self.opts:
                o.step()
            self.step_no += 1
        return time.perf_counter() - start

    def sampling(self, n: int) -> float:
        start = time.perf_counter()
        for i in range(n):
            self.task.sample(self.gen, self.batch, i)
        return time.perf_counter() - start

    def validation(self, inference_mode: bool) -> float:
        torch, start = self.torch, time.perf_counter()
        self.model.eval()
        with torch.inference_mode() if inference_mode else torch.no_grad():
            self.task.score(self.model)
        return time.perf_counter() - start


def _helper(conn, spec: tuple, variant: dict) -> None:
    """A helper process: builds its Stepper, then answers (command, argument) until told to stop."""
    import torch

    from .core.processes import die_with_parent

    die_with_parent()
    stepper = Stepper(*spec, **variant)
    while True:
        cmd, arg = conn.recv()
        if cmd == "stop":
            return
        if cmd == "threads":
            torch.set_num_threads(*arg)
            conn.send(None)
        else:
            conn.send(getattr(stepper, cmd)(*arg))


class Helper:
    def __init__(self, ctx, spec, **variant):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_helper, args=(child, spec, variant), daemon=True)
        self.proc.start()

    def ask(self, cmd, *arg):
        self.conn.send((cmd, arg))
        return self.conn.recv()

    def start(self, cmd, *arg):  # ask without waiting (for helpers that step side by side)
        self.conn.send((cmd, arg))

    def answer(self):
        return self.conn.recv()

    def close(self):
        self.conn.send(("stop", None))
        self.proc.join(timeout=10)


class Neighbour:
    """A process spinning on one core for at most `seconds` (it stops itself if we are killed)."""

    def __init__(self, seconds: float):
        self.proc = subprocess.Popen([sys.executable, "-c", f"import time\nend = time.time() + {seconds}\n"
                                                            "while time.time() < end: pass"])

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def _cap(task, cfg) -> int:
    """The most training steps a run may take: its cap, and its fine-tuning phase's where it has one."""
    return cfg.max_steps + (cfg.finetune_steps if len(task.phases) > 1 else 0)


def _family_weights(root) -> list[tuple[tuple, int]]:
    """(paper, experiment, representative run name) and the summed step caps of its family."""
    out = []
    for paper, experiment, family, rep in FAMILIES:
        mod = _runs_module(paper)
        planned = mod.jobs(experiment, root)
        name = next(run.name for run, _ in planned if re.search(rep, run.name))
        caps = 0
        for run, args in planned:
            if re.search(family, run.name):
                _, task, cfg = mod.setup(*args)
                caps += _cap(task, cfg)
        out.append(((paper, experiment, name), caps))
    return out


def _steps_for(seconds: float, per_step: float) -> int:
    return max(2, int(round(seconds / per_step)))


def measure_settings(ctx, spec, root, repeats: int, seconds: float) -> dict:
    """Median steps/s of one model under the four settings, interleaved round by round."""
    a, b = Helper(ctx, (*spec, root)), Helper(ctx, (*spec, root))
    try:
        a.ask("threads", 1), b.ask("threads", 1)
        a.ask("steps", 2), b.ask("steps", 2)  # warm-up
        n = _steps_for(seconds, a.ask("steps", 3) / 3)
        rates = {k: [] for k in ("2 threads, 1 run", "1 thread x 2 runs", "2 threads, 1 run, busy",
                                 "1 thread x 2 runs, busy")}
        for _ in range(repeats):
            for busy in (False, True):
                neighbour = Neighbour(8 * seconds + 30) if busy else None
                try:
                    suffix = ", busy" if busy else ""
                    a.ask("threads", 2)
                    rates["2 threads, 1 run" + suffix].append(n / a.ask("steps", n))
                    a.ask("threads", 1)
                    a.start("steps", n), b.start("steps", n)
                    rates["1 thread x 2 runs" + suffix].append(n / a.answer() + n / b.answer())
                finally:
                    if neighbour:
                        neighbour.stop()
        return {k: float(np.median(v)) for k, v in rates.items()}
    finally:
        a.close(), b.close()


LEVERS = {"baseline": {}, "channels_last": {"channels_last": True}, "foreach Adam": {"foreach": True},
          "bf16 autocast": {"bf16": True}, "batch x2": {"batch_factor": 2}}


def measure_levers(ctx, spec, root, repeats: int, seconds: float, compiled: bool) -> list[dict]:
    """Samples/s of one model on one thread under each lever, interleaved; plus the shares of a
    step spent sampling and of training spent validating (at the run's eval_every)."""
    levers = {**LEVERS, **({"torch.compile": {"compiled": True}} if compiled else {})}
    helpers = {k: Helper(ctx, (*spec, root), **v) for k, v in levers.items()}
    try:
        for h in helpers.values():
            h.ask("steps", 2)  # warm-up (and compilation)
        base = helpers["baseline"]
        per_step = base.ask("steps", 3) / 3
        n = _steps_for(seconds, per_step)
        rates = {k: [] for k in helpers}
        for _ in range(repeats):
            for k, h in helpers.items():  # one at a time: each lever on one thread, the machine otherwise idle
                factor = levers[k].get("batch_factor", 1)
                rates[k].append(n * factor / h.ask("steps", n))
        rows = [{"lever": k, "samples_per_s_ratio": float(np.median(v) / np.median(rates["baseline"]))}
                for k, v in rates.items()]
        _, task, cfg = _setup(*spec, root)
        score = {mode: min(base.ask("validation", mode) for _ in range(2)) for mode in (False, True)}
        sample = base.ask("sampling", n) / n
        rows += [{"lever": "validation share of training (no_grad)",
                  "value": score[False] / (score[False] + cfg.eval_every * per_step)},
                 {"lever": "inference_mode / no_grad validation time", "value": score[True] / score[False]},
                 {"lever": "sampling share of a step", "value": sample / per_step}]
        return rows
    finally:
        for h in helpers.values():
            h.close()


def budget(root, seconds: float, jobs: int, pair: float, papers=None) -> pd.DataFrame:
    """One row per experiment: runs, summed step caps and predicted training minutes (see --budget)."""
    from .launch import PAPERS

    kinds, rows = {}, []
    for paper, mod in PAPERS.items():
        if papers and paper not in papers:
            continue
        for experiment in mod.EXPERIMENTS:
            planned, minutes, steps = mod.jobs(experiment, root), 0.0, 0
            for run, args in planned:
                _, task, cfg = mod.setup(*args)
                cap = _cap(task, cfg)
                kind = (paper, experiment, re.sub(r"-?seed\d+", "", run.name))
                if kind not in kinds:
                    print(f"timing {'/'.join(kind)} ...", file=sys.stderr, flush=True)
                    stepper = Stepper(paper, experiment, run.name, root)
                    stepper.steps(2)  # warm-up
                    n = _steps_for(seconds, stepper.steps(3) / 3)
                    kinds[kind] = (stepper.steps(n) / n, stepper.validation(True))
                per_step, per_eval = kinds[kind]
                minutes += (cap * per_step + (cap // cfg.eval_every + 1) * per_eval) / 60
                steps += cap
            rows.append({"paper": paper, "experiment": experiment, "runs": len(planned), "step_caps": steps,
                         "one_thread_min": minutes, f"wall_min_at_{jobs}_jobs": minutes * pair / jobs})
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds (median reported)")
    parser.add_argument("--seconds", type=float, default=1.5, help="length of one timed stretch")
    parser.add_argument("--levers", action="store_true", help="also time the other levers (one thread)")
    parser.add_argument("--compile", action="store_true", help="with --levers: torch.compile too (slow)")
    parser.add_argument("--families", type=int, nargs="*", help="indices into FAMILIES (default: all)")
    parser.add_argument("--budget", action="store_true", help="predict the profile's training minutes instead")
    parser.add_argument("--pair", type=float, default=1.1, help="with --budget: a run's slowdown beside another "
                        "(STUDY: two one-thread runs side by side give 1.83x one run's steps/s)")
    parser.add_argument("--papers", nargs="*", help="with --budget: only these papers (default: all)")
    parser.add_argument("--out", type=Path, help="write the tables as CSV here (FILE and FILE's -levers.csv)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.seconds <= 0:
        parser.error(f"--repeats must be >= 1 and --seconds > 0; got {args.repeats}, {args.seconds}")
    root = project_root()
    if args.budget:
        from .core.pool import workers

        table = budget(root, args.seconds, workers(), args.pair, args.papers)
        totals = table.groupby("paper", sort=False)[table.columns[-2:]].sum()
        pd.set_option("display.width", 200)
        print(table.round(1).to_string(index=False) + "\n\nper paper (minutes):\n" + totals.round(1).to_string()
              + f"\n\nall: {totals.iloc[:, 1].sum():.0f} wall minutes of training")
        if args.out:
            write_text(args.out, table.to_csv(index=False, float_format="%.4g"))
        return
    ctx = mp.get_context("spawn")
    weights = _family_weights(root)
    chosen = [weights[i] for i in (args.families if args.families is not None else range(len(weights)))]
    rows, lever_rows = [], []
    for spec, caps in chosen:
        label = "/".join(spec)
        print(f"timing {label} ...", file=sys.stderr, flush=True)
        r = measure_settings(ctx, spec, root, args.repeats, args.seconds)
        rows.append({"run": label, "step_caps": caps, **r})
        if args.levers:
            lever_rows += [{"run": label, **x} for x in measure_levers(ctx, spec, root, args.repeats, args.seconds,
                                                                      args.compile)]
    table = pd.DataFrame(rows)
    today, chosen_ = table["2 threads, 1 run"], table["1 thread x 2 runs"]
    table["ratio"] = chosen_ / today
    table["busy / quiet (2 threads)"] = table["2 threads, 1 run, busy"] / today
    table["busy / quiet (1 thread x 2)"] = table["1 thread x 2 runs, busy"] / chosen_
    # Hours of training at each setting, weighted by the steps each family may take.
    weighted = (table.step_caps / today).sum() / (table.step_caps / chosen_).sum()
    busy_weighted = (table.step_caps / chosen_).sum() / (table.step_caps / table["1 thread x 2 runs, busy"]).sum()
    pd.set_option("display.width", 200)
    print(table.round(3).to_string(index=False))
    print(f"\nthroughput, 1 thread x 2 runs over 2 threads x 1 run, weighted by step caps: {weighted:.2f}x")
    print(f"1 thread x 2 runs with a busy neighbour over without, weighted: {busy_weighted:.2f}")
    if lever_rows:
        levers = pd.DataFrame(lever_rows)
        print("\n" + levers.round(3).to_string(index=False))
    if args.out:
        write_text(args.out, table.to_csv(index=False, float_format="%.4g"))
        if lever_rows:
            write_text(args.out.with_name(args.out.stem + "-levers.csv"), levers.to_csv(index=False, float_format="%.4g"))


if __name__ == "__main__":  # run the importable module
    run_stage(lambda: main(sys.argv[1:]))
