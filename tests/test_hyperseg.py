"""HyperSeg's dynamic patch-wise convolution, meta block, context head and backbones (lib/hyperscale/hyperseg/)."""
import pytest
import torch
import torch.nn.functional as F

from hyperscale.hyperseg import (ContextHead, EfficientNet, MetaBlock, ResNet18, divide_channels, dpw_conv, patch_sizes,
                                 positional_encoding)
from hyperscale.hyperseg.counting import count
from hyperscale.hyperseg.model import TEMPLATES, hyperseg
from hyperscale.hyperseg.official_meta import OfficialMetaBlock
from hyperscale.hyperseg.unet import UNet


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


def _trained_looking(block):
    g = torch.Generator().manual_seed(3)
    for bn in block.bn.values():  # BatchNorm statistics and affine parameters away from their defaults
        bn.running_mean.copy_(torch.randn(bn.num_features, generator=g) * 0.3)
        bn.running_var.copy_(torch.rand(bn.num_features, generator=g) + 0.5)
        bn.weight.data.copy_(torch.rand(bn.num_features, generator=g) + 0.5)
        bn.bias.data.copy_(torch.randn(bn.num_features, generator=g) * 0.1)
    return block.eval()


@pytest.mark.parametrize("c_in, c_out, only_pw1, size", [(4, 4, False, (12, 12)), (4, 6, False, (13, 10)),
                                                         (6, 3, True, (8, 9)), (5, 3, True, (8, 9))])
def test_meta_block_shapes_counts_and_exact_batchnorm_folding(c_in, c_out, only_pw1, size):
    torch.manual_seed(0)
    block = _trained_looking(MetaBlock(c_in, c_out, c_phi=8, expansion=2, g_w=2, only_pw1=only_pw1))
    n_weights = sum(o * i * k * k for o, i, k in block.shapes.values())
    assert block.mapper.weight.numel() == -(-n_weights // 2) * 2 * 8 // 2  # eq. 6: |theta^m| C_phi / g_w
    assert block.mapper.bias is None
    x, phi = torch.randn(2, c_in, *size), torch.randn(2, 8, 3, 4)
    with torch.no_grad():
        y = block(x, phi)
        block.fold_batchnorm()
        folded = block(x, phi)
    assert y.shape == (2, c_out, *size)
    assert torch.allclose(folded, y, atol=1e-5)
    with pytest.raises(RuntimeError, match="already folded"):
        block.fold_batchnorm()


def _official_loop(block, x, phi):
    """The official block's semantics one patch at a time: the map reflect-padded once, and each
    patch's pw1, dw and pw2 (eval-mode BatchNorm, ReLU6) applied to its own halo'd window."""
    w = block.weights(phi)
    b, _, h, wd = x.shape
    nh, nw = phi.shape[-2:]
    sh, sw = h // nh, wd // nw
    xp = F.pad(x, (1, 1, 1, 1), mode="reflect")
    out = torch.empty(b, block.c_out, h, wd)
    for n in range(b):
        for i in range(nh):
            for j in range(nw):
                y = xp[n:n + 1, :, i * sh:i * sh + sh + 2, j * sw:j * sw + sw + 2]
                for name in ("pw1", "dw", "pw2"):
                    k = w[name][n, ..., i, j]
                    y = block.bn[name](F.conv2d(y, k, groups=k.shape[0] if name == "dw" else 1))
                    y = F.relu6(y) if name != "pw2" else y
                out[n, :, i * sh:(i + 1) * sh, j * sw:(j + 1) * sw] = y[0]
    return out + x if block.residual else out


@pytest.mark.parametrize("c_in, c_out", [(4, 4), (3, 5)])
def test_the_official_meta_block_runs_each_patch_on_its_own_halo(c_in, c_out):
    """The official block equals the loop reference; ours (three patch-wise layers, the paper's Fig. 3a)
    differs from it at exactly the pixels next to a patch border: 896 of 2048 on a 32 x 64 map cut
    4 x 8."""
    torch.manual_seed(0)
    own = _trained_looking(OfficialMetaBlock(c_in, c_out, c_phi=8, expansion=2))
    ours = _trained_looking(MetaBlock(c_in, c_out, c_phi=8, expansion=2))
    ours.load_state_dict(own.state_dict())
    x, phi = torch.randn(2, c_in, 32, 64), torch.randn(2, 8, 4, 8)
    with torch.no_grad():
        ref, y_own, y_ours = _official_loop(own, x, phi), own(x, phi), ours(x, phi)
        own.fold_batchnorm()
        folded = own(x, phi)
    assert torch.allclose(y_own, ref, atol=1e-5) and torch.allclose(folded, ref, atol=1e-5)
    edge = torch.ones(4, 8, 8, 8, dtype=torch.bool)
    edge[:, :, 1:-1, 1:-1] = False  # (patch row, patch column, row in patch, column in patch)
    edge = edge.permute(0, 2, 1, 3).reshape(32, 64)
    differs = (y_ours - ref).abs().amax((0, 1)) > 1e-5
    assert int(edge.sum()) == 896 and torch.equal(differs, edge)


def test_the_two_meta_blocks_agree_inside_the_image_with_the_same_weights_in_every_patch():
    """With one set of weights for every patch only the image border differs (reflect vs zero padding)."""
    torch.manual_seed(1)
    own = _trained_looking(OfficialMetaBlock(4, 4, c_phi=8, expansion=2))
    ours = _trained_looking(MetaBlock(4, 4, c_phi=8, expansion=2))
    ours.load_state_dict(own.state_dict())
    x, phi = torch.randn(1, 4, 16, 24), torch.randn(1, 8, 1, 1).expand(1, 8, 4, 6)
    with torch.no_grad():
        d = (own(x, phi) - ours(x, phi)).abs().amax((0, 1))
    assert d[1:-1, 1:-1].max() < 1e-5 and d[0].max() > 1e-3
    with pytest.raises(ValueError, match="needs the 4 x 6 patch grid to divide the 15 x 24 map"):
        own(torch.randn(1, 4, 15, 24), phi)


def test_meta_block_rejects_groups_that_do_not_divide_the_signal():
    with pytest.raises(ValueError, match="g_w = 3 must divide the signal's 8 channels"):
        MetaBlock(4, 4, c_phi=8, g_w=3)
    assert MetaBlock(3, 5, c_phi=8, g_w=4, only_pw1=True).mapper.out_channels == 16  # 15 weights, rounded up to 16


@pytest.mark.parametrize("c, g, sizes", [(1280, 8, [120, 4000, 30000, 90000]), (64, 4, [1, 1, 1]), (48, 16, [5, 500, 7])])
def test_divide_channels_has_the_properties_the_paper_states(c, g, sizes):
    parts = divide_channels(c, g, sizes)
    assert sum(parts) == c and all(p % g == 0 and p >= g for p in parts)
    extra = c - len(sizes) * g
    assert all(abs(p - g - extra * s / sum(sizes)) < g for p, s in zip(parts, sizes))  # proportional to within one unit
    assert [p for _, p in sorted(zip(sizes, parts))] == sorted(parts)  # more weights never get fewer channels
    with pytest.raises(ValueError, match="cannot divide"):
        divide_channels(10, 4, [1, 2])


def test_positional_encoding_spans_minus_one_to_one():
    p = positional_encoding(3, 5)
    assert p.shape == (2, 3, 5)
    assert torch.equal(p[0, :, 0], torch.tensor([-1.0, 0.0, 1.0])) and torch.equal(p[1, 0], torch.linspace(-1, 1, 5))
    assert torch.equal(positional_encoding(1, 2)[0], torch.zeros(1, 2))  # one row: no division by zero


@pytest.mark.parametrize("size, levels", [((8, 16), 2), ((7, 13), 2), ((4, 4), 3), ((9, 9), 3), ((5, 3), 1)])
def test_context_head_keeps_the_shape_and_sees_the_whole_image(size, levels):
    torch.manual_seed(0)
    head = ContextHead(16, levels)
    x = torch.randn(2, 16, *size)
    y = head(x)
    assert y.shape == x.shape
    x2 = x.clone()
    x2[..., -1, -1] += 10.0  # a change in one corner reaches the opposite corner through the pooled context
    assert not torch.allclose(head(x2)[..., 0, 0], y[..., 0, 0])


def test_context_head_counts_match_the_official_structure():
    """1x1 C -> C/2 at the top, a 2x2 C/2 -> C/2 down and a 1x1 C -> C/2 up per extra level, BatchNorm after each."""
    c = 1280
    assert sum(p.numel() for p in ContextHead(c, 2).parameters()) == c * c // 2 + (c // 2) ** 2 * 4 + c * c // 2 + 3 * c


def test_context_head_bad_settings_say_so():
    with pytest.raises(ValueError, match="even number of channels and levels >= 1; got 13, 2"):
        ContextHead(13, 2)
    with pytest.raises(ValueError, match="cannot go down 3 levels"):
        ContextHead(16, 4)(torch.randn(1, 16, 4, 4))


@pytest.mark.parametrize("build, published", [  # parameters of the ImageNet models (torchvision's model cards)
    (lambda: EfficientNet("b0", num_classes=1000), 5_288_548), (lambda: EfficientNet("b1", num_classes=1000), 7_794_184),
    (lambda: EfficientNet("b2", num_classes=1000), 9_109_994), (lambda: EfficientNet("b3", num_classes=1000), 12_233_232),
    (lambda: ResNet18(num_classes=1000), 11_689_512 + 512 * 1280 + 1280)])  # + HyperSeg's 1x1 layer to 1280
def test_backbones_have_the_published_parameter_counts(build, published):
    with torch.device("meta"):
        assert sum(p.numel() for p in build().parameters()) == published


@pytest.mark.parametrize("build, channels", [(lambda: EfficientNet("b1"), [16, 24, 40, 112, 320, 1280]),
                                             (lambda: EfficientNet("b3"), [24, 32, 48, 136, 384, 1536]),
                                             (lambda: ResNet18(), [64, 64, 128, 256, 512, 1280])])
@pytest.mark.parametrize("size", [(64, 96), (65, 97)])
def test_backbone_features_have_strides_2_to_32_and_their_stated_channels(build, channels, size):
    with torch.device("meta"):
        net = build()
        feats = net.features(torch.empty(1, 3, *size))
    assert [f.shape[1] for f in feats] == net.feature_channels == channels
    strides = [2, 4, 8, 16, 32, 32]  # F_1..F_5, then the head's map
    assert [tuple(f.shape[-2:]) for f in feats] == [(-(-size[0] // s), -(-size[1] // s)) for s in strides]


def test_backbones_say_what_is_wrong_in_one_line():
    with pytest.raises(ValueError, match="unknown EfficientNet variant 'b9'; known"):
        EfficientNet("b9")
    with pytest.raises(ValueError, match="no classifier"):
        ResNet18()(torch.zeros(1, 3, 32, 32))


def _warm_batchnorm(model, x):
    """Running statistics away from their defaults, as after training."""
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(x)
    return model.eval()


@pytest.mark.parametrize("template, overrides", [("M-cityscapes", {}), ("L-camvid", {}), ("S-cityscapes", {"dynamic": False}),
                                                 ("M-cityscapes", {"backbone": "resnet18"})])
def test_hyperseg_gives_logits_at_the_input_size_for_odd_sizes(template, overrides):
    torch.manual_seed(0)
    model = hyperseg(template, 5, **overrides).eval()
    with torch.no_grad():
        y = model(torch.randn(2, 3, 65, 97))
    assert y.shape == (2, 5, 65, 97) and torch.isfinite(y).all()


def test_hyperseg_batchnorm_folding_is_exact_for_the_whole_network():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 64, 96)
    model = _warm_batchnorm(hyperseg("M-cityscapes", 4), x)
    with torch.no_grad():
        y = model(x)
        model.fold_batchnorm()
        folded = model(x)
    assert torch.allclose(folded, y, atol=1e-4, rtol=1e-4)


def test_hyperseg_blocks_follow_the_patch_threshold_and_eq6():
    model = hyperseg("M-cityscapes", 19)  # patches of 2^l pixels at level l; pw1 alone below 8 x 8
    assert [len(b.shapes) == 1 for b in model.blocks] == [True, True, True, False, False]
    assert sum(model.signal) == 1280 and all(c % 32 == 0 for c in model.signal)
    for block, c_phi, g in zip(model.blocks, model.signal, TEMPLATES["M-cityscapes"]["weight_groups"]):
        assert block.mapper.weight.numel() == -(-block.n_weights // g) * g * c_phi // g  # eq. 6
    assert model.blocks[-1].shapes["pw2"][0] == 19  # the last block outputs the logits


class _OneDPWConv(torch.nn.Module):
    def __init__(self, c_in, c_out, k, grid):
        super().__init__()
        self.register_buffer("w", torch.randn(1, c_out, c_in, k, k, *grid))

    def forward(self, x):
        return dpw_conv(x, self.w)


@pytest.mark.parametrize("k", [1, 3])
def test_counts_see_the_dynamic_convolution_that_thop_misses(k):
    """A patch-wise convolution costs 2 C_out C_in k^2 H W FLOPs, whatever its grid; thop sees none of it."""
    c = count(lambda: _OneDPWConv(6, 5, k, (3, 4)), (13, 17), in_chans=6)
    assert c["flops"] == 2 * 5 * 6 * k * k * 13 * 17 and c["thop_macs"] == 0
    dyn = count(lambda: hyperseg("M-cityscapes", 19), (128, 256))
    static = count(lambda: hyperseg("M-cityscapes", 19, dynamic=False), (128, 256))
    assert dyn["dynamic_flops"] > 0 and static["dynamic_flops"] == 0
    with torch.device("meta"):
        assert dyn["params"] == sum(p.numel() for p in hyperseg("M-cityscapes", 19).parameters())


def test_hyperseg_bad_settings_say_so_in_one_line():
    with pytest.raises(ValueError, match="unknown HyperSeg template 'XL'"):
        hyperseg("XL", 19)
    with pytest.raises(ValueError, match="one g_wi and block width per level"):
        hyperseg("M-cityscapes", 19, levels=6)
    with pytest.raises(ValueError, match="at least 33 px"):
        hyperseg("M-cityscapes", 3)(torch.randn(1, 3, 32, 64))


@pytest.mark.parametrize("x, message", [
    (torch.rand(2, 1, 64, 64), r"expected images shaped \(N, 3, H, W\); got \(2, 1, 64, 64\)"),
    (torch.rand(3, 64, 64), r"Single images need a batch dimension"),
    (torch.rand(2, 3, 64, 64).double(), "expected float32 images; got torch.float64"),
    (torch.zeros(2, 3, 64, 64, dtype=torch.uint8), "expected float32 images; got torch.uint8"),
    (torch.rand(0, 3, 64, 64), r"empty batch"),
    (torch.rand(2, 3, 64, 64).numpy(), "Convert numpy arrays"),
])
def test_hyperseg_and_its_unet_name_bad_images(x, message):
    """Issue 28: HyperSeg and the trade-off U-Net lacked SSHN's channel, dtype and empty-batch checks."""
    for net in (hyperseg("S-camvid", 11, backbone_width=0.25), UNet(11, width=3, depth=4)):
        with pytest.raises(ValueError, match=message):
            net(x)


def test_dpw_conv_with_more_patches_than_pixels_says_so():
    with pytest.raises(ValueError, match="cannot cut 3 pixels into 4 patches"):
        dpw_conv(torch.randn(1, 4, 3, 8), torch.randn(1, 4, 4, 1, 1, 4, 2))  # once "step is 0" deep in unfold


@pytest.mark.parametrize("backbone", ["b1", "resnet18"])
def test_benchmark_folds_every_batchnorm_without_changing_the_function(backbone):
    from hyperscale.hyperseg.benchmark import fold_batchnorm, remove_batchnorm
    torch.manual_seed(0)
    x = torch.randn(2, 3, 64, 96)
    model = _warm_batchnorm(hyperseg("S-camvid", 4, backbone=backbone), x)
    folded = fold_batchnorm(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    with torch.no_grad():
        assert torch.allclose(folded(x), model(x), atol=1e-4, rtol=1e-4)
        removed = remove_batchnorm(model)
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in removed.modules())
        assert removed(x).shape == (2, 4, 64, 96)  # a different function, as the official FPS script measures


def test_benchmarks_report_one_row_per_layer_and_network():
    from hyperscale.hyperseg.benchmark import dpw_vs_static, fps
    d = dpw_vs_static(hyperseg("M-cityscapes", 19), (64, 128), repeats=1, warmup=0)
    assert list(d.layer) == ["pw1", "pw1", "pw1", "pw1", "dw (3x3 depth-wise)", "pw1", "dw (3x3 depth-wise)"]
    assert (d.dynamic_over_static > 0).all() and list(d.stride.unique()) == [32, 16, 8, 4, 2]
    f, rounds = fps({"a": lambda: hyperseg("S-camvid", 3), "b": lambda: hyperseg("S-camvid", 3, dynamic=False)},
                    (64, 64), repeats=2, warmup=0, official_batch=2, official_repeats=1)
    assert list(f.network) == ["a", "b"] and (f.fps_batch1_folded > 0).all() and (f.batches_per_s_official > 0).all()
    assert list(rounds.network) == ["a", "a", "b", "b"] and list(rounds["round"]) == [0, 1, 0, 1]
    assert f.fps_batch1_folded[0] == pytest.approx(1000 / rounds.ms_batch1_folded[:2].median())
