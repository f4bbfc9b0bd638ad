"""The UNet-like RAW-to-RGB network of HyperConv (Muller 2021, §5.2.1, Figs. 7-8, appendix Table 6).

Input: a RAW image packed to 4 channels at half resolution (N, 4, H, W); output: RGB at full
resolution (N, 3, 2H, 2W) in [0, 1]. The forward path has levels at scales 1, 1/2, ..., 1/16 of
the packed input with `n_fwd` channels at scale 1 and `n_fwd // 2` below; each of its 11
convolutions is a HyperConv whose filter input comes from one of four embedding networks (at
scales 1, 1/2, 1/4, 1/8; their first layer has `n_embed` channels, doubling per layer), and
whose MLP has `n_hid` hidden units at scale 1 and `n_hid // 2` below. `hc=False` is the
paper's 'no HC' network: the same forward path with ordinary convolutions and no embeddings.

Where the appendix code is ambiguous or cannot run, we implement the evident intent and say so:
- Its decoder lines read `hyper_conv2_8([e8, y8 + up(y16 * .25)] + y8)`, a list plus a tensor,
  which raises. We read them as a residual inside the GELU: `gelu(hc([e8, ...]) + y8)`
  (and `+ y2.mean(1)` at scale 1/2, where the channel counts differ).
- The text (§5.2.1) says the first two HyperConvolutions use a hard sigmoid; the code clamps
  their output to [0, 1]. We clamp.
- The scale-1/16 HyperConv takes its filter input from the scale-1/8 embedding (no 1/16 one).
The packed input's sides must be multiples of 16 (four 2x poolings) and at least 32 (so every
embedding's last pooling keeps a pixel); the forward pass says so in one line.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..core.models import check_images, register_model
from .layers import HyperConv, StaticConv

MIN_SIDE, SIDE_MULTIPLE = 32, 16


def _embedding(c_in: int, channels: list[int], pools: list[int], first_stride: int = 1) -> nn.Sequential:
    """3x3 convs with the given output channels; after each but the last, max-pool then GELU."""
    layers, c = [], c_in
    for i, c_out in enumerate(channels):
        layers.append(nn.Conv2d(c, c_out, 3, padding=1, stride=first_stride if i == 0 else 1))
        if i < len(pools):
            layers += [nn.MaxPool2d(pools[i], pools[i]), nn.GELU()]
        c = c_out
    return nn.Sequential(*layers)


@register_model("hc_unet")
class HCUNet(nn.Module):
    """HyperConv's UNet-like network. Constructor: (n_fwd, n_embed, n_hid, hc, in_chans, out_chans)."""

    def __init__(self, n_fwd: int = 8, n_embed: int = 8, n_hid: int = 256, hc: bool = True, in_chans: int = 4,
                 out_chans: int = 3):
        super().__init__()
        if n_fwd < 2 or n_fwd % 2 or n_embed < 2 or n_embed % 2 or n_hid < 2:
            raise ValueError(f"need even n_fwd >= 2, even n_embed >= 2, n_hid >= 2; got {n_fwd}, {n_embed}, {n_hid}")
        self.config = dict(n_fwd=n_fwd, n_embed=n_embed, n_hid=n_hid, hc=hc, in_chans=in_chans, out_chans=out_chans)
        self.hc = hc
        f, h, e = n_fwd, n_fwd // 2, n_embed
        if hc:
            self.embed = _embedding(in_chans, [e, 2 * e, 4 * e, 8 * e, 16 * e], [2, 2, 2, 4])       # scale 1
            self.embed2 = _embedding(f, [e, 2 * e, 4 * e, 8 * e], [2, 2, 4], first_stride=2)        # scale 1/2
            self.embed4 = _embedding(h, [e // 2, 2 * e, 4 * e], [2, 4])                             # scale 1/4
            self.embed8 = _embedding(h, [e // 2, 2 * e], [4])                                      # scale 1/8

        def conv(c_in, c_hyper, c_out, n):
            return HyperConv(c_in, c_hyper, c_out, 3, n, bias=True) if hc else StaticConv(c_in, c_out)

        self.hc0 = conv(in_chans, 16 * e, f, n_hid)
        self.hc1 = conv(f, 16 * e, f, n_hid)
        self.hc2 = conv(f, 16 * e, f, n_hid)
        self.hc_out = conv(f, 16 * e, out_chans, n_hid)            # at twice the input scale
        self.hc1_2 = conv(f, 8 * e, h, n_hid // 2)
        self.hc2_2 = conv(h, 8 * e, f, n_hid // 2)
        self.hc1_4 = conv(h, 4 * e, h, n_hid // 2)
        self.hc2_4 = conv(h, 4 * e, h, n_hid // 2)
        self.hc1_8 = conv(h, 2 * e, h, n_hid // 2)
        self.hc2_8 = conv(h, 2 * e, h, n_hid // 2)
        self.hc1_16 = conv(h, 2 * e, h, n_hid // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.config["in_chans"], MIN_SIDE, SIDE_MULTIPLE, "HCUNet (packed RAW input)")
        up = lambda t: F.interpolate(t, scale_factor=2.0, mode="bilinear", align_corners=True)  # noqa: E731
        pool = lambda t: F.max_pool2d(t, 2)  # noqa: E731
        e = self.embed(x) if self.hc else None
        y0 = self.hc0(e, x).clamp(0, 1)
        y0 = (self.hc1(e, y0) + y0).clamp(0, 1)
        y2 = pool(y0)
        e2 = self.embed2(y0) if self.hc else None
        y2 = F.gelu(self.hc1_2(e2, y2))
        y4 = pool(y2)
        e4 = self.embed4(y4) if self.hc else None
        y4 = F.gelu(self.hc1_4(e4, y4))
        y8 = pool(y4)
        e8 = self.embed8(y8) if self.hc else None
        y8 = F.gelu(self.hc1_8(e8, y8))
        y16 = F.gelu(self.hc1_16(e8, pool(y8)))
        y8 = F.gelu(self.hc2_8(e8, y8 + up(y16 * 0.25)) + y8)
        y4 = F.gelu(self.hc2_4(e4, y4 + up(y8 * 0.25)) + y4)
        y2 = F.gelu(self.hc2_2(e2, y2 + up(y4 * 0.25)) + y2.mean(1, keepdim=True))
        y = F.gelu(self.hc2(e, y0 + up(y2 * 0.25)) + y0)
        y = up(y + x.mean(1, keepdim=True))
        return torch.sigmoid(self.hc_out(e, y))
