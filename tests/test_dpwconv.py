"""HyperSeg's dynamic patch-wise convolution (lib/hyperscale/hyperseg/dpwconv.py)."""
import pytest
import torch
import torch.nn.functional as F

from hyperscale.hyperseg import dpw_conv, patch_sizes


def _same_everywhere(w, nh, nw, b):
    return w[None, ..., None, None].expand(b, *w.shape, nh, nw).contiguous()


@pytest.mark.parametrize("mode", ["zeros", "reflect"])
@pytest.mark.parametrize("size, grid", [((16, 24), (4, 3)), ((17, 23), (4, 5)), ((9, 7), (9, 7)), ((8, 8), (1, 1))])
@pytest.mark.parametrize("k, groups, c", [(1, 1, 6), (3, 1, 6), (3, 6, 6), (3, 2, 4), (5, 1, 3)])
def test_the_same_weights_in_every_patch_give_an_ordinary_conv(mode, size, grid, k, groups, c):
    g = torch.Generator().manual_seed(0)
    x, w = torch.randn(2, c, *size, generator=g), torch.randn(c, c // groups, k, k, generator=g)
    ref = F.conv2d(F.pad(x, (k // 2,) * 4, mode="constant" if mode == "zeros" else mode), w, groups=groups)
    got = dpw_conv(x, _same_everywhere(w, *grid, 2), groups=groups, padding_mode=mode)
    assert torch.allclose(got, ref, atol=1e-5)


@pytest.mark.parametrize("size, grid", [((12, 12), (3, 4)), ((13, 11), (3, 4))])
def test_each_patch_uses_its_own_weights_and_its_neighbours_pixels(size, grid):
    """Against a loop over patches, each convolving the padded map's window around it."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, *size, generator=g)
    w = torch.randn(2, 5, 3, 3, 3, *grid, generator=g)
    got = dpw_conv(x, w)
    xp = F.pad(x, (1, 1, 1, 1))
    y0 = 0
    for i, sh in enumerate(patch_sizes(size[0], grid[0])):
        x0 = 0
        for j, sw in enumerate(patch_sizes(size[1], grid[1])):
            for n in range(2):
                ref = F.conv2d(xp[n:n + 1, :, y0:y0 + sh + 2, x0:x0 + sw + 2], w[n, ..., i, j])
                assert torch.allclose(got[n:n + 1, :, y0:y0 + sh, x0:x0 + sw], ref, atol=1e-5), (i, j, n)
            x0 += sw
        y0 += sh


def test_a_patch_border_reads_the_neighbour_not_padding():
    x = torch.zeros(1, 1, 4, 4)
    x[..., :, 2:] = 1.0  # the right patch is ones, the left zeros
    right = torch.zeros(1, 1, 3, 3)
    right[..., 1, 2] = 1.0  # output = the pixel to the right
    w = right[None, ..., None, None].expand(1, 1, 1, 3, 3, 1, 2).contiguous()
    y = dpw_conv(x, w)
    assert y[0, 0, :, 1].eq(1).all()  # the left patch's last column sees the right patch's ones
    assert y[0, 0, :, 3].eq(0).all()  # the image border sees zero padding


def test_patch_sizes_cover_the_axis_and_bad_input_says_so():
    assert patch_sizes(10, 4) == [3, 3, 2, 2] and sum(patch_sizes(97, 8)) == 97
    with pytest.raises(ValueError, match="cannot cut 3 pixels into 4 patches"):
        patch_sizes(3, 4)
    with pytest.raises(ValueError, match="do not fit input"):
        dpw_conv(torch.randn(2, 4, 8, 8), torch.randn(2, 4, 3, 3, 3, 2, 2))
    with pytest.raises(ValueError, match="odd kernels"):
        dpw_conv(torch.randn(1, 4, 8, 8), torch.randn(1, 4, 4, 2, 2, 2, 2))
