"""scenes: real objects on real photos; deterministic, binary, split by photo rows."""
import numpy as np
import pytest

from hyperscale.core.data import DataMissingError
from hyperscale.data.scenes import band_rows, build

N = {"train": 6, "val": 3, "test": 3}


def test_scenes_shapes_labels_and_determinism():
    a, b = build(size=24, n=N, seed=1), build(size=24, n=N, seed=1)
    assert a.checksum() == b.checksum() and a.checksum() != build(size=24, n=N, seed=2).checksum()
    assert a.label_names == ["background", "object"] and a.in_channels == 3
    for split, k in N.items():
        x, y = a[split].images, a[split].labels
        assert x.shape == (k, 3, 24, 24) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
        assert y.shape == (k, 24, 24) and set(np.unique(y)) <= {0, 1}
        assert all(0.02 < m.mean() < 0.9 for m in y)  # every scene holds an object and some background


def test_band_rows_keep_crops_inside_their_band():
    assert band_rows(100, (0.85, 1.0), 15) == (85, 85)
    assert band_rows(200, (0.0, 0.6), 30) == (0, 90)
    with pytest.raises(ValueError, match="does not fit"):
        band_rows(100, (0.65, 0.8), 20)


def test_bad_parameters_and_missing_sources_fail_clearly(tmp_path):
    with pytest.raises(ValueError, match="object_scale"):
        build(n=N, object_scale=(0.9, 0.5))
    with pytest.raises(DataMissingError, match="scikit-image"):
        build(n=N, photos_root=tmp_path)
    with pytest.raises(DataMissingError, match="fashion_mnist"):
        build(n=N, fashion_root=tmp_path / "nowhere")


def test_multiscenes_hold_several_classes_with_occlusion_and_are_deterministic():
    from hyperscale.data.multiscenes import CLASSES, build as build_multi
    a, b = build_multi(size=48, n=N, seed=1), build_multi(size=48, n=N, seed=1)
    assert a.checksum() == b.checksum() and a.checksum() != build_multi(size=48, n=N, seed=2).checksum()
    assert a.label_names == ["background", *CLASSES] and a.num_classes == 11
    for split, k in N.items():
        x, y = a[split].images, a[split].labels
        assert x.shape == (k, 3, 48, 48) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
        assert y.shape == (k, 48, 48) and y.max() <= 10 and all((m > 0).any() and (m == 0).any() for m in y)
    one = build_multi(size=48, n=N, seed=1, objects=(1, 1))
    assert all(len(np.unique(m)) == 2 for m in one["train"].labels)  # one object: its class and background
    many = build_multi(size=48, n=N, seed=1, objects=(6, 6), object_scale=(0.5, 0.6))
    assert max(len(np.unique(m)) for m in many["train"].labels) >= 3
    with pytest.raises(ValueError, match="multiscenes.objects"):
        build_multi(n=N, objects=(3, 2))
