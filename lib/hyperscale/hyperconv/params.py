"""The `hyperconv` section of params.yaml, typed (values and their reasons: params.yaml itself)."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field, NonNegativeInt, PositiveInt

from ..core.params import Schema
from ..core.train import TrainConfig
from .train import TaskConfig

Size = Annotated[list[PositiveInt], Field(min_length=2, max_length=2)]
Ints = Annotated[list[PositiveInt], Field(min_length=1)]


class Sweep(Schema):
    n_fwd: PositiveInt
    n_embed: PositiveInt
    n_hid: Annotated[list[PositiveInt], Field(min_length=2)]
    no_hc_widths: Annotated[list[PositiveInt], Field(min_length=2)]
    seeds: Annotated[list[NonNegativeInt], Field(min_length=1)]
    data: str
    task: TaskConfig
    train: TrainConfig


class Table1(Schema):
    rows: Annotated[list[Annotated[list[PositiveInt | None], Field(min_length=3, max_length=3)]], Field(min_length=1)]
    divisor: PositiveInt
    seeds: Annotated[list[NonNegativeInt], Field(min_length=1)]


class Block(Schema):
    c_in: PositiveInt
    c_out: PositiveInt
    c_hyper: PositiveInt
    n_hid: PositiveInt


class Eq4(Schema):
    c_in: Ints
    draws: PositiveInt
    seed: NonNegativeInt


class Grouped(Schema):
    batches: Ints
    sizes: Ints
    channels: PositiveInt
    repeats: PositiveInt
    warmup: NonNegativeInt


class Networks(Schema):
    raw_size: Size
    vdn_size: Size
    repeats: PositiveInt
    warmup: NonNegativeInt


class Benchmark(Schema):
    grouped: Grouped
    networks: Networks


class HyperConvParams(Schema):
    count_raw_size: Size
    vdn_size: Size
    vdn_n_hid: PositiveInt
    sweep: Sweep
    table1: Table1
    ratio_sizes: Ints
    ratio_block: Block
    eq4: Eq4
    benchmark: Benchmark
