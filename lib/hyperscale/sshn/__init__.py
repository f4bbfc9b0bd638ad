"""Scale-Space HyperNetworks (SSHN) and its earlier version Hyper-UNet (Ortiz, Guttag, Dalca).

One hypernetwork h(phi) predicts every weight of a U-Net whose internal rescaling factor phi is
continuous, so one model serves every phi. No official code; facts from the authors' libraries
JJGO/pylot and JJGO/hyperlight (Apache-2.0).

Models: `unet` (f_phi; the Fixed baseline), `hypernet` (SSHN), `baselines` (Stochastic, FiLM).
Training: `tasks` (segmentation and `registration` as core tasks, the phi prior), `runs` (the
run plan of every experiment). Evaluation: `evaluate` (the stage that scores every model),
`analysis`, `select` (phi* by Hyper-UNet eq. 3), `flops`, `measures` (what the claims read),
`figures` (the chapter's plots). Parameters: `params` (the `sshn` section's schema).
"""
from ..core.params import register_section
from .baselines import FiLM, Stochastic
from .hypernet import SSHN, materialize
from .params import SSHNParams
from .unet import ARCHS, UNet, conv_layout, scaled_size, unet_apply

register_section("sshn", SSHNParams)

__all__ = ["ARCHS", "FiLM", "SSHN", "Stochastic", "UNet", "conv_layout", "materialize", "scaled_size", "unet_apply"]
