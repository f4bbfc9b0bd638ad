"""The HyperConv chapter's evaluation (stage `evaluate_hyperconv`: `python -m hyperscale.hyperconv.evaluate`).

Counts every network of Tables 1-2 and of the Figs. 3-4 sweeps by code at the papers' sizes,
checks eqs. 1, 2 and 4, shifts inputs through HyperConvolutions and stacks them (properties.py),
measures peak convolution memory, benchmarks the grouped convolution and the networks' inference
time, and judges the claims of references/hyperconv.yaml. Writes runs/eval/hyperconv/:
counts.csv, eq1.csv, eq4.csv, equivariance.csv, depth.csv, memory.csv, memory_pair.csv, claims.csv,
summary.json, and
the measured times apart in timing/ (grouped.csv, networks.csv, claims.csv), since they differ
from run to run.
"""
from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import pandas as pd
import torch
import yaml
from tqdm.auto import tqdm

from ..core.claims import load_claims, write_ledgers
from ..core.cli import run_stage
from ..core.io import write_json, write_text
from ..core.params import load as load_params, section
from ..core.project import project_root
from .benchmark import activation_memory, grouped_conv_times, network_times, peak_conv_memory
from .counting import count, n_hid_matching
from .layers import HyperConv, normalize_filters
from .measures import TIMING_MEASURES, measures
from .properties import depth_table, equivariance_table
from .runs import results
from .unet import HCUNet
from .vdn import VDN, table2_builds

OUT = Path("runs/eval/hyperconv")


def table1_builds(ref: dict) -> dict:
    """Table 1's networks that are ours, by the paper's row name: (n_fwd, n_embed, n_hid), None = no HC."""
    def build(f, e, h):
        return partial(HCUNet, f, e or 8, h or 8, hc=e is not None)
    return {k: build(*r["net"]) for k, r in ref["table1"]["rows"].items() if r["net"] is not None}


def unet_counts(builds: dict, raw_size, target_mpix: float, kind: str) -> list[dict]:
    """Counts at a RAW frame of raw_size (packed to half its sides), scaled to target_mpix: the
    convolutions linearly in pixels, the MLPs (which do not see the image size) unchanged."""
    h, w = raw_size
    scale = target_mpix * 1e6 / (h * w)
    rows = []
    for name, build in builds.items():
        c = count(build, (4, h // 2, w // 2))
        rows.append({"network": name, "kind": kind, **c, "mpix": h * w / 1e6,
                     "flops_12_6": (c["flops"] - c["mlp_flops"]) * scale + c["mlp_flops"]})
    return rows


def eq1_table(sizes, c_in: int, c_out: int, c_hyper: int, n_hid: int) -> pd.DataFrame:
    """One bias-free 3x3 convolution and one HyperConvolution, counted by code at each image side; and
    the HyperConvolution's MLP built without biases (c_hyper -> n_hid -> n_hid -> its filters), whose
    parameters per FLOP §4 gives as 1/2, the same at every side."""
    mlp = lambda: torch.nn.Sequential(torch.nn.Linear(c_hyper, n_hid, bias=False), torch.nn.ReLU(),  # noqa: E731
                                      torch.nn.Linear(n_hid, n_hid, bias=False), torch.nn.ReLU(),
                                      torch.nn.Linear(n_hid, c_out * c_in * 9, bias=False))
    m = count(mlp, (c_hyper,))
    rows = []
    for s in sizes:
        conv = count(lambda: torch.nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), (c_in, s, s))
        hc = count(lambda: HyperConv(c_in, c_hyper, c_out, 3, n_hid), ((c_hyper, 8, 8), (c_in, s, s)))
        rows.append({"side": s, "conv_params": conv["params"], "conv_flops": conv["flops"], "hc_params": hc["params"],
                     "hc_flops": hc["flops"], "hc_mlp_flops": hc["mlp_flops"],
                     "mlp_nobias_params_per_flop": m["params"] / m["flops"]})
    return pd.DataFrame(rows)


def eq4_table(c_in, draws: int, seed: int, k: int = 3) -> pd.DataFrame:
    """§4.1's normalisation (eq. 4) in both readings, and the appendix code's, on f ~ N(0, 1) (eq. 3)
    3x3 filters. As printed, the filter's L1 sum |f|.sum sits inside the square root; eq. 5, which
    substitutes E[|f|.sum] = sqrt(2/pi) fW fH into it, needs the sum outside the root (`_eq5`)."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for c in c_in:
        f = torch.randn(draws, k, k, generator=g, dtype=torch.float64)
        l1 = f.abs().sum((-2, -1), keepdim=True)
        eq4 = f * math.sqrt(2 * k * k) / torch.sqrt(c * math.pi / 2 * l1)
        eq5 = f * math.sqrt(2 * k * k) / (math.sqrt(c * math.pi / 2) * l1)
        code, he = normalize_filters(f), 2 / (c * k * k)
        rows.append({"c_in": c, "var_eq4": float(eq4.var()), "he_var": he, "var_over_he": float(eq4.var()) / he,
                     "var_over_he_eq5": float(eq5.var()) / he,
                     "l1_eq4": float(eq4.abs().sum((-2, -1)).mean()), "l1_eq5": float(eq5.abs().sum((-2, -1)).mean()),
                     "l1_code": float(code.abs().sum((-2, -1)).mean()),
                     "max_code_minus_eq4": float((code - eq4).abs().max()),
                     "max_code_minus_eq5": float((code - eq5).abs().max())})
    return pd.DataFrame(rows)


def memory_pair_table(pair: dict, t1: dict, shapes: dict) -> pd.DataFrame:
    """§4.2: Table 1's `wide` network and a `narrow` one (n_fwd, n_embed) whose n_hid matches its parameters,
    and a network without HyperConvolutions (`standard`): parameters and the bytes of one inference on
    the memory benchmark's input (benchmark.activation_memory)."""
    wide, (f, e), standard = pair["wide"], pair["narrow"], pair["standard"]
    shape = shapes[wide]
    rows = {"wide": {"network": wide, **activation_memory(t1[wide], shape)}}
    n = n_hid_matching(lambda h: HCUNet(f, e, h), rows["wide"]["params"])
    rows["narrow"] = {"network": f"({f}, {e}, {n})", **activation_memory(partial(HCUNet, f, e, n), shape)}
    rows["standard"] = {"network": standard, **activation_memory(t1[standard], shape)}
    return pd.DataFrame([{"network": r.pop("network"), "role": role, "params": r.pop("params"),
                          "input": "x".join(map(str, shape)), **r} for role, r in rows.items()])


def evaluate(root=None) -> dict:
    root = Path(root or project_root())
    p = section("hyperconv", root / "params.yaml")
    ref_path = root / "references" / "hyperconv.yaml"
    ref = yaml.safe_load(ref_path.read_text())["paper"]
    mpix = ref["table1"]["input_mpix"]
    t1, t2 = table1_builds(ref), table2_builds(ref, p["vdn_n_hid"])
    sw = p["sweep"]
    sweep_hc = {f"n_hid = {n}": partial(HCUNet, sw["n_fwd"], sw["n_embed"], n) for n in sw["n_hid"]}
    sweep_no = {f"no HC, n_fwd = {w}": partial(HCUNet, w, hc=False) for w in p["sweep"]["no_hc_widths"]}
    vh, vw = p["vdn_size"]
    counts = pd.DataFrame(
        unet_counts(t1, p["count_raw_size"], mpix, "table1") + unet_counts(sweep_hc, p["count_raw_size"], mpix, "sweep hc")
        + unet_counts(sweep_no, p["count_raw_size"], mpix, "sweep no hc")
        + [{"network": k, "kind": "table2", **count(b, (3, vh, vw)), "mpix": vh * vw / 1e6, "div": r["div"],
            "n_hid_matching_paper": None if r["div"] == 1 else n_hid_matching(
                lambda n, d=r["div"]: VDN(div=d, hc=True, n_hid=n), 1e6 * r["values"][ref["table2"]["columns"].index("params_M")])}
           for k, b in t2.items() for r in [ref["table2"]["rows"][k]]])
    tables = {"counts": counts, "eq1": eq1_table(p["ratio_sizes"], **p["ratio_block"]), "eq4": eq4_table(**p["eq4"]),
              "equivariance": pd.DataFrame(equivariance_table(**p["equivariance"])),
              "depth": pd.DataFrame(depth_table(**p["depth"])), **results(root)}
    for e in ("sweep", "table1"):
        if not p[e]["run"]:  # left out of this profile: no runs to measure
            tables[e] = None
    nb = p["benchmark"]["networks"]
    rh, rw = nb["raw_size"]
    shapes = {**{k: (4, rh // 2, rw // 2) for k in t1}, **{k: (3, *nb["vdn_size"]) for k in t2}}
    builds = {**t1, **t2}
    tables["memory"] = pd.DataFrame([{"network": k, "bytes": peak_conv_memory(b, shapes[k]), "input": "x".join(map(str, shapes[k]))}
                                     for k, b in tqdm(builds.items(), desc="peak convolution memory")])
    tables["memory_pair"] = memory_pair_table(p["memory_pair"], t1, shapes)
    gp = p["benchmark"]["grouped"]
    tables["grouped"] = grouped_conv_times(**gp)
    tables["networks"], tables["networks_rounds"] = network_times(builds, shapes, nb["repeats"], nb["warmup"])
    out = root / OUT
    for name in ("counts", "eq1", "eq4", "equivariance", "depth", "memory", "memory_pair"):
        write_text(out / f"{name}.csv", tables[name].to_csv(index=False))
    for name in ("grouped", "networks", "networks_rounds"):
        write_text(out / "timing" / f"{name}.csv", tables[name].to_csv(index=False))
    ledger, timing = write_ledgers(load_claims(ref_path), measures(tables, ref), out, TIMING_MEASURES)
    summary = {"profile": load_params(root / "params.yaml")["profile"], "verdicts": ledger.verdict.value_counts().to_dict(),
               "table1": {r.network: {"params_M": round(r.params / 1e6, 3), "flops_T": round(r.flops_12_6 / 1e12, 4)}
                          for r in counts[counts.kind == "table1"].itertuples()}}
    write_json(out / "summary.json", summary)
    return summary


def main() -> None:
    run_stage(evaluate)


if __name__ == "__main__":  # run the importable module, so registries filled on import are the ones used
    from hyperscale.hyperconv.evaluate import main

    main()
