"""multiscenes: multi-class semantic segmentation on real photographs, built offline from packaged images.

The scene stand-in of this study for HyperSeg's PASCAL VOC, Cityscapes and CamVid: several
objects of ten classes on a natural background, each pixel labelled with its object's class or
background (11 labels). Sources as `scenes` (its module has the details): objects are
Fashion-MNIST product photos (Xiao et al. 2017; Debian `dataset-fashion-mnist`; classes
t-shirt, trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle boot), backgrounds
the photographs and textures scikit-image ships, split by position with gaps. **Synthetic scenes
from real images**: real object photos and real backgrounds, composited; the scenes have
clutter, occlusion and objects of several scales, but none of the layout (roads, sky) or the
classes of street scenes, and the objects are flat grey photos, tinted.

Recipe (every number is a parameter in params.yaml `data.multiscenes`):
1. Background: a square crop of side `crop_frac` x the photo's height inside the split's band of
   rows, resized to `size` (as `scenes`).
2. Objects: a number drawn from `objects` (inclusive), pasted one after another, each a
   Fashion-MNIST image (split as in `scenes`: the first 5/6 of its training set for training
   scenes, the rest for validation, its test set for test) resized to a random side in
   `object_scale` x `size`, tinted by a random RGB colour, at a random position; its mask is
   where the resized grey value exceeds `mask_threshold`, labelled with its class + 1. A later
   object covers an earlier one (occlusion): pixels and labels are overwritten.
3. Each (split, index) scene has its own seed, so the result does not depend on order.
"""
from __future__ import annotations

import numpy as np

from ..core.data import Dataset, Split
from .classification import FASHION_MNIST, load_fashion_mnist
from .scenes import PHOTOS, background, load_photos, resize

CLASSES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot")


def make_scene(rng: np.random.Generator, photos, objects: np.ndarray, classes: np.ndarray, band, size: int,
               crop_frac: float, n_objects, object_scale, mask_threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """One scene: image (3, size, size) float32 and label map (size, size) uint8 (0 background)."""
    image = background(rng, photos, band, size, crop_frac)
    labels = np.zeros((size, size), np.uint8)
    for _ in range(rng.integers(n_objects[0], n_objects[1] + 1)):
        k = rng.integers(len(objects))
        side = max(2, int(round(rng.uniform(*object_scale) * size)))
        grey = resize(objects[k], side)
        mask = grey > mask_threshold
        oy, ox = rng.integers(0, size - side + 1, 2)
        colour = rng.uniform(0.2, 1.0, 3).astype(np.float32)
        image[oy:oy + side, ox:ox + side][mask] = grey[mask, None] * colour
        labels[oy:oy + side, ox:ox + side][mask] = classes[k] + 1
    return image.transpose(2, 0, 1).copy(), labels


def build(size: int = 96, n: dict | None = None, objects=(2, 5), crop_frac: float = 0.15, object_scale=(0.2, 0.6),
          mask_threshold: float = 0.1, bands: dict | None = None, seed: int = 0, fashion_root=FASHION_MNIST,
          photos_root=None, progress: bool = False) -> Dataset:
    """The multiscenes dataset (recipe in the module docstring)."""
    n = n or {"train": 1000, "val": 200, "test": 200}
    bands = bands or {"train": [0.0, 0.6], "val": [0.65, 0.8], "test": [0.85, 1.0]}
    if not (0 < object_scale[0] <= object_scale[1] <= 1):
        raise ValueError(f"multiscenes.object_scale must satisfy 0 < low <= high <= 1; got {object_scale}")
    if not (1 <= objects[0] <= objects[1]):
        raise ValueError(f"multiscenes.objects must satisfy 1 <= low <= high; got {objects}")
    photos = load_photos(photos_root)
    fashion = load_fashion_mnist(fashion_root, pad=0)
    train = fashion["train"]
    cut = len(train) * 5 // 6  # val scenes get Fashion-MNIST training images no training scene uses
    sources = {"train": (train.images[:cut, 0], train.labels[:cut]), "val": (train.images[cut:, 0], train.labels[cut:]),
               "test": (fashion["test"].images[:, 0], fashion["test"].labels)}
    splits = {}
    for k, split in enumerate(("train", "val", "test")):
        scenes = [make_scene(np.random.default_rng([seed, k, i]), photos, *sources[split], bands[split], size,
                             crop_frac, objects, object_scale, mask_threshold) for i in range(n[split])]
        splits[split] = Split(images=np.stack([s[0] for s in scenes]), labels=np.stack([s[1] for s in scenes]))
    meta = {"params": {"size": size, "n": n, "objects": list(objects), "crop_frac": crop_frac,
                       "object_scale": list(object_scale), "mask_threshold": mask_threshold, "bands": bands,
                       "seed": seed},
            "source": {"objects": f"Fashion-MNIST ({fashion.meta['source']})", "photos": list(PHOTOS)}}
    return Dataset("multiscenes", ["background", *CLASSES], splits, meta)
