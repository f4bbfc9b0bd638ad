"""Shape Adaptor: the formulas of §3.2 against hand-computed values, the module, the networks."""
import math

import pytest
import torch

from hyperscale.core.flops import count_macs
from hyperscale.core.models import create_model
from hyperscale.shape_adaptor.classifiers import adaptor_positions
from hyperscale.shape_adaptor.adaptor import (EPS, ShapeAdaptor, alpha_bar_for_s, init_alpha_bar, memory_rho,
                                             n_adaptors, penalised_alpha, resize, s_of_alpha)


def test_eq3_number_of_adaptors():
    assert n_adaptors(32, 2, 0.5) == 4  # log2(16) exactly: no rounding up
    assert n_adaptors(32, 3, 0.5) == 4  # log2(10.7) = 3.4
    assert n_adaptors(224, 2, 0.5) == 7  # log2(112) = 6.8
    assert n_adaptors(224, 8, 0.5) == 5  # log2(28) = 4.8
    with pytest.raises(ValueError, match="eq. 3"):
        n_adaptors(32, 2, 1.5)


def test_eq5_initialisation_reaches_d_out():
    a = init_alpha_bar(32, 8, 4, 0.5, 1.0, 2)
    # by hand: s = (8/32)^(1/4) = 0.70711, alpha_bar = ln((0.70711 - 0.5) / (1 - 0.70711) + 1e-4)
    assert a == pytest.approx(math.log(0.20711 / 0.29289 + 1e-4), abs=1e-4)
    s = s_of_alpha(1 / (1 + math.exp(-a)), 0.5, 1.0)
    assert 32 * s ** 4 == pytest.approx(8, rel=1e-3)
    assert init_alpha_bar(32, 1, 4, 0.5, 1.0, 2) == pytest.approx(math.log(EPS))  # D_last > D_out: smallest shape
    with pytest.raises(ValueError, match="outside the search space"):
        init_alpha_bar(32, 40, 4, 0.5, 1.0, 2)


@pytest.mark.parametrize("alpha", [0.1, 0.5, 0.93])
@pytest.mark.parametrize("rho", [1.0, 0.8, 0.5])
def test_eq6_eq7_penalty_scales_s(alpha, rho):
    a_rho = penalised_alpha(alpha, rho, 0.5, 1.0)
    assert s_of_alpha(a_rho, 0.5, 1.0) == pytest.approx(s_of_alpha(alpha, 0.5, 1.0) * rho)


def test_eq8_rho_meets_the_limit():
    assert memory_rho(16, 32, 4) == pytest.approx(0.5 ** 0.25)
    assert 32 * memory_rho(16, 32, 4) ** 4 == pytest.approx(16)
    assert memory_rho(16, 8, 4) == 1.0 and memory_rho(None, 100, 4) == 1.0


@pytest.mark.parametrize("alpha_bar", [-9.0, -1.0, 0.0, 2.5, 9.0])
def test_s_stays_inside_the_search_space(alpha_bar):
    sa = ShapeAdaptor(torch.nn.MaxPool2d(2), torch.nn.Identity(), 0.5, 1.0, alpha_bar)
    assert 0.5 < sa.s() < 1.0
    assert sa.s() == pytest.approx(0.5 + 0.5 / (1 + math.exp(-alpha_bar)), abs=1e-6)


@pytest.mark.parametrize("size", [32, 23, 7])
def test_adaptor_output_size(size):
    sa = ShapeAdaptor(torch.nn.MaxPool2d(2), torch.nn.Identity(), 0.5, 1.0, alpha_bar_for_s(0.7, 0.5, 1.0))
    y = sa(torch.randn(2, 3, size, size))
    assert y.shape == (2, 3, round(0.7 * size), round(0.7 * size))


def test_grid_estimator_equals_plain_resize_and_passes_gradient_through_s():
    x = torch.randn(2, 3, 32, 32)
    a0 = alpha_bar_for_s(0.75, 0.5, 1.0)  # s * 32 = 24 exactly
    det = ShapeAdaptor(torch.nn.MaxPool2d(2), torch.nn.Identity(), 0.5, 1.0, a0, s_grad="detach")
    grid = ShapeAdaptor(torch.nn.MaxPool2d(2), torch.nn.Identity(), 0.5, 1.0, a0, s_grad="grid")
    yd, yg = det(x), grid(x)
    torch.testing.assert_close(yg, yd, atol=1e-5, rtol=1e-5)
    w = torch.randn_like(yd)
    (yd * w).sum().backward()
    (yg * w).sum().backward()
    assert det.alpha_bar.grad is not None and grid.alpha_bar.grad is not None
    assert not torch.isclose(det.alpha_bar.grad, grid.alpha_bar.grad)  # the grid adds d(loss)/ds


def test_resize_is_identity_at_same_size():
    x = torch.randn(1, 2, 9, 9)
    assert resize(x, 9) is x


def test_adaptor_positions_spread_and_skip_the_last_cell():
    assert adaptor_positions(13, 4) == [2, 4, 7, 9]
    assert adaptor_positions(13, 12) == list(range(12))
    with pytest.raises(ValueError, match="do not fit"):
        adaptor_positions(5, 5)


@pytest.mark.parametrize("net,human_final", [("vgg16", 2), ("resnet50", 4), ("mobilenetv2", 4)])
def test_designs_give_the_papers_shapes(net, human_final):
    cfg = dict(num_classes=10, in_chans=1, input_size=32, width_mult=0.0625)
    human = create_model(net, design="human", **cfg)
    assert human.feature_sizes()[-1] == human_final and human.adaptors == []
    sa = create_model(net, design="adaptor", **cfg)
    assert len(sa.adaptors) == 4  # eq. 3 at 32 -> 2
    assert sa.feature_sizes()[-1] == 8  # eq. 5: D_out = 8
    assert sa.final_size() == pytest.approx(8, rel=1e-3)
    auto = create_model(net, design="autosc", **cfg)
    assert len(auto.adaptors) == 4 and auto.feature_sizes() == human.feature_sizes()  # starts at the human shape
    for m in (human, sa, auto):
        assert m(torch.randn(2, 1, 32, 32)).shape == (2, 10)


def test_resnet50_imagenet_stem_is_design_a():
    """Fig. 1's Human Designed A: ImageNet's stem (7x7 stride 2, 3x3 stride-2 max-pool) before the same
    stages, so at 32 px the maps are 8 px after the stem and 1 px at the end (B: 32 and 4)."""
    cfg = dict(num_classes=10, in_chans=1, input_size=32, width_mult=0.0625)
    a, b = create_model("resnet50", stem="imagenet", **cfg), create_model("resnet50", **cfg)
    assert (a.feature_sizes()[0], a.feature_sizes()[-1], a.final_size()) == (8, 1, 1.0)
    assert (b.feature_sizes()[0], b.feature_sizes()[-1], b.final_size()) == (32, 4, 4.0)
    assert "stem" not in b.config and create_model(a.method, **a.config).config == a.config
    with pytest.raises(ValueError, match="stem must be one of"):
        create_model("resnet50", stem="tiny", **cfg)


def test_fixed_shape_is_frozen_and_memory_limit_applies():
    cfg = dict(num_classes=10, in_chans=1, input_size=32, width_mult=0.0625, design="adaptor")
    fixed = create_model("vgg16", fixed_s=[0.9, 0.8, 0.7, 0.6], **cfg)
    assert fixed.alpha_parameters() == []
    assert fixed.shape_factors() == pytest.approx([0.9, 0.8, 0.7, 0.6], abs=1e-6)
    limited = create_model("vgg16", d_limit=4, **cfg)  # init D_out = 8 > 4
    rho = limited.update_rho()
    assert rho == pytest.approx(0.5 ** 0.25, rel=1e-3)
    assert limited.final_size() * rho ** 4 == pytest.approx(4, rel=1e-6)
    assert limited.feature_sizes()[-1] <= 5  # integer sizes round each step


def test_bad_configuration_and_input_fail_clearly():
    cfg = dict(num_classes=10, in_chans=1, input_size=32, width_mult=0.0625)
    with pytest.raises(ValueError, match="design must be one of"):
        create_model("vgg16", design="learned", **cfg)
    with pytest.raises(ValueError, match="init_s has 2 factors for 4"):
        create_model("vgg16", design="adaptor", init_s=[0.7, 0.7], **cfg)
    with pytest.raises(ValueError, match=r"expects float32 images \(B, 1, 32, 32\)"):
        create_model("vgg16", **cfg)(torch.randn(1, 3, 32, 32))


def test_human_vgg16_macs_match_the_paper():
    """Table 4: the human VGG-16 on CIFAR-100 costs 314 M multiply-adds."""
    net = create_model("vgg16", num_classes=100, in_chans=3, input_size=32, width_mult=1.0, design="human")
    assert count_macs(net, (3, 32, 32), count_resize=False) / 1e6 == pytest.approx(314, rel=0.01)


def test_autosc_starts_unsaturated_at_the_human_shape():
    from hyperscale.shape_adaptor.classifiers import identity_s

    s0 = identity_s(32)
    assert 0.98 < s0 < 0.99 and all(round(d * s0) == d for d in range(1, 33))
    auto = create_model("mobilenetv2", num_classes=10, in_chans=1, input_size=32, width_mult=0.0625, design="autosc")
    assert auto.shape_factors() == pytest.approx([s0] * 4, abs=1e-6)
