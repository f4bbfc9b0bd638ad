"""The `hyperseg` section of params.yaml, typed (values and their reasons: params.yaml itself)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, NonNegativeInt, model_validator

from ..core.params import Schema, Unique, upto
from ..core.train import TrainConfig
from .model import TEMPLATES
from .train import TaskConfig

# Timed inputs, at batch 1 and the official script's batch (paper: up to 1024 x 2048, Cityscapes)
Size = Annotated[list[upto(2048, lo=32)], Field(min_length=2, max_length=2)]
Template = Literal[tuple(TEMPLATES)]
Seeds = Annotated[list[NonNegativeInt], Field(min_length=1), Unique]


class Dpw(Schema):
    template: Template
    classes: upto(1000)
    size: Size
    repeats: upto(1000)
    warmup: NonNegativeInt


class Fps(Schema):
    templates: Annotated[list[Template], Field(min_length=1), Unique]
    classes: upto(1000)
    size: Size
    repeats: upto(1000)
    warmup: NonNegativeInt
    official_batch: upto(32)
    official_repeats: upto(1000)


class MemoryNet(Schema):
    template: Template
    size: Size


class Memory(Schema):
    networks: Annotated[dict[str, MemoryNet], Field(min_length=1)]
    classes: upto(1000)


class Benchmark(Schema):
    dpw: Dpw
    fps: Fps
    memory: Memory


Backbone = Literal["b0", "b1", "b2", "b3", "resnet18"]


class Judged(Schema):
    template: Template
    backbone: Backbone


class Ablation(Schema):
    templates: Annotated[list[Template], Field(min_length=1), Unique]
    backbones: Annotated[list[Backbone], Field(min_length=1), Unique]
    judged: Judged  # the network the trained claims judge: one of templates x backbones
    backbone_width: Annotated[float, Field(gt=0, le=2)]
    seeds: Seeds
    data: str
    task: TaskConfig
    train: TrainConfig

    @model_validator(mode="after")
    def _batchnorm(self):
        if self.train.batch_size < 2:
            raise ValueError("train.batch_size must be at least 2: BatchNorm normalises over the batch")
        if self.judged.template not in self.templates or self.judged.backbone not in self.backbones:
            raise ValueError(f"judged ({self.judged.template}, {self.judged.backbone}) is not trained: pick one of "
                             f"templates {self.templates} and one of backbones {self.backbones}")
        return self


class Tradeoff(Schema):  # bounds: the U-Net doubles its channels at every pooling (12 poolings took 21.8 GB)
    unet_widths: Annotated[list[upto(64)], Field(min_length=1), Unique]
    unet_depth: upto(5)  # multiscenes' 64-px minimum holds 5 poolings (2 px)
    seeds: Seeds


class HyperSegParams(Schema):
    ablation: Ablation
    tradeoff: Tradeoff
    benchmark: Benchmark
