"""What a FLOP buys: every network of the study counted in FLOPs and measured in time and memory on one machine.

Modules: `networks` (each paper's networks at the cpu profile's sizes, and each paper's own way of counting them), `measure` (time of
inference and of a training step, peak memory), `measures` (what the chapter's claims read, references/cost.yaml) and
`evaluate` (the stage that writes runs/eval/cost/), `params` (the `cost` section's schema).
"""
from ..core.params import register_section
from .params import CostParams

register_section("cost", CostParams)
