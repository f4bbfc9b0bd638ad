"""The `cost` section of params.yaml, typed (values and their reasons: params.yaml itself)."""
from __future__ import annotations

from pydantic import NonNegativeInt

from ..core.params import Schema, upto


class CostParams(Schema):
    repeats: upto(1000)  # interleaved rounds of every timed call; 6 is the fewest whose range is a 95 % interval
    warmup: NonNegativeInt
