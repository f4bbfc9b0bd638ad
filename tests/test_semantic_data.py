"""Loaders of HyperSeg's benchmarks (VOC + SBD, Cityscapes, CamVid) on tiny fixtures in their published layouts."""
import numpy as np
import pytest
from PIL import Image

from hyperscale.core.data import DataMissingError
from hyperscale.data import load_dataset
from hyperscale.data.semantic import IGNORE


def _png(path, a):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a).save(path)


def _voc(root, names, aug: bool):
    voc = root / "VOCdevkit" / "VOC2012"
    lists = voc / "ImageSets" / "Segmentation"
    lists.mkdir(parents=True)
    for i, n in enumerate(names):
        _png(voc / "JPEGImages" / f"{n}.jpg", np.full((20, 30, 3), 10 * i, np.uint8))
        lab = np.zeros((20, 30), np.uint8)
        lab[5:15, 5:25], lab[5, 5:25] = 1 + i, 255  # an object and its border
        _png(voc / ("SegmentationClassAug" if aug else "SegmentationClass") / f"{n}.png", lab)
        _png(voc / "SegmentationClass" / f"{n}.png", lab)
    (lists / ("train_aug.txt" if aug else "train.txt")).write_text("\n".join(names[:5]) + "\n")
    (lists / "val.txt").write_text("\n".join(names[5:]) + "\n")


@pytest.mark.parametrize("aug", [False, True])
def test_voc_pads_to_size_keeps_borders_ignored_and_tests_on_val(tmp_path, aug):
    _voc(tmp_path, [f"2007_{i:06d}" for i in range(7)], aug)
    ds = load_dataset("voc_sbd", tmp_path)
    assert [len(ds[s]) for s in ("train", "val", "test")] == [4, 1, 2] and ds.num_classes == 21
    assert ds["train"].images.shape == (4, 3, 256, 256) and ds["train"].labels.dtype == np.uint8
    lab = ds["test"].labels[0]  # 20 x 30 scaled to 171 x 256, padded below with IGNORE
    assert set(np.unique(lab)) == {0, 6, IGNORE} and (lab[200:] == IGNORE).all() and (ds["test"].images[0, :, 200:] == 0).all()
    assert ds.meta["sbd"] is aug


def test_cityscapes_maps_label_ids_to_the_19_train_ids(tmp_path):
    for split, cities in (("train", ["aachen", "bonn"]), ("val", ["frankfurt"])):
        for city in cities:
            for k in range(3):
                stem = f"{city}_{k:06d}_000019"
                _png(tmp_path / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png", np.full((16, 32, 3), 50, np.uint8))
                ids = np.full((16, 32), 7, np.uint8)  # road
                ids[:4], ids[4:8], ids[8:12] = 26, 33, 3  # car, bicycle, 'out of roi' (ignored)
                _png(tmp_path / "gtFine" / split / city / f"{stem}_gtFine_labelIds.png", ids)
    ds = load_dataset("cityscapes", tmp_path)
    assert [len(ds[s]) for s in ("train", "val", "test")] == [5, 1, 3] and ds.num_classes == 19
    lab = ds["test"].labels[0]
    assert lab.shape == (128, 256) and lab[0, 0] == 13 and lab[40, 0] == 18 and lab[70, 0] == IGNORE and lab[-1, 0] == 0


def test_camvid_void_is_ignored(tmp_path):
    for split, n in (("train", 3), ("val", 2), ("test", 2)):
        for k in range(n):
            _png(tmp_path / "CamVid" / split / f"{split}{k}.png", np.full((36, 48, 3), 90, np.uint8))
            lab = np.full((36, 48), 3, np.uint8)  # road
            lab[:6] = 11  # void
            _png(tmp_path / "CamVid" / f"{split}annot" / f"{split}{k}.png", lab)
    ds = load_dataset("camvid", tmp_path)
    assert [len(ds[s]) for s in ("train", "val", "test")] == [3, 2, 2] and ds.num_classes == 11
    assert ds["val"].labels.shape == (2, 360, 480) and ds["val"].labels[0, 0, 0] == IGNORE and ds["val"].labels[0, -1, 0] == 3


@pytest.mark.parametrize("name, hint", [("voc_sbd", "VOCtrainval_11-May-2012.tar"), ("cityscapes", "gtFine_trainvaltest.zip"),
                                        ("camvid", "SegNet's layout")])
def test_missing_data_says_where_to_get_it(tmp_path, name, hint):
    with pytest.raises(DataMissingError, match=hint):
        load_dataset(name, tmp_path / "nope")
