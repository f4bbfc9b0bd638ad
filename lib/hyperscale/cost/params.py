"""The `cost` section of params.yaml, typed (values and their reasons: params.yaml itself)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, NonNegativeInt

from ..core.params import Schema, upto

Size = Annotated[list[upto(4096, lo=8)], Field(min_length=2, max_length=2)]  # (H, W)


class PaperSize(Schema):
    """One input of a paper's own size (cost.networks `sizes="paper"`)."""
    channels: upto(16)
    classes: upto(1000) | None = None  # None where the network's output is an image (HyperConv)
    size: Size
    sizes: dict[str, Size] | None = None  # per HyperSeg template whose input differs from `size`


class PaperSizes(Schema):
    sshn: PaperSize
    hyperconv: PaperSize
    hyperseg: PaperSize
    shape_adaptor: PaperSize


class CostParams(Schema):
    repeats: upto(1000)  # interleaved rounds of every timed call; 6 is the fewest whose range is a 95 % interval
    warmup: NonNegativeInt
    paper_repeats: upto(1000)  # rounds at the papers' sizes (batch 1 only, no warm-up)
    paper_profile: Literal["smoke", "paper"]  # whose settings build the papers'-size networks (smoke: make test's)
    paper_sizes: PaperSizes
