"""phi* selection (Hyper-UNet eq. 3) on a synthetic curve and on a tiny SSHN."""
import numpy as np
import pytest
import torch

from hyperscale.core.models import create_model
from hyperscale.sshn import materialize
from hyperscale.sshn.select import landscape, latencies, select_model, select_phi


def test_select_phi_known_answer():
    phis = np.round(np.arange(0, 0.51, 0.05), 2)
    accuracy = 0.8 * (1 - np.exp(-phis / 0.1))  # saturating, as Dice vs phi
    cost = 1 + 4 * phis ** 2  # grows with phi
    # accuracy >= 0.7 first at phi = 0.25 (0.8 * (1 - e^-2.5) = 0.734; 0.2 gives 0.692)
    assert select_phi(phis, accuracy, cost, 0.7) == 0.25
    assert select_phi(phis, accuracy, cost, 0.0) == 0.0
    with pytest.raises(ValueError, match="no phi reaches the minimum accuracy alpha=0.9; the best is 0.7946 at phi=0.5"):
        select_phi(phis, accuracy, cost, 0.9)


def test_select_phi_breaks_cost_ties_by_accuracy_and_checks_lengths():
    assert select_phi([0.1, 0.2, 0.3], [0.5, 0.6, 0.4], [1.0, 1.0, 0.5], 0.45) == 0.2
    with pytest.raises(ValueError, match="equally long"):
        select_phi([0.1, 0.2], [0.5], [1.0, 2.0], 0.1)


def test_select_model_returns_the_materialised_network(toy_data):
    torch.manual_seed(0)
    sshn = create_model("sshn", in_channels=1, num_classes=toy_data.num_classes, width=4, n_stages=3)
    table = landscape(sshn, toy_data["val"], [0.1, 0.3, 0.5], toy_data.num_classes)
    assert list(table.columns) == ["phi", "dice", "gmacs"] and table.gmacs.is_monotonic_increasing
    lat = latencies(sshn, [0.1, 0.5], (1, 16, 16))  # measured: kept apart from the deterministic table
    assert list(lat.columns) == ["phi", "latency_ms"] and (lat.latency_ms > 0).all()
    sel = select_model(sshn, toy_data["val"], toy_data.num_classes, alpha=-1.0, phis=None, table=table)
    assert sel.phi == 0.1  # every phi qualifies: the cheapest wins
    x = torch.from_numpy(toy_data["val"].images)
    with torch.no_grad():
        torch.testing.assert_close(sel.net(x), materialize(sshn, 0.1)(x))
    with pytest.raises(ValueError, match="cost must be one of"):
        select_model(sshn, toy_data["val"], toy_data.num_classes, 0.0, [0.1], cost="flops")
