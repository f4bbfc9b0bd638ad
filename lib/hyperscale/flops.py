"""Inference cost of f_phi in multiply-accumulates (MACs), counted with ptflops' aten backend.

Convention (say it wherever a number is shown): we report **GMACs** for one image; GFLOPs =
2 x GMACs. ptflops' aten backend counts `aten.convolution` exactly (weights x output pixels,
plus one per output value for the bias). Its default pytorch backend counts zero for the
functional convolutions a hypernetwork needs, and aten counts bilinear resizing as zero, so we
add it: 4 MACs per output value (a weighted sum of 4 neighbours). LeakyReLU and concatenation
are not counted. The hypernetwork is not counted: it is dropped at inference (SSHN §3).
"""
from __future__ import annotations

import torch
from ptflops import get_model_complexity_info

from .models import UNet, unet_apply

BILINEAR_MACS_PER_OUTPUT = 4
_BILINEAR = {torch.ops.aten.upsample_bilinear2d: lambda inputs, outputs: BILINEAR_MACS_PER_OUTPUT * outputs[0].numel()}


def count_macs(model: torch.nn.Module, input_shape: tuple[int, int, int], count_resize: bool = True) -> int:
    """MACs of one forward pass of `model` on one image of shape (C, H, W)."""
    macs, _ = get_model_complexity_info(model, tuple(input_shape), as_strings=False, backend="aten",
                                        print_per_layer_stat=False,
                                        custom_modules_hooks=_BILINEAR if count_resize else {})
    if macs is None:
        raise RuntimeError("ptflops could not count this model (see the traceback it printed)")
    return int(macs)


class _AtPhi(torch.nn.Module):
    """f_phi of `net`'s weights at `phi`: one factor or one per resizing step (SSHN App. C.2)."""

    def __init__(self, net: UNet, phi):
        super().__init__()
        self.net, self.phi = net, phi

    def forward(self, x):
        return unet_apply(self.net.theta(), x, self.phi, self.net.config["n_stages"])


def unet_macs(phi, image_size: tuple[int, int], in_channels: int, num_classes: int, width,
              n_stages: int = 5, dec_widths=None) -> dict[str, int]:
    """MACs of f_phi for one image: {'conv', 'resize', 'total'}; `phi` may hold one factor per step,
    `width` one channel count per stage (see models.conv_layout)."""
    net = _AtPhi(UNet(in_channels, num_classes, width, n_stages, dec_widths=dec_widths), phi)
    shape = (in_channels, *image_size)
    total, conv = count_macs(net, shape, True), count_macs(net, shape, False)
    return {"conv": conv, "resize": total - conv, "total": total}
