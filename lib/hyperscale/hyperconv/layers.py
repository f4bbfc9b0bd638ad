"""HyperConvolution: filters predicted per image by an MLP (Muller 2021, §4, Alg. 1, appendix Tables 5 and 7).

A HyperConvolution takes a *forward input* I, which it convolves, and a *filter input* F, from
which it computes the filters: F is pooled to 1 x 1, an MLP with two hidden layers of `n_hid`
units maps it to one filter set per sample, and each sample is convolved with its own filters.
The MLP's size sets the parameter count but not the FLOPs that grow with the image (eq. 1).

What we implement is what the appendix code does, where it and the text differ (each is a
claim of the chapter's ledger):
- **Normalisation.** The code scales every predicted 2-D filter (one output, one input channel)
  to an L1 norm of 1/2, then adds a learned constant filter `const_f` (drawn at a quarter of He
  variance). Eq. 4 of the text instead multiplies by sqrt(2 fW fH) / (sqrt(C_in pi/2) |f|_1) (the
  reading eq. 5 needs; as typeset the L1 sum sits inside the root), which gives He variance but an
  L1 norm that depends on C_in, not 1 as §4.1 says; the code's division by `sqrt(C_in pi / fW fH)`
  before the L1 step cancels, so we leave it out.
- **Pooling.** `HyperConv` max-pools (as the text says; its docstring says average);
  `HyperConvEmbed` average-pools (its docstring says so; the text says max).
- **Bias and gain heads** are linear maps of the pooled input, clamped to [-0.1, 0.1] and to
  [0.1, 1.1] (a gain of 1 + clamp(g, -0.9, 0.1)).
- **HyperConvEmbed** as printed cannot run: its MLP reads `n_in_forward * embed_base * 4`
  inputs (and names an undefined `n_in_hyper`), but the embedding gives `embed_base * 4`
  channels. We feed the MLP the embedding's channels.
The per-sample convolution is one grouped convolution over the batch (Alg. 1, lines 11-12):
`per_sample_conv`, tested against a loop over samples.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def per_sample_conv(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Convolve sample n of x (N, C_in, H, W) with its own filters w[n] (N, C_out, C_in, k, k);
    no padding. One grouped convolution with groups = N, as Alg. 1 does."""
    n, c_in, h, wd = x.shape
    if w.shape[0] != n or w.shape[2] != c_in:
        raise ValueError(f"filters {tuple(w.shape)} do not fit input {tuple(x.shape)}: need (N, C_out, C_in, k, k) "
                         f"with N = {n} and C_in = {c_in}")
    y = F.conv2d(x.reshape(1, n * c_in, h, wd), w.reshape(n * w.shape[1], c_in, *w.shape[3:]), groups=n)
    return y.view(n, w.shape[1], *y.shape[2:])


def normalize_filters(f: torch.Tensor) -> torch.Tensor:
    """The appendix code's normalisation: every 2-D filter f[n, o, i] scaled to an L1 norm of 1/2."""
    return f / (2 * (f.abs().sum((-2, -1), keepdim=True) + 1e-12))


class HyperConv(nn.Module):
    """A convolution whose filters an MLP predicts from the pooled filter input (appendix Table 5).

    forward(x_filter, x_forward): x_filter (N, c_hyper, h, w) of any size, x_forward
    (N, c_in, H, W); returns (N, c_out, H, W) ('same' size through reflection padding)."""

    def __init__(self, c_in: int, c_hyper: int, c_out: int, f_size: int = 3, n_hid: int = 256, bias: bool = False,
                 gain: bool = False, pool: str = "max", act: type[nn.Module] = nn.ReLU):
        super().__init__()
        if f_size % 2 == 0:
            raise ValueError(f"f_size must be odd for 'same' padding; got {f_size}")
        if pool not in ("max", "avg"):
            raise ValueError(f"pool must be 'max' or 'avg'; got {pool!r}")
        self.c_in, self.c_hyper, self.c_out, self.f_size, self.n_hid = c_in, c_hyper, c_out, f_size, n_hid
        self.pool = nn.AdaptiveMaxPool2d(1) if pool == "max" else nn.AdaptiveAvgPool2d(1)
        self.mlp = nn.Sequential(nn.Linear(c_hyper, n_hid), act(), nn.Linear(n_hid, n_hid), act(),
                                 nn.Linear(n_hid, c_out * c_in * f_size * f_size))
        self.bias = nn.Linear(c_hyper, c_out) if bias else None
        self.gain = nn.Linear(c_hyper, c_out) if gain else None
        # a quarter of He variance: randn / sqrt(fan_in / 2) / 2, as the appendix draws it
        self.const_f = nn.Parameter(torch.randn(c_out, c_in, f_size, f_size) / math.sqrt(c_in * f_size ** 2 / 2) / 2)

    def filters(self, z: torch.Tensor) -> torch.Tensor:
        """Per-sample filters (N, c_out, c_in, k, k) from the pooled filter input z (N, c_hyper)."""
        k = self.f_size
        return normalize_filters(self.mlp(z).view(-1, self.c_out, self.c_in, k, k)) + self.const_f

    def forward(self, x_filter: torch.Tensor, x_forward: torch.Tensor) -> torch.Tensor:
        if x_filter.shape[0] != x_forward.shape[0] or x_filter.shape[1] != self.c_hyper or x_forward.shape[1] != self.c_in:
            raise ValueError(f"HyperConv({self.c_in} -> {self.c_out}, filter input {self.c_hyper} channels) got filter "
                             f"input {tuple(x_filter.shape)} and forward input {tuple(x_forward.shape)}")
        z = self.pool(x_filter).flatten(1)
        p = self.f_size // 2
        y = per_sample_conv(F.pad(x_forward, (p, p, p, p), mode="reflect"), self.filters(z))
        if self.bias is not None:
            y = y + self.bias(z).clamp(-0.1, 0.1)[:, :, None, None]
        if self.gain is not None:
            y = y * (1 + self.gain(z).clamp(-0.9, 0.1))[:, :, None, None]
        return y


class StaticConv(nn.Module):
    """The 'no HC' stand-in for a HyperConv: an ordinary conv (reflection padding, bias) with
    HyperConv's call signature, so one network definition serves both (its filter input is unused)."""

    def __init__(self, c_in: int, c_out: int, f_size: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, f_size, padding=f_size // 2, padding_mode="reflect")

    def forward(self, x_filter: torch.Tensor | None, x_forward: torch.Tensor) -> torch.Tensor:
        return self.conv(x_forward)


class HyperConvEmbed(HyperConv):
    """The drop-in HyperConvolution of the VDN experiment (§5.4, appendix Table 7): its filter
    input is its own forward input through a 3-layer stride-2 CNN (embed_base x 1, 2, 4 channels,
    ReLU), average-pooled; LeakyReLU in the MLP. forward(x) -> (N, c_out, H, W)."""

    def __init__(self, c_in: int, c_out: int, f_size: int = 3, n_hid: int = 64, bias: bool = False,
                 gain: bool = False, embed_base: int = 32):
        super().__init__(c_in, 4 * embed_base, c_out, f_size, n_hid, bias, gain, pool="avg", act=nn.LeakyReLU)
        e = embed_base
        self.embed = nn.Sequential(nn.Conv2d(c_in, e, 3, padding=1, stride=2), nn.ReLU(),
                                   nn.Conv2d(e, 2 * e, 3, padding=1, stride=2), nn.ReLU(),
                                   nn.Conv2d(2 * e, 4 * e, 3, padding=1, stride=2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(self.embed(x), x)
