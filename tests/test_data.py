import numpy as np
import pytest

from hyperscale.core.data import DataMissingError, load_npz_dataset, save_npz_dataset
from hyperscale.data import load_dataset
from hyperscale.data import atlas2d

TINY = dict(size=(16, 16), copies={"train": 1, "val": 1, "test": 1})


@pytest.fixture(scope="module")
def tiny_atlas():
    return atlas2d.build(**TINY)


def test_build_is_deterministic(tiny_atlas, tmp_path):
    again = atlas2d.build(**TINY)
    a = save_npz_dataset(tiny_atlas, tmp_path / "a")
    b = save_npz_dataset(again, tmp_path / "b")
    assert a == b
    for name in ("train.npz", "val.npz", "test.npz", "meta.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_another_seed_gives_other_subjects(tiny_atlas):
    other = atlas2d.build(**TINY, seed=1)
    assert not np.array_equal(other["train"].images, tiny_atlas["train"].images)


def test_contents(tiny_atlas):
    ds = tiny_atlas
    assert ds.label_names[0] == "background" and ds.num_classes == 24  # 20 AAL groups + 3 tissues + background
    assert ds.in_channels == 1
    for split in ds.splits.values():
        assert split.images.shape[1:] == (1, 16, 16) and split.images.dtype == np.float32
        assert 0.0 <= split.images.min() and split.images.max() <= 1.0
        assert split.labels.shape == (len(split), 16, 16) and split.labels.max() < ds.num_classes
    # 166 coronal slices with >= 10 % of the peak brain area, split 12/3/3 of every 24
    assert ds.meta["slices"] == {"train": 84, "val": 21, "test": 21}
    frac = ds.meta["volume_fraction"]
    assert sum(frac.values()) == pytest.approx(1.0)
    assert max(frac.values()) > 0.3 and min(frac.values()) < 0.005  # large to small, like OASIS


def test_split_blocks_leave_gaps():
    split = atlas2d.split_of_slices(30, (12, 2, 3, 2, 3, 2))
    assert list(split[:24]) == ["train"] * 12 + [""] * 2 + ["val"] * 3 + [""] * 2 + ["test"] * 3 + [""] * 2
    assert list(split[24:]) == ["train"] * 6


def test_every_aal_region_has_a_group():
    lut = atlas2d._aal_to_group(atlas2d.TEMPLATES / "aal.nii.txt")
    assert (lut[1:117] > 0).all() and lut[0] == 0


def test_round_trip_and_checksum(tiny_atlas, tmp_path):
    save_npz_dataset(tiny_atlas, tmp_path)
    back = load_dataset("atlas2d", tmp_path)
    assert back.label_names == tiny_atlas.label_names
    np.testing.assert_array_equal(back["test"].labels, tiny_atlas["test"].labels)
    # corrupt one split: the checksum catches it
    bad = dict(np.load(tmp_path / "val.npz"))
    bad["images"][0, 0, 0, 0] += 0.5
    np.savez_compressed(tmp_path / "val.npz", **bad)
    with pytest.raises(ValueError, match="checksum"):
        load_npz_dataset(tmp_path)


def test_missing_package_names_it_and_how_to_install(tmp_path):
    with pytest.raises(DataMissingError, match=r"mricron-data.*apt-get install mricron-data"):
        atlas2d.build(**TINY, templates_dir=tmp_path)


def test_missing_dataset_says_how_to_build_it(tmp_path):
    with pytest.raises(DataMissingError, match="dvc repro"):
        load_dataset("atlas2d", tmp_path / "nowhere")
    with pytest.raises(ValueError, match="known"):
        load_dataset("oasis3", tmp_path)


@pytest.mark.parametrize("bad", [dict(size=(4, 4)), dict(warp_factor=0), dict(split_pattern=(1, 2)),
                                 dict(augment={"rotation": 5})])
def test_bad_recipe_arguments(bad):
    with pytest.raises(ValueError):
        atlas2d.build(**{**TINY, **bad})
