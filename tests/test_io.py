import os
import stat

import numpy as np
import pytest

from hyperscale.core.io import UnreadableFile, atomic_path, checksum_arrays, load_arrays, save_arrays, write_text


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


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_written_files_get_the_umasks_mode(tmp_path, umask):
    """A shared filesystem (make launch) needs other users to read outputs: not mkstemp's 0600."""
    old = os.umask(umask)
    try:
        write_text(tmp_path / "a.txt", "x")
        save_arrays(tmp_path / "b.npz", {"x": np.zeros(2)})
    finally:
        os.umask(old)
    for name in ("a.txt", "b.npz"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask


def test_a_truncated_or_missing_npz_is_named(tmp_path):
    path = tmp_path / "train.npz"
    save_arrays(path, {"x": np.random.default_rng(0).random((50, 50))})
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(UnreadableFile, match=f"^{path} is truncated or corrupt"):
        load_arrays(path)
    with pytest.raises(UnreadableFile, match="no such file"):
        load_arrays(tmp_path / "none.npz")
