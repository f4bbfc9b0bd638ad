"""The two other single-model baselines of SSHN §4.3: Stochastic and FiLM.

Both train one network with phi ~ U(phi_range) drawn at every step, like SSHN, but without a
hypernetwork: Stochastic shares one set of conv weights across every phi (the stochastic
down-sampling of Kuen et al. 2018); FiLM adds feature-wise affine modulation (Perez et al.
2018) after every convolution, (gamma, beta) = g([phi, 1 - phi]), with g an MLP of the same
hidden sizes as SSHN's hypernetwork (the paper gives no sizes). g's output layer starts at
zero, so FiLM starts as gamma = 1, beta = 0: exactly the Stochastic network (our choice).
At inference FiLM folds into the convs (gamma w, gamma b + beta), so every method deploys as
the same plain f_phi with the same MACs.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from torch import Tensor

from ..core.models import check_images, register_model
from .unet import Theta, UNet, check_phi, check_phi_range, check_sizes, conv_layout, unet_apply


@register_model("stochastic")
class Stochastic(UNet):
    """f_phi with one set of weights trained at phi ~ U(phi_range) (SSHN §4.3, "Stochastic")."""

    def __init__(self, in_channels: int = 1, num_classes: int = 2, width: int = 32, n_stages: int = 5,
                 phi_range=(0.0, 0.5)):
        lo, hi = check_phi_range(phi_range)
        super().__init__(in_channels, num_classes, width, n_stages, phi=hi)
        self.config = dict(in_channels=in_channels, num_classes=num_classes, width=width, n_stages=n_stages,
                           phi_range=[lo, hi])

    @property
    def phi(self) -> float:
        raise TypeError("a Stochastic U-Net has no single phi; pass phi to forward()")

    def forward(self, x: Tensor, phi: float) -> Tensor:
        check_images(x, self.config["in_channels"])
        return unet_apply(self.theta(), x, check_phi(phi), self.config["n_stages"])


@register_model("film")
class FiLM(nn.Module):
    """f_phi with FiLM after every convolution but the head, conditioned on [phi, 1 - phi] (SSHN §4.3)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 2, width: int = 32, n_stages: int = 5,
                 phi_range=(0.0, 0.5), n_hid=(10, 100), negative_slope: float = 0.01):
        super().__init__()
        check_sizes(in_channels, num_classes, width, n_stages)
        lo, hi = check_phi_range(phi_range)
        self.config = dict(in_channels=in_channels, num_classes=num_classes, width=width, n_stages=n_stages,
                           phi_range=[lo, hi], n_hid=list(n_hid))
        self.unet = UNet(in_channels, num_classes, width, n_stages, phi=hi)
        self.channels = {name: co for name, (co, _, _) in conv_layout(in_channels, num_classes, width, n_stages).items()
                         if name != "head"}
        layers, n_in = [], 2
        for n in n_hid:
            layers += [nn.Linear(n_in, n), nn.LeakyReLU(negative_slope)]
            n_in = n
        self.out = nn.Linear(n_in, 2 * sum(self.channels.values()))
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.generator = nn.Sequential(*layers, self.out)

    def film(self, phi: float) -> Theta:
        """conv name -> (gamma, beta) at phi."""
        z = self.generator(torch.tensor([[phi, 1.0 - phi]], dtype=torch.float32, device=self.out.weight.device))[0]
        out, i = {}, 0
        for name, c in self.channels.items():
            out[name] = (1 + z[i:i + c], z[i + c:i + 2 * c])
            i += 2 * c
        return out

    def theta(self, phi: float) -> Theta:
        """The convs with FiLM folded in: gamma * (w * x + b) + beta = (gamma w) * x + (gamma b + beta)."""
        film = self.film(check_phi(phi))
        theta = {}
        for name, (w, b) in self.unet.theta().items():
            if name in film:
                gamma, beta = film[name]
                w, b = w * gamma[:, None, None, None], b * gamma + beta
            theta[name] = (w, b)
        return theta

    def forward(self, x: Tensor, phi: float) -> Tensor:
        check_images(x, self.config["in_channels"])
        phi = check_phi(phi)
        return unet_apply(self.unet.theta(), x, phi, self.config["n_stages"], film=self.film(phi))
