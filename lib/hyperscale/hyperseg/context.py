"""HyperSeg's context head h and positional encoding P (§3 'Information flow', §3.1, Fig. 2c).

The context head maps the backbone's head map (C, H, W) to the signal phi of the same shape:
a U-Net whose down path is 2x2 stride-2 convolutions, whose bottom map is average-pooled to one
value per channel (the image's highest-level context) and nearest-upsampled back, and whose up
path concatenates each level's map with the upsampled one from below and applies a fully
connected layer (a 1x1 convolution) per pixel. The paper says the 2x2 convolutions "output half
the number of channels of the input"; the official code (read for facts) halves C once, with a
1x1 convolution at the top, keeps C/2 below, puts BatchNorm and ReLU after every convolution,
and ends with the concatenation (C channels, no last layer). We build the official structure:
with it our parameter counts of HyperSeg-S and -M meet Tables 3-4's, and with the halving at
every level they exceed them by 4 M (the chapter shows both). `levels` counts the U-Net's
resolutions, the top one included (official configs: 2 or 3). An odd side is padded by
repeating its last row or column before a strided convolution (which would otherwise skip it),
and each level is upsampled back to its own exact size.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def positional_encoding(h: int, w: int) -> torch.Tensor:
    """P (2, h, w): P[:, i, j] = ((2i - h + 1) / (h - 1), (2j - w + 1) / (w - 1)), from -1 to 1
    along each axis (0 along an axis of one pixel, where the formula divides by zero)."""
    axis = lambda n: torch.linspace(-1.0, 1.0, n) if n > 1 else torch.zeros(1)  # noqa: E731
    ys, xs = torch.meshgrid(axis(h), axis(w), indexing="ij")
    return torch.stack([ys, xs])


def _conv_bn_relu(c_in: int, c_out: int, k: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride=k, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class ContextHead(nn.Module):
    """h: (B, C, H, W) -> (B, C, H, W); C even, `levels` >= 1 resolutions."""

    def __init__(self, channels: int, levels: int = 2):
        super().__init__()
        if levels < 1 or channels % 2:
            raise ValueError(f"need an even number of channels and levels >= 1; got {channels}, {levels}")
        c = channels // 2
        self.top = _conv_bn_relu(channels, c, 1)
        self.down = nn.ModuleList(_conv_bn_relu(c, c, 2) for _ in range(levels - 1))
        self.up = nn.ModuleList(_conv_bn_relu(2 * c, c, 1) for _ in range(levels - 1))  # up[k] reads level k + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if min(x.shape[-2:]) < 2 ** len(self.down):
            raise ValueError(f"a {tuple(x.shape[-2:])} map cannot go down {len(self.down)} levels of 2x2 stride 2; "
                             f"use fewer levels")
        maps = [self.top(x)]
        for conv in self.down:
            m = maps[-1]  # an odd side gets its last row or column repeated, so no pixel is left out
            maps.append(conv(F.pad(m, (0, m.shape[-1] % 2, 0, m.shape[-2] % 2), mode="replicate")))
        y = F.interpolate(F.adaptive_avg_pool2d(maps[-1], 1), size=maps[-1].shape[-2:], mode="nearest")
        for k in range(len(self.up) - 1, -1, -1):
            y = F.interpolate(self.up[k](torch.cat([maps[k + 1], y], 1)), size=maps[k].shape[-2:], mode="nearest")
        return torch.cat([maps[0], y], 1)
