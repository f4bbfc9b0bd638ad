"""The HyperSeg chapter's evaluation (stage `evaluate_hyperseg`: `python -m hyperscale.hyperseg.evaluate`).

Builds every network of Tables 2-4 that we can (the rows of references/hyperseg.yaml with
`ours:`), counts each by code at the paper's input size (parameters, all FLOPs, the dynamic
convolutions' and interpolations' FLOPs, pytorch-OpCounter's MACs), counts the weight mappers
with every g_wi halved and doubled, measures the peak memory of generating each block's weights
as it runs against keeping them all, times the dynamic patch-wise convolutions against static ones
and the networks' FPS (params.yaml hyperseg.benchmark), reads the trained experiments' results
(runs/hyperseg/) with the budget-doubling check of each comparison (core/train.py), measures the
trained networks' patch-border ratios on the test split, and judges the claims. Writes
runs/eval/hyperseg/: counts.csv, gwi.csv, memory.csv, artefacts.csv (one row per run), artefacts_profile.csv
(the changes by position, for the figure), tradeoff.csv (each trained network's accuracy and
cost), claims.csv, summary.json (with the doubling checks), and the measured times apart in
timing/ (dpw.csv, fps.csv, tradeoff_fps.csv, claims.csv), since they differ from run to run.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from tqdm.auto import tqdm

from ..core.claims import effect_of, load_claims, write_ledgers
from ..core.cli import run_stage
from ..core.benchmark import interleaved_ms
from ..core.models import create_model, load_model
from ..core.io import write_json, write_text
from ..core.params import load as load_params, section
from ..core.project import project_root
from .artefacts import border_profile, border_ratio
from .benchmark import dpw_vs_static, fps, weight_memory
from .counting import count
from .measures import TIMING_MEASURES, doubling, judged, measures
from .model import TEMPLATES, hyperseg
from .runs import folder, load_data, results
from .train import IGNORE, segmentation_metrics

OUT = Path("runs/eval/hyperseg")
GWI_ROWS = ("HyperSeg-S EfficientNet-B1", "HyperSeg-M", "HyperSeg-L")  # hs.gwi-proportional's networks
GWI_SCALES = (0.5, 1.0, 2.0)


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


def gwi_table(ref: dict) -> pd.DataFrame:
    """The weight mappers' parameters and FLOPs of each GWI_ROWS network with every g_wi times each scale."""
    out, rows = [], our_rows(ref)
    for name in tqdm(GWI_ROWS, desc="counting g_wi"):
        r = rows[name]
        for s in GWI_SCALES:
            groups = tuple(int(g * s) for g in TEMPLATES[r["template"]]["weight_groups"])
            c = count(partial(hyperseg, r["template"], r["classes"], weight_groups=groups, **r["overrides"]), r["size"])
            out.append({"network": name, "scale": s, "weight_groups": " ".join(map(str, groups)),
                        **{k: c[k] for k in ("params", "flops", "mapper_params", "mapper_flops")}})
    return pd.DataFrame(out)


def artefacts_tables(ablation: pd.DataFrame, test_images: np.ndarray, root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each trained ablation run's (rows of its results.csv) patch-border ratio on the test images, and its
    changes by position."""
    runs, profiles = [], []
    for r in tqdm(ablation.itertuples(), desc="patch borders"):
        prof = border_profile(load_model(folder("ablation", root) / r.run / "model.pt"), test_images)
        keys = {"run": r.run, "template": r.template, "backbone": r.backbone, "dynamic": r.dynamic, "seed": r.seed}
        runs.append({**keys, "border_ratio": border_ratio(prof)})
        profiles += [{**keys, "axis": a, "pair": i, "change": v} for a in ("x", "y") for i, v in enumerate(prof[a])]
    return pd.DataFrame(runs), pd.DataFrame(profiles)


def tradeoff_tables(trained: dict, net: dict, size: tuple[int, int], repeats: int, warmup: int, root: Path
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Figs. 1 and 4 at our scale, per trained network (the judged HyperSeg-S, `net`, with and without
    DPWConv from the ablation, each U-Net of the tradeoff experiment): test mIoU over seeds, parameters and FLOPs of
    one image at the training `size` (counted), and apart, measured, images/s at batch 1 there
    (eval mode, BatchNorm unfolded in every network alike, interleaved median)."""
    a = judged(trained["ablation"], net)
    groups = {("HyperSeg-S" if d else "HyperSeg-S w/o DPWConv"): ("ablation", g) for d, g in a.groupby(a.dynamic.astype(bool))}
    groups |= {f"U-Net width {w}": ("tradeoff", g) for w, g in trained["tradeoff"].groupby("width")}
    rows, nets = [], {}
    for name, (experiment, g) in sorted(groups.items()):
        nets[name] = load_model(folder(experiment, root) / g.run.iloc[0] / "model.pt").eval()
        c = count(lambda: create_model(nets[name].method, **nets[name].config), size)
        rows.append({"network": name, "params": c["params"], "flops": c["flops"], "seeds": len(g),
                     "test_miou_mean": g.test_miou.mean(), "test_miou_std": g.test_miou.std(),
                     "converged": int(g.converged.astype(bool).sum())})
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(0))
    ms = interleaved_ms({k: (lambda n=n: n(x).argmax(1)) for k, n in nets.items()}, repeats, warmup)
    speed = pd.DataFrame([{"network": k, "input": f"{size[0]}x{size[1]}", "fps_batch1": 1000 / v, "repeats": repeats,
                           "threads": torch.get_num_threads()} for k, v in ms.items()])
    return pd.DataFrame(rows), speed


class _Constant(torch.nn.Module):
    """Predicts one class everywhere."""

    def __init__(self, k: int, num_classes: int):
        super().__init__()
        self.k, self.num_classes = k, num_classes

    def forward(self, x):
        return torch.nn.functional.one_hot(torch.full((len(x), *x.shape[-2:]), self.k), self.num_classes).movedim(-1, 1).float()


def baselines(data) -> dict:
    """What a network that learned nothing but the class frequencies scores on the ablation's data:
    the cross-entropy of predicting the training split's class frequencies (their entropy, nats),
    and the test mIoU of predicting the most frequent class everywhere."""
    y = data["train"].labels
    freq = np.bincount(y[y != IGNORE].ravel(), minlength=data.num_classes) / (y != IGNORE).sum()
    k = int(freq.argmax())
    test = segmentation_metrics(_Constant(k, data.num_classes), data["test"].images, data["test"].labels, data.num_classes)
    return {"prior_entropy_nats": float(-(freq[freq > 0] * np.log(freq[freq > 0])).sum()),
            "majority_class": data.label_names[k], "majority_test_miou": test["miou"]}


def evaluate(root=None) -> dict:
    root = Path(root or project_root())
    ref_path = root / "references" / "hyperseg.yaml"
    ref = yaml.safe_load(ref_path.read_text())["paper"]
    p, trained = section("hyperseg", root / "params.yaml"), results(root)
    data = load_data(p)
    counts, gwi = counts_table(ref), gwi_table(ref)
    artefacts, profile = artefacts_tables(trained["ablation"], data["test"].images, root)
    base = baselines(data)
    d, f = p["benchmark"]["dpw"], p["benchmark"]["fps"]
    tradeoff, tradeoff_fps = tradeoff_tables(trained, p["ablation"]["judged"], tuple(data["test"].images.shape[-2:]), f["repeats"], f["warmup"], root)
    dpw = dpw_vs_static(hyperseg(d["template"], d["classes"]), tuple(d["size"]), d["repeats"], d["warmup"])
    builds = {f"HyperSeg-{t.split('-')[0]}{'' if dyn else ' w/o DPWConv'}": partial(hyperseg, t, f["classes"], dynamic=dyn)
              for t in f["templates"] for dyn in (True, False)}
    speed, speed_rounds = fps(builds, tuple(f["size"]), f["repeats"], f["warmup"], f["official_batch"],
                              f["official_repeats"])
    mem = p["benchmark"]["memory"]
    memory = pd.DataFrame([{"network": f"HyperSeg-{k}", "template": n["template"], "input": "x".join(map(str, n["size"])),
                            **weight_memory(partial(hyperseg, n["template"], mem["classes"]), tuple(n["size"]))}
                           for k, n in tqdm(mem["networks"].items(), desc="weight memory")])
    out = root / OUT
    write_text(out / "counts.csv", counts.to_csv(index=False))
    write_text(out / "gwi.csv", gwi.to_csv(index=False))
    write_text(out / "memory.csv", memory.to_csv(index=False))
    write_text(out / "artefacts.csv", artefacts.to_csv(index=False, float_format="%.6g"))
    write_text(out / "artefacts_profile.csv", profile.to_csv(index=False, float_format="%.6g"))
    write_text(out / "timing" / "dpw.csv", dpw.to_csv(index=False))
    write_text(out / "timing" / "fps.csv", speed.to_csv(index=False))
    write_text(out / "timing" / "fps_rounds.csv", speed_rounds.to_csv(index=False))
    write_text(out / "tradeoff.csv", tradeoff.to_csv(index=False, float_format="%.6g"))
    write_text(out / "timing" / "tradeoff_fps.csv", tradeoff_fps.to_csv(index=False))
    claims = load_claims(ref_path)
    delta = effect_of(claims, "hs.tradeoff-unet")  # per comparison: what each doubling check is held to
    ledger, _ = write_ledgers(claims, measures(counts, ref, speed_rounds, trained, gwi, artefacts, memory,
                                               p["ablation"]["judged"], delta), out, TIMING_MEASURES)
    summary = {"profile": load_params(root / "params.yaml")["profile"], "verdicts": ledger.verdict.value_counts().to_dict(),
               "params_M": {r.row: round(r.params / 1e6, 3) for r in counts.itertuples()},
               "thop_GMACs": {r.row: round(r.thop_macs / 1e9, 3) for r in counts.itertuples()},
               "ablation_baselines": base, "doubling": doubling(trained, p["ablation"]["judged"], delta)}
    write_json(out / "summary.json", summary)
    return summary


def main() -> None:
    run_stage(evaluate)


if __name__ == "__main__":  # run the importable module, so registries filled on import are the ones used
    from hyperscale.hyperseg.evaluate import main

    main()
