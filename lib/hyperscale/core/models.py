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
