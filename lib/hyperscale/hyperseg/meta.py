"""HyperSeg's meta block and weight mapper (§3.1-3.2, eqs. 5-7, Fig. 3a; BatchNorm folding, supplement Sec. E).

A meta block m_i is MobileNetV2's inverted residual made dynamic: a point-wise convolution pw1
(C_in -> C_mid), a 3x3 depth-wise convolution dw and a point-wise convolution pw2
(C_mid -> C_out), each a dynamic patch-wise convolution (`dpw_conv`) followed by BatchNorm,
the first two by ReLU6 (MobileNetV2's activation; the paper names none) and pw2 by none. Below
the paper's patch-size thresholds the block is pw1 alone (`only_pw1`), followed by BatchNorm and
ReLU as in the official code (`act=False` leaves it linear, for a block that outputs logits).
A residual connection is added where C_in = C_out, as in MobileNetV2.

Its weights come from its own weight mapper w_i, a 1x1 convolution with g_wi channel groups and
no bias applied to the block's share phi_i of the context signal (C_phi_i channels on the
N_h x N_w patch grid): |theta^{w_i}| = |theta^{m_i}| C_phi_i / g_wi parameters (eq. 6), where
|theta^{m_i}| is rounded up to a multiple of g_wi (the extra outputs are dropped, as the official
code does). At inference each BatchNorm is folded into w_i (`fold_batchnorm`): a BatchNorm after a
convolution whose weights are linear in phi_i scales the rows of w_i that generate each output
channel's weights and adds a constant per channel, so the folded block computes the same
function with one fewer pass over the feature map.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .dpwconv import dpw_conv


class MetaBlock(nn.Module):
    """forward(x (B, C_in, H, W), phi (B, C_phi, N_h, N_w)) -> (B, C_out, H, W)."""

    def __init__(self, c_in: int, c_out: int, c_phi: int, expansion: int = 6, g_w: int = 1, only_pw1: bool = False,
                 act: bool = True):
        super().__init__()
        c_mid = c_out if only_pw1 else c_in * expansion
        self.shapes = {"pw1": (c_mid, c_in, 1)} if only_pw1 else {
            "pw1": (c_mid, c_in, 1), "dw": (c_mid, 1, 3), "pw2": (c_out, c_mid, 1)}
        self.n_weights = sum(o * i * k * k for o, i, k in self.shapes.values())
        if c_phi % g_w:
            raise ValueError(f"g_w = {g_w} must divide the signal's {c_phi} channels")
        self.c_in, self.c_out, self.residual = c_in, c_out, c_in == c_out
        self.act = act
        self.mapper = nn.Conv2d(c_phi, -(-self.n_weights // g_w) * g_w, 1, groups=g_w, bias=False)  # w_i
        self.bn = nn.ModuleDict({k: nn.BatchNorm2d(o) for k, (o, _, _) in self.shapes.items()})
        self.folded_bias = None  # per-layer biases that replace the BatchNorms, set by fold_batchnorm

    def weights(self, phi: torch.Tensor) -> dict[str, torch.Tensor]:
        """The generated weights of each layer: (B, C_out, C_in / groups, k, k, N_h, N_w)."""
        theta = self.mapper(phi)[:, :self.n_weights]
        b, _, nh, nw = theta.shape
        out, i = {}, 0
        for name, (o, c, k) in self.shapes.items():
            n = o * c * k * k
            out[name] = theta[:, i:i + n].reshape(b, o, c, k, k, nh, nw)
            i += n
        return out

    def forward(self, x: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
        y = x
        for name, w in self.weights(phi).items():
            groups = w.shape[1] if name == "dw" else 1
            y = dpw_conv(y, w, groups=groups)
            y = self.bn[name](y) if self.folded_bias is None else y + self.folded_bias[name][:, None, None]
            if len(self.shapes) == 1:
                y = F.relu(y) if self.act else y
            elif name != "pw2":
                y = F.relu6(y)
        return y + x if self.residual else y

    @torch.no_grad()
    def fold_batchnorm(self) -> None:
        """Fold every BatchNorm (in eval mode: its running statistics) into the weight mapper.
        BN(conv(x; W phi + c)) = conv(x; s W phi + s c) + (beta - s mu), s = gamma / sqrt(var + eps),
        the scale applied to every generated weight of an output channel."""
        if self.folded_bias is not None:
            raise RuntimeError("this block's BatchNorm is already folded")
        rows, self.folded_bias = [], {}
        for name, (o, c, k) in self.shapes.items():
            bn = self.bn[name]
            s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            rows.append(s.repeat_interleave(c * k * k))  # generated weights are ordered (C_out, C_in, k, k)
            self.folded_bias[name] = bn.bias - s * bn.running_mean
        scale = torch.cat(rows)
        self.mapper.weight[: self.n_weights].mul_(scale[:, None, None, None])
        self.bn = nn.ModuleDict()


def divide_channels(c: int, g: int, sizes: list[int]) -> list[int]:
    """Eq. 5: split the context signal's c channels among the meta blocks, whose weight counts are
    `sizes`. The supplement that defines it (Sec. A) is not in our copy, so this is built from the
    three properties §3.2 states: every part is a multiple of g (= max g_wi, for the grouped
    mappers), every block gets a minimum (g channels), and the rest is shared in proportion to
    the blocks' weight counts (largest remainders). The parts sum to c."""
    n = len(sizes)
    if g < 1 or c % g or c < n * g or any(s < 1 for s in sizes):
        raise ValueError(f"cannot divide {c} channels into {n} parts that are multiples of {g} (need c divisible by g "
                         f"and c >= {n} g, and positive sizes; got sizes {sizes})")
    extra = c // g - n  # units of g left after each part's minimum
    ideal = [extra * s / sum(sizes) for s in sizes]
    units = [int(x) for x in ideal]
    for i in sorted(range(n), key=lambda i: units[i] - ideal[i])[: extra - sum(units)]:
        units[i] += 1
    return [(1 + u) * g for u in units]
