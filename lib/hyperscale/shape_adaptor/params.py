"""The `shape_adaptor` section of params.yaml, typed (values and their reasons: params.yaml itself)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, NonNegativeInt, model_validator

from ..core.params import Schema, Unique, upto
from .train import AlgConfig

Nets = Literal["vgg16", "resnet50", "mobilenetv2"]
# The experiments a profile may leave out (`run: {experiment: false}`); Table 1, its doubling and AutoSC
# (whose learned shapes' MACs sa.autosc-cost reads) always run
Ablation = Literal["n_adaptors", "init", "fix", "random", "s_grad", "fig1"]


class Data(Schema):
    name: str
    root: str
    input_size: upto(256, lo=8)  # paper: 32 (CIFAR) to 224 (ImageNet)
    n_test: upto(100_000) | None


class Adaptor(Schema):
    r_min: Annotated[float, Field(gt=0.0)]
    r_max: Annotated[float, Field(le=1.0)]
    d_last: Annotated[float, Field(gt=0.0)]
    d_out: Annotated[float, Field(gt=0.0)]
    d_limit: Annotated[float, Field(gt=0.0)] | None


class ShapeAdaptorParams(Schema):
    data: Data
    nets: Annotated[list[Nets], Field(min_length=1), Unique]
    width_mult: Annotated[float, Field(gt=0.0, le=2.0)]
    adaptor: Adaptor
    seeds: Annotated[list[NonNegativeInt], Field(min_length=1), Unique]
    fig1_seeds: Annotated[list[NonNegativeInt], Field(min_length=1), Unique]
    ablation_net: Nets
    n_adaptors: Annotated[list[upto(12)], Field(min_length=1), Unique]
    init_s: Annotated[list[Annotated[float, Field(gt=0.0, le=1.0)]], Field(min_length=1), Unique]
    n_random: upto(1000)
    random_seed: NonNegativeInt
    autosc_width_mult: Annotated[float, Field(gt=0.0, le=2.0)]
    settle_tol: Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
    run: dict[Ablation, bool] = Field(default_factory=dict)
    train: AlgConfig

    @model_validator(mode="after")
    def _consistent(self):
        if self.adaptor.r_min >= self.adaptor.r_max:
            raise ValueError("adaptor.r_min must be below adaptor.r_max")
        if self.ablation_net not in self.nets or "mobilenetv2" not in self.nets:
            raise ValueError("nets must include ablation_net (Tables 2-4 compare with its Table 1 runs) and "
                             "mobilenetv2 (AutoSC compares with its human design)")
        return self


