import math

import pytest
import torch

from hyperscale.core.models import MODELS, create_model, load_model, save_model
from hyperscale.sshn import ARCHS, SSHN, UNet, conv_layout, materialize, scaled_size, unet_apply
from hyperscale.sshn.hypernet import HyperNet
from hyperscale.sshn.tasks import prior_of

TINY = dict(in_channels=1, num_classes=3, width=4, n_stages=5)


@pytest.mark.parametrize("phi", [0.0, 0.07, 0.5, 1.0])
@pytest.mark.parametrize("size", [(32, 32), (33, 47), (17, 9)])
def test_output_shape_at_any_phi_and_odd_size(phi, size):
    x = torch.randn(2, 1, *size)
    assert UNet(**TINY, phi=phi)(x).shape == (2, 3, *size)
    assert SSHN(**TINY)(x, phi).shape == (2, 3, *size)


def test_scaled_size_rounds_half_up_and_never_reaches_zero():
    assert [scaled_size(64, p) for p in (0.0, 0.01, 0.25, 0.5, 1.0)] == [1, 1, 16, 32, 64]
    assert scaled_size(5, 0.5) == 3  # 2.5 rounds up (Python's round() would give 2)
    assert scaled_size(7, 0.5) == 4


def test_encoder_sizes_follow_phi(monkeypatch):
    """Each conv sees the resolution of its stage: at phi = 0.5, 64 -> 32 -> 16 -> 8 -> 4 and back."""
    seen = []
    conv2d = torch.nn.functional.conv2d
    monkeypatch.setattr(torch.nn.functional, "conv2d", lambda x, w, b, **kw: seen.append(x.shape[-1]) or conv2d(x, w, b, **kw))
    UNet(**TINY, phi=0.5)(torch.randn(1, 1, 64, 64))
    assert seen == [64, 64, 32, 32, 16, 16, 8, 8, 4, 4, 8, 8, 16, 16, 32, 32, 64, 64, 64]


def test_hypernetwork_predicts_every_primary_parameter():
    sshn, unet = SSHN(**TINY), UNet(**TINY)
    theta = sshn.theta(0.3)
    assert sum(w.numel() + b.numel() for w, b in theta.values()) == sum(p.numel() for p in unet.parameters())
    for name, conv in unet.convs.items():
        assert theta[name][0].shape == conv.weight.shape and theta[name][1].shape == conv.bias.shape
    # one head per tensor (App. A), each fed by the 100-unit layer
    assert len(sshn.hyper.heads) == 2 * len(conv_layout(1, 3, 4))
    assert all(h.in_features == 100 for h in sshn.hyper.heads.values())


def test_hypernetwork_output_depends_on_phi():
    sshn = SSHN(**TINY)
    (w1, _), (w2, _) = sshn.theta(0.1)["enc0a"], sshn.theta(0.4)["enc0a"]
    assert not torch.allclose(w1, w2)


def test_materialized_net_equals_hypernetwork_path():
    sshn = SSHN(**TINY).eval()
    x = torch.randn(3, 1, 29, 35)
    for phi in (0.0, 0.23, 0.5):
        plain = materialize(sshn, phi)
        assert isinstance(plain, UNet) and plain.phi == phi
        with torch.no_grad():
            torch.testing.assert_close(plain(x), sshn(x, phi), rtol=1e-5, atol=1e-6)


def test_paper_init_is_kaiming_fan_out_with_zero_bias():
    hyper = HyperNet(conv_layout(1, 3, 8), init="paper")
    head = hyper.heads["enc1a_weight"]  # predicts 8 x 8 x 3 x 3 = 576 values
    assert head.weight.std().item() == pytest.approx(math.sqrt(2 / 576), rel=0.05)
    assert torch.all(head.bias == 0) and torch.all(hyper.trunk[0].bias == 0)


def test_conv_default_init_starts_at_the_default_conv_scale():
    hyper = HyperNet(conv_layout(1, 3, 8), init="conv_default")
    w, _ = hyper([0.3])["enc1a"]
    bound = 1 / math.sqrt(8 * 9)  # nn.Conv2d's default init bound for fan_in = 72
    assert w.abs().max().item() < 1.2 * bound
    assert w.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.15)


def test_residual_init_starts_at_an_independent_conv_init_and_keeps_alpha(tmp_path):
    """theta(phi) = theta_0 + alpha h(phi): at init theta_0 dominates (the Fixed U-Net's scale), alpha
    brings a head's largest one-step move, lr (|z|_1 + 1), back to about lr, and survives save/load."""
    torch.manual_seed(0)
    model = SSHN(**{**TINY, "width": 8}, init="residual")
    hyper = model.hyper
    w, b = hyper([0.3])["enc1a"]
    bound = 1 / math.sqrt(8 * 9)  # nn.Conv2d's default init bound for fan_in = 72
    base = hyper.base["enc1a_weight"]
    assert base.abs().max().item() < bound and base.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.15)
    assert (w - base).std().item() < 0.3 * base.std().item()  # the phi-dependent part starts small
    z = [hyper._z([p]).abs().sum().item() + 1 for p in torch.linspace(0, 1, 11).tolist()]
    assert hyper.alpha.item() == pytest.approx(1 / (sum(z) / len(z)), rel=1e-5)
    assert not hyper.alpha.requires_grad and "hyper.alpha" in model.state_dict()
    save_model(model, tmp_path / "m.pt")
    back = load_model(tmp_path / "m.pt")
    assert back.hyper.alpha.item() == hyper.alpha.item()
    x = torch.randn(1, 1, 20, 20)
    with torch.no_grad():
        torch.testing.assert_close(back(x, 0.0), model(x, 0.0))
        torch.testing.assert_close(back(x, 1.0), model(x, 1.0))
        assert not torch.equal(model(x, 0.0), model(x, 1.0))  # theta still depends on phi


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "half", None])
def test_bad_phi_is_rejected_with_a_clear_message(bad):
    with pytest.raises(ValueError, match="phi"):
        SSHN(**TINY)(torch.randn(1, 1, 16, 16), bad)
    with pytest.raises(ValueError, match="phi"):
        UNet(**TINY, phi=bad)


def test_wrong_channel_count_is_rejected_before_torch_fails():
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        UNet(**TINY)(torch.randn(2, 3, 16, 16))
    with pytest.raises(ValueError, match="batch dimension"):
        SSHN(**TINY)(torch.randn(1, 16, 16), 0.5)


@pytest.mark.parametrize("bad, message", [
    (lambda: torch.randn(1, 1, 16, 16, dtype=torch.float64), "float32 images; got torch.float64. Convert with x.float()"),
    (lambda: torch.randn(1, 1, 16, 16).numpy(), "a torch.Tensor .* got ndarray. Convert numpy arrays"),
    (lambda: torch.randn(1, 1, 0, 0), "images need at least 1x1 pixels"),
])
def test_bad_input_fails_in_one_line_before_torch(bad, message):
    for model, args in ((UNet(**TINY), ()), (SSHN(**TINY), (0.5,))):
        with pytest.raises(ValueError, match=message):
            model(bad(), *args)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="unknown model"):
        create_model("resnet")
    with pytest.raises(ValueError, match="init"):
        SSHN(**TINY, init="xavier")
    with pytest.raises(ValueError, match="low <= high"):
        SSHN(**TINY, phi_range=(0.5, 0.1))
    for method in ("fixed", "sshn", "stochastic", "film"):
        with pytest.raises(ValueError, match="every width must be >= 1"):
            create_model(method, **{**TINY, "width": 0})


def test_training_prior_of_each_model():
    g = torch.Generator().manual_seed(0)
    before = g.get_state()
    assert prior_of(UNet(**TINY, phi=0.3)).sample(g) == 0.3
    assert torch.equal(g.get_state(), before)  # a Fixed network draws nothing: its runs' minibatches stay put
    draws = [prior_of(SSHN(**TINY, phi_range=(0.2, 0.4))).sample(g) for _ in range(200)]
    assert 0.2 <= min(draws) and max(draws) <= 0.4 and max(draws) - min(draws) > 0.15
    point = prior_of(SSHN(**TINY, phi_range=(0.5, 0.5)))
    assert point.sample(g) == 0.5 and not torch.equal(g.get_state(), before)  # a U(a, a) prior still draws


CLASSIFIER_TINY = dict(num_classes=3, in_chans=1, input_size=16, width_mult=0.0625, design="adaptor")
# method -> (config, input shape, extra forward args) for the models that are not SSHN-style or classifiers
OTHER_TINY = {"hc_unet": (dict(n_fwd=4, n_embed=4, n_hid=8), (2, 4, 32, 32), ()),
              "vdn": (dict(div=16, hc=True, n_hid=4), (2, 3, 16, 16), ()),
              "hyperseg": (dict(num_classes=3, backbone="b0", backbone_width=0.25, level_channels=(8, 8, 8, 8, 8),
                                weight_groups=(4, 4, 4, 4, 4), context_levels=1, levels=5, min_patch=8), (2, 3, 64, 64), ()),
              "seg_unet": (dict(num_classes=3, width=2, depth=2), (2, 3, 20, 12), ())}


@pytest.mark.parametrize("method", sorted(MODELS))
def test_every_registered_model_runs_saves_and_reloads(method, tmp_path):
    if method in ("fixed", "stochastic", "film", "sshn"):
        config, shape, args = TINY, (2, 1, 20, 20), (0.4,)
    else:
        config, shape, args = OTHER_TINY.get(method, (CLASSIFIER_TINY, (2, 1, 16, 16), ()))
    model = create_model(method, **config).eval()
    x = torch.randn(*shape)
    with torch.no_grad():
        y = model(x, *args)
    assert all(torch.isfinite(t).all() for t in (y if isinstance(y, tuple) else (y,)))
    save_model(model, tmp_path / "m.pt")
    again = load_model(tmp_path / "m.pt")
    with torch.no_grad():
        torch.testing.assert_close(again(x, *args), y)


@pytest.mark.parametrize("phis", [(0.0, 0.0, 0.0, 0.0), (0.1, 0.3, 0.5, 1.0), (0.5, 0.25, 0.07, 0.5)])
def test_separate_factors_shape_and_sizes(phis, monkeypatch):
    """App. C.2: step i shrinks encoder stage i by its own phi_i; the output keeps the input size."""
    net = SSHN(**TINY, separate=True)
    x = torch.randn(2, 1, 33, 47)
    assert net(x, phis).shape == (2, 3, 33, 47)
    seen = []
    conv2d = torch.nn.functional.conv2d
    monkeypatch.setattr(torch.nn.functional, "conv2d", lambda x, w, b, **kw: seen.append(x.shape[-1]) or conv2d(x, w, b, **kw))
    net(torch.randn(1, 1, 64, 64), (0.5, 0.25, 1.0, 0.5))
    assert seen[:10:2] == [64, 32, 8, 8, 4]


def test_separate_factors_equal_phis_match_a_single_factor_forward():
    """Equal factors resize exactly like the single phi, and the hypernetwork sees each (phi_i, 1 - phi_i)."""
    net = SSHN(**TINY, separate=True)
    theta = net.theta((0.3,) * 4)
    x = torch.randn(1, 1, 32, 32)
    assert torch.equal(net(x, (0.3,) * 4), unet_apply(theta, x, 0.3, 5))
    assert net.hyper.trunk[0].in_features == 8
    assert len(prior_of(net).sample(torch.Generator().manual_seed(0))) == 4


def test_separate_factors_reject_the_wrong_kind_of_phi():
    with pytest.raises(ValueError, match="one phi per resizing step"):
        SSHN(**TINY, separate=True)(torch.randn(1, 1, 16, 16), 0.3)
    with pytest.raises(ValueError, match="a single phi"):
        SSHN(**TINY)(torch.randn(1, 1, 16, 16), (0.3, 0.3, 0.3, 0.3))
    with pytest.raises(ValueError, match="4 for n_stages=5"):
        SSHN(**TINY, separate=True)(torch.randn(1, 1, 16, 16), (0.3, 0.3))


def test_single_factor_sshn_config_and_weights_unchanged_by_the_separate_option():
    torch.manual_seed(0)
    a = SSHN(**TINY)
    torch.manual_seed(0)
    b = SSHN(**TINY, separate=False)
    assert "separate" not in a.config
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_per_stage_widths_follow_hyper_unet_natural_image_unet():
    """Hyper-UNet §4.1 (Pets/CUB): encoder 16-256 channels, decoder 32-4; every tensor's shape chains."""
    layout = conv_layout(3, 2, [16, 32, 64, 128, 256], 5, dec_widths=[32, 16, 8, 4])
    assert layout["enc4b"] == (256, 256, 3) and layout["dec3a"] == (32, 256 + 128, 3)
    assert layout["dec0a"] == (4, 8 + 16, 3) and layout["head"] == (2, 4, 1)
    net = UNet(3, 2, [16, 32, 64, 128, 256], 5, phi=0.4, dec_widths=[32, 16, 8, 4])
    assert net(torch.randn(1, 3, 37, 29)).shape == (1, 2, 37, 29)
    assert conv_layout(1, 3, 8, 5) == conv_layout(1, 3, [8] * 5, 5, dec_widths=[8] * 4)
    with pytest.raises(ValueError, match="5 encoder and 4 decoder widths"):
        conv_layout(1, 3, [8, 8], 5)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("phi", [0.0, 0.5, 1.0])
def test_architecture_variants_shapes_and_hypernetwork_cover_every_conv(arch, phi):
    """App. C.1: each variant resizes by phi, and h predicts all of its conv parameters."""
    x = torch.randn(2, 1, 33, 21)
    fixed = UNet(**TINY, arch=arch, phi=phi)
    sshn = SSHN(**TINY, arch=arch)
    assert fixed(x).shape == sshn(x, phi).shape == (2, 3, 33, 21)
    theta = sshn.theta(phi)
    assert {n: tuple(w.shape) for n, (w, _) in theta.items()} == \
           {n: tuple(c.weight.shape) for n, c in fixed.convs.items()}
    torch.testing.assert_close(materialize(sshn, phi)(x), sshn(x, phi))


def test_architecture_variants_add_their_parts():
    names = {arch: set(conv_layout(1, 3, 8, arch=arch)) for arch in ARCHS}
    unet = names["unet"]
    assert names["resunet"] - unet == {"enc0s", "dec0s", "dec1s", "dec2s", "dec3s"}  # where channels change
    assert {n for n in names["seunet"] - unet} == {f"{s}{e}" for s in ("enc0", "enc1", "enc2", "enc3", "enc4", "dec0",
                                                                       "dec1", "dec2", "dec3") for e in ("e1", "e2")}
    assert {n for n in names["pspnet"] - unet} == {f"dec{s}p{b}" for s in range(4) for b in (1, 2, 4)}
    assert {n for n in names["fpn"] if n.startswith(("lat", "fpn"))} == {f"{k}{s}" for k in ("lat", "fpn") for s in range(5)}
    assert not any(n.startswith("dec") for n in names["fpn"])


def test_residual_unet_with_zero_second_convs_is_identity_plus_projection():
    """With every second conv zeroed, a residual stage returns act(input or its 1x1 projection)."""
    net = UNet(**TINY, arch="resunet", phi=0.5)
    with torch.no_grad():
        for name, conv in net.convs.items():
            if name.endswith("b"):
                conv.weight.zero_()
                conv.bias.zero_()
    feats = {}
    x = torch.randn(1, 1, 16, 16)
    unet_apply(net.theta(), x, 0.5, 5, arch="resunet", features=feats)
    w, b = net.theta()["enc0s"]
    torch.testing.assert_close(feats["enc0"], torch.nn.functional.leaky_relu(torch.nn.functional.conv2d(x, w, b), 0.01))
    resized = torch.nn.functional.interpolate(feats["enc0"], size=(8, 8), mode="bilinear", align_corners=False)
    torch.testing.assert_close(feats["enc1"], torch.nn.functional.leaky_relu(resized, 0.01))


def test_features_are_every_stage_output_at_its_resolution():
    feats = {}
    net = UNet(**TINY, phi=0.5)
    net(torch.randn(1, 1, 64, 64))
    unet_apply(net.theta(), torch.randn(1, 1, 64, 64), 0.5, 5, features=feats)
    assert {k: v.shape[-1] for k, v in feats.items()} == {"enc0": 64, "enc1": 32, "enc2": 16, "enc3": 8, "enc4": 4,
                                                          "dec3": 8, "dec2": 16, "dec1": 32, "dec0": 64}


def test_unknown_architecture_is_rejected():
    with pytest.raises(ValueError, match="unknown primary-network architecture 'vnet'"):
        UNet(**TINY, arch="vnet")
    with pytest.raises(ValueError, match="one width for every stage"):
        conv_layout(1, 3, [4, 8, 16, 32, 64], arch="fpn")
