"""The `hyperseg` section of params.yaml, typed (values and their reasons: params.yaml itself)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, NonNegativeInt, PositiveInt

from ..core.params import Schema
from ..core.train import TrainConfig
from .train import TaskConfig

Size = Annotated[list[Annotated[int, Field(ge=32)]], Field(min_length=2, max_length=2)]


class Dpw(Schema):
    template: str
    classes: PositiveInt
    size: Size
    repeats: PositiveInt
    warmup: NonNegativeInt


class Fps(Schema):
    templates: Annotated[list[str], Field(min_length=1)]
    classes: PositiveInt
    size: Size
    repeats: PositiveInt
    warmup: NonNegativeInt
    official_batch: PositiveInt
    official_repeats: PositiveInt


class Benchmark(Schema):
    dpw: Dpw
    fps: Fps


class Ablation(Schema):
    templates: Annotated[list[str], Field(min_length=1)]
    backbones: Annotated[list[Literal["b0", "b1", "b2", "b3", "resnet18"]], Field(min_length=1)]
    backbone_width: Annotated[float, Field(gt=0)]
    seeds: Annotated[list[NonNegativeInt], Field(min_length=1)]
    data: str
    task: TaskConfig
    train: TrainConfig


class Tradeoff(Schema):
    unet_widths: Annotated[list[PositiveInt], Field(min_length=1)]
    unet_depth: PositiveInt
    seeds: Annotated[list[NonNegativeInt], Field(min_length=1)]


class HyperSegParams(Schema):
    ablation: Ablation
    tradeoff: Tradeoff
    benchmark: Benchmark
