"""Dynamic patch-wise convolution (HyperSeg, Nirkin, Wolf, Hassner; CVPR 2021, §3.3, eq. 8, Fig. 3b).

The feature map X (B, C_in, H, W) is cut into an N_h x N_w grid of patches, and patch (i, j) of
sample b is convolved with its own weights theta[b, ..., i, j]: O_ij = X_ij * theta_ij. As the
paper says, the whole map is padded once and each patch then reads its neighbours' real pixels
at its borders (only the image border sees padding), so with the same weights in every patch
the layer is an ordinary 'same' convolution.

Where the grid does not divide the map, the official layers return zeros in the leftover rows
and columns (or fail); here the first H mod N_h patch rows are one pixel taller than the rest
(likewise for columns), so every pixel belongs to exactly one patch. The patches of one size
form at most four regular blocks. In each block a 1x1 layer is one matrix product per patch
(einsum); any other layer is cut into halo'd windows with `Tensor.unfold` and convolved in one
grouped convolution (groups = batch x patches x channel groups). On this CPU, at batch 1 and
an 8 x 16 grid, that costs 3-7x (1x1) and 3-6x (3x3 depth-wise) a static convolution of the
same FLOPs (measured by hand while writing it, 2026-12-04; no benchmark prints these ratios yet).
A depth-wise path of 9 shifted views times broadcast patch weights was tried and was slower.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def patch_sizes(n_pixels: int, n_patches: int) -> list[int]:
    """Sizes of the patches along one axis: the first n_pixels mod n_patches are one pixel larger."""
    if not 1 <= n_patches <= n_pixels:
        raise ValueError(f"cannot cut {n_pixels} pixels into {n_patches} patches (need 1 <= patches <= pixels)")
    q, r = divmod(n_pixels, n_patches)
    return [q + 1] * r + [q] * (n_patches - r)


def _blocks(n_pixels: int, n_patches: int) -> list[tuple[int, int, int, int]]:
    """(first patch, number of patches, first pixel, patch size) of each run of equal-size patches."""
    q, r = divmod(n_pixels, n_patches)
    runs = [(0, r, 0, q + 1), (r, n_patches - r, r * (q + 1), q)]
    return [b for b in runs if b[1] > 0]


def dpw_conv(x: torch.Tensor, weight: torch.Tensor, groups: int = 1, padding_mode: str = "zeros") -> torch.Tensor:
    """Eq. 8. x: (B, C_in, H, W); weight: (B, C_out, C_in / groups, K_h, K_w, N_h, N_w), odd kernels.
    Returns (B, C_out, H, W); the padding is K // 2 on each side, of `padding_mode` ('zeros' or 'reflect')."""
    b, c_in, h, w = x.shape
    if weight.dim() != 7 or weight.shape[0] != b or weight.shape[2] * groups != c_in or c_in % groups:
        raise ValueError(f"weights {tuple(weight.shape)} do not fit input {tuple(x.shape)} with groups={groups}: need "
                         f"(B, C_out, C_in / groups, K_h, K_w, N_h, N_w) with B = {b}, C_in / groups = {c_in // groups}")
    c_out, kh, kw, nh, nw = weight.shape[1], *weight.shape[3:]
    patch_sizes(h, nh), patch_sizes(w, nw)  # a clear error where the grid has more patches than pixels
    if kh % 2 == 0 or kw % 2 == 0 or c_out % groups:
        raise ValueError(f"need odd kernels and C_out divisible by groups; got {kh}x{kw}, C_out {c_out}, groups {groups}")
    ph, pw = kh // 2, kw // 2
    xp = F.pad(x, (pw, pw, ph, ph), mode="constant" if padding_mode == "zeros" else padding_mode) if ph or pw else x
    out = x.new_empty(b, c_out, h, w)
    for i0, ni, y0, sh in _blocks(h, nh):
        for j0, nj, x0, sw in _blocks(w, nw):
            wb = weight[..., i0:i0 + ni, j0:j0 + nj]
            if kh == kw == 1 and groups == 1:  # a matrix product per patch: no windows to cut
                xb = x[:, :, y0:y0 + ni * sh, x0:x0 + nj * sw].reshape(b, c_in, ni, sh, nj, sw)
                out[:, :, y0:y0 + ni * sh, x0:x0 + nj * sw] = torch.einsum(
                    "bcisjt,bocij->boisjt", xb, wb[:, :, :, 0, 0]).reshape(b, c_out, ni * sh, nj * sw)
                continue
            win = xp[:, :, y0:y0 + ni * sh + 2 * ph, x0:x0 + nj * sw + 2 * pw]
            win = win.unfold(2, sh + 2 * ph, sh).unfold(3, sw + 2 * pw, sw)  # (B, C_in, ni, nj, sh + 2ph, sw + 2pw)
            win = win.permute(0, 2, 3, 1, 4, 5).reshape(1, b * ni * nj * c_in, sh + 2 * ph, sw + 2 * pw)
            wt = wb.permute(0, 5, 6, 1, 2, 3, 4).reshape(b * ni * nj * c_out, -1, kh, kw)
            y = F.conv2d(win, wt, groups=b * ni * nj * groups).view(b, ni, nj, c_out, sh, sw)
            out[:, :, y0:y0 + ni * sh, x0:x0 + nj * sw] = y.permute(0, 3, 1, 4, 2, 5).reshape(b, c_out, ni * sh, nj * sw)
    return out
