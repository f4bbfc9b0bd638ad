"""The `sshn` section of params.yaml, typed (values and their reasons: params.yaml itself)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, NonNegativeInt, PositiveInt, model_validator

from ..core.params import Schema, Unique, upto
from ..core.train import OptimizerConfig
from .hypernet import INITS
from .unet import ARCHS

Phi = Annotated[float, Field(ge=0.0, le=1.0)]
Phis = Annotated[list[Phi], Field(min_length=1), Unique]
Seeds = Annotated[list[NonNegativeInt], Field(min_length=1), Unique]


class Model(Schema):  # bounds: the hypernetwork's last layer holds n_hid[-1] x every U-Net weight (paper: 100 x width 32)
    width: upto(64)
    n_stages: upto(7, lo=2)


class Hyper(Schema):
    n_hid: Annotated[list[upto(512)], Field(min_length=1)]
    phi_range: Annotated[list[Phi], Field(min_length=2, max_length=2)]


class Train(Schema):
    batch_size: upto(256)
    optimizer: OptimizerConfig
    max_steps: PositiveInt
    eval_every: PositiveInt
    patience_steps: PositiveInt | None
    min_delta: Annotated[float, Field(ge=0.0)]
    finetune_steps: NonNegativeInt
    checkpoint_every: PositiveInt
    eval_batch_size: upto(1024)
    val_phis: Phis


class Main(Schema):
    fixed_phis: Phis
    inits: Annotated[list[Literal[INITS]], Field(min_length=1), Unique]
    seeds: Seeds
    dynamic_seeds: Seeds | None = None  # Stochastic's and FiLM's (None: `seeds`)
    hunet_prior: Annotated[list[Phi], Field(min_length=2, max_length=2)] | None = None  # Hyper-UNet's U(lo, hi)


Cap = PositiveInt | None  # an experiment's own step cap (None: train.max_steps)
# An ablation is `run: false` in a profile that leaves it out (its claims say "not run")


class Prior(Schema):
    center: Phi
    rs: Annotated[list[Annotated[float, Field(ge=0.0, le=0.5)]], Field(min_length=1), Unique]
    seeds: Seeds
    max_steps: Cap = None
    run: bool = True


class Separate(Schema):
    seeds: Seeds
    max_steps: Cap = None
    run: bool = True


class Arch(Schema):
    archs: Annotated[list[Literal[ARCHS]], Field(min_length=1), Unique]
    fixed_phis: Phis
    seeds: Seeds
    max_steps: Cap = None
    run: bool = True


class Registration(Schema):
    lam: Annotated[float, Field(ge=0.0)]
    penalty: Literal["l1", "l2"]
    fixed_phis: Phis
    seeds: Seeds
    max_steps: Cap = None
    run: bool = True


class Natural(Schema):
    fixed_phis: Phis
    seeds: Seeds
    max_steps: Cap = None
    run: bool = True


class Eval(Schema):
    phi_step: Annotated[float, Field(ge=0.001, le=1.0)]
    phi_max: Phi
    select_fractions: Annotated[list[Annotated[float, Field(ge=0.0, le=1.0)]], Field(min_length=1), Unique]
    transfer_phis: Phis
    separate_grid: Phis
    feature_phis: Phis


class SSHNParams(Schema):
    model: Model
    hyper: Hyper
    train: Train
    main: Main
    prior: Prior
    separate: Separate
    arch: Arch
    registration: Registration
    natural: Natural
    eval: Eval

    @model_validator(mode="after")
    def _consistent(self):
        """What the experiments take from each other (checked here so a stage fails at once)."""
        main = self.main
        need = [
            (0.5 in main.fixed_phis, "main.fixed_phis must include 0.5: Figs. 4, 8 and 9 compare with Fixed at 0.5"),
            (self.prior.center in main.fixed_phis, "prior.center must be in main.fixed_phis (Fig. 8's Fixed line)"),
            (set(self.arch.fixed_phis) <= set(main.fixed_phis) and set(self.arch.seeds) <= set(main.seeds),
             "arch.fixed_phis and arch.seeds must be in main's: the ablation's U-Net row is the main runs"),
            (0.5 in self.eval.feature_phis, "eval.feature_phis must include 0.5: App. D compares each phi's feature maps "
                                            "with those at 0.5"),
        ]
        broken = [msg for ok, msg in need if not ok]
        if broken:
            raise ValueError("; ".join(broken))
        return self
