"""Shape Adaptor: a learnable resizing module (Liu, Lin, Wang, Zhang, Perazzi, Johns; ECCV 2020).

Official code https://github.com/lorenmt/shape-adaptor (CC BY-NC-SA; read for facts, not copied).
Modules: `adaptor` (the shape adaptor and the §3.2 heuristics), `classifiers` (VGG-16,
ResNet-50, MobileNetV2 with human resizing or shape adaptors), `train` (Alg. 1 as a core
task), `runs` (every experiment's run plan), `measures` (what the claims read), `evaluate`
(the stage that judges the claims), `params` (the `shape_adaptor` section's schema).
"""
from ..core.params import register_section
from .classifiers import MobileNetV2, ResNet50, VGG16
from .params import ShapeAdaptorParams

register_section("shape_adaptor", ShapeAdaptorParams)

__all__ = ["MobileNetV2", "ResNet50", "VGG16"]
