"""The `hyperconv` section of params.yaml, typed (values and their reasons: params.yaml itself)."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field, NonNegativeInt

from ..core.params import Schema, Unique, upto
from ..core.train import TrainConfig
from .train import TaskConfig

# Counted sizes are built on the meta device (no memory); measured ones are allocated.
Counted = Annotated[list[upto(16384)], Field(min_length=2, max_length=2)]
Measured = Annotated[list[upto(2048)], Field(min_length=2, max_length=2)]
Width = upto(8192)  # paper: n_hid up to 4096 (Table 1's 4000)
Seeds = Annotated[list[NonNegativeInt], Field(min_length=1), Unique]


class Sweep(Schema):
    n_fwd: upto(512)
    n_embed: upto(512)
    n_hid: Annotated[list[Width], Field(min_length=2), Unique]
    no_hc_widths: Annotated[list[upto(512)], Field(min_length=2), Unique]
    seeds: Seeds
    data: str
    task: TaskConfig
    train: TrainConfig
    run: bool = True  # false: a profile leaves the experiment out (its claims say "not run")


class Table1(Schema):
    rows: Annotated[list[Annotated[list[Width | None], Field(min_length=3, max_length=3)]], Field(min_length=1), Unique]
    divisor: upto(64)
    seeds: Seeds
    run: bool = True  # false: a profile leaves the experiment out (its claims say "not run")


class Block(Schema):
    c_in: Width
    c_out: Width
    c_hyper: Width
    n_hid: Width


class Eq4(Schema):
    c_in: Annotated[list[upto(1024)], Field(min_length=1), Unique]
    draws: upto(1_000_000)
    seed: NonNegativeInt


class Equivariance(Schema):
    side: upto(2048)
    margin: upto(1024)
    channels: upto(256)
    n_hid: Width
    shifts: Annotated[list[Annotated[list[int], Field(min_length=2, max_length=2)]], Field(min_length=1)]
    seed: NonNegativeInt


class Depth(Schema):
    widths: Annotated[list[upto(512)], Field(min_length=1), Unique]
    layers: Annotated[int, Field(ge=2, le=1000)]
    side: upto(2048)
    n_hid: Width
    c_hyper: Width
    seed: NonNegativeInt


class MemoryPair(Schema):
    wide: str  # a row of Table 1 (references/hyperconv.yaml) with HyperConvolutions
    narrow: Annotated[list[upto(512)], Field(min_length=2, max_length=2)]  # (n_fwd, n_embed)
    standard: str  # a row of Table 1 without them


class Grouped(Schema):
    batches: Annotated[list[upto(64)], Field(min_length=1), Unique]
    sizes: Annotated[list[upto(2048)], Field(min_length=1), Unique]
    channels: upto(256)
    repeats: upto(1000)
    warmup: NonNegativeInt


class Networks(Schema):
    raw_size: Measured
    vdn_size: Measured
    repeats: upto(1000)
    warmup: NonNegativeInt


class Benchmark(Schema):
    grouped: Grouped
    networks: Networks


class HyperConvParams(Schema):
    count_raw_size: Counted
    vdn_size: Counted
    vdn_n_hid: Width
    sweep: Sweep
    table1: Table1
    ratio_sizes: Annotated[list[upto(16384)], Field(min_length=1), Unique]
    ratio_block: Block
    eq4: Eq4
    equivariance: Equivariance
    depth: Depth
    memory_pair: MemoryPair
    benchmark: Benchmark
