"""The camera model and HyperConv's image-enhancement sets (lib/hyperscale/data/{camera,enhancement}.py)."""
import numpy as np
import pytest
from PIL import Image

from hyperscale.core.data import DataMissingError
from hyperscale.data import camera
from hyperscale.data.enhancement import build, load_sidd_medium, load_zrr, split_photos


def test_mosaic_keeps_rggb_positions():
    rgb = np.stack([np.full((4, 6), v, np.float32) for v in (0.1, 0.2, 0.3)])
    rgb[1, 1, 0] = 0.9  # a green pixel of a blue row
    m = camera.mosaic(rgb)
    assert m.shape == (4, 2, 3)
    assert np.allclose(m[0], 0.1) and np.allclose(m[1], 0.2) and np.allclose(m[3], 0.3)
    assert m[2, 0, 0] == np.float32(0.9)
    with pytest.raises(ValueError, match="even"):
        camera.mosaic(rgb[:, :3])


def test_process_inverts_unprocess_on_flat_colours():
    rng = np.random.default_rng(0)
    for _ in range(5):
        cam = camera.random_camera(rng)
        x = np.broadcast_to(rng.uniform(0.05, 0.5, 3).astype(np.float32)[:, None, None], (3, 8, 10)).copy()
        assert np.abs(camera.process(camera.mosaic(camera.unprocess(x, cam)), cam) - x).max() < 1e-5


def test_demosaic_is_exact_on_flat_colours_up_to_the_border_and_keeps_samples():
    m = camera.mosaic(np.stack([np.full((6, 8), v, np.float32) for v in (0.1, 0.2, 0.3)]))
    assert np.allclose(camera.demosaic(m), [[[0.1]], [[0.2]], [[0.3]]])
    m = np.random.default_rng(0).uniform(0, 1, (4, 3, 4)).astype(np.float32)
    assert np.allclose(camera.mosaic(camera.demosaic(m)), m)  # measured samples pass through unchanged


def test_noise_variance_is_shot_times_signal_plus_read():
    cam = camera.Camera(np.eye(3, dtype=np.float32), 1.0, 2.0, 1.7, shot=1e-3, read=1e-4)
    raw = np.full((4, 200, 200), 0.3, np.float32)
    noisy = camera.add_noise(raw, cam, np.random.default_rng(0))
    assert noisy.var() == pytest.approx(1e-3 * 0.3 + 1e-4, rel=0.05)


def _photos(n=8, side=80):
    rng = np.random.default_rng(1)
    return {f"p{i}.png": rng.uniform(0, 1, (side, side + 4 * i, 3)).astype(np.float32) for i in range(n)}


@pytest.mark.parametrize("kind", ["isp", "denoise"])
def test_build_splits_by_photo_and_is_deterministic(kind):
    photos = _photos()
    a = build(kind, patch=16, per_photo=3, downscale=2, n_val=2, n_test=2, photos=photos)
    b = build(kind, patch=16, per_photo=3, downscale=2, n_val=2, n_test=2, photos=photos)
    assert a.checksum() == b.checksum()
    assert sorted(sum(a.meta["photos"].values(), [])) == sorted(photos)  # every photo in exactly one split
    assert len(a["train"]) == 4 * 3 and len(a["test"]) == 2 * 3
    x, y = a["train"].images, a["train"].labels
    assert y.shape == (12, 3, 16, 16)
    assert x.shape == ((12, 4, 8, 8) if kind == "isp" else (12, 3, 16, 16))
    assert 0 <= x.min() and x.max() <= 1 and 0 <= y.min() and y.max() <= 1
    with pytest.raises(ValueError, match="even"):
        build(kind, patch=15, photos=photos)


def test_split_photos_needs_a_training_photo():
    with pytest.raises(ValueError, match="n_val \\+ n_test"):
        split_photos(["a", "b", "c"], 1, 2, 0)


def _zrr(root, n_train=5, n_test=2, side=8):
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("test", n_test)):
        (root / split / "huawei_raw").mkdir(parents=True)
        (root / split / "canon").mkdir()
        for i in range(n):
            raw = rng.integers(0, 1021, (side, side)).astype(np.uint16)
            raw[0, 0] = 1020  # the first R sample at full scale
            Image.fromarray(raw).save(root / split / "huawei_raw" / f"{i}.png")
            Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(root / split / "canon" / f"{i}.jpg")


def test_load_zrr_reads_the_published_layout(tmp_path):
    _zrr(tmp_path)
    ds = load_zrr(tmp_path)
    assert [len(ds[s]) for s in ("train", "val", "test")] == [4, 1, 2]
    assert ds["train"].images.shape == (4, 4, 4, 4) and ds["train"].labels.shape == (4, 3, 8, 8)
    assert ds["train"].images[0, 0, 0, 0] == 1.0  # R at (0, 0), 10-bit white
    (tmp_path / "test" / "canon" / "1.jpg").unlink()
    with pytest.raises(DataMissingError, match="Zurich RAW to DSLR"):
        load_zrr(tmp_path)


def test_load_sidd_medium_crops_pairs_alike(tmp_path):
    rng = np.random.default_rng(0)
    for s in range(10):
        d = tmp_path / "Data" / f"{s:04d}_001_GP_00100_00100_3200_N"
        d.mkdir(parents=True)
        gt = rng.integers(0, 256, (24, 20, 3), dtype=np.uint8)
        Image.fromarray(gt).save(d / "GT_SRGB_010.PNG")
        Image.fromarray(gt).save(d / "NOISY_SRGB_010.PNG")  # noise-free, so input == target where cropped alike
    ds = load_sidd_medium(tmp_path, patch=8, per_image=2)
    assert [len(ds[s]) for s in ("train", "val", "test")] == [14, 2, 4]
    assert np.array_equal(ds["train"].images, ds["train"].labels)


def test_missing_real_sets_name_their_source(tmp_path):
    with pytest.raises(DataMissingError, match="pynet"):
        load_zrr(tmp_path / "nope")
    with pytest.raises(DataMissingError, match="sidd"):
        load_sidd_medium(tmp_path)
