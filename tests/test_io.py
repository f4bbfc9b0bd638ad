import numpy as np
import pytest

from hyperscale.core.io import atomic_path, checksum_arrays, load_arrays, save_arrays


def test_save_arrays_is_byte_identical_and_round_trips(tmp_path):
    arrays = {"b": np.arange(10, dtype=np.uint8), "a": np.random.default_rng(0).random((3, 4)).astype(np.float32)}
    save_arrays(tmp_path / "1.npz", arrays)
    save_arrays(tmp_path / "2.npz", arrays)
    assert (tmp_path / "1.npz").read_bytes() == (tmp_path / "2.npz").read_bytes()
    back = load_arrays(tmp_path / "1.npz")
    assert checksum_arrays(back) == checksum_arrays(arrays)


def test_atomic_path_leaves_nothing_behind_on_failure(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
