import pytest
import torch

from hyperscale.core.flops import BILINEAR_MACS_PER_OUTPUT, count_macs
from hyperscale.sshn import SSHN, UNet, materialize
from hyperscale.sshn.flops import unet_macs


def hand_count(width, n_stages, size, phi, in_channels=1, num_classes=2):
    """MACs of f_phi by the formula: weights x output pixels + bias per output value, per conv."""
    sizes = [size]
    for _ in range(n_stages - 1):
        sizes.append(max(1, int(phi * sizes[-1] + 0.5)))
    conv = lambda ci, co, k, s: co * ci * k * k * s * s + co * s * s
    macs = 0
    for i, s in enumerate(sizes):
        macs += conv(in_channels if i == 0 else width, width, 3, s) + conv(width, width, 3, s)
    for s in reversed(sizes[:-1]):
        macs += conv(2 * width, width, 3, s) + conv(width, width, 3, s)
    macs += conv(width, num_classes, 1, size)
    resize = sum(width * s * s for s in sizes[1:]) + sum(width * s * s for s in sizes[:-1])
    return macs, BILINEAR_MACS_PER_OUTPUT * resize


@pytest.mark.parametrize("phi", [0.0, 0.3, 0.5])
def test_mac_count_matches_hand_formula(phi):
    conv, resize = hand_count(width=4, n_stages=3, size=20, phi=phi)
    got = unet_macs(phi, (20, 20), in_channels=1, num_classes=2, width=4, n_stages=3)
    assert got == {"conv": conv, "resize": resize, "total": conv + resize}


def test_functional_convolutions_are_counted():
    """SSHN applies predicted weights with F.conv2d; its materialised net costs what a Fixed one does."""
    sshn = SSHN(1, 2, width=4, n_stages=3)

    class Functional(torch.nn.Module):  # the hypernetwork path, weights computed outside the count
        def __init__(self):
            super().__init__()
            self.theta = {k: (w.detach(), b.detach()) for k, (w, b) in sshn.theta(0.5).items()}

        def forward(self, x):
            from hyperscale.sshn import unet_apply
            return unet_apply(self.theta, x, 0.5, 3)

    fixed = count_macs(UNet(1, 2, 4, 3, 0.5), (1, 20, 20))
    assert count_macs(Functional(), (1, 20, 20)) == fixed > 0
    assert count_macs(materialize(sshn, 0.5), (1, 20, 20)) == fixed
