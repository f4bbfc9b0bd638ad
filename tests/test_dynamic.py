"""Stochastic and FiLM baselines (SSHN §4.3): sampling, FiLM identity at init, folding into a plain U-Net."""
import pytest
import torch

from hyperscale.core.models import create_model, load_model, save_model
from hyperscale.sshn import FiLM, Stochastic, UNet, materialize
from hyperscale.sshn.tasks import prior_of

TINY = dict(in_channels=1, num_classes=3, width=4, n_stages=3)


@pytest.mark.parametrize("phi", [0.0, 0.5, 1.0])
def test_film_starts_as_the_stochastic_network(phi):
    torch.manual_seed(0)
    sto = Stochastic(**TINY)
    torch.manual_seed(0)
    film = FiLM(**TINY)  # the U-Net is built first, from the same seed: same conv weights
    x = torch.randn(2, 1, 13, 11)  # odd sizes
    with torch.no_grad():
        torch.testing.assert_close(film(x, phi), sto(x, phi))
    gamma, beta = film.film(phi)["enc0a"]
    assert torch.equal(gamma, torch.ones(4)) and torch.equal(beta, torch.zeros(4))


def test_film_folds_into_a_plain_unet_after_training_moves_it():
    torch.manual_seed(1)
    film = FiLM(**TINY)
    torch.nn.init.normal_(film.out.weight, std=0.3)  # as if trained: phi-dependent gamma, beta
    x = torch.randn(2, 1, 16, 16)
    with torch.no_grad():
        for phi in (0.1, 0.45):
            plain = materialize(film, phi)
            assert type(plain) is UNet
            torch.testing.assert_close(plain(x), film(x, phi), atol=1e-5, rtol=1e-5)
        assert not torch.allclose(film(x, 0.1), materialize(film, 0.45)(x, 0.1))  # phi matters


def test_stochastic_samples_its_range_and_needs_phi(tmp_path):
    sto = create_model("stochastic", phi_range=(0.2, 0.4), **TINY)
    g = torch.Generator().manual_seed(0)
    draws = [prior_of(sto).sample(g) for _ in range(200)]
    assert 0.2 <= min(draws) and max(draws) <= 0.4 and max(draws) - min(draws) > 0.15
    with pytest.raises(TypeError, match="no single phi"):
        sto.phi
    save_model(sto, tmp_path / "s.pt")
    again = load_model(tmp_path / "s.pt")
    x = torch.randn(1, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(again(x, 0.3), sto(x, 0.3))
        torch.testing.assert_close(materialize(sto, 0.3)(x), sto(x, 0.3))
    with pytest.raises(ValueError, match="phi_range"):
        create_model("film", phi_range=(0.5, 0.1), **TINY)
