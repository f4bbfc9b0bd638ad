"""Model registry: every method is built by `create_model(method, **config)` and saved as
{method, config, state} so `load_model(path)` needs no architecture flags.

Segmentation models ("fixed", "stochastic", "film", "sshn") answer `model(x, phi)` with logits and
`model.sample_phi(generator)` with the phi to train the next step at, so one training loop
(train.py) serves them all. Classifiers (vgg16, resnet50, mobilenetv2; classify.py) answer
`model(x)` and carry their shape adaptors.
"""
from __future__ import annotations

import torch

from ..io import torch_save
from .classifiers import CLASSIFIERS
from .dynamic import FiLM, Stochastic
from .sshn import SSHN, materialize
from .unet import ARCHS, UNet, check_phi, conv_layout, scaled_size, unet_apply

MODELS = {"fixed": UNet, "stochastic": Stochastic, "film": FiLM, "sshn": SSHN, **CLASSIFIERS}


def create_model(method: str, **config) -> torch.nn.Module:
    if method not in MODELS:
        raise ValueError(f"unknown method {method!r}; known: {sorted(MODELS)}")
    return MODELS[method](**config)


def method_of(model: torch.nn.Module) -> str:
    return next(name for name, cls in MODELS.items() if type(model) is cls)


def save_model(model: torch.nn.Module, path, **extra) -> None:
    torch_save({"method": method_of(model), "config": model.config, "state": model.state_dict(), **extra}, path)


def load_model(path) -> torch.nn.Module:
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    model = create_model(ckpt["method"], **ckpt["config"])
    model.load_state_dict(ckpt["state"])
    return model.eval()


__all__ = ["ARCHS", "MODELS", "SSHN", "FiLM", "Stochastic", "UNet", "check_phi", "conv_layout", "create_model", "load_model", "materialize",
           "method_of", "save_model", "scaled_size", "unet_apply"]
