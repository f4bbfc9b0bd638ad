"""HyperConv: over-parametrisation of hypernetworks at fixed FLOP count (Muller, 2021).

No code was released beyond the paper's appendix snippets (read for facts, not copied).
Modules: `layers` (HyperConvolution, Alg. 1; the drop-in HyperConvEmbed), `unet` (the
UNet-like RAW-to-RGB network of Fig. 7), `vdn` (VDN and its HyperConvolution variant, §5.4),
`counting` (parameters and FLOPs by code, eqs. 1-2), `benchmark` (speed and memory),
`measures` (what the claims read), `evaluate` (the stage that judges them), `figures`,
`params` (the `hyperconv` section's schema).
"""
from ..core.params import register_section
from .layers import HyperConv, HyperConvEmbed, per_sample_conv
from .params import HyperConvParams
from .unet import HCUNet
from .vdn import VDN

register_section("hyperconv", HyperConvParams)

__all__ = ["HCUNet", "HyperConv", "HyperConvEmbed", "VDN", "per_sample_conv"]
