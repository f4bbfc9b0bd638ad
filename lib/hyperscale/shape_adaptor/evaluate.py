"""The Shape Adaptor chapter's evaluation (stage `evaluate_shape_adaptor`:
`python -m hyperscale.shape_adaptor.evaluate`): the claims ledger and summary, from every
experiment's results.csv, written to runs/eval/shape_adaptor/."""
from __future__ import annotations

from pathlib import Path

import yaml

from ..core.claims import effect_of, load_claims, write_ledgers
from ..core.cli import run_stage
from ..core.io import write_json
from ..core.params import load as load_params, section
from ..core.project import project_root
from .measures import measures
from .runs import results

OUT = Path("runs/eval/shape_adaptor")


def evaluate(root=None) -> dict:
    root = Path(root or project_root())
    p = section("shape_adaptor", root / "params.yaml")
    ref_path = root / "references" / "shape_adaptor.yaml"
    res = results(root)
    claims = load_claims(ref_path)
    ledger, _ = write_ledgers(claims, measures(res, yaml.safe_load(ref_path.read_text())["paper"], p,
                                               effect_of(claims, "sa.beats-human")), root / OUT)
    t1 = res["table1"]
    summary = {"profile": load_params(root / "params.yaml")["profile"], "verdicts": ledger.verdict.value_counts().to_dict(),
               "runs": sum(len(r) for r in res.values()),
               "table1": {f"{f}/{d}": round(float(v), 3) for (f, d), v in t1.groupby(["net", "design"]).test_acc.mean().items()}}
    write_json(root / OUT / "summary.json", summary)
    return summary


def main() -> None:
    run_stage(evaluate)


if __name__ == "__main__":  # run the importable module, so registries filled on import are the ones used
    from hyperscale.shape_adaptor.evaluate import main

    main()
