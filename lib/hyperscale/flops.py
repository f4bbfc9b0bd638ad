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


def _bilinear(counted: list | None = None) -> dict:
    """ptflops hook for aten's bilinear resize (which it counts as zero); `counted` collects each count."""
    def macs(inputs, outputs):
        n = BILINEAR_MACS_PER_OUTPUT * outputs[0].numel()
        if counted is not None:
            counted.append(n)
        return n
    return {torch.ops.aten.upsample_bilinear2d: macs}


def _count(model: torch.nn.Module, input_shape, hooks: dict) -> int:
    macs, _ = get_model_complexity_info(model, tuple(input_shape), as_strings=False, backend="aten",
                                        print_per_layer_stat=False, custom_modules_hooks=hooks)
    if macs is None:
        raise RuntimeError("ptflops could not count this model (see the traceback it printed)")
    return int(macs)


def count_macs(model: torch.nn.Module, input_shape: tuple[int, int, int], count_resize: bool = True) -> int:
    """MACs of one forward pass of `model` on one image of shape (C, H, W)."""
    return _count(model, input_shape, _bilinear() if count_resize else {})


class _AtPhi(torch.nn.Module):
    """f_phi of `net`'s weights at `phi`: one factor or one per resizing step (SSHN App. C.2)."""

    def __init__(self, net: UNet, phi):
        super().__init__()
        self.net, self.phi = net, phi

    def forward(self, x):
        return unet_apply(self.net.theta(), x, self.phi, self.net.config["n_stages"], arch=self.net.arch)


def unet_macs(phi, image_size: tuple[int, int], in_channels: int, num_classes: int, width,
              n_stages: int = 5, dec_widths=None, arch: str = "unet") -> dict[str, int]:
    """MACs of f_phi for one image: {'conv', 'resize', 'total'}; `phi` may hold one factor per step,
    `width` one channel count per stage, `arch` an App. C.1 variant (see models.conv_layout). Pooling,
    and the squeeze-excitation gates' products, are not counted."""
    # On the meta device nothing is computed, only shapes: the same count, ~10x faster at these sizes.
    with torch.device("meta"):
        net = _AtPhi(UNet(in_channels, num_classes, width, n_stages, dec_widths=dec_widths, arch=arch), phi)
    resize = []
    total = _count(net, (in_channels, *image_size), _bilinear(resize))
    return {"conv": total - sum(resize), "resize": sum(resize), "total": total}
