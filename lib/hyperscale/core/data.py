"""Datasets behind one interface, for segmentation and classification.

A dataset is a `Dataset`: named splits of images (N, C, H, W) float32 and integer labels,
plus the label names. Segmentation labels are maps (N, H, W) with 0 = background;
classification labels are class indices (N,). The embedded sets this study builds are stored
as `meta.json` + one `.npz` per split (`save_npz_dataset`); the papers' real datasets keep their
published layouts. Which loader reads which dataset is `hyperscale.data.load_dataset`'s: the
datasets build on this interface, never the other way.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import InputError
from .io import checksum_arrays, load_arrays, read_json, save_arrays, write_json

SPLITS = ("train", "val", "test")


class DataMissingError(InputError, FileNotFoundError):
    """A dataset or the package that provides its raw files is not on this machine."""


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # (N, C, H, W) float32
    labels: np.ndarray  # (N, H, W) label maps, 0 = background; or (N,) class indices

    def __len__(self) -> int:
        return len(self.images)


@dataclass(frozen=True)
class Dataset:
    name: str
    label_names: list[str]  # label_names[k] names label value k; for segmentation [0] is the background
    splits: dict[str, Split]
    meta: dict = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        """Number of outputs a net needs (for segmentation, background included)."""
        return len(self.label_names)

    @property
    def in_channels(self) -> int:
        return self.splits["train"].images.shape[1]

    def arrays(self, splits=None) -> dict[str, np.ndarray]:
        """{'<split>_images': ..., '<split>_labels': ...} of the named splits (default: all)."""
        return {f"{s}_{k}": getattr(self[s], k) for s in (splits or self.splits) for k in ("images", "labels")}

    def checksum(self, splits=None) -> str:
        return checksum_arrays(self.arrays(splits))

    def __getitem__(self, split: str) -> Split:
        if split not in self.splits:
            raise KeyError(f"dataset {self.name!r} has splits {sorted(self.splits)}; got {split!r}")
        return self.splits[split]


def save_npz_dataset(ds: Dataset, root) -> str:
    """Write `ds` as meta.json + {split}.npz under `root`; returns the content checksum."""
    root = Path(root)
    checksum = ds.checksum()
    for s, split in ds.splits.items():
        save_arrays(root / f"{s}.npz", {"images": split.images, "labels": split.labels})
    # meta.json last: its presence marks a complete dataset.
    write_json(root / "meta.json", {**ds.meta, "name": ds.name, "label_names": ds.label_names,
                                    "splits": list(ds.splits), "checksum": checksum})
    return checksum


def load_npz_dataset(root, verify: bool = True) -> Dataset:
    root = Path(root)
    meta_path = root / "meta.json"
    if not meta_path.exists():
        raise DataMissingError(
            f"no dataset at {root} (missing {meta_path.name}). Build it with `dvc repro` (or `make study`), "
            f"or point the data path in params.yaml at an existing copy.")
    meta = read_json(meta_path)
    splits = {}
    for s in meta["splits"]:
        a = load_arrays(root / f"{s}.npz")
        splits[s] = Split(images=a["images"], labels=a["labels"])
    name, label_names = meta.pop("name"), meta.pop("label_names")
    del meta["splits"]
    ds = Dataset(name=name, label_names=label_names, splits=splits, meta=meta)
    if verify and ds.checksum() != meta["checksum"]:
        raise ValueError(f"dataset at {root} does not match the checksum in its meta.json; rebuild it with "
                         f"`dvc repro -f` on the stage that writes it.")
    return ds
