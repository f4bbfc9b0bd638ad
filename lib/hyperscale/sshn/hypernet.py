"""SSHN: a hypernetwork h(phi; omega) that predicts every weight of f_phi (SSHN §3, §4.4, App. A).

Ortiz, Guttag, Dalca, "Scale-Space HyperNetworks for Efficient Biomedical Imaging"; the
earlier version is "Amortized Learning of Flexible Feature Scaling for Image Segmentation"
(Hyper-UNet). No official code; facts from the authors' JJGO/hyperlight (Apache-2.0): one
predicted weight set per minibatch, applied functionally.

h takes [phi, 1 - phi] (so the MLP is not biased towards phi's magnitude), has hidden layers
of 10 and 100 units with LeakyReLU, and a linear output holding every weight and bias of f_phi.
App. A splits that last layer into one head per primary-network tensor so each predicted
tensor's initial scale depends only on its own shape. Training samples phi ~ U(phi_range) at
every step (§3, eq. 2; the paper uses U(0, 0.5); `tasks.prior_of`).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
from torch import Tensor

from ..core.device import device_of
from ..core.models import check_images, register_model
from .unet import (Theta, UNet, check_arch, check_phi, check_phi_range, check_sizes, conv_layout,
                   resize_factors, unet_apply)

INITS = ("paper", "conv_default", "residual")


class HyperNet(nn.Module):
    """h(phi; omega): [phi, 1 - phi] -> n_hid MLP -> one linear head per tensor of f_phi.

    init="paper" (App. A, §4.4): Kaiming-normal (fan-out) weights, zero biases, in every layer.
    init="conv_default" (our option, not the paper's): each head's bias starts at a draw from
    PyTorch's default conv init for its tensor (what the Fixed U-Net starts from) and its
    weight at `rel` times that scale, so h(phi) starts near an ordinary conv init with a small
    phi-dependent part. A throw-away prototype before this study learned much faster with it.
    init="residual" (the authors' later parametrisation, not SSHN's text): theta(phi) =
    theta_0 + alpha * head(z(phi)). theta_0 is an independent base drawn like the Fixed U-Net's
    convs (nn.Conv2d's default), as in their library hyperlight; the heads start as in "paper".
    Adam moves every weight by about lr per step, so a head's output can move by
    lr * (|z|_1 + 1) at once; alpha = 1 / mean_phi(|z(phi)|_1 + 1) at init (phi on an 11-point
    grid of [0, 1]) brings that back to about lr, the pace of theta_0 and of a Fixed U-Net
    (Ortiz et al., "Magnitude Invariant Parametrizations Improve Hypernetwork Learning", ICLR
    2024). alpha is a buffer: it is saved with the weights and never trained.
    """

    def __init__(self, layout: dict[str, tuple[int, int, int]], n_hid=(10, 100), init: str = "paper",
                 negative_slope: float = 0.01, rel: float = 0.1, n_factors: int = 1):
        super().__init__()
        if init not in INITS:
            raise ValueError(f"unknown hypernetwork init {init!r}; choose one of {INITS}")
        self.shapes = {}
        for name, (co, ci, k) in layout.items():
            self.shapes[f"{name}_weight"] = (co, ci, k, k)
            self.shapes[f"{name}_bias"] = (co,)
        layers, n_in = [], 2 * n_factors
        for n in n_hid:
            layers += [nn.Linear(n_in, n), nn.LeakyReLU(negative_slope)]
            n_in = n
        self.trunk = nn.Sequential(*layers)
        self.heads = nn.ModuleDict({key: nn.Linear(n_in, math.prod(shape)) for key, shape in self.shapes.items()})
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                nn.init.zeros_(m.bias)
        if init == "residual":
            self.base = nn.ParameterDict()
            for name, (co, ci, k) in layout.items():
                conv = nn.Conv2d(ci, co, k)
                self.base[f"{name}_weight"], self.base[f"{name}_bias"] = conv.weight, conv.bias
            with torch.no_grad():
                grid = [[p] * n_factors for p in torch.linspace(0, 1, 11).tolist()]
                l1 = torch.stack([self._z(phis).abs().sum() + 1 for phis in grid]).mean()
            self.register_buffer("alpha", 1 / l1)
        if init == "conv_default":
            for name, (co, ci, k) in layout.items():
                bound = 1.0 / math.sqrt(ci * k * k)  # nn.Conv2d default: U(-1/sqrt(fan_in), +)
                for part in ("weight", "bias"):
                    head = self.heads[f"{name}_{part}"]
                    nn.init.uniform_(head.bias, -bound, bound)
                    nn.init.uniform_(head.weight, -rel * bound / math.sqrt(n_in), rel * bound / math.sqrt(n_in))

    def _z(self, phis: list[float]) -> Tensor:
        """The trunk's output for the factors `phis`, encoded as [phi_0, 1 - phi_0, phi_1, 1 - phi_1, ...]."""
        code = torch.tensor([[v for p in phis for v in (p, 1.0 - p)]], dtype=torch.float32, device=device_of(self))
        return self.trunk(code)[0]

    def forward(self, phis: list[float]) -> Theta:
        """Weights for the factors `phis`."""
        z = self._z(phis)
        out = {key: head(z).view(self.shapes[key]) for key, head in self.heads.items()}
        if hasattr(self, "base"):
            out = {key: self.base[key] + self.alpha * v for key, v in out.items()}
        names = [key[: -len("_weight")] for key in out if key.endswith("_weight")]
        return {name: (out[f"{name}_weight"], out[f"{name}_bias"]) for name in names}


@register_model("sshn")
class SSHN(nn.Module):
    """Scale-Space HyperNetwork: f_phi(x; h(phi; omega)); only omega is trained.

    separate=True (App. C.2): one factor phi_i per resizing step, each drawn from U(phi_range)
    independently; h takes all of them and `phi` is then a sequence of n_stages - 1 factors.
    `arch` (App. C.1): the primary network; h predicts every one of its convolutions.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 2, width: int = 32, n_stages: int = 5,
                 n_hid=(10, 100), phi_range=(0.0, 0.5), init: str = "paper", separate: bool = False,
                 arch: str = "unet"):
        super().__init__()
        check_sizes(in_channels, num_classes, width, n_stages)
        lo, hi = check_phi_range(phi_range)
        self.config = dict(in_channels=in_channels, num_classes=num_classes, width=width, n_stages=n_stages,
                           n_hid=list(n_hid), phi_range=[lo, hi], init=init)
        # Recorded only when set, so the main model's config stays as short as the paper's.
        if separate:
            self.config["separate"] = True
        if check_arch(arch) != "unet":
            self.config["arch"] = arch
        n_factors = n_stages - 1 if separate else 1
        self.hyper = HyperNet(conv_layout(in_channels, num_classes, width, n_stages, arch=arch), n_hid, init,
                              n_factors=n_factors)

    @property
    def separate(self) -> bool:
        return self.config.get("separate", False)

    @property
    def arch(self) -> str:
        return self.config.get("arch", "unet")

    def factors(self, phi) -> list[float]:
        if self.separate != isinstance(phi, (list, tuple)):
            raise ValueError(f"this SSHN takes {'one phi per resizing step' if self.separate else 'a single phi'}; "
                             f"got {phi!r}")
        return resize_factors(phi, self.config["n_stages"])

    def theta(self, phi) -> Theta:
        factors = self.factors(phi)
        return self.hyper(factors if self.separate else factors[:1])

    def forward(self, x: Tensor, phi: float) -> Tensor:
        check_images(x, self.config["in_channels"])
        return unet_apply(self.theta(phi), x, phi, self.config["n_stages"], arch=self.arch)


def materialize(model, phi: float) -> UNet:
    """A plain f_phi carrying the model's weights at phi: inference without the hypernetwork (§3)
    or the FiLM generator (folded into the convs). Works for every model with `theta(phi)`."""
    phi = check_phi(phi)
    keys = ("in_channels", "num_classes", "width", "n_stages")
    net = UNet(**{k: model.config[k] for k in keys}, phi=phi, arch=model.config.get("arch", "unet"))
    with torch.no_grad():
        for name, (w, b) in model.theta(phi).items():
            net.convs[name].weight.copy_(w)
            net.convs[name].bias.copy_(b)
    return net.eval()
