"""Image-enhancement sets for HyperConv: RAW -> RGB (the ZRR stand-in) and sRGB denoising (the SIDD stand-in).

**What the embedded sets are.** Neither the Zurich RAW-to-DSLR set (ZRR) nor SIDD ships with a
package, and no package ships RAW / DSLR pairs. So both stand-ins are made from 29 clean colour
photographs that scikit-image and Debian's `opencv-doc` bundle (`PHOTOS`), downscaled 2x (which
also softens their JPEG artefacts) and cut into random square patches; every patch draws its own
camera (`hyperscale.data.camera.random_camera`). Splits are by source photo, so no test patch
shares a scene with a training patch.
- `isp`: input = the patch unprocessed to RAW, Bayer-mosaicked, packed to 4 channels at half
  size, with shot and read noise; target = the clean sRGB patch (N, 3, 2h, 2w). ZRR's targets
  come from another camera (a Canon DSLR) with its own look; ours are the source photo itself.
- `denoise`: input = the noisy RAW processed back to sRGB (so the noise is signal-dependent and,
  after demosaicing, spatially correlated, as phone noise is); target = the same RAW without
  noise, processed alike. SIDD's noise is real and its scenes are indoor captures.
What they are not: a few dozen scenes, a synthetic ISP and synthetic noise. Splits are `Split`s
whose `images` are inputs and `labels` are targets (float32 in [0, 1]).

Loaders for the real sets in their published layouts: `load_zrr` (PyNET's release:
`{train,test}/{huawei_raw,canon}/<i>.{png,jpg}`) and `load_sidd_medium` (SIDD-Medium sRGB:
`Data/<scene>/{NOISY,GT}_SRGB_0{10,11}.PNG`), each raising `DataMissingError` that says where to
get the data.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

from ..core.data import DataMissingError, Dataset, Split
from . import camera
from .scenes import photos_dir
from .sources import need

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")  # Debian package opencv-doc
# Colour photographs of distinct scenes (stereo and viewpoint pairs counted once; logos,
# charts, paintings and motion-blurred test images left out).
PHOTOS = {
    "skimage": ("astronaut.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg", "ihc.png",
                "motorcycle_left.png", "retina.jpg", "rocket.jpg"),
    "opencv": ("aero1.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "board.jpg", "building.jpg", "butterfly.jpg",
               "chicky_512.png", "ela_original.jpg", "fruits.jpg", "graf1.png", "home.jpg", "leuvenA.jpg", "left.jpg",
               "messi5.jpg", "orange.jpg", "pca_test1.jpg", "rubberwhale1.png", "smarties.png", "squirrel_cls.jpg",
               "stuff.jpg"),
}
SOURCES = {
    "zrr": "the Zurich RAW to DSLR dataset (Ignatov et al. 2020) from https://people.ee.ethz.ch/~ihnatova/pynet.html, "
           "extracted (train/ and test/, each with huawei_raw/ and canon/)",
    "sidd_medium": "SIDD_Medium_Srgb.zip from https://abdokamel.github.io/sidd/, extracted (its Data/ folder)",
}
ZRR_WHITE = 4 * 255  # ZRR's RAW PNGs hold 10-bit values (PyNET normalises by 4 * 255)


def load_photos(opencv_root: Path = OPENCV_DATA, skimage_root: Path | None = None) -> dict[str, np.ndarray]:
    """Every photo of `PHOTOS` as float32 RGB (H, W, 3) in [0, 1], by name."""
    roots = {"skimage": Path(skimage_root) if skimage_root else photos_dir(), "opencv": Path(opencv_root)}
    missing = [str(roots[k] / f) for k, files in PHOTOS.items() for f in files if not (roots[k] / f).exists()]
    if missing:
        raise DataMissingError(f"enhancement photos missing: {missing[:3]}{' ...' if len(missing) > 3 else ''}. "
                               f"Install Debian's opencv-doc and scikit-image==0.26.0 (`make setup` does both).")
    return {f: np.asarray(Image.open(roots[k] / f).convert("RGB"), np.float32) / 255
            for k, files in PHOTOS.items() for f in files}


def split_photos(names: list[str], n_val: int, n_test: int, seed: int) -> dict[str, list[str]]:
    """Photos to splits by a seeded permutation of the sorted names."""
    if n_val < 1 or n_test < 1 or n_val + n_test >= len(names):
        raise ValueError(f"need 1 <= n_val, 1 <= n_test and n_val + n_test < {len(names)} photos; got {n_val}, {n_test}")
    order = [sorted(names)[i] for i in np.random.default_rng(seed).permutation(len(names))]
    return {"test": order[:n_test], "val": order[n_test:n_test + n_val], "train": order[n_test + n_val:]}


def _downscale(img: np.ndarray, factor: int) -> np.ndarray:
    h, w = (s // factor * factor for s in img.shape[:2])
    return img[:h, :w].reshape(h // factor, factor, w // factor, factor, 3).mean((1, 3))


def _patches(img: np.ndarray, side: int, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    h, w = img.shape[:2]
    if min(h, w) < side:
        raise ValueError(f"a photo of {h} x {w} px is smaller than the patch side {side}")
    return [img[y:y + side, x:x + side].transpose(2, 0, 1)
            for y, x in zip(rng.integers(0, h - side + 1, n), rng.integers(0, w - side + 1, n))]


def _pair(kind: str, patch: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    cam = camera.random_camera(rng)
    raw = camera.mosaic(camera.unprocess(patch, cam))
    noisy = camera.add_noise(raw, cam, rng)
    if kind == "isp":
        return noisy, patch.astype(np.float32)
    return camera.process(noisy, cam), camera.process(raw, cam)


def build(kind: str, patch: int = 64, per_photo: int = 24, downscale: int = 2, n_val: int = 3, n_test: int = 6,
          seed: int = 0, photos: dict[str, np.ndarray] | None = None, progress: bool = False) -> Dataset:
    """The `isp` or `denoise` set (recipe in the module docstring); `patch` is the RGB side."""
    if kind not in ("isp", "denoise"):
        raise ValueError(f"kind must be 'isp' or 'denoise'; got {kind!r}")
    if patch % 2:
        raise ValueError(f"patch must be even (a Bayer mosaic packs 2 x 2 pixels); got {patch}")
    photos = photos if photos is not None else load_photos()
    assignment = split_photos(list(photos), n_val, n_test, seed)
    splits = {}
    for k, split in enumerate(("train", "val", "test")):
        pairs = []
        for i, name in enumerate(assignment[split]):
            rng = np.random.default_rng([seed, k, i])
            pairs += [_pair(kind, p, rng) for p in _patches(_downscale(photos[name], downscale), patch, per_photo, rng)]
        splits[split] = Split(images=np.stack([p[0] for p in pairs]), labels=np.stack([p[1] for p in pairs]))
    meta = {"params": {"patch": patch, "per_photo": per_photo, "downscale": downscale, "n_val": n_val,
                       "n_test": n_test, "seed": seed},
            "photos": assignment, "source": "scikit-image 0.26.0 data and Debian opencv-doc examples/data"}
    return Dataset(kind, ["input", "target"], splits, meta)


_need = partial(need, sources=SOURCES)


def _pack_zrr(raw: np.ndarray) -> np.ndarray:
    """A ZRR RAW frame (H, W), RGGB, 10-bit -> (4, H/2, W/2) in [0, 1], in `camera.mosaic`'s order."""
    r = raw.astype(np.float32) / ZRR_WHITE
    return np.clip(np.stack([r[0::2, 0::2], r[0::2, 1::2], r[1::2, 0::2], r[1::2, 1::2]]), 0, 1)


def load_zrr(root, val_every: int = 5) -> Dataset:
    """ZRR in PyNET's layout; every `val_every`-th training pair (by number) is held out for validation."""
    root = _need(Path(root), "zrr")
    splits = {}
    for split in ("train", "test"):
        raws = sorted(_need(root / split / "huawei_raw", "zrr").glob("*.png"), key=lambda p: int(p.stem))
        if not raws:
            raise DataMissingError(f"zrr: no RAW PNGs in {root / split / 'huawei_raw'}. Get {SOURCES['zrr']}.")
        x = np.stack([_pack_zrr(np.asarray(Image.open(p))) for p in raws])
        y = np.stack([np.asarray(Image.open(_need(root / split / "canon" / f"{p.stem}.jpg", "zrr")).convert("RGB"),
                                 np.float32).transpose(2, 0, 1) / 255 for p in raws])
        if split == "train":
            held = np.arange(len(raws)) % val_every == val_every - 1
            splits["train"], splits["val"] = Split(x[~held], y[~held]), Split(x[held], y[held])
        else:
            splits["test"] = Split(x, y)
    return Dataset("zrr", ["input", "target"], {s: splits[s] for s in ("train", "val", "test")},
                   {"source": SOURCES["zrr"]})


def load_sidd_medium(root, patch: int = 256, per_image: int = 8, seed: int = 0) -> Dataset:
    """SIDD-Medium sRGB cut into `per_image` random `patch`-px crops per image pair; scenes are
    split by sorted folder name (every fifth to test, every fifth of the rest to validation)."""
    data = _need(Path(root), "sidd_medium")
    data = data / "Data" if (data / "Data").is_dir() else data
    scenes = sorted(d for d in data.iterdir() if d.is_dir())
    if not scenes:
        raise DataMissingError(f"sidd_medium: no scene folders in {data}. Get {SOURCES['sidd_medium']}.")
    rest = [s for i, s in enumerate(scenes) if i % 5 != 4]
    assignment = {"test": scenes[4::5], "val": rest[4::5], "train": [s for i, s in enumerate(rest) if i % 5 != 4]}
    splits = {}
    for k, split in enumerate(("train", "val", "test")):
        xs, ys = [], []
        for i, scene in enumerate(assignment[split]):
            rng = np.random.default_rng([seed, k, i])
            for noisy in sorted(scene.glob("NOISY_SRGB_*.PNG")):
                gt = _need(scene / noisy.name.replace("NOISY", "GT"), "sidd_medium")
                pair = np.concatenate([np.asarray(Image.open(f).convert("RGB"), np.float32) / 255 for f in (noisy, gt)], 2)
                for p in _patches(pair, patch, per_image, rng):  # the same crop of input and target
                    xs.append(p[:3])
                    ys.append(p[3:])
        if not xs:
            raise DataMissingError(f"sidd_medium: no NOISY_SRGB_*.PNG in the {split} scenes under {data}")
        splits[split] = Split(np.stack(xs), np.stack(ys))
    return Dataset("sidd_medium", ["input", "target"], splits, {"source": SOURCES["sidd_medium"]})
