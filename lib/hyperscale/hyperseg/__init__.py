"""HyperSeg: patch-wise hypernetwork for real-time semantic segmentation (Nirkin, Wolf, Hassner; CVPR 2021).

Official code https://github.com/YuvalNirkin/hyperseg (CC0; read for facts, not copied).
Modules so far: `dpwconv` (the dynamic patch-wise convolution, §3.3), `meta` (the meta block, its
weight mapper, BatchNorm folding and divide_channels, §3.1-3.2), `context` (the context head h
and the positional encoding P, §3.1), `backbones` (the encoder b: EfficientNet-B0..B3, ResNet-18),
`model` (the whole network, its S/M/L templates and the "w/o DPWConv" ablation), `official_meta`
(the official code's meta block, beside ours, tested but not trained), `counting`
(parameters, FLOPs, and what pytorch-OpCounter counts), `benchmark` (DPWConv against static
convolutions; FPS our way and the official script's), `train` (the segmentation task), `runs`
(the trained experiments), `unet` (a plain U-Net, the trade-off baseline), and the chapter's `evaluate`, `measures`, `figures` and `params` (the
`hyperseg` section's schema).
"""
from ..core.params import register_section
from .backbones import EfficientNet, ResNet18
from .model import TEMPLATES, HyperSeg, hyperseg
from .context import ContextHead, positional_encoding
from .dpwconv import dpw_conv, patch_sizes
from .meta import MetaBlock, divide_channels
from .params import HyperSegParams
from .unet import UNet

register_section("hyperseg", HyperSegParams)

__all__ = ["TEMPLATES", "ContextHead", "EfficientNet", "HyperSeg", "MetaBlock", "ResNet18", "divide_channels", "dpw_conv",
           "UNet", "hyperseg", "patch_sizes", "positional_encoding"]
