"""The `sshn` section of params.yaml, typed (values and their reasons: params.yaml itself)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, NonNegativeInt, PositiveInt, model_validator

from ..core.params import Schema
from ..core.train import OptimizerConfig
from .hypernet import INITS
from .unet import ARCHS

Phi = Annotated[float, Field(ge=0.0, le=1.0)]
Phis = Annotated[list[Phi], Field(min_length=1)]
Seeds = Annotated[list[NonNegativeInt], Field(min_length=1)]


class Model(Schema):
    width: PositiveInt
    n_stages: PositiveInt


class Hyper(Schema):
    n_hid: Annotated[list[PositiveInt], Field(min_length=1)]
    phi_range: Annotated[list[Phi], Field(min_length=2, max_length=2)]


class Train(Schema):
    batch_size: PositiveInt
    optimizer: OptimizerConfig
    max_steps: PositiveInt
    eval_every: PositiveInt
    patience_steps: PositiveInt | None
    min_delta: Annotated[float, Field(ge=0.0)]
    finetune_steps: NonNegativeInt
    checkpoint_every: PositiveInt
    eval_batch_size: PositiveInt
    val_phis: Phis


class Main(Schema):
    fixed_phis: Phis
    inits: Annotated[list[Literal[INITS]], Field(min_length=1)]
    seeds: Seeds


Cap = PositiveInt | None  # an experiment's own step cap (None: train.max_steps)


class Prior(Schema):
    center: Phi
    rs: Annotated[list[Annotated[float, Field(ge=0.0)]], Field(min_length=1)]
    seeds: Seeds
    max_steps: Cap = None


class Separate(Schema):
    seeds: Seeds
    max_steps: Cap = None


class Arch(Schema):
    archs: Annotated[list[Literal[ARCHS]], Field(min_length=1)]
    fixed_phis: Phis
    seeds: Seeds
    max_steps: Cap = None


class Registration(Schema):
    lam: Annotated[float, Field(ge=0.0)]
    penalty: Literal["l1", "l2"]
    fixed_phis: Phis
    seeds: Seeds
    max_steps: Cap = None


class Natural(Schema):
    fixed_phis: Phis
    seeds: Seeds
    max_steps: Cap = None


class Eval(Schema):
    phi_step: Annotated[float, Field(ge=0.001, le=1.0)]
    phi_max: Phi
    select_fractions: Annotated[list[Annotated[float, Field(ge=0.0, le=1.0)]], Field(min_length=1)]
    transfer_phis: Phis
    separate_grid: Phis


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
        ]
        broken = [msg for ok, msg in need if not ok]
        if broken:
            raise ValueError("; ".join(broken))
        return self
