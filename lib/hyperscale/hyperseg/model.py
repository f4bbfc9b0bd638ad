"""HyperSeg, the whole network (§3, Figs. 2-3; templates S, M, L from §4 and the official configs).

The backbone b gives F_1..F_5 (strides 2-32) and a head map at stride 32; 1x1 convolutions with
BatchNorm shrink each F_i by the factor r_i (`feature_scale`; r_i = 1 keeps it). The context
head h turns the head map into the signal phi on the stride-32 patch grid, and phi's channels
are divided among the decoder's meta blocks in proportion to their weight counts
(`divide_channels`, eq. 5). The decoder d runs from coarse to fine: level l reads F at stride
32 / 2^l (the finest level of L reads the image itself), concatenated with the level above,
bilinearly upsampled, and with the positional encoding P; its meta block m_l convolves it with
weights generated patch by patch from its share of phi. A block whose patches (2^l pixels on a
side at level l) are smaller than `min_patch` is pw1 alone (the paper: 4 for L, 8 for M and S).
The last block outputs the class logits, upsampled to the input size if its level is coarser.

Templates (`TEMPLATES`): the paper defines S, M and L by which levels they keep (M and S drop
the finest one, S halves the meta blocks' channels) and defers the rest (r_i, block channels,
g_wi, h's levels) to its supplement, which our copy lacks; those values are the official
configs' (github.com/YuvalNirkin/hyperseg, configs/train/, read for facts): expansion 2 in every
block, which is not MobileNetV2's 6. Two of them differ from the text: CamVid's S keeps M's
block channels (the text: S halves them), and CamVid's L keeps pw1 alone up to 4 x 4 patches
(the text: below 4 x 4 for the large model, as VOC's L does). `dynamic=False` is the ablation "w/o DPWConv": the same
decoder with ordinary convolutions of the same shapes, and no context head or weight mappers
(Table 4 says "regular convolutions"; its caption says only the depth-wise ones are replaced).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..core.models import check_images, register_model
from .backbones import EfficientNet, ResNet18
from .context import ContextHead, positional_encoding
from .meta import MetaBlock, divide_channels

# The official configs (facts): backbone, r_i for F_1..F_5, block output channels from coarse to
# fine (None: the level's feature channels), g_wi per block (coarse to fine), h's levels, and the
# number of decoder levels (6 reaches the image; 5 stops at stride 2).
# The stride-32 backbone must leave the context head a map of 2 x 2 or more to pool (32 px gives 1 x 1).
MIN_SIDE = 33

TEMPLATES = {
    "L-voc": dict(backbone="b3", feature_scale=(0.25,) * 5, level_channels=None, weight_groups=(16,) * 6,
                  context_levels=3, levels=6, min_patch=4),
    "M-cityscapes": dict(backbone="b1", feature_scale=(1.0, 0.25, 0.25, 0.25, 0.25), level_channels=(64, 32, 16, 16, 16),
                         weight_groups=(32, 16, 8, 16, 4), context_levels=2, levels=5, min_patch=8),
    "S-cityscapes": dict(backbone="b1", feature_scale=(1.0, 0.166, 0.2, 0.25, 0.4), level_channels=(32, 16, 8, 8, 8),
                         weight_groups=(32, 16, 8, 16, 4), context_levels=2, levels=5, min_patch=8),
    "S-camvid": dict(backbone="b1", feature_scale=(0.25,) * 5, level_channels=(64, 32, 16, 16, 16),
                     weight_groups=(64, 32, 32, 16, 8), context_levels=2, levels=5, min_patch=8),
    "L-camvid": dict(backbone="b1", feature_scale=(0.25,) * 5, level_channels=(64, 32, 16, 16, 16, 16),
                     weight_groups=(64, 32, 32, 16, 8, 8), context_levels=2, levels=6, min_patch=8),
}


class StaticBlock(nn.Module):
    """A meta block's layers as ordinary convolutions (the "w/o DPWConv" ablation); forward(x, phi)
    ignores phi."""

    def __init__(self, c_in: int, c_out: int, expansion: int = 2, only_pw1: bool = False, act: bool = True):
        super().__init__()
        c_mid = c_out if only_pw1 else c_in * expansion
        conv_bn = lambda i, o, k, g=1: [nn.Conv2d(i, o, k, padding=k // 2, groups=g, bias=False), nn.BatchNorm2d(o)]  # noqa: E731
        if only_pw1:
            layers = conv_bn(c_in, c_out, 1) + ([nn.ReLU()] if act else [])
        else:
            layers = [*conv_bn(c_in, c_mid, 1), nn.ReLU6(), *conv_bn(c_mid, c_mid, 3, c_mid), nn.ReLU6(),
                      *conv_bn(c_mid, c_out, 1)]
        self.body, self.residual = nn.Sequential(*layers), c_in == c_out

    def forward(self, x, phi=None):
        y = self.body(x)
        return x + y if self.residual else y


def _backbone(name: str, in_chans: int, width: float) -> nn.Module:
    if name == "resnet18":
        return ResNet18(in_chans=in_chans, width_mult=width)
    return EfficientNet(name, in_chans=in_chans, width_mult=width)


@register_model("hyperseg")
class HyperSeg(nn.Module):
    """forward(x (B, C, H, W)) -> class logits (B, num_classes, H, W). Constructor: the template's
    settings (see TEMPLATES), `num_classes`, `dynamic`, `expansion`, and `backbone_width` (the
    backbone's widths scaled further, for the cpu profile). `backbone_width` scales every g_wi
    too (rounded, at least 1): the signal's channels shrink with the backbone's head, and
    unscaled groups would leave each group of a narrow network one or two signal channels (at
    0.25, HyperSeg-S's 320 channels give each block exactly the 64-channel minimum, and -L's six
    blocks cannot be served at all), where the full-width network's groups read 4-24."""

    def __init__(self, num_classes: int, backbone: str = "b1", feature_scale=(0.25,) * 5, level_channels=None,
                 weight_groups=16, context_levels: int = 2, levels: int = 6, min_patch: int = 4, expansion: int = 2,
                 dynamic: bool = True, in_chans: int = 3, backbone_width: float = 1.0):
        super().__init__()
        if not 1 <= levels <= 6:
            raise ValueError(f"HyperSeg's decoder has 1-6 levels (strides 32 down to 1); got {levels}")
        groups = list(weight_groups) if isinstance(weight_groups, (list, tuple)) else [weight_groups] * levels
        scaled = [max(1, round(g * backbone_width)) for g in groups]
        if len(feature_scale) != 5 or len(groups) != levels or (level_channels and len(level_channels) != levels):
            raise ValueError(f"need 5 feature_scale values (F_1..F_5) and one g_wi and block width per level "
                             f"({levels}); got {len(feature_scale)}, {len(groups)}, "
                             f"{len(level_channels) if level_channels else None}")
        self.config = dict(num_classes=num_classes, backbone=backbone, feature_scale=tuple(feature_scale),
                           level_channels=tuple(level_channels) if level_channels else None, weight_groups=tuple(groups),
                           context_levels=context_levels, levels=levels, min_patch=min_patch, expansion=expansion,
                           dynamic=dynamic, in_chans=in_chans, backbone_width=backbone_width)
        self.backbone = _backbone(backbone, in_chans, backbone_width)
        *chans, c_head = self.backbone.feature_channels
        reduced = [max(1, round(c * r)) for c, r in zip(chans, feature_scale)]
        self.reduce = nn.ModuleList(
            nn.Identity() if r == 1 else nn.Sequential(nn.Conv2d(c, o, 1, bias=False), nn.BatchNorm2d(o))
            for c, r, o in zip(chans, feature_scale, reduced))
        feats = (reduced[::-1] + [in_chans])[:levels]  # the decoder's inputs, coarse to fine
        specs, prev = [], 0
        for lvl, c_feat in enumerate(feats):
            last = lvl == levels - 1
            c_out = num_classes if last else (level_channels[lvl] if level_channels else c_feat)
            specs.append(dict(c_in=c_feat + prev + 2, c_out=c_out, only_pw1=2 ** lvl < min_patch, act=not last))
            prev = c_out
        if dynamic:
            sizes = [MetaBlock(c_phi=max(scaled), expansion=expansion, g_w=1, **s).n_weights for s in specs]
            self.signal = divide_channels(c_head, max(scaled), sizes)
            self.context = ContextHead(c_head, context_levels)
            self.blocks = nn.ModuleList(MetaBlock(c_phi=c, expansion=expansion, g_w=g, **s)
                                        for s, c, g in zip(specs, self.signal, scaled))
        else:
            self.signal, self.context = None, None
            self.blocks = nn.ModuleList(StaticBlock(expansion=expansion, **s) for s in specs)
        # channels_last weights (and so activations): 1.13x (DPWConv) and 1.16x (static) the training
        # steps/s of HyperSeg-S on one CPU thread here (`python -m hyperscale.bench --levers`; the plain U-Net: 0.70x)
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.config["in_chans"], MIN_SIDE, model="HyperSeg")
        *fs, head = self.backbone.features(x)
        inputs = ([r(f) for r, f in zip(self.reduce, fs)][::-1] + [x])[:len(self.blocks)]
        phis = self.context(head).split(self.signal, 1) if self.context is not None else [None] * len(self.blocks)
        p = None
        for f, block, phi in zip(inputs, self.blocks, phis):
            if p is not None:
                f = torch.cat([f, F.interpolate(p, size=f.shape[-2:], mode="bilinear", align_corners=False)], 1)
            pe = positional_encoding(*f.shape[-2:]).to(f).expand(len(f), -1, -1, -1)
            p = block(torch.cat([pe, f], 1), phi)
        return p if p.shape[-2:] == x.shape[-2:] else F.interpolate(p, size=x.shape[-2:], mode="bilinear",
                                                                      align_corners=False)

    @torch.no_grad()
    def fold_batchnorm(self) -> None:
        """Fold every meta block's BatchNorm into its weight mapper (inference; Sec. E)."""
        for b in self.blocks:
            if isinstance(b, MetaBlock):
                b.fold_batchnorm()


def hyperseg(template: str, num_classes: int, **overrides) -> HyperSeg:
    """One of TEMPLATES, with any constructor argument overridden (e.g. backbone="resnet18", dynamic=False)."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown HyperSeg template {template!r}; known: {sorted(TEMPLATES)}")
    return HyperSeg(num_classes, **{**TEMPLATES[template], **overrides})
