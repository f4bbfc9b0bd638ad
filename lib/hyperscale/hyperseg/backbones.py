"""HyperSeg's encoder backbones b (§3.1, §4): EfficientNet-B0..B3 (Tan & Le, ICML 2019) and ResNet-18
(He et al., CVPR 2016), written from their published definitions (timm needs torchvision, which
we avoid; no pretrained weights exist offline, so every backbone here trains from scratch, where
the paper starts from ImageNet weights).

`features(x)` returns the feature maps F_1..F_5 at strides 2, 4, 8, 16 and 32 that HyperSeg's
decoder reads (the last map of each stride), and the head's map at stride 32 that its context
head reads: EfficientNet's 1x1 head convolution (1280 channels for B1), and for ResNet-18 the
fully connected layer to 1280 channels the paper adds (§4 Ablation). This follows the official
code; the paper's text calls the context head's input "the last feature map" F_n. The
classifier (global pool, dropout, fully connected) is what HyperSeg replaces with its context
head; with `num_classes` > 0 it is kept, so the parameter counts can be checked against the
published ImageNet models (EfficientNet-B1 7,794,184, B3 12,233,232, ResNet-18 11,689,512;
`tests/test_hyperseg.py`).

EfficientNet-B0: a 3x3 stride-2 stem of 32 channels, seven stages of MBConv blocks (expansion,
kernel, stride, channels, repeats: (1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2),
(6, 3, 2, 80, 3), (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)), each with
squeeze-and-excitation of a quarter of the block's input channels, SiLU, and a 1x1 head conv of
1280 channels. B1-B3 scale widths by 1.0, 1.1, 1.2 (rounded to multiples of 8, never below 90 %)
and depths by 1.1, 1.2, 1.4 (repeats rounded up).
"""
from __future__ import annotations

import math

import torch
from torch import nn

B0_STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
             (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))
SCALING = {"b0": (1.0, 1.0), "b1": (1.0, 1.1), "b2": (1.1, 1.2), "b3": (1.2, 1.4)}  # (width, depth)
FEATURE_STAGES = (0, 1, 2, 4, 6)  # EfficientNet stages whose outputs are F_1..F_5 (strides 2, ..., 32)


def round_filters(c: int, width: float, divisor: int = 8) -> int:
    c = c * width
    new = max(divisor, int(c + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * c else new


def _conv_bn(c_in, c_out, k, stride=1, groups=1, act=True) -> nn.Sequential:
    layers = [nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
    return nn.Sequential(*layers, nn.SiLU()) if act else nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    def __init__(self, c: int, c_squeeze: int):
        super().__init__()
        self.reduce, self.expand = nn.Conv2d(c, c_squeeze, 1), nn.Conv2d(c_squeeze, c, 1)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.expand(nn.functional.silu(self.reduce(s))))


class MBConv(nn.Module):
    """Inverted residual with squeeze-and-excitation (MobileNetV2 / MnasNet), EfficientNet's block."""

    def __init__(self, c_in: int, c_out: int, expansion: int, k: int, stride: int):
        super().__init__()
        c_mid = c_in * expansion
        self.expand = _conv_bn(c_in, c_mid, 1) if expansion != 1 else nn.Identity()
        self.dw = _conv_bn(c_mid, c_mid, k, stride, groups=c_mid)
        self.se = SqueezeExcite(c_mid, max(1, c_in // 4))
        self.project = _conv_bn(c_mid, c_out, 1, act=False)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x):
        y = self.project(self.se(self.dw(self.expand(x))))
        return x + y if self.residual else y


class EfficientNet(nn.Module):
    """EfficientNet-B0..B3 (`variant`). features(x) -> [F_1, ..., F_5, head]; forward(x) -> class
    logits when `num_classes` > 0. `width_mult` scales the variant's widths further (a narrower
    network of the same depth, for the cpu profile)."""

    def __init__(self, variant: str = "b1", num_classes: int = 0, in_chans: int = 3, width_mult: float = 1.0):
        super().__init__()
        if variant not in SCALING:
            raise ValueError(f"unknown EfficientNet variant {variant!r}; known: {sorted(SCALING)}")
        if width_mult <= 0:
            raise ValueError(f"width_mult must be positive; got {width_mult}")
        width, depth = SCALING[variant]
        width *= width_mult
        c = round_filters(32, width)
        self.stem = _conv_bn(in_chans, c, 3, 2)
        self.stages = nn.ModuleList()
        for e, k, s, c_out, r in B0_STAGES:
            c_out = round_filters(c_out, width)
            blocks = []
            for i in range(math.ceil(depth * r)):
                blocks.append(MBConv(c, c_out, e, k, s if i == 0 else 1))
                c = c_out
            self.stages.append(nn.Sequential(*blocks))
        self.head = _conv_bn(c, round_filters(1280, width), 1)
        self.feature_channels = [round_filters(B0_STAGES[i][3], width) for i in FEATURE_STAGES] + \
                                [round_filters(1280, width)]  # F_1..F_5, head
        self.classifier = nn.Linear(self.feature_channels[-1], num_classes) if num_classes else None

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        x, out = self.stem(x), []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in FEATURE_STAGES:
                out.append(x)
        return out + [self.head(x)]

    def forward(self, x):
        if self.classifier is None:
            raise ValueError("this backbone has no classifier (num_classes=0); call features(x)")
        return self.classifier(self.features(x)[-1].mean((2, 3)))


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out)
        self.conv2, self.bn2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out)
        self.down = (nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
                     if stride != 1 or c_in != c_out else nn.Identity())

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.down(x))


class ResNet18(nn.Module):
    """ResNet-18. features(x) -> [F_1 (the stem conv, stride 2), F_2..F_5, head]; the head is
    HyperSeg's fully connected (1x1) layer mapping F_5 to `head_channels` (1280). `width_mult`
    scales every width, the head's included, rounded as EfficientNet's are (for the cpu profile)."""

    def __init__(self, num_classes: int = 0, in_chans: int = 3, head_channels: int = 1280, width_mult: float = 1.0):
        super().__init__()
        if width_mult <= 0:
            raise ValueError(f"width_mult must be positive; got {width_mult}")
        widths = tuple(round_filters(c, width_mult) for c in (64, 128, 256, 512))
        head_channels, c = round_filters(head_channels, width_mult), widths[0]
        self.stem = nn.Sequential(nn.Conv2d(in_chans, c, 7, 2, 3, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.layers = nn.ModuleList()
        for i, w in enumerate(widths):
            self.layers.append(nn.Sequential(BasicBlock(c, w, 1 if i == 0 else 2), BasicBlock(w, w, 1)))
            c = w
        self.head = nn.Conv2d(c, head_channels, 1)
        self.feature_channels = [widths[0], *widths, head_channels]
        self.classifier = nn.Linear(c, num_classes) if num_classes else None

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        out = [x]
        x = self.pool(x)
        for layer in self.layers:
            x = layer(x)
            out.append(x)
        return out + [self.head(x)]

    def forward(self, x):
        if self.classifier is None:
            raise ValueError("this backbone has no classifier (num_classes=0); call features(x)")
        x = self.pool(self.stem(x))
        for layer in self.layers:
            x = layer(x)
        return self.classifier(x.mean((2, 3)))
