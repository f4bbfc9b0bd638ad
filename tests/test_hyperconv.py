"""HyperConv's layers, networks and counts (lib/hyperscale/hyperconv)."""
import pytest
import torch
import torch.nn.functional as F

from hyperscale.hyperconv import HCUNet, HyperConv, HyperConvEmbed, VDN, per_sample_conv
from hyperscale.hyperconv.counting import conv_counts, count, hyperconv_counts
from hyperscale.hyperconv.layers import normalize_filters
from hyperscale.hyperconv.vdn import sigma2_map, vdn_loss


def test_per_sample_conv_equals_a_loop_over_samples():
    g = torch.Generator().manual_seed(0)
    x, w = torch.randn(3, 4, 9, 11, generator=g), torch.randn(3, 5, 4, 3, 3, generator=g)
    loop = torch.cat([F.conv2d(x[n:n + 1], w[n]) for n in range(3)])
    assert torch.allclose(per_sample_conv(x, w), loop, atol=1e-5)
    with pytest.raises(ValueError, match="do not fit"):
        per_sample_conv(x, w[:2])


def test_normalised_filters_have_l1_norm_one_half():
    f = normalize_filters(torch.randn(2, 5, 4, 3, 3) * 7)
    assert torch.allclose(f.abs().sum((-2, -1)), torch.full((2, 5, 4), 0.5))


@pytest.mark.parametrize("size", [(2, 3), (17, 23), (32, 32)])
def test_hyperconv_keeps_size_and_treats_each_sample_alone(size):
    torch.manual_seed(0)
    hc = HyperConv(4, 6, 5, n_hid=16, bias=True, gain=True)
    xf, x = torch.randn(3, 6, 7, 5), torch.randn(3, 4, *size)
    y = hc(xf, x)
    assert y.shape == (3, 5, *size)
    # sample 1 alone gives the same output as inside the batch: filters are per sample
    assert torch.allclose(hc(xf[1:2], x[1:2]), y[1:2], atol=1e-5)
    # and its filters are the normalised MLP output plus the constant filter
    z = F.adaptive_max_pool2d(xf, 1).flatten(1)
    assert torch.allclose((hc.filters(z) - hc.const_f).abs().sum((-2, -1)), torch.full((3, 5, 4), 0.5), atol=1e-5)


def test_hyperconv_says_which_input_is_wrong():
    hc = HyperConv(4, 6, 5, n_hid=8)
    with pytest.raises(ValueError, match="filter input"):
        hc(torch.randn(2, 7, 4, 4), torch.randn(2, 4, 8, 8))


def test_hyperconv_embed_is_a_drop_in_same_convolution():
    torch.manual_seed(0)
    layer = HyperConvEmbed(3, 7, n_hid=8)
    x = torch.randn(2, 3, 24, 40)
    assert layer(x).shape == (2, 7, 24, 40)
    assert torch.allclose(layer(x[1:]), layer(x)[1:], atol=1e-5)


@pytest.mark.parametrize("hc", [True, False])
@pytest.mark.parametrize("size", [(32, 32), (32, 48), (64, 32)])
def test_hc_unet_maps_packed_raw_to_rgb_at_twice_the_size(hc, size):
    torch.manual_seed(0)
    net = HCUNet(8, 8, 16, hc=hc)
    y = net(torch.rand(2, 4, *size))
    assert y.shape == (2, 3, 2 * size[0], 2 * size[1])
    assert 0 <= y.min() and y.max() <= 1
    assert hasattr(net, "embed") == hc


@pytest.mark.parametrize("size", [(40, 48), (16, 16)])
def test_hc_unet_rejects_sizes_it_cannot_pool(size):
    with pytest.raises(ValueError, match="at least 32 px and multiples of 16"):
        HCUNet(8, 8, 16)(torch.rand(1, 4, *size))


@pytest.mark.parametrize("x, message", [
    (torch.rand(1, 3, 32, 32), r"expected images shaped \(N, 4, H, W\)"),
    (torch.rand(1, 4, 32, 32).double(), "expected float32 images"),
    (torch.rand(0, 4, 32, 32), "empty batch"),
])
def test_hc_unet_names_bad_images(x, message):
    with pytest.raises(ValueError, match=message):
        HCUNet(8, 8, 16)(x)


def test_counts_of_one_block_follow_eqs_1_and_2():
    c_in, c_hyper, c_out, k, n, h, w = 6, 10, 4, 3, 12, 9, 13
    got = count(lambda: HyperConv(c_in, c_hyper, c_out, k, n), ((c_hyper, 5, 5), (c_in, h, w)))
    assert got == hyperconv_counts(c_in, c_hyper, c_out, k, n, h, w)
    conv = count(lambda: torch.nn.Conv2d(c_in, c_out, k, padding=1, bias=False), (c_in, h, w))
    assert conv == {**conv_counts(c_in, c_out, k, h, w), "mlp_flops": 0}
    assert conv["flops"] / conv["params"] == 2 * h * w  # eq. 2
    # eq. 1: the MLP's share of FLOPs vanishes as the image grows, its share of parameters does not
    small, large = (hyperconv_counts(c_in, c_hyper, c_out, k, n, s, s) for s in (8, 512))
    assert large["mlp_flops"] / large["flops"] < small["mlp_flops"] / small["flops"] / 100
    assert large["params"] == small["params"]


def test_vdn_matches_a_hand_count_of_the_reference_architecture():
    conv, up = (lambda a, b: 9 * a * b + b), (lambda a, b: 4 * a * b + b)  # 3x3 conv, 2x2 transposed conv
    d_net = (conv(3, 64) + conv(64, 64) + conv(64, 128) + conv(128, 128) + conv(128, 256) + conv(256, 256)
             + conv(256, 512) + conv(512, 512) + up(512, 256) + conv(512, 256) + conv(256, 256) + up(256, 128)
             + conv(256, 128) + conv(128, 128) + up(128, 64) + conv(128, 64) + conv(64, 64) + conv(64, 6))
    s_net = conv(3, 64) + 3 * conv(64, 64) + conv(64, 6)
    assert count(VDN, (3, 64, 64))["params"] == d_net + s_net == 7_816_780  # VDN's paper: 7.81 M; Table 2: 7.8 M


@pytest.mark.parametrize("hc", [False, True])
def test_vdn_outputs_and_loss(hc):
    torch.manual_seed(0)
    net = VDN(div=8, hc=hc, n_hid=8)
    clean = torch.rand(2, 3, 16, 24)
    noisy = clean + 0.05 * torch.randn_like(clean)
    phi_z, phi_sigma = net(noisy)
    assert phi_z.shape == phi_sigma.shape == (2, 6, 16, 24)
    assert VDN.denoise(noisy, phi_z).shape == clean.shape
    loss = vdn_loss(phi_z, phi_sigma, noisy, clean, sigma2_map(noisy, clean))
    loss.backward()
    assert torch.isfinite(loss)
    with pytest.raises(ValueError, match="multiples of 8"):
        net(torch.rand(1, 3, 20, 24))


def test_sigma2_map_of_a_constant_error_is_its_square():
    clean = torch.rand(1, 3, 12, 12)
    assert torch.allclose(sigma2_map(clean + 0.1, clean), torch.full((1, 3, 12, 12), 0.01), atol=1e-6)
