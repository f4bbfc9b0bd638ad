"""Loaders of the SSHN / Hyper-UNet datasets on tiny fixtures written in each published layout."""
import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from hyperscale.core.data import DataMissingError
from hyperscale.data import load_dataset


def _nii(path, a):
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(a, np.eye(4)), str(path))


def _png(path, a, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a, mode).save(path)


def test_oasis2d_splits_64_16_20_by_subject(tmp_path):
    root = tmp_path / "neurite-oasis.2d.v1.0"
    for i in range(1, 11):
        s = root / f"OASIS_OAS1_{i:04d}_MR1"
        _nii(s / "slice_norm.nii.gz", np.full((16, 12, 1), i / 10, np.float32))
        seg = np.zeros((16, 12, 1), np.float32)
        seg[:4, :4] = 24
        _nii(s / "slice_seg24.nii.gz", seg)
    ds = load_dataset("oasis2d", tmp_path)
    assert [len(ds[s]) for s in ("train", "val", "test")] == [6, 2, 2]
    assert ds["train"].images.shape == (6, 1, 16, 12) and ds.num_classes == 25
    assert ds["test"].images[0, 0, 0, 0] == pytest.approx(0.9)  # subjects in sorted order
    assert ds["val"].labels.max() == 24


def test_pets_trimap_to_binary_with_official_lists(tmp_path):
    for n in ("cat_1", "cat_2", "dog_1", "dog_2", "dog_3", "cat_3"):
        _png(tmp_path / "images" / f"{n}.jpg", np.full((10, 14, 3), 200, np.uint8))
        trimap = np.full((10, 14), 2, np.uint8)
        trimap[2:8, 3:9] = 1
        trimap[2, 3:9] = 3  # border counts as pet
        _png(tmp_path / "annotations" / "trimaps" / f"{n}.png", trimap)
    (tmp_path / "annotations" / "trainval.txt").write_text("#Image CLASS-ID SPECIES BREED ID\n"
                                                           "cat_1 1 1 1\ncat_2 1 1 1\ndog_1 2 2 1\ndog_2 2 2 1\n")
    (tmp_path / "annotations" / "test.txt").write_text("dog_3 2 2 1\ncat_3 1 1 1\n")
    ds = load_dataset("pets", tmp_path)
    assert [len(ds[s]) for s in ("train", "val", "test")] == [3, 1, 2]  # every fifth training image to val
    assert ds["train"].images.shape == (3, 3, 128, 128)
    lab = ds["test"].labels[0]
    assert set(np.unique(lab)) == {0, 1} and lab.mean() == pytest.approx(6 * 6 / (10 * 14), abs=0.03)


def test_cub200_seg_thresholds_the_soft_masks(tmp_path):
    cub = tmp_path / "CUB_200_2011"
    for i, (rel, value) in enumerate((("001.A/a.jpg", 255), ("001.A/b.jpg", 100), ("002.B/c.jpg", 200)), 1):
        _png(cub / "images" / rel, np.zeros((8, 8, 3), np.uint8))
        _png(tmp_path / "segmentations" / rel.replace(".jpg", ".png"), np.full((8, 8), value, np.uint8))
    (cub / "images.txt").write_text("1 001.A/a.jpg\n2 001.A/b.jpg\n3 002.B/c.jpg\n")
    (cub / "train_test_split.txt").write_text("1 1\n2 1\n3 0\n")
    ds = load_dataset("cub200_seg", tmp_path)
    assert [len(ds[s]) for s in ("train", "val", "test")] == [1, 1, 1]
    assert ds["val"].labels.max() == 1 and ds["train"].labels.max() == 0 and ds["test"].labels.min() == 1


def test_camus_pairs_views_and_splits_by_patient(tmp_path):
    root = tmp_path / "database_nifti"
    for i in range(1, 6):
        p = root / f"patient{i:04d}"
        for view in ("2CH_ED", "4CH_ES"):
            _nii(p / f"patient{i:04d}_{view}.nii.gz", np.random.default_rng(i).random((20, 16)).astype(np.float32))
            gt = np.zeros((20, 16), np.float32)
            gt[5:10, 5:10] = 3
            _nii(p / f"patient{i:04d}_{view}_gt.nii.gz", gt)
    ds = load_dataset("camus", tmp_path)
    assert [len(ds[s]) for s in ("train", "val", "test")] == [6, 2, 2]  # 3 / 1 / 1 patients x 2 views
    assert ds["train"].images.shape[1:] == (1, 128, 128) and ds["train"].labels.max() == 3
    assert 0 <= ds["train"].images.min() and ds["train"].images.max() <= 1


def test_wbc_grey_levels_to_labels(tmp_path):
    for d, n in (("Dataset 1", 4), ("Dataset 2", 1)):
        for i in range(n):
            _png(tmp_path / d / f"{i:03d}.bmp", np.zeros((12, 12, 3), np.uint8))
            gt = np.zeros((12, 12), np.uint8)
            gt[2:10, 2:10] = 128
            gt[4:8, 4:8] = 255
            _png(tmp_path / d / f"{i:03d}.png", gt)
    ds = load_dataset("wbc", tmp_path)
    assert sum(len(ds[s]) for s in ("train", "val", "test")) == 5
    lab = ds["train"].labels[0]
    assert set(np.unique(lab)) == {0, 1, 2} and ds.label_names == ["background", "nucleus", "cytoplasm"]


def test_pandental_pairs(tmp_path):
    for i in range(5):
        _png(tmp_path / "images" / f"x{i}.png", np.zeros((30, 50), np.uint8))
        lab = np.zeros((30, 50), np.uint8)
        lab[10:20, 10:40] = 1
        lab[12:15, 20:30] = 2
        _png(tmp_path / "labels" / f"x{i}.png", lab)
    ds = load_dataset("pandental", tmp_path)
    assert ds["train"].images.shape == (3, 1, 128, 128) and set(np.unique(ds["test"].labels)) == {0, 1, 2}


@pytest.mark.parametrize("name", ["oasis2d", "pets", "cub200_seg", "camus", "wbc", "pandental"])
def test_missing_data_says_where_to_get_it(name, tmp_path):
    with pytest.raises(DataMissingError, match=f"{name}: .*(not found|no ).*"):
        load_dataset(name, tmp_path / "nowhere")
