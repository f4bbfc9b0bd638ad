"""HyperSeg's context head h and positional encoding P (§3 'Information flow', §3.1, Fig. 2c).

The context head maps the backbone's last feature map (C, H, W) to the signal phi of the same
shape: a U-Net whose down path is 2x2 stride-2 convolutions that halve the channels, whose
bottom map is average-pooled to one value per channel (the image's highest-level context) and
nearest-upsampled back, and whose up path concatenates each level's map with the upsampled
one from below and applies a fully connected layer (a 1x1 convolution) per pixel. The paper
cites the nested U-Net of U^2-Net [35] for the structure and describes one U-Net's parts; we
build the U-Net it describes, with `levels` down steps. An odd side is padded by repeating its
last row or column before a strided convolution (which would otherwise skip it), and each
level is upsampled back to its own exact size.
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


class ContextHead(nn.Module):
    """h: (B, C, H, W) -> (B, C, H, W); C must be divisible by 2^levels."""

    def __init__(self, channels: int, levels: int = 2):
        super().__init__()
        if levels < 1 or channels % 2 ** levels:
            raise ValueError(f"channels ({channels}) must be divisible by 2^levels (levels = {levels} >= 1)")
        c = [channels // 2 ** k for k in range(levels + 1)]
        self.down = nn.ModuleList(nn.Conv2d(c[k], c[k + 1], 2, stride=2) for k in range(levels))
        # fc[k] at level k reads its map and the one from below (the pooled context at the bottom)
        self.fc = nn.ModuleList(nn.Conv2d(c[k] + c[min(k + 1, levels)], c[k], 1) for k in range(levels + 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if min(x.shape[-2:]) < 2 ** len(self.down):
            raise ValueError(f"a {tuple(x.shape[-2:])} map cannot go down {len(self.down)} levels of 2x2 stride 2; "
                             f"use fewer levels")
        maps = [x]
        for conv in self.down:
            m = maps[-1]  # an odd side gets its last row or column repeated, so no pixel is left out
            maps.append(conv(F.pad(m, (0, m.shape[-1] % 2, 0, m.shape[-2] % 2), mode="replicate")))
        y = F.interpolate(F.adaptive_avg_pool2d(maps[-1], 1), size=maps[-1].shape[-2:], mode="nearest")
        for k in range(len(maps) - 1, -1, -1):
            y = self.fc[k](torch.cat([maps[k], F.interpolate(y, size=maps[k].shape[-2:], mode="nearest")], 1))
        return y
