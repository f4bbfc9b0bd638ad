"""Inference cost in multiply-accumulates (MACs), counted with ptflops' aten backend.

Convention (say it wherever a number is shown): we report **MACs** for one image; GFLOPs =
2 x GMACs. ptflops' aten backend counts `aten.convolution` and matrix products exactly
(weights x output pixels, plus one per output value for a bias), including the functional
convolutions a hypernetwork needs (its default pytorch backend counts those as zero). It
counts bilinear resizing as zero, so we add it: 4 MACs per output value (a weighted sum of 4
neighbours). Activations, pooling and concatenation are not counted.
"""
from __future__ import annotations

import torch
from ptflops import get_model_complexity_info

BILINEAR_MACS_PER_OUTPUT = 4


def bilinear_hook(counted: list | None = None) -> dict:
    """ptflops hook for aten's bilinear resize (which it counts as zero); `counted` collects each count."""
    def macs(inputs, outputs):
        n = BILINEAR_MACS_PER_OUTPUT * outputs[0].numel()
        if counted is not None:
            counted.append(n)
        return n
    return {torch.ops.aten.upsample_bilinear2d: macs}


def count(model: torch.nn.Module, input_shape, hooks: dict) -> int:
    macs, _ = get_model_complexity_info(model, tuple(input_shape), as_strings=False, backend="aten",
                                        print_per_layer_stat=False, custom_modules_hooks=hooks)
    if macs is None:
        raise RuntimeError("ptflops could not count this model (see the traceback it printed)")
    return int(macs)


def count_macs(model: torch.nn.Module, input_shape: tuple[int, int, int], count_resize: bool = True) -> int:
    """MACs of one forward pass of `model` on one image of shape (C, H, W)."""
    return count(model, input_shape, bilinear_hook() if count_resize else {})
