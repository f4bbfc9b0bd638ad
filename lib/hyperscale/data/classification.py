"""Image classification sets for the Shape Adaptor chapter, each read from its published layout.

Embedded default: Fashion-MNIST (Xiao et al. 2017, MIT licence) from Debian's
`dataset-fashion-mnist` (IDX files in /usr/share/datasets/fashion-mnist), zero-padded
28 -> 32 like the paper's 32x32 sets (Shape Adaptor §4.1). The papers' sets (CIFAR-10/100,
SVHN, FGVC-Aircraft, CUB-200-2011, Stanford Cars) are read from a folder holding their
standard files; a missing folder raises `DataMissingError` saying where to get them.
Images come back float32 in [0, 1], (N, C, H, W); labels int64 class indices.
"""
from __future__ import annotations

import gzip
import pickle
from functools import partial
from pathlib import Path

import numpy as np

from ..core.data import DataMissingError, Dataset, Split
from .sources import need

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]
SOURCES = {
    "fashion_mnist": "`sudo apt-get install dataset-fashion-mnist` (or the four IDX files from "
                     "https://github.com/zalandoresearch/fashion-mnist)",
    "cifar10": "cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, extracted",
    "cifar100": "cifar-100-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, extracted",
    "svhn": "train_32x32.mat and test_32x32.mat from http://ufldl.stanford.edu/housenumbers/",
    "aircraft": "fgvc-aircraft-2013b.tar.gz from https://www.robots.ox.ac.uk/~vgg/data/fgvc-aircraft/, extracted",
    "cub200": "CUB_200_2011.tgz from https://www.vision.caltech.edu/datasets/cub_200_2011/, extracted",
    "cars": "the Stanford Cars images and cars_annos.mat (https://ai.stanford.edu/~jkrause/cars/car_dataset.html)",
}


_need = partial(need, sources=SOURCES)


def read_idx(path) -> np.ndarray:
    """An IDX file (the MNIST format: magic, dims, big-endian uint8 data), gzipped or not."""
    path = Path(path)
    raw = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (bad magic {raw[:4].hex()})")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != np.prod(dims):
        raise ValueError(f"{path}: header says {dims} but holds {data.size} values")
    return data.reshape(dims)


def _find(root: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (root / name).exists():
            return root / name
    raise DataMissingError(f"fashion_mnist: no {stem}[.gz] in {root}. Get {SOURCES['fashion_mnist']}.")


def load_fashion_mnist(root=FASHION_MNIST, pad: int = 2) -> Dataset:
    """Fashion-MNIST train (60k) / test (10k), 1 x (28 + 2 pad)^2 (pad 2: 32x32 as in the paper)."""
    root = _need(Path(root), "fashion_mnist")
    splits = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(_find(root, f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(_find(root, f"{prefix}-labels-idx1-ubyte"))
        if len(images) != len(labels):
            raise ValueError(f"{root}: {len(images)} {split} images but {len(labels)} labels")
        images = np.pad(images, ((0, 0), (pad, pad), (pad, pad)))[:, None].astype(np.float32) / 255
        splits[split] = Split(images=images, labels=labels.astype(np.int64))
    return Dataset("fashion_mnist", FASHION_CLASSES, splits, meta={"source": str(root), "pad": pad})


def load_cifar(root, num_classes: int = 10) -> Dataset:
    """CIFAR-10 (cifar-10-batches-py/) or CIFAR-100 (cifar-100-python/), the python pickles."""
    name = f"cifar{num_classes}"
    root = Path(root)
    if num_classes == 10:
        d = _need(root / "cifar-10-batches-py" if (root / "cifar-10-batches-py").exists() else root, name)
        files = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
        key, meta_file, names_key = b"labels", "batches.meta", b"label_names"
    elif num_classes == 100:
        d = _need(root / "cifar-100-python" if (root / "cifar-100-python").exists() else root, name)
        files = {"train": ["train"], "test": ["test"]}
        key, meta_file, names_key = b"fine_labels", "meta", b"fine_label_names"
    else:
        raise ValueError(f"CIFAR has 10 or 100 classes; got {num_classes}")

    def unpickle(f):
        with open(_need(d / f, name), "rb") as fh:
            return pickle.load(fh, encoding="bytes")

    splits = {}
    for split, fs in files.items():
        parts = [unpickle(f) for f in fs]
        x = np.concatenate([p[b"data"] for p in parts]).reshape(-1, 3, 32, 32).astype(np.float32) / 255
        splits[split] = Split(images=x, labels=np.concatenate([p[key] for p in parts]).astype(np.int64))
    names = [n.decode() for n in unpickle(meta_file)[names_key]]
    return Dataset(name, names, splits, meta={"source": str(d)})


def load_svhn(root) -> Dataset:
    """SVHN cropped digits (train_32x32.mat, test_32x32.mat); label 10 means digit 0."""
    from scipy.io import loadmat

    root = Path(root)
    splits = {}
    for split in ("train", "test"):
        m = loadmat(_need(root / f"{split}_32x32.mat", "svhn"))
        x = np.transpose(m["X"], (3, 2, 0, 1)).astype(np.float32) / 255  # (32, 32, 3, N) -> (N, 3, 32, 32)
        splits[split] = Split(images=x, labels=(m["y"].ravel() % 10).astype(np.int64))
    return Dataset("svhn", [str(i) for i in range(10)], splits, meta={"source": str(root)})


def _read_images(paths, size: int) -> np.ndarray:
    from PIL import Image

    out = np.empty((len(paths), 3, size, size), np.float32)
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            out[i] = np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR), np.float32).transpose(2, 0, 1)
    return out / 255


def load_cub200(root, size: int = 224) -> Dataset:
    """CUB-200-2011 (images.txt, image_class_labels.txt, train_test_split.txt, classes.txt, images/)."""
    root = Path(root)
    root = root / "CUB_200_2011" if (root / "CUB_200_2011").exists() else root

    def table(f):
        return dict(line.split(maxsplit=1) for line in _need(root / f, "cub200").read_text().splitlines() if line)

    paths, label, train = table("images.txt"), table("image_class_labels.txt"), table("train_test_split.txt")
    names = [v.strip() for _, v in sorted(table("classes.txt").items(), key=lambda kv: int(kv[0]))]
    splits = {}
    for split, flag in (("train", "1"), ("test", "0")):
        ids = sorted((i for i in paths if train[i].strip() == flag), key=int)
        splits[split] = Split(images=_read_images([root / "images" / paths[i].strip() for i in ids], size),
                              labels=np.array([int(label[i]) - 1 for i in ids], np.int64))
    return Dataset("cub200", names, splits, meta={"source": str(root), "size": size})


def load_aircraft(root, size: int = 224) -> Dataset:
    """FGVC-Aircraft variants (data/images_variant_{trainval,test}.txt, data/variants.txt, data/images/)."""
    root = Path(root)
    root = root / "fgvc-aircraft-2013b" if (root / "fgvc-aircraft-2013b").exists() else root
    data = root / "data"
    names = [l.strip() for l in _need(data / "variants.txt", "aircraft").read_text().splitlines() if l.strip()]
    index = {n: i for i, n in enumerate(names)}
    splits = {}
    for split, f in (("train", "images_variant_trainval.txt"), ("test", "images_variant_test.txt")):
        rows = [l.split(maxsplit=1) for l in _need(data / f, "aircraft").read_text().splitlines() if l.strip()]
        splits[split] = Split(images=_read_images([data / "images" / f"{r[0]}.jpg" for r in rows], size),
                              labels=np.array([index[r[1].strip()] for r in rows], np.int64))
    return Dataset("aircraft", names, splits, meta={"source": str(root), "size": size})


def load_cars(root, size: int = 224) -> Dataset:
    """Stanford Cars from cars_annos.mat (relative_im_path, class, test) and the images it names."""
    from scipy.io import loadmat

    root = Path(root)
    m = loadmat(_need(root / "cars_annos.mat", "cars"), squeeze_me=True)
    names = [str(n) for n in m["class_names"]]
    ann = m["annotations"]
    splits = {}
    for split, flag in (("train", 0), ("test", 1)):
        rows = [a for a in ann if int(a["test"]) == flag]
        splits[split] = Split(images=_read_images([root / str(a["relative_im_path"]) for a in rows], size),
                              labels=np.array([int(a["class"]) - 1 for a in rows], np.int64))
    return Dataset("cars", names, splits, meta={"source": str(root), "size": size})


LOADERS = {
    "fashion_mnist": load_fashion_mnist,
    "cifar10": lambda root: load_cifar(root, 10),
    "cifar100": lambda root: load_cifar(root, 100),
    "svhn": load_svhn,
    "aircraft": load_aircraft,
    "cub200": load_cub200,
    "cars": load_cars,
}
