"""The official code's meta block, beside ours (HyperSeg §3.2-3.3, Fig. 3).

The paper composes a meta block of three dynamic patch-wise convolutions (pw1, dw, pw2; Fig. 3a:
"each purple layer represents a dynamic patch-wise convolution"), each padding its whole input
and reading its neighbours' pixels at a patch's border (§3.3). `MetaBlock` does that: at a
patch's edge the depth-wise layer reads its neighbour's expanded features, expanded with the
neighbour's pw1 weights, and the image border is zero-padded. Every trained run uses it.

The official code's block (`HyperPatchInvertedResidual`) instead reflect-pads the input once,
cuts it into each patch's halo'd window, and runs all three layers on that window with the
patch's own weights: the halo is expanded with the patch's own pw1, and BatchNorm's training
statistics include the halos. It needs a grid that divides the map, as the official code does.
With one set of weights for every patch the two blocks agree everywhere but the image border;
with per-patch weights they differ at every pixel next to a patch border (tests/test_hyperseg.py
checks this block against a loop that applies each patch's weights to its own window).

A separate module so that the trained runs' code (hyperseg/train.py's CODE, which their
checkpoints' keys hash) is unchanged by it.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .meta import MetaBlock


class OfficialMetaBlock(MetaBlock):
    """MetaBlock with the official block's halo: forward(x (B, C_in, H, W), phi (B, C_phi, N_h, N_w))."""

    def _norm(self, name: str, y: torch.Tensor) -> torch.Tensor:
        """BatchNorm (or its folded bias) over channel dim 1 of a tensor of any rank >= 3."""
        s = y.shape
        y = y.reshape(s[0], s[1], -1, s[-1])
        y = self.bn[name](y) if self.folded_bias is None else y + self.folded_bias[name][:, None, None]
        return y.reshape(s)

    def forward(self, x: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
        if len(self.shapes) == 1:  # pw1 alone has no halo: the two blocks are the same
            return super().forward(x, phi)
        w = self.weights(phi)
        b, _, h, wd = x.shape
        nh, nw = phi.shape[-2:]
        if h % nh or wd % nw or h < 2 * nh or wd < 2 * nw:
            raise ValueError(f"the official meta block needs the {nh} x {nw} patch grid to divide the {h} x {wd} map "
                             f"into patches of at least 2 x 2 pixels; MetaBlock takes any grid")
        sh, sw = h // nh, wd // nw
        win = F.pad(x, (1, 1, 1, 1), mode="reflect").unfold(2, sh + 2, sh).unfold(3, sw + 2, sw)  # (B, C, nh, nw, sh+2, sw+2)
        y = F.relu6(self._norm("pw1", torch.einsum("bcijst,bocij->boijst", win, w["pw1"][:, :, :, 0, 0])))
        c = y.shape[1]
        y = F.conv2d(y.permute(0, 2, 3, 1, 4, 5).reshape(1, -1, sh + 2, sw + 2),  # depth-wise, valid, per patch
                     w["dw"].permute(0, 5, 6, 1, 2, 3, 4).reshape(-1, 1, 3, 3), groups=b * nh * nw * c)
        y = F.relu6(self._norm("dw", y.view(b, nh, nw, c, sh, sw).permute(0, 3, 1, 2, 4, 5)))
        y = self._norm("pw2", torch.einsum("bcijst,bocij->boijst", y, w["pw2"][:, :, :, 0, 0]))
        y = y.permute(0, 1, 2, 4, 3, 5).reshape(b, -1, h, wd)
        return y + x if self.residual else y
