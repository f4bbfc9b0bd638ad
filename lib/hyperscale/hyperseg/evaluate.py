"""The HyperSeg chapter's evaluation (stage `evaluate_hyperseg`: `python -m hyperscale.hyperseg.evaluate`).

Builds every network of Tables 2-4 that we can (the rows of references/hyperseg.yaml with
`ours:`), counts each by code at the paper's input size (parameters, all FLOPs, the dynamic
convolutions' and interpolations' FLOPs, pytorch-OpCounter's MACs), times the dynamic
patch-wise convolutions against static ones and the networks' FPS (params.yaml
hyperseg.benchmark), reads the trained experiments' results (runs/hyperseg/), and judges the claims. Writes runs/eval/hyperseg/: counts.csv, claims.csv,
summary.json, and the measured times apart in timing/ (dpw.csv, fps.csv, claims.csv), since they
differ from run to run.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path

import pandas as pd
import yaml
from tqdm.auto import tqdm

from ..core.claims import load_claims, write_ledgers
from ..core.cli import run_stage
from ..core.io import write_json, write_text
from ..core.params import load as load_params, section
from ..core.project import project_root
from .benchmark import dpw_vs_static, fps
from .counting import count
from .measures import TIMING_MEASURES, measures
from .model import hyperseg
from .runs import results

OUT = Path("runs/eval/hyperseg")


def our_rows(ref: dict) -> dict[str, dict]:
    """The paper's rows we build, by name: {table, template, classes, size, overrides}."""
    rows = {}
    for table in ("table2", "table3", "table4"):
        for name, r in ref[table]["rows"].items():
            if "ours" in r:
                o = dict(r["ours"])
                rows[name] = {"table": table, "template": o.pop("template"), "classes": o.pop("classes"),
                              "size": tuple(o.pop("size")), "overrides": o}
    return rows


def counts_table(ref: dict) -> pd.DataFrame:
    out = []
    for name, r in tqdm(our_rows(ref).items(), desc="counting HyperSeg networks"):
        c = count(partial(hyperseg, r["template"], r["classes"], **r["overrides"]), r["size"])
        out.append({"row": name, "table": r["table"], "template": r["template"],
                    "overrides": ", ".join(f"{k}={v}" for k, v in r["overrides"].items()),
                    "height": r["size"][0], "width": r["size"][1], **c})
    return pd.DataFrame(out)


def evaluate(root=None) -> dict:
    root = Path(root or project_root())
    ref_path = root / "references" / "hyperseg.yaml"
    ref = yaml.safe_load(ref_path.read_text())["paper"]
    counts = counts_table(ref)
    b = section("hyperseg", root / "params.yaml")["benchmark"]
    d, f = b["dpw"], b["fps"]
    dpw = dpw_vs_static(hyperseg(d["template"], 19), tuple(d["size"]), d["repeats"], d["warmup"])
    builds = {f"HyperSeg-{t.split('-')[0]}{'' if dyn else ' w/o DPWConv'}": partial(hyperseg, t, f["classes"], dynamic=dyn)
              for t in f["templates"] for dyn in (True, False)}
    speed = fps(builds, tuple(f["size"]), f["repeats"], f["warmup"], f["official_batch"], f["official_repeats"])
    out = root / OUT
    write_text(out / "counts.csv", counts.to_csv(index=False))
    write_text(out / "timing" / "dpw.csv", dpw.to_csv(index=False))
    write_text(out / "timing" / "fps.csv", speed.to_csv(index=False))
    ledger, _ = write_ledgers(load_claims(ref_path), measures(counts, ref, speed, results(root)), out, TIMING_MEASURES)
    summary = {"profile": load_params(root / "params.yaml")["profile"], "verdicts": ledger.verdict.value_counts().to_dict(),
               "params_M": {r.row: round(r.params / 1e6, 3) for r in counts.itertuples()},
               "thop_GMACs": {r.row: round(r.thop_macs / 1e9, 3) for r in counts.itertuples()}}
    write_json(out / "summary.json", summary)
    return summary


def main() -> None:
    run_stage(evaluate)


if __name__ == "__main__":  # run the importable module, so registries filled on import are the ones used
    from hyperscale.hyperseg.evaluate import main

    main()
