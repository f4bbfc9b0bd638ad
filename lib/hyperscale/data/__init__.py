"""The study's datasets, behind `hyperscale.core.data`'s interface.

Embedded sets, built offline from data that Debian or PyPI packages ship (params.yaml `data`):
- `atlas2d`: multi-label brain segmentation from one real brain (Colin27 + AAL), the OASIS-2D
  stand-in (SSHN, Hyper-UNet).
- `scenes`: one real object on a real photograph, the stand-in for Pets and CUB (Hyper-UNet).
- `multiscenes`: several objects of ten classes on a real photograph, occluding each other, the
  stand-in for PASCAL VOC, Cityscapes and CamVid (HyperSeg).
- `fashion_mnist`: classification, read from Debian's package (Shape Adaptor).
- `isp` and `denoise`: RAW -> RGB and sRGB denoising pairs unprocessed from clean photos, the
  ZRR and SIDD stand-ins (HyperConv; `enhancement`, with the camera model in `camera`).
Loaders for the papers' real datasets, in their published layouts: `classification`
(CIFAR-10/100, SVHN, FGVC-Aircraft, CUB-200-2011, Stanford Cars) and `segmentation`
(OASIS-2D, Oxford-IIIT Pets, CUB-200 masks, CAMUS, WBC, PanDental), `enhancement` (ZRR,
SIDD-Medium), `semantic` (PASCAL VOC 2012 with SBD, Cityscapes, CamVid).
"""
from __future__ import annotations

from functools import partial
from typing import Annotated

from pydantic import Field, PositiveInt

from ..core.data import DataMissingError, Dataset, Split, load_npz_dataset, save_npz_dataset
from ..core.params import Schema, register_section, section, upto
from . import atlas2d, classification, enhancement, multiscenes, scenes, segmentation, semantic

# Which loader reads each dataset by name: the embedded sets from their .npz files, the papers' own
# from their published layouts.
LOADERS = {"atlas2d": load_npz_dataset, "scenes": load_npz_dataset, "multiscenes": load_npz_dataset,
           "isp": load_npz_dataset, "denoise": load_npz_dataset, "zrr": enhancement.load_zrr,
           "sidd_medium": enhancement.load_sidd_medium, **classification.LOADERS, **segmentation.LOADERS,
           **semantic.LOADERS}


def load_dataset(name: str, root) -> Dataset:
    """Dataset `name` read from `root` by its loader."""
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; known: {sorted(LOADERS)}")
    return LOADERS[name](root)

Pair = Annotated[list[float], Field(min_length=2, max_length=2)]


# Bounds: the paper profile's sizes (atlas2d 160 x 192, scenes 64 px, multiscenes 192 px, 6000
# training images, isp 256-px patches) with room to spare, held in memory at once in float32.
class Splits(Schema):
    train: upto(10_000)
    val: upto(10_000)
    test: upto(10_000)


class Copies(Schema):  # synthetic subjects per atlas slice
    train: upto(64)
    val: upto(64)
    test: upto(64)


class Augment(Schema):  # atlas2d.AUGMENT
    rotation_deg: float
    scale: float
    shift_mm: float
    elastic_ctrl: int
    elastic_mm: float
    log_gamma: float
    bias: float
    noise: float


class Atlas2dParams(Schema):
    size: Annotated[list[upto(512, lo=16)], Field(min_length=2, max_length=2)]
    warp_factor: upto(4)
    fov_mm: float
    min_brain_fraction: float
    split_pattern: Annotated[list[int], Field(min_length=6, max_length=6)]
    copies: Copies
    seed: int
    templates_dir: str
    augment: Augment


class Bands(Schema):
    train: Pair
    val: Pair
    test: Pair


class ScenesParams(Schema):
    size: upto(256, lo=16)
    n: Splits
    crop_frac: float
    object_scale: Pair
    mask_threshold: float
    bands: Bands
    seed: int


class MultiScenesParams(Schema):  # multiscenes.build
    size: Annotated[upto(384, lo=64), Field(multiple_of=32)]  # HyperSeg: a whole stride-32 patch grid, at least 2 x 2
    n: Splits
    objects: Annotated[list[upto(20)], Field(min_length=2, max_length=2)]
    crop_frac: float
    object_scale: Pair
    mask_threshold: float
    bands: Bands
    seed: int


class EnhancementParams(Schema):  # enhancement.build
    # HyperConv's U-Net takes the packed RAW (half the side): a multiple of 16, at least 32 (hyperconv/unet.py)
    patch: Annotated[upto(512, lo=64), Field(multiple_of=32)]
    per_photo: upto(128)
    downscale: upto(8)
    n_val: upto(20)
    n_test: upto(20)
    seed: int


class DataParams(Schema):
    atlas2d: Atlas2dParams
    scenes: ScenesParams
    multiscenes: MultiScenesParams
    isp: EnhancementParams
    denoise: EnhancementParams


register_section("data", DataParams)
BUILDERS = {"atlas2d": atlas2d.build, "scenes": scenes.build, "multiscenes": multiscenes.build,
            "isp": partial(enhancement.build, "isp"),
            "denoise": partial(enhancement.build, "denoise")}


def build_embedded(name: str, out_dir, progress: bool = True) -> tuple[Dataset, str]:
    """Build embedded dataset `name` with params.yaml `data.<name>`, write it to `out_dir`, and
    return it as read back from disk (checksum verified) with its checksum."""
    if name not in BUILDERS:
        raise ValueError(f"unknown embedded dataset {name!r}; known: {sorted(BUILDERS)}")
    p = section("data")[name]
    checksum = save_npz_dataset(BUILDERS[name](**p, progress=progress), out_dir)
    return load_npz_dataset(out_dir), checksum


__all__ = ["DataMissingError", "Dataset", "Split", "build_embedded", "load_dataset"]
