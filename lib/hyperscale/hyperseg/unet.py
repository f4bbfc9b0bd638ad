"""A plain U-Net (Ronneberger et al., MICCAI 2015): the trade-off baseline of the HyperSeg chapter.

HyperSeg's Figs. 1 and 4 place it against published real-time networks on Cityscapes, which
cannot be trained offline. Our stand-in for "previous methods" is the plainest encoder-decoder,
trained exactly as HyperSeg-S is (hyperseg/runs.py, experiment `tradeoff`), at widths chosen by
count to cost about as many FLOPs as HyperSeg-S at the training size.

Per level: two 3x3 convolutions, each followed by BatchNorm and ReLU (BatchNorm postdates the
2015 paper; HyperSeg's backbone and decoder have it, so both networks train alike);
2x2 max-pooling down, a 2x2 stride-2 transposed convolution up, skip connections concatenated,
a 1x1 convolution to the classes. `width` channels at full resolution, doubled at every level.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..core.models import check_images, register_model

CODE = (Path(__file__),)  # what a U-Net run's key adds to the segmentation task's code


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                         nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


@register_model("seg_unet")
class UNet(nn.Module):
    """forward(x (N, in_chans, H, W)) -> logits (N, num_classes, H, W); H and W multiples of 2**depth."""

    def __init__(self, num_classes: int, width: int = 64, depth: int = 4, in_chans: int = 3):
        super().__init__()
        if num_classes < 1 or width < 1 or depth < 1:
            raise ValueError(f"need num_classes, width and depth >= 1; got {num_classes}, {width}, {depth}")
        self.config = dict(num_classes=num_classes, width=width, depth=depth, in_chans=in_chans)
        ch = [width * 2 ** i for i in range(depth + 1)]
        self.down = nn.ModuleList([_block(in_chans, ch[0])] + [_block(ch[i], ch[i + 1]) for i in range(depth)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(ch[i + 1], ch[i], 2, stride=2) for i in reversed(range(depth))])
        self.dec = nn.ModuleList([_block(2 * ch[i], ch[i]) for i in reversed(range(depth))])
        self.head = nn.Conv2d(ch[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = 2 ** len(self.up)
        check_images(x, self.config["in_chans"], m, m, f"UNet(depth={len(self.up)})")
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        skips.pop()  # the bottom level feeds the first up-convolution, not a skip
        for up, dec in zip(self.up, self.dec):
            x = dec(torch.cat([skips.pop(), up(x)], 1))
        return self.head(x)
