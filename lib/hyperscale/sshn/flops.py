"""Inference cost of f_phi (SSHN Table 1, Fig. 7): MACs of one image, core.flops' convention
(ptflops aten backend plus 4 MACs per bilinear-resize output; GFLOPs = 2 x GMACs). The
hypernetwork is not counted: it is dropped at inference (SSHN §3)."""
from __future__ import annotations

import torch

from ..core.flops import bilinear_hook, count
from .unet import UNet, unet_apply


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
    `width` one channel count per stage, `arch` an App. C.1 variant (see unet.conv_layout). Pooling,
    and the squeeze-excitation gates' products, are not counted."""
    # On the meta device nothing is computed, only shapes: the same count, ~10x faster at these sizes.
    with torch.device("meta"):
        net = _AtPhi(UNet(in_channels, num_classes, width, n_stages, dec_widths=dec_widths, arch=arch), phi)
    resize = []
    total = count(net, (in_channels, *image_size), bilinear_hook(resize))
    return {"conv": total - sum(resize), "resize": sum(resize), "total": total}
