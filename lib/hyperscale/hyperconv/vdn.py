"""VDN (Yue et al., NeurIPS 2019; HyperConv's ref. 37) and its HyperConvolution variant (HyperConv §5.4).

VDN predicts, from a noisy image y, a Gaussian posterior over the clean image (D-Net, a U-Net:
mean residual and log variance per pixel) and an inverse-gamma posterior over the noise
variance (S-Net, a 5-layer DnCNN: log alpha and log beta per pixel), trained with a variational
lower bound (`vdn_loss`); the denoised image is y minus the predicted residual. Architecture and
loss follow the reference implementation's published definitions (github.com/zsyOAOA/VDNet:
UNet depth 4, wf 64, LeakyReLU 0.2, average pooling, 2x2 transposed convs; DnCNN depth 5, 64
filters), rewritten here. HyperConv §5.4 replaces "each convolution with c channels" by a
`HyperConvEmbed` with int(c/3) (or int(c/2)) channels; we replace every 3x3 convolution so and
keep the 2x2 transposed convolutions ordinary (narrowed alike), since the paper's drop-in layer
is a 3x3 'same' convolution. The MLP width of that variant is not stated; `n_hid` = 64 is the
appendix class's default, and the chapter checks it against Table 2's parameter counts.
"""
from __future__ import annotations

import math
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from ..core.models import register_model
from .layers import HyperConvEmbed

LOG_MIN, LOG_MAX = math.log(1e-8), math.log(1e4)  # the reference code's clamp on predicted log variances


class _Conv3x3(nn.Module):
    """A 3x3 'same' convolution, ordinary or HyperConvEmbed, with a LeakyReLU after it if `act`."""

    def __init__(self, c_in, c_out, hc: dict | None, act: float | None):
        super().__init__()
        if hc is not None:
            self.conv = HyperConvEmbed(c_in, c_out, bias=True, **hc)
        else:  # the reference code's init: Kaiming normal (fan-in, ReLU gain), zero bias
            self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
            nn.init.kaiming_normal_(self.conv.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(self.conv.bias)
        self.act = nn.LeakyReLU(act) if act is not None else nn.Identity()

    def forward(self, x):
        return self.act(self.conv(x))


@register_model("vdn")
class VDN(nn.Module):
    """VDN; `div` > 1 narrows every layer to int(c / div) channels and `hc=True` makes its 3x3
    convolutions HyperConvEmbed (MLP width `n_hid`). forward(y) -> (phi_z, phi_sigma), both
    (N, 2C, H, W): [residual mean, log variance] and [log alpha, log beta]."""

    def __init__(self, in_chans: int = 3, wf: int = 64, depth: int = 4, dep_s: int = 5, slope: float = 0.2,
                 div: int = 1, hc: bool = False, n_hid: int = 64):
        super().__init__()
        if div < 1 or depth < 2 or dep_s < 2:
            raise ValueError(f"need div >= 1, depth >= 2, dep_s >= 2; got {div}, {depth}, {dep_s}")
        self.config = dict(in_chans=in_chans, wf=wf, depth=depth, dep_s=dep_s, slope=slope, div=div, hc=hc, n_hid=n_hid)
        hcfg = {"n_hid": n_hid} if hc else None
        w = lambda c: max(1, int(c / div))  # noqa: E731  the paper's int(c/3)
        chans = [w((2 ** i) * wf) for i in range(depth)]
        self.down = nn.ModuleList()
        c = in_chans
        for ch in chans:
            self.down.append(nn.Sequential(_Conv3x3(c, ch, hcfg, slope), _Conv3x3(ch, ch, hcfg, slope)))
            c = ch
        self.up_t, self.up = nn.ModuleList(), nn.ModuleList()
        for ch in reversed(chans[:-1]):
            self.up_t.append(nn.ConvTranspose2d(c, ch, 2, stride=2))
            self.up.append(nn.Sequential(_Conv3x3(2 * ch, ch, hcfg, slope), _Conv3x3(ch, ch, hcfg, slope)))
            c = ch
        self.d_last = _Conv3x3(c, 2 * in_chans, hcfg, None)
        s = w(64)
        self.s_net = nn.Sequential(_Conv3x3(in_chans, s, hcfg, slope),
                                   *[_Conv3x3(s, s, hcfg, slope) for _ in range(dep_s - 2)],
                                   _Conv3x3(s, 2 * in_chans, hcfg, None))

    def forward(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m = 2 ** (len(self.down) - 1)  # D-Net pools depth - 1 times
        if y.dim() != 4 or any(s % m for s in y.shape[-2:]):
            raise ValueError(f"VDN needs (N, C, H, W) with H and W multiples of {m}; got {tuple(y.shape)}")
        x, skips = y, []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < len(self.down) - 1:
                skips.append(x)
                x = F.avg_pool2d(x, 2)
        for up_t, block, skip in zip(self.up_t, self.up, reversed(skips)):
            x = block(torch.cat([up_t(x), skip], 1))
        return self.d_last(x), self.s_net(y)

    @staticmethod
    def denoise(y: torch.Tensor, phi_z: torch.Tensor) -> torch.Tensor:
        """The posterior mean of the clean image: y minus the predicted residual."""
        return y - phi_z[:, : y.shape[1]]


def table2_builds(ref: dict, n_hid: int) -> dict:
    """Table 2's networks by the paper's row name (`ref`: references/hyperconv.yaml): VDN, and its
    HyperConvolution variants at a `div`-th of the channels, each a call that builds it."""
    return {k: partial(VDN, div=r["div"], hc=r["div"] > 1, n_hid=n_hid) for k, r in ref["table2"]["rows"].items()}


def sigma2_map(noisy: torch.Tensor, clean: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """VDN's prior noise-variance map: (noisy - clean)^2 smoothed by a Gaussian window of side
    2 radius + 1 and std `radius` (reflect padding), floored at 1e-10."""
    k = 2 * radius + 1
    g = torch.exp(-((torch.arange(k, dtype=noisy.dtype) - radius) ** 2) / (2 * radius ** 2))
    g = g / g.sum()
    c = noisy.shape[1]
    e2 = F.pad((noisy - clean) ** 2, (radius,) * 4, mode="reflect")
    e2 = F.conv2d(e2, g.view(1, 1, 1, k).expand(c, 1, 1, k), groups=c)
    e2 = F.conv2d(e2, g.view(1, 1, k, 1).expand(c, 1, k, 1), groups=c)
    return e2.clamp_min(1e-10)


def vdn_loss(phi_z: torch.Tensor, phi_sigma: torch.Tensor, noisy: torch.Tensor, clean: torch.Tensor,
             sigma2: torch.Tensor, eps2: float = 1e-6, radius: int = 3) -> torch.Tensor:
    """VDN's negative variational lower bound (its eq. 11, per pixel and channel, averaged):
    expected log-likelihood of y + KL(Gaussian posterior of z || N(clean, eps2)) +
    KL(inverse-gamma posterior of sigma^2 || IG(p^2/2 - 1, p^2 sigma2 / 2)), p = 2 radius + 1."""
    c = clean.shape[1]
    p2 = (2 * radius + 1) ** 2
    alpha0, beta0 = 0.5 * (p2 - 2), 0.5 * p2 * sigma2
    mu, m2 = phi_z[:, :c], phi_z[:, c:].clamp(LOG_MIN, LOG_MAX).exp()
    s = phi_sigma.clamp(LOG_MIN, LOG_MAX)
    log_alpha, log_beta = s[:, :c], s[:, c:]
    alpha, alpha_div_beta = log_alpha.exp(), (log_alpha - log_beta).exp()
    m2_eps = m2 / eps2
    kl_gauss = 0.5 * (mu - (noisy - clean)) ** 2 / eps2 + 0.5 * (m2_eps - 1 - m2_eps.log())
    kl_igamma = ((alpha - alpha0) * torch.digamma(alpha) + (math.lgamma(alpha0) - torch.lgamma(alpha))
                 + alpha0 * (log_beta - beta0.log()) + beta0 * alpha_div_beta - alpha)
    lik = 0.5 * math.log(2 * math.pi) + 0.5 * (log_beta - torch.digamma(alpha)) + 0.5 * (mu ** 2 + m2) * alpha_div_beta
    return lik.mean() + kl_gauss.mean() + kl_igamma.mean()
