"""HyperSeg: patch-wise hypernetwork for real-time semantic segmentation (Nirkin, Wolf, Hassner; CVPR 2021).

Official code https://github.com/YuvalNirkin/hyperseg (CC0; read for facts, not copied).
Modules so far: `dpwconv` (the dynamic patch-wise convolution, §3.3).
"""
from .dpwconv import dpw_conv, patch_sizes

__all__ = ["dpw_conv", "patch_sizes"]
