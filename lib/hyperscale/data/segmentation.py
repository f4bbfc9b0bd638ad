"""The SSHN and Hyper-UNet papers' segmentation sets, each read from its published layout.

None ships with a package, so none is used by the cpu profile; point a loader at a folder
holding the data (`load_dataset(name, root)`) to run the chapter on it. A missing folder
raises `DataMissingError` saying where to get the data. Images come back float32 in [0, 1],
(N, C, H, W), resized bilinearly to `size` (labels by nearest neighbour); labels (N, H, W)
uint8 with 0 = background.

Splits follow the papers: SSHN §4.1 splits each set 64/16/20 % into train/val/test (by
sorted subject or file name here, so the split is reproducible); Hyper-UNet §4.1 keeps the
official train/test lists of Pets and CUB and holds out 20 % of the training list for
validation (every fifth image here).
"""
from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from ..core.data import DataMissingError, Dataset, Split
from .sources import need

SOURCES = {
    "oasis2d": "neurite-oasis.2d.v1.0.tar from https://github.com/adalca/medical-datasets (OASIS, Marcus et al. "
               "2007; Hoopes et al. 2022), extracted",
    "pets": "images.tar.gz and annotations.tar.gz from https://www.robots.ox.ac.uk/~vgg/data/pets/, extracted",
    "cub200_seg": "CUB_200_2011.tgz and segmentations.tgz from https://www.vision.caltech.edu/datasets/cub_200_2011/, "
                  "extracted side by side",
    "camus": "the CAMUS NIfTI release (database_nifti/) from https://www.creatis.insa-lyon.fr/Challenge/camus/",
    "wbc": "the 'Dataset 1' and 'Dataset 2' folders of https://github.com/zxaoyou/segmentation_WBC",
    "pandental": "the panoramic X-rays of Abdi et al. 2015 (SSHN ref. [1]) as images/*.png with label maps "
                 "labels/*.png (0 background, 1 mandible, 2 teeth); the paper does not give the release layout",
}
SSHN_FRACTIONS = (0.64, 0.16, 0.20)  # SSHN §4.1


_need = partial(need, sources=SOURCES)


def _resize(a: np.ndarray, size: int, nearest: bool) -> np.ndarray:
    from PIL import Image

    if a.shape[0] == size and a.shape[1] == size:
        return a
    mode = Image.NEAREST if nearest else Image.BILINEAR
    if a.ndim == 2:
        return np.asarray(Image.fromarray(a).resize((size, size), mode))
    return np.stack([np.asarray(Image.fromarray(a[..., c]).resize((size, size), mode)) for c in range(a.shape[2])], -1)


def _image(path: Path, size: int, rgb: bool) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        a = np.asarray(im.convert("RGB" if rgb else "L"), np.float32) / 255
    a = _resize(a, size, nearest=False)
    return a.transpose(2, 0, 1) if rgb else a[None]


def _label(path: Path, size: int) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return _resize(np.asarray(im.convert("L"), np.uint8), size, nearest=True)


def _by_position(n: int, fractions=SSHN_FRACTIONS) -> dict[str, np.ndarray]:
    """Contiguous train/val/test index blocks of the given fractions (SSHN §4.1)."""
    n_train, n_val = round(fractions[0] * n), round(fractions[1] * n)
    idx = np.arange(n)
    return {"train": idx[:n_train], "val": idx[n_train:n_train + n_val], "test": idx[n_train + n_val:]}


def _holdout(items: list, every: int = 5) -> tuple[list, list]:
    """Hyper-UNet §4.1: 80/20 train/val of the official training list (every fifth item to val)."""
    return [x for i, x in enumerate(items) if i % every], [x for i, x in enumerate(items) if i % every == 0]


def _dataset(name, label_names, images, labels, splits, meta) -> Dataset:
    return Dataset(name, label_names, {s: Split(np.stack([images[i] for i in idx]).astype(np.float32),
                                                np.stack([labels[i] for i in idx]).astype(np.uint8))
                                       for s, idx in splits.items()}, meta)


def load_oasis2d(root, labels: str = "seg24") -> Dataset:
    """neurite-oasis 2D: OASIS_OAS1_*_MR1/slice_norm.nii.gz + slice_seg24.nii.gz (160 x 192, 24 structures)."""
    import nibabel as nib

    root = Path(root)
    root = root / "neurite-oasis.2d.v1.0" if (root / "neurite-oasis.2d.v1.0").exists() else root
    subjects = sorted(p for p in _need(root, "oasis2d").glob("OASIS_OAS1_*_MR1") if p.is_dir())
    if not subjects:
        raise DataMissingError(f"oasis2d: no OASIS_OAS1_*_MR1 folders in {root}. Get {SOURCES['oasis2d']}.")
    images = [np.asarray(nib.load(_need(s / "slice_norm.nii.gz", "oasis2d")).get_fdata(), np.float32).squeeze()[None]
              for s in subjects]
    segs = [np.rint(nib.load(_need(s / f"slice_{labels}.nii.gz", "oasis2d")).get_fdata()).astype(np.uint8).squeeze()
            for s in subjects]
    k = int(max(s.max() for s in segs))
    n_labels = {"seg4": 4, "seg24": 24}.get(labels, k)
    names = ["background"] + [f"structure{i}" for i in range(1, max(n_labels, k) + 1)]
    return _dataset("oasis2d", names, images, segs, _by_position(len(subjects)),
                    {"source": str(root), "subjects": [s.name for s in subjects]})


def load_pets(root, size: int = 128) -> Dataset:
    """Oxford-IIIT Pets: images/*.jpg, annotations/trimaps/*.png (1 pet, 2 background, 3 border ->
    pet), official annotations/trainval.txt and test.txt; binary foreground task (Hyper-UNet §4.1)."""
    root = Path(root)

    def names(f):
        lines = _need(root / "annotations" / f, "pets").read_text().splitlines()
        return [l.split()[0] for l in lines if l.strip() and not l.startswith("#")]

    lists = dict(zip(("train", "val"), _holdout(names("trainval.txt")))) | {"test": names("test.txt")}
    splits, images, labels = {}, [], []
    for split, items in lists.items():
        start = len(images)
        for n in items:
            images.append(_image(_need(root / "images" / f"{n}.jpg", "pets"), size, rgb=True))
            trimap = _label(_need(root / "annotations" / "trimaps" / f"{n}.png", "pets"), size)
            labels.append((trimap != 2).astype(np.uint8))
        splits[split] = np.arange(start, len(images))
    return _dataset("pets", ["background", "pet"], images, labels, splits, {"source": str(root), "size": size})


def load_cub200_seg(root, size: int = 128) -> Dataset:
    """CUB-200-2011 foreground masks: CUB_200_2011/{images.txt, train_test_split.txt, images/} and
    segmentations/<class>/<image>.png (annotator agreement 0-255, foreground where >= 128)."""
    root = Path(root)
    cub = root / "CUB_200_2011" if (root / "CUB_200_2011").exists() else root

    def table(f):
        return dict(l.split(maxsplit=1) for l in _need(cub / f, "cub200_seg").read_text().splitlines() if l.strip())

    paths, train = table("images.txt"), table("train_test_split.txt")
    seg_root = next((p for p in (root / "segmentations", cub / "segmentations") if p.exists()), root / "segmentations")
    ids = sorted(paths, key=int)
    lists = dict(zip(("train", "val"), _holdout([i for i in ids if train[i].strip() == "1"])))
    lists["test"] = [i for i in ids if train[i].strip() == "0"]
    splits, images, labels = {}, [], []
    for split, items in lists.items():
        start = len(images)
        for i in items:
            rel = paths[i].strip()
            images.append(_image(_need(cub / "images" / rel, "cub200_seg"), size, rgb=True))
            mask = _label(_need(seg_root / rel.replace(".jpg", ".png"), "cub200_seg"), size)
            labels.append((mask >= 128).astype(np.uint8))
        splits[split] = np.arange(start, len(images))
    return _dataset("cub200_seg", ["background", "bird"], images, labels, splits, {"source": str(root), "size": size})


def load_camus(root, size: int = 128) -> Dataset:
    """CAMUS (NIfTI release): patient*/patient*_{2CH,4CH}_{ED,ES}.nii.gz with *_gt.nii.gz
    (1 left-ventricle cavity, 2 myocardium, 3 left atrium); split by patient."""
    import nibabel as nib

    root = Path(root)
    root = root / "database_nifti" if (root / "database_nifti").exists() else root
    patients = sorted(p for p in _need(root, "camus").glob("patient*") if p.is_dir())
    if not patients:
        raise DataMissingError(f"camus: no patient* folders in {root}. Get {SOURCES['camus']}.")
    parts = _by_position(len(patients))
    splits, images, labels = {}, [], []
    for split, idx in parts.items():
        start = len(images)
        for p in (patients[i] for i in idx):
            for view in ("2CH_ED", "2CH_ES", "4CH_ED", "4CH_ES"):
                img, gt = p / f"{p.name}_{view}.nii.gz", p / f"{p.name}_{view}_gt.nii.gz"
                if not (img.exists() and gt.exists()):
                    continue
                a = np.asarray(nib.load(img).get_fdata(), np.float32).squeeze()
                a = (a - a.min()) / max(float(a.max() - a.min()), 1e-6)
                images.append(_resize(a, size, nearest=False)[None])
                labels.append(_resize(np.rint(nib.load(gt).get_fdata()).astype(np.uint8).squeeze(), size, nearest=True))
        splits[split] = np.arange(start, len(images))
    if not images:
        raise DataMissingError(f"camus: no patient*_<view>.nii.gz / _gt.nii.gz pairs under {root}")
    return _dataset("camus", ["background", "lv_cavity", "myocardium", "left_atrium"], images, labels, splits,
                    {"source": str(root), "size": size})


def load_wbc(root, size: int = 128) -> Dataset:
    """White blood cells (Zheng et al. 2018): 'Dataset 1' (120 px) and 'Dataset 2' (300 px) folders of
    NNN.bmp images with NNN.png ground truth (white nucleus, grey cytoplasm, black background)."""
    root = Path(root)
    pairs = [(img, img.with_suffix(".png")) for d in ("Dataset 1", "Dataset 2") if (root / d).exists()
             for img in sorted((root / d).glob("*.bmp")) if img.with_suffix(".png").exists()]
    if not pairs:
        raise DataMissingError(f"wbc: no 'Dataset 1' or 'Dataset 2' image/mask pairs in {root}. Get {SOURCES['wbc']}.")
    images = [_image(img, size, rgb=True) for img, _ in pairs]
    grey = [_label(gt, size) for _, gt in pairs]
    labels = [np.select([g >= 192, g >= 64], [1, 2], 0).astype(np.uint8) for g in grey]
    return _dataset("wbc", ["background", "nucleus", "cytoplasm"], images, labels, _by_position(len(pairs)),
                    {"source": str(root), "size": size})


def load_pandental(root, size: int = 128) -> Dataset:
    """Panoramic dental X-rays: images/NAME.png with labels/NAME.png (0 background, 1 mandible, 2 teeth)."""
    root = Path(root)
    images_dir, labels_dir = _need(root / "images", "pandental"), _need(root / "labels", "pandental")
    names = sorted(p.name for p in images_dir.glob("*.png") if (labels_dir / p.name).exists())
    if not names:
        raise DataMissingError(f"pandental: no images/*.png with a matching labels/*.png in {root}")
    images = [_image(images_dir / n, size, rgb=False) for n in names]
    labels = [_label(labels_dir / n, size) for n in names]
    return _dataset("pandental", ["background", "mandible", "teeth"], images, labels, _by_position(len(names)),
                    {"source": str(root), "size": size})


LOADERS = {"oasis2d": load_oasis2d, "pets": load_pets, "cub200_seg": load_cub200_seg,
          "camus": load_camus, "wbc": load_wbc, "pandental": load_pandental}
