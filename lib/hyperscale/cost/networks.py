"""Every network the study builds, at the cpu profile's training sizes and at the papers' own
(the chapter "What a FLOP buys"; its claims: references/cost.yaml).

Each paper's networks come from its own training plan, built as its training stages build them
(seed 0; the seeds of a setting share an architecture), so that what is timed here is what the
chapters train. Experiments a profile leaves out (`run: false`) are built all the same: their
cost needs no training. Each `Network` also carries the paper's own way of counting it:

- SSHN / Hyper-UNet: MACs of f_phi, the hypernetwork left out (sshn.flops; SSHN §3). Fixed
  U-Nets at `main.fixed_phis` and 0.4 (sshn.flops-cut-0.4's cut from 0.5), and SSHN (App. A's
  parametrisation), Stochastic and FiLM at each of those phi, their forward as trained (SSHN
  evaluates h(phi) in every call).
- HyperConv: FLOPs, 2 per MAC, the filter-predicting MLPs included (hyperconv.counting; its eq. 1).
  The sweep's networks (Figs. 3-4), Table 1's six at the profile's width divisor, and VDN with
  and without HyperConvolutions (Table 2) on the denoise stand-in's patches.
- HyperSeg: pytorch-OpCounter's MACs, which the paper calls GFLOPs (hyperseg.counting).
  HyperSeg-S with and without DPWConv (the ablation) and the trade-off's plain U-Nets.
- Shape Adaptor: MACs without the resizing (core.flops, as the chapter counts Table 1). Each
  network human-designed and with shape adaptors at eq. 5's initial shapes, and the AutoSC
  MobileNetV2 as its first seed learned it (read from its run: its shapes are learned).

`networks(sizes="paper")` builds the same plans from the paper profile's settings
(profiles/paper.yaml over params.yaml: widths, templates, backbones, sweeps, batches; the smoke
profile's in make test: `cost.paper_profile`) on one input of each paper's own size (params.yaml
`cost.paper_sizes`); nothing is loaded or trained, so the
AutoSC network, whose shapes only training gives, has no row there. SSHN keeps the cpu table's
phi, so that its rows pair with the cpu table's.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from importlib import import_module
from pathlib import Path
from typing import Callable

import torch
import yaml
from torch import nn

from ..core.flops import count_macs
from ..core.models import create_model, load_model
from ..core.params import load as load_params, overlay, read_yaml, validate
from ..core.project import project_root


@dataclass(frozen=True)
class Network:
    paper: str
    name: str
    build: Callable[[], nn.Module]  # a module whose forward takes one batch of inputs alone
    shape: tuple[int, int, int]  # one input, (C, H, W)
    batch: int  # the paper's training batch in this profile
    paper_count: Callable[[], int]  # the paper's own count of one input (`paper_unit`)
    paper_unit: str
    model_file: Path | None = None  # where `build` reads a trained model (its architecture was learned)
    sizes: str = "profile"  # "profile": the profile's training sizes; "paper": the paper's (`networks`)


@dataclass(frozen=True)
class Io:
    """What the networks' builders read of a dataset: its channels and classes, one image's (H, W)."""
    in_channels: int
    num_classes: int
    size: tuple[int, int]

    @classmethod
    def of(cls, data) -> "Io":
        return cls(data.in_channels, data.num_classes, tuple(data["train"].images.shape[-2:]))


class AtPhi(nn.Module):
    """A single-model SSHN baseline (or SSHN) run at one rescaling factor: forward(x) = net(x, phi)."""

    def __init__(self, net: nn.Module, phi: float):
        super().__init__()
        self.net, self.phi = net, phi

    def forward(self, x):
        return self.net(x, self.phi)


PAIR_PHI = 0.4  # cost.claims-in-time compares the U-Net at 0.4 with 0.5 (sshn.flops-cut-0.4)


def fixed_at(planned: tuple, phi: float) -> tuple:
    """A planned Fixed run (run, args) with its U-Net's phi set to `phi`."""
    run, (_, *rest) = planned
    run = replace(run, name=f"fixed-phi{phi:g}", model={**run.model, "phi": phi})
    return run, (run, *rest)


def _sshn(p: dict, io: Io, phis: list[float]) -> list[Network]:
    from ..sshn import runs
    from ..sshn.flops import unet_macs

    planned = [(r, (r, p, io)) for r in runs.plan("main", p) if r.seed == p["main"]["seeds"][0]
               and r.info.get("init", "paper") == "paper"]
    shape = io.in_channels, *io.size
    fixed = next((r, a) for r, a in planned if r.method == "fixed")  # one Fixed U-Net per phi, this one's seed
    planned = [fixed_at(fixed, q) for q in phis] + [(r, a) for r, a in planned if r.method != "fixed"]

    def macs(phi):
        return lambda: unet_macs(phi, io.size, io.in_channels, io.num_classes, p["model"]["width"],
                                 p["model"]["n_stages"])["total"]

    out = []
    for run, args in planned:
        for phi in [run.model["phi"]] if run.method == "fixed" else phis:
            out.append(Network("sshn", f"{run.method} φ={phi:g}", lambda a=args, q=phi: AtPhi(runs.build(*a), q), shape,
                               p["train"]["batch_size"], macs(phi), "MACs (f_φ)"))
    return out


def _hyperconv(p: dict, io: Io, ref: dict, side: int) -> list[Network]:
    """`side`: the denoising patch of Table 2's VDN rows."""
    from ..hyperconv import runs
    from ..hyperconv.counting import count
    from ..hyperconv.vdn import table2_builds

    shape = io.in_channels, *io.size
    batch = p["sweep"]["train"]["batch_size"]
    out = []
    for e in runs.EXPERIMENTS:
        for run in runs.plan(e, {**p, e: {**p[e], "run": True}}):  # built even where the profile trains none
            if run.seed == p[e]["seeds"][0]:
                build = lambda r=run: runs.build(r)  # noqa: E731
                out.append(Network("hyperconv", f"{e} {run.name.rsplit('-seed', 1)[0]}", build, shape, batch,
                                   lambda b=build: count(b, shape)["flops"], "FLOPs"))
    for name, build in table2_builds(ref, p["vdn_n_hid"]).items():
        out.append(Network("hyperconv", f"table2 {name}", build, (3, side, side), batch,
                           lambda b=build: count(b, (3, side, side))["flops"], "FLOPs"))
    return out


def _hyperseg(p: dict, io: Io, sizes: dict | None = None) -> list[Network]:
    """`sizes`: (H, W) per template, where a template has its own input size (others: io.size)."""
    from ..hyperseg import runs
    from ..hyperseg.counting import count

    c = io.in_channels
    sizes = sizes or {}
    out = []
    for e in ("ablation", "tradeoff"):
        for run in runs.plan(e, p):
            if run.seed == p[e]["seeds"][0]:
                h, w = sizes.get(run.model.get("template"), io.size)
                build = lambda r=run: runs.build(r, io)  # noqa: E731
                out.append(Network("hyperseg", f"{e} {run.name.rsplit('-seed', 1)[0]}", build, (c, h, w),
                                   p["ablation"]["train"]["batch_size"],
                                   lambda b=build, h=h, w=w: count(b, (h, w), c)["thop_macs"],
                                   "MACs (pytorch-OpCounter)"))
    return out


def _shape_adaptor(p: dict, io: Io, root: Path | None) -> list[Network]:
    """`root`: where the AutoSC run is read (None: no AutoSC row)."""
    from ..shape_adaptor import runs

    shape = io.in_channels, *io.size
    batch = p["train"]["batch_size"]
    out = []

    def macs(build):
        return lambda: count_macs(build(), shape, count_resize=False)

    for run in runs.plan("table1", p):
        if run.seed == p["seeds"][0]:
            build = lambda r=run: runs.build(r, p, io)  # noqa: E731
            out.append(Network("shape_adaptor", f"{run.net} {run.design}", build, shape, batch, macs(build), "MACs"))
    if root is None:
        return out
    autosc = min(runs.plan("autosc", p), key=lambda r: r.seed)
    file = runs.folder("autosc", root) / autosc.name / "model.pt"
    build = lambda: load_model(file)  # noqa: E731
    out.append(Network("shape_adaptor", f"{autosc.net} AutoSC", build, shape, batch, macs(build), "MACs", file))
    return out


PAPERS = ("sshn", "hyperconv", "hyperseg", "shape_adaptor")
SIZES = ("profile", "paper")


def _io(paper: str, params: dict, root: Path, sizes: str) -> Io:
    """A paper's input: its profile dataset's shapes (loaded), or its own size (`cost.paper_sizes`)."""
    if sizes == "paper":
        s = params["cost"]["paper_sizes"][paper]
        return Io(s["channels"], s.get("classes") or 0, tuple(s["size"]))
    from ..data import load_dataset

    runs = import_module(f"..{paper}.runs", __package__)
    if paper == "sshn":
        name = runs.plan("main", params[paper])[0].data
        return Io.of(load_dataset(name, root / "data" / name))
    return Io.of(runs.load_data(params[paper]))


def sshn_phis(p: dict) -> list[float]:
    return sorted({*p["main"]["fixed_phis"], PAIR_PHI})


def networks(root=None, papers=PAPERS, sizes: str = "profile") -> list[Network]:
    """Every network of the named papers, in the order of PAPERS, at the profile's training sizes
    or (sizes="paper") as the paper profile builds them (`cost.paper_profile`), on one input of
    each paper's size (`cost.paper_sizes`)."""
    root = Path(root or project_root())
    unknown = set(papers) - set(PAPERS)
    if unknown:
        raise ValueError(f"unknown papers {sorted(unknown)}; known: {list(PAPERS)}")
    if sizes not in SIZES:
        raise ValueError(f"sizes={sizes!r}; choose one of {SIZES}")
    own = params = load_params(root / "params.yaml")
    source = "params.yaml"
    if sizes == "paper":  # the paper profile's settings over this profile's (its `cost` kept)
        name = own["cost"]["paper_profile"]
        source = f"profiles/{name}.yaml over params.yaml"
        params = {**overlay(own, read_yaml(root / "profiles" / f"{name}.yaml")), "cost": own["cost"]}
    hyperconv_ref = yaml.safe_load((root / "references" / "hyperconv.yaml").read_text())["paper"]
    paper_sizes = sizes == "paper"
    extra = {"sshn": lambda: (sshn_phis(own["sshn"]),),  # the profile's phi in both tables (module docstring)
             "hyperconv": lambda: (hyperconv_ref, params["data"]["denoise"]["patch"]),
             "hyperseg": lambda: (params["cost"]["paper_sizes"]["hyperseg"].get("sizes") if paper_sizes else None,),
             "shape_adaptor": lambda: (None if paper_sizes else root,)}  # AutoSC: only as its run learned it
    build = {"sshn": _sshn, "hyperconv": _hyperconv, "hyperseg": _hyperseg, "shape_adaptor": _shape_adaptor}
    return [replace(n, sizes=sizes) for paper in PAPERS if paper in papers
            for n in build[paper](validate(paper, params[paper], source), _io(paper, params, root, sizes),
                                  *extra[paper]())]


def flops(net: Network) -> int:
    """The common convention: 2 FLOPs per multiply-accumulate of core.flops (ptflops' aten backend,
    every convolution and matrix product of the forward pass, 4 MACs per bilinear-resize output)."""
    return 2 * count_macs(net.build().eval(), net.shape)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def example(net: Network, batch: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(batch, *net.shape, generator=torch.Generator().manual_seed(seed))


def spec(net: Network, model_file: str | None = None) -> dict:
    """What rebuilds `net` elsewhere (a GPU machine without the study's data): its registered model
    and config, the phi it runs at, and the file of a learned model (`model_file`, as copied)."""
    m = net.build()
    inner = m.net if isinstance(m, AtPhi) else m
    return {"paper": net.paper, "network": net.name, "sizes": net.sizes, "shape": list(net.shape), "batch": net.batch,
            "method": inner.method, "config": inner.config, "phi": m.phi if isinstance(m, AtPhi) else None,
            "model_file": model_file}


def from_spec(s: dict, folder: Path) -> Network:
    """The `Network` a `spec` describes (uncounted: counts come from the stage that wrote the spec)."""
    def build():
        m = load_model(folder / s["model_file"]) if s["model_file"] else create_model(s["method"], **s["config"])
        return AtPhi(m, s["phi"]) if s["phi"] is not None else m
    return Network(s["paper"], s["network"], build, tuple(s["shape"]), s["batch"], lambda: 0, "", sizes=s["sizes"])
