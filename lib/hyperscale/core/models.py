"""Model registry: every model is built by `create_model(method, **config)` and saved as
{module, method, config, state}, so `load_model(path)` needs no architecture flags.

Each paper's package registers its models with `@register_model("name")`; `load_model`
imports the module a file names (only modules of this library) before looking the method up.
"""
from __future__ import annotations

import importlib

import torch

from .io import UnreadableFile, load_torch, save_torch

MODELS: dict[str, type[torch.nn.Module]] = {}


def check_images(x, in_channels: int, min_side: int = 1, side_multiple: int = 1, model: str = "the network") -> None:
    """Images as every network here takes them, (N, in_channels, H, W) float32, or a ValueError
    that says how to get there (before a convolution deep inside fails on them)."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{model} expected a torch.Tensor of images (N, {in_channels}, H, W); got "
                         f"{type(x).__name__}. Convert numpy arrays with torch.from_numpy(x).float().")
    if x.ndim != 4 or x.shape[1] != in_channels:
        raise ValueError(f"{model} expected images shaped (N, {in_channels}, H, W); got {tuple(x.shape)}. "
                         f"Single images need a batch dimension (x[None]); the channel count is set "
                         f"by the dataset (in_channels={in_channels}).")
    if x.dtype != torch.float32:
        raise ValueError(f"{model} expected float32 images; got {x.dtype}. Convert with x.float().")
    if min(x.shape) == 0:
        raise ValueError(f"{model} got an empty batch or image {tuple(x.shape)}; images need at least 1x1 pixels")
    if any(s < min_side or s % side_multiple for s in x.shape[-2:]):
        raise ValueError(f"{model} needs H and W of at least {min_side} px" +
                         (f" and multiples of {side_multiple}" if side_multiple > 1 else "") +
                         f"; got {tuple(x.shape)}. Crop or pad the input.")


def register_model(name: str):
    def add(cls):
        if MODELS.get(name, cls) is not cls:
            raise ValueError(f"model name {name!r} is taken by {MODELS[name].__module__}.{MODELS[name].__name__}")
        MODELS[name] = cls
        cls.method = name
        return cls
    return add


def create_model(method: str, **config) -> torch.nn.Module:
    if method not in MODELS:
        raise ValueError(f"unknown model {method!r}; known: {sorted(MODELS)} (a paper's models are registered "
                         f"when its package is imported, e.g. `import hyperscale.sshn`)")
    return MODELS[method](**config)


def save_model(model: torch.nn.Module, path, **extra) -> None:
    save_torch({"module": type(model).__module__, "method": model.method, "config": model.config,
                "state": model.state_dict(), **extra}, path)


def load_model(path) -> torch.nn.Module:
    """The model saved at `path` by `save_model`, in eval mode."""
    ckpt = load_torch(path)
    if not {"module", "method", "config", "state"} <= set(ckpt):
        what = "a training checkpoint (resume it with the training stage)" if "key" in ckpt else f"keys {sorted(ckpt)}"
        raise UnreadableFile(f"{path} is not a model file written by save_model: it is {what}; "
                             f"load the run's model.pt instead")
    if not ckpt["module"].startswith("hyperscale."):
        raise UnreadableFile(f"{path} names module {ckpt['module']!r}, which is not part of this library")
    importlib.import_module(ckpt["module"])
    model = create_model(ckpt["method"], **ckpt["config"])
    model.load_state_dict(ckpt["state"])
    return model.eval()
