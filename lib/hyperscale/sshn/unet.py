"""f_phi: a U-Net whose internal rescaling factor phi is continuous (SSHN §3, §4.4, App. A.1).

Ortiz, Guttag, Dalca, "Scale-Space HyperNetworks for Efficient Biomedical Imaging";
https://github.com/JJGO/scale-space-hypernetworks (no code released; the authors' libraries
JJGO/pylot and JJGO/hyperlight are Apache-2.0).

Five encoder stages and four decoder stages, two 3x3 convolutions per stage, LeakyReLU, the
same `width` everywhere (the paper uses 32 on OASIS). Each encoder step resizes bilinearly to
max(1, round(phi * size)) per spatial dimension; each decoder step upsamples to the size of
its skip connection, concatenates and convolves; a final 1x1 convolution (no activation)
maps to the classes, background included. phi = 0 is valid (every encoder step shrinks to
1 pixel).

The forward pass is the pure function `unet_apply(theta, x, phi)`, so the same code runs with
the module's own parameters (`UNet`, the Fixed baseline) and with weights predicted by a
hypernetwork (`SSHN`).

`arch` picks one of App. C.1's variants of the primary network, each with the same variable
resizing and every convolution in `theta` (so a hypernetwork predicts all of them):
"unet" (the paper's), "resunet" (a residual connection around each stage's two convs, a 1x1
projection where the channel count changes), "seunet" (squeeze-excitation after every encoder
and decoder stage), "fpn" (Feature Pyramid Network decoder: 1x1 laterals, top-down sums, a 3x3
conv per level, every level upsampled to full size and summed before the head) and "pspnet"
(U-Net encoder and skips; each decoder stage ends in a pyramid pooling block over 1, 2 and 4
bins). The paper gives no further details of its variants; these are ours.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ..core.models import check_images, register_model

Theta = dict[str, tuple[Tensor, Tensor]]  # conv name -> (weight, bias)
ARCHS = ("unet", "resunet", "seunet", "fpn", "pspnet")  # SSHN App. C.1
SE_REDUCTION = 4  # squeeze-excitation bottleneck: channels // 4 (SENet uses 16 on wider layers)
PSP_BINS = (1, 2, 4)  # pyramid pooling grid sizes (PSPNet uses 1, 2, 3, 6 on larger maps)


def check_phi(phi) -> float:
    """phi as a float in [0, 1], or a ValueError that says what was wrong."""
    try:
        value = float(phi)
    except (TypeError, ValueError):
        raise ValueError(f"phi (the rescaling factor) must be a number in [0, 1]; got {phi!r}") from None
    if not (0.0 <= value <= 1.0):  # also rejects NaN
        raise ValueError(f"phi (the rescaling factor) must lie in [0, 1]; got {value}")
    return value


def scaled_size(size: int, phi: float) -> int:
    """Spatial size after one resizing step: phi * size rounded half up, at least 1 (App. A.1)."""
    return max(1, math.floor(phi * size + 0.5))


def check_arch(arch: str) -> str:
    if arch not in ARCHS:
        raise ValueError(f"unknown primary-network architecture {arch!r}; choose one of {ARCHS} (SSHN App. C.1)")
    return arch


def conv_layout(in_channels: int, num_classes: int, width, n_stages: int = 5,
                dec_widths=None, arch: str = "unet") -> dict[str, tuple[int, int, int]]:
    """Every convolution of f_phi in forward order: name -> (out_channels, in_channels, kernel).

    `width` is one channel count for every conv (SSHN's OASIS U-Net) or one per encoder stage;
    `dec_widths` gives the decoder stages' widths from the deepest up (default: the width of the
    encoder stage each one merges with). Hyper-UNet's Pets/CUB U-Net (§4.1) has encoder
    (16, 32, 64, 128, 256) and decoder (32, 16, 8, 4). `arch` adds or replaces convs for the
    App. C.1 variants (module docstring).
    """
    enc = [width] * n_stages if isinstance(width, int) else list(width)
    dec = list(reversed(enc[:-1])) if dec_widths is None else list(dec_widths)
    if len(enc) != n_stages or len(dec) != n_stages - 1:
        raise ValueError(f"need {n_stages} encoder and {n_stages - 1} decoder widths; got {enc} and {dec}")
    if check_arch(arch) != "unet" and len(set(enc + dec)) > 1:
        raise ValueError(f"arch={arch!r} takes one width for every stage; got encoder {enc}, decoder {dec}")
    layout, c_in = {}, in_channels

    def block(name, c_out, c_in):
        layout[f"{name}a"] = (c_out, c_in, 3)
        if arch == "pspnet" and name.startswith("dec"):
            for b in PSP_BINS:
                layout[f"{name}p{b}"] = (max(1, c_out // len(PSP_BINS)), c_out, 1)
            c_mid = c_out + len(PSP_BINS) * max(1, c_out // len(PSP_BINS))
        else:
            c_mid = c_out
        layout[f"{name}b"] = (c_out, c_mid, 3)
        if arch == "resunet" and c_in != c_out:
            layout[f"{name}s"] = (c_out, c_in, 1)
        if arch == "seunet":
            c_se = max(1, c_out // SE_REDUCTION)
            layout[f"{name}e1"] = (c_se, c_out, 1)
            layout[f"{name}e2"] = (c_out, c_se, 1)

    for s in range(n_stages):
        block(f"enc{s}", enc[s], c_in)
        c_in = enc[s]
    if arch == "fpn":
        for s in reversed(range(n_stages)):  # top-down, as unet_apply runs them
            layout[f"lat{s}"] = (dec[0], enc[s], 1)
            layout[f"fpn{s}"] = (dec[0], dec[0], 3)
        c_in = dec[0]
    else:
        for s, w in zip(reversed(range(n_stages - 1)), dec):  # decoder stage s merges with encoder stage s
            block(f"dec{s}", w, c_in + enc[s])
            c_in = w
    layout["head"] = (num_classes, c_in, 1)
    return layout


def resize_factors(phi, n_stages: int) -> list[float]:
    """The factor of each of the n_stages - 1 encoder resizing steps: one phi shared by all (the
    paper's main model), or one phi_i per step (SSHN App. C.2, "separate rescaling factors")."""
    if isinstance(phi, (list, tuple)):
        if len(phi) != n_stages - 1:
            raise ValueError(f"separate rescaling factors need one phi per resizing step ({n_stages - 1} for "
                             f"n_stages={n_stages}); got {len(phi)}: {phi}")
        return [check_phi(p) for p in phi]
    return [check_phi(phi)] * (n_stages - 1)


def check_sizes(in_channels: int, num_classes: int, width, n_stages: int) -> None:
    widths = [width] if isinstance(width, int) else list(width)
    if in_channels < 1 or num_classes < 1 or n_stages < 1 or min(widths, default=0) < 1:
        raise ValueError(f"in_channels, num_classes, n_stages and every width must be >= 1; got in_channels="
                         f"{in_channels}, num_classes={num_classes}, n_stages={n_stages}, width={width}")


def check_phi_range(phi_range) -> list[float]:
    """[low, high] of a training prior U(low, high) over phi, or a ValueError."""
    lo, hi = (check_phi(p) for p in phi_range)
    if lo > hi:
        raise ValueError(f"phi_range must be (low, high) with low <= high; got {phi_range}")
    return [lo, hi]


def unet_apply(theta: Theta, x: Tensor, phi, n_stages: int = 5, negative_slope: float = 0.01,
               film: Theta | None = None, arch: str = "unet", features: dict | None = None) -> Tensor:
    """f_phi(x; theta): logits (N, num_classes, H, W).

    `phi` is one factor for every resizing step or a sequence with one per step (App. C.2):
    step i shrinks the encoder's stage i; the decoder returns to each skip's size, so the
    matching upsampling step follows automatically.
    `film` (FiLM baseline) maps a conv name to per-channel (gamma, beta), applied to that
    conv's output before the activation: gamma * conv(h) + beta.
    `arch` is the primary network (module docstring); `features`, if given, receives every
    stage's output by stage name (SSHN Fig. 16).
    """
    act = lambda h: F.leaky_relu(h, negative_slope)  # noqa: E731

    def conv(h, name):
        w, b = theta[name]
        h = F.conv2d(h, w, b, padding=w.shape[-1] // 2)
        if film is not None and name in film:
            gamma, beta = film[name]
            h = h * gamma[None, :, None, None] + beta[None, :, None, None]
        return h

    def block(h, name):
        out = act(conv(h, f"{name}a"))
        if f"{name}p{PSP_BINS[0]}" in theta:  # pyramid pooling: context at 1x1, 2x2 and 4x4 bins
            pooled = [F.interpolate(act(conv(F.adaptive_avg_pool2d(out, b), f"{name}p{b}")), size=out.shape[-2:],
                                    mode="bilinear", align_corners=False) for b in PSP_BINS]
            out = torch.cat([out, *pooled], dim=1)
        out = conv(out, f"{name}b")
        if arch == "resunet":
            out = out + (conv(h, f"{name}s") if f"{name}s" in theta else h)
        out = act(out)
        if f"{name}e1" in theta:  # squeeze-excitation: per-channel gates from the global average
            gate = act(conv(out.mean((-2, -1), keepdim=True), f"{name}e1"))
            out = out * torch.sigmoid(conv(gate, f"{name}e2"))
        if features is not None:
            features[name] = out
        return out

    def up(h, like):
        return F.interpolate(h, size=like.shape[-2:], mode="bilinear", align_corners=False)

    factors = resize_factors(phi, n_stages)
    skips = []
    h = x
    for s in range(n_stages):
        if s > 0:
            size = [scaled_size(d, factors[s - 1]) for d in h.shape[-2:]]
            h = F.interpolate(h, size=size, mode="bilinear", align_corners=False)
        h = block(h, f"enc{s}")
        skips.append(h)
    if arch == "fpn":  # top-down pathway with lateral connections, then all levels summed at full size
        p, out = None, 0
        for s in reversed(range(n_stages)):
            lateral = conv(skips[s], f"lat{s}")
            p = lateral if p is None else up(p, lateral) + lateral
            level = act(conv(p, f"fpn{s}"))
            if features is not None:
                features[f"fpn{s}"] = level
            out = up(level, skips[0]) + out
        h = out
    else:
        for s in reversed(range(n_stages - 1)):
            h = block(torch.cat([up(h, skips[s]), skips[s]], dim=1), f"dec{s}")
    return conv(h, "head")


@register_model("fixed")
class UNet(nn.Module):
    """The Fixed baseline: f_phi with its own parameters, trained and used at one phi (SSHN §4.3)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 2, width=32, n_stages: int = 5,
                 phi: float = 0.5, dec_widths=None, arch: str = "unet"):
        super().__init__()
        check_sizes(in_channels, num_classes, width, n_stages)
        self.config = dict(in_channels=in_channels, num_classes=num_classes, width=width, n_stages=n_stages,
                           phi=check_phi(phi))
        # Recorded only when set, so the plain U-Net's config stays as short as the paper's.
        if dec_widths is not None:
            self.config["dec_widths"] = list(dec_widths)
        if check_arch(arch) != "unet":
            self.config["arch"] = arch
        layout = conv_layout(in_channels, num_classes, width, n_stages, dec_widths, arch)
        # nn.Conv2d's default init (Kaiming-uniform, a=sqrt(5)): the usual U-Net starting point.
        self.convs = nn.ModuleDict({name: nn.Conv2d(ci, co, k) for name, (co, ci, k) in layout.items()})

    @property
    def phi(self) -> float:
        return self.config["phi"]

    def theta(self, phi: float | None = None) -> Theta:
        """The conv weights (the same at every phi: only SSHN and FiLM depend on it)."""
        return {name: (conv.weight, conv.bias) for name, conv in self.convs.items()}

    def forward(self, x: Tensor, phi: float | None = None) -> Tensor:
        """Logits at `phi` (default: the network's own; another value tests weight transfer)."""
        check_images(x, self.config["in_channels"])
        return unet_apply(self.theta(), x, self.phi if phi is None else check_phi(phi), self.config["n_stages"],
                          arch=self.arch)

    @property
    def arch(self) -> str:
        return self.config.get("arch", "unet")
