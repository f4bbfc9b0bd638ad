"""Classification loaders on tiny fixtures written in each dataset's published layout."""
import gzip
import pickle

import numpy as np
import pytest

from hyperscale.core.data import DataMissingError
from hyperscale.data import load_dataset
from hyperscale.data.classification import read_idx


def write_idx(path, array, gz=True):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    (gzip.open if gz else open)(path, "wb").write(header + array.astype(np.uint8).tobytes())


def test_idx_round_trip_and_bad_magic(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "x.gz", a)
    np.testing.assert_array_equal(read_idx(tmp_path / "x.gz"), a)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an unsigned-byte IDX"):
        read_idx(tmp_path / "bad")


def test_fashion_mnist_pads_to_32(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n, gz in (("train", 5, True), ("t10k", 3, False)):  # gzipped or plain, like any IDX folder
        suffix = ".gz" if gz else ""
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte{suffix}", rng.integers(0, 256, (n, 28, 28)), gz)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte{suffix}", np.arange(n) % 10, gz)
    ds = load_dataset("fashion_mnist", tmp_path)
    assert ds["train"].images.shape == (5, 1, 32, 32) and ds["test"].images.shape == (3, 1, 32, 32)
    assert ds["train"].images[:, :, :2].max() == 0 and 0 <= ds["train"].images.min() and ds["train"].images.max() <= 1
    assert ds.num_classes == 10 and ds["test"].labels.tolist() == [0, 1, 2]


def test_cifar10_and_cifar100(tmp_path):
    rng = np.random.default_rng(0)
    d10 = tmp_path / "cifar-10-batches-py"
    d10.mkdir()
    for i in range(1, 6):
        pickle.dump({b"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8), b"labels": [i % 10, 3]},
                    open(d10 / f"data_batch_{i}", "wb"))
    pickle.dump({b"data": np.zeros((1, 3072), np.uint8), b"labels": [7]}, open(d10 / "test_batch", "wb"))
    pickle.dump({b"label_names": [f"c{i}".encode() for i in range(10)]}, open(d10 / "batches.meta", "wb"))
    ds = load_dataset("cifar10", tmp_path)
    assert ds["train"].images.shape == (10, 3, 32, 32) and ds["test"].labels.tolist() == [7]
    assert ds.label_names[3] == "c3"
    d100 = tmp_path / "c100" / "cifar-100-python"
    d100.mkdir(parents=True)
    for split, n in (("train", 4), ("test", 2)):
        pickle.dump({b"data": np.zeros((n, 3072), np.uint8), b"fine_labels": list(range(n))}, open(d100 / split, "wb"))
    pickle.dump({b"fine_label_names": [f"f{i}".encode() for i in range(100)]}, open(d100 / "meta", "wb"))
    ds = load_dataset("cifar100", tmp_path / "c100")
    assert ds.num_classes == 100 and len(ds["train"]) == 4


def test_svhn_maps_label_10_to_0(tmp_path):
    from scipy.io import savemat

    for split in ("train", "test"):
        savemat(tmp_path / f"{split}_32x32.mat", {"X": np.zeros((32, 32, 3, 3), np.uint8),
                                                  "y": np.array([[10], [1], [9]])})
    ds = load_dataset("svhn", tmp_path)
    assert ds["train"].images.shape == (3, 3, 32, 32) and ds["test"].labels.tolist() == [0, 1, 9]


def _jpg(path, color):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (12, 9), color).save(path)


def test_cub200(tmp_path):
    root = tmp_path / "CUB_200_2011"
    _jpg(root / "images" / "001.A" / "a.jpg", (255, 0, 0))
    _jpg(root / "images" / "002.B" / "b.jpg", (0, 255, 0))
    (root / "images.txt").write_text("1 001.A/a.jpg\n2 002.B/b.jpg\n")
    (root / "image_class_labels.txt").write_text("1 1\n2 2\n")
    (root / "train_test_split.txt").write_text("1 1\n2 0\n")
    (root / "classes.txt").write_text("1 001.A\n2 002.B\n")
    ds = load_dataset("cub200", tmp_path)
    assert ds["train"].images.shape == (1, 3, 224, 224) and ds["test"].labels.tolist() == [1]
    assert ds["train"].images[0, 0].mean() == pytest.approx(1.0, abs=0.01) and ds.label_names == ["001.A", "002.B"]


def test_aircraft(tmp_path):
    data = tmp_path / "fgvc-aircraft-2013b" / "data"
    _jpg(data / "images" / "0001.jpg", (0, 0, 255))
    _jpg(data / "images" / "0002.jpg", (0, 0, 0))
    (data / "variants.txt").write_text("707-320\nA300B4\n")
    (data / "images_variant_trainval.txt").write_text("0001 A300B4\n")
    (data / "images_variant_test.txt").write_text("0002 707-320\n")
    ds = load_dataset("aircraft", tmp_path)
    assert ds["train"].labels.tolist() == [1] and ds["test"].labels.tolist() == [0]


def test_cars(tmp_path):
    from scipy.io import savemat

    _jpg(tmp_path / "car_ims" / "000001.jpg", (9, 9, 9))
    _jpg(tmp_path / "car_ims" / "000002.jpg", (9, 9, 9))
    ann = np.zeros(2, dtype=[("relative_im_path", object), ("class", object), ("test", object)])
    ann[0] = ("car_ims/000001.jpg", 2, 0)
    ann[1] = ("car_ims/000002.jpg", 1, 1)
    savemat(tmp_path / "cars_annos.mat", {"annotations": ann, "class_names": np.array(["a", "b"], dtype=object)})
    ds = load_dataset("cars", tmp_path)
    assert ds["train"].labels.tolist() == [1] and ds["test"].labels.tolist() == [0] and ds.label_names == ["a", "b"]


@pytest.mark.parametrize("name", ["fashion_mnist", "cifar10", "cifar100", "svhn", "aircraft", "cub200", "cars"])
def test_missing_data_says_where_to_get_it(name, tmp_path):
    with pytest.raises(DataMissingError, match=f"{name}: .* not found. Get "):
        load_dataset(name, tmp_path / "nowhere")
