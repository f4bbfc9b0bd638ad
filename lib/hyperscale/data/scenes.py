"""scenes: binary object segmentation on real photographs, built offline from packaged images.

The natural-image stand-in of this study for Hyper-UNet's Oxford-IIIT Pets and CUB-200 tasks
(one foreground object per colour photo, segmented from its background; §4.1). Sources:
objects are Fashion-MNIST product photos (Xiao et al. 2017; Debian `dataset-fashion-mnist`,
28x28 grey); backgrounds are the photographs and textures that scikit-image ships in
`skimage/data` (astronaut, coffee, chelsea, brick, grass, ...). **Synthetic scenes from real
images**: each scene pastes one real object onto a crop of one real photo, so the task has
natural clutter and texture, but not the shapes, occlusions or scale of pets and birds.

Recipe (every number is a parameter in params.yaml `scenes`):
1. Background: a square crop of side `crop_frac` x the photo's height, at a random position
   inside the split's band of rows, resized to `size`. Each photo is split by position with
   gaps: rows in `bands["train"]` (fractions of the height) feed training scenes, and the val
   and test bands are separated from it and from each other, so no test background overlaps a
   training one. Grey photos are repeated over the three channels.
2. Object: a Fashion-MNIST image (the first 5/6 of its train set for train scenes, the rest
   for val, its test set for test) resized to a random side in `object_scale` x `size`,
   tinted by a random RGB colour and pasted at a random position; its mask is where the
   resized grey value exceeds `mask_threshold`. Labels: 0 background, 1 object.
3. Each (split, index) scene has its own seed, so the result does not depend on order.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..core.data import DataMissingError, Dataset, Split
from .classification import FASHION_MNIST, load_fashion_mnist

# Natural photographs and textures in scikit-image's bundled data (not its download-on-demand sets).
PHOTOS = ("astronaut.png", "brick.png", "camera.png", "chelsea.png", "coffee.png", "coins.png", "grass.png",
          "gravel.png", "hubble_deep_field.jpg", "ihc.png", "moon.png", "motorcycle_left.png", "page.png",
          "retina.jpg", "rocket.jpg", "text.png")


def photos_dir() -> Path:
    try:
        import skimage
    except ImportError:
        raise DataMissingError("scenes needs scikit-image's bundled photos: pip install scikit-image==0.26.0 "
                               "(it is in requirements.txt; `make setup` installs it)") from None
    return Path(skimage.__file__).parent / "data"


def load_photos(root: Path | None = None) -> list[np.ndarray]:
    """Every photo as float32 RGB (H, W, 3) in [0, 1]."""
    root = Path(root) if root else photos_dir()
    missing = [p for p in PHOTOS if not (root / p).exists()]
    if missing:
        raise DataMissingError(f"scenes: {missing} not in {root}; reinstall scikit-image==0.26.0")
    return [np.asarray(Image.open(root / p).convert("RGB"), np.float32) / 255 for p in PHOTOS]


def band_rows(height: int, band: tuple[float, float], crop: int) -> tuple[int, int]:
    """First and last top row of a `crop`-high window that fits inside the band of rows."""
    lo, hi = int(band[0] * height), int(band[1] * height) - crop
    if hi < lo:
        raise ValueError(f"a crop of {crop} rows does not fit in the band {band} of a {height}-row photo; "
                         f"lower crop_frac (params.yaml data.scenes or data.multiscenes) or widen the band")
    return lo, hi


def resize(a: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of (H, W) or (H, W, 3) float values in [0, 1] to size x size."""
    img = Image.fromarray(np.uint8(np.clip(a, 0, 1) * 255 + 0.5))
    return np.asarray(img.resize((size, size), Image.BILINEAR), np.float32) / 255


def background(rng: np.random.Generator, photos, band, size: int, crop_frac: float) -> np.ndarray:
    """A random photo's square crop of side crop_frac x its height inside the band of rows,
    resized to (size, size, 3)."""
    photo = photos[rng.integers(len(photos))]
    h, w = photo.shape[:2]
    crop = int(crop_frac * h)
    lo, hi = band_rows(h, band, crop)
    y, x = rng.integers(lo, hi + 1), rng.integers(0, w - crop + 1)
    return resize(photo[y:y + crop, x:x + crop], size)


def make_scene(rng: np.random.Generator, photos, objects: np.ndarray, band, size: int, crop_frac: float,
               object_scale, mask_threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """One scene: image (3, size, size) float32 and label map (size, size) uint8."""
    image = background(rng, photos, band, size, crop_frac)
    side = int(round(rng.uniform(*object_scale) * size))
    grey = resize(objects[rng.integers(len(objects))], side)
    mask = grey > mask_threshold
    oy, ox = rng.integers(0, size - side + 1, 2)
    colour = rng.uniform(0.2, 1.0, 3).astype(np.float32)
    window = image[oy:oy + side, ox:ox + side]
    window[mask] = grey[mask, None] * colour
    labels = np.zeros((size, size), np.uint8)
    labels[oy:oy + side, ox:ox + side] = mask
    return image.transpose(2, 0, 1).copy(), labels


def build(size: int = 32, n: dict | None = None, crop_frac: float = 0.15, object_scale=(0.5, 0.9),
          mask_threshold: float = 0.1, bands: dict | None = None, seed: int = 0,
          fashion_root=FASHION_MNIST, photos_root=None, progress: bool = False) -> Dataset:
    """The scenes dataset (recipe in the module docstring)."""
    n = n or {"train": 2000, "val": 300, "test": 300}
    bands = bands or {"train": [0.0, 0.6], "val": [0.65, 0.8], "test": [0.85, 1.0]}
    if not (0 < object_scale[0] <= object_scale[1] <= 1):
        raise ValueError(f"scenes.object_scale must satisfy 0 < low <= high <= 1; got {object_scale}")
    photos = load_photos(photos_root)
    fashion = load_fashion_mnist(fashion_root, pad=0)
    train_objects = fashion["train"].images[:, 0]
    cut = len(train_objects) * 5 // 6  # val scenes get Fashion-MNIST training images no training scene uses
    sources = {"train": train_objects[:cut], "val": train_objects[cut:], "test": fashion["test"].images[:, 0]}
    splits = {}
    for k, split in enumerate(("train", "val", "test")):
        scenes = [make_scene(np.random.default_rng([seed, k, i]), photos, sources[split], bands[split], size,
                             crop_frac, object_scale, mask_threshold) for i in range(n[split])]
        splits[split] = Split(images=np.stack([s[0] for s in scenes]), labels=np.stack([s[1] for s in scenes]))
    meta = {"params": {"size": size, "n": n, "crop_frac": crop_frac, "object_scale": list(object_scale),
                       "mask_threshold": mask_threshold, "bands": bands, "seed": seed},
            "source": {"objects": f"Fashion-MNIST ({fashion.meta['source']})", "photos": list(PHOTOS)}}
    return Dataset("scenes", ["background", "object"], splits, meta)
