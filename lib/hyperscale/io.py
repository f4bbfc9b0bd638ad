"""Atomic, byte-deterministic file output.

Every file a stage writes goes through here, so an interrupted run never leaves a
half-written output behind, and the same inputs give the same bytes (DVC hashes files).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

# numpy's savez stamps the current time into the zip; a fixed stamp keeps files identical.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path next to `path`; move it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same suffix as the target: some writers (papermill) check the extension.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, allow_nan=True) + "\n")


def read_json(path):
    return json.loads(Path(path).read_text())


def save_arrays(path, arrays: dict[str, np.ndarray]) -> None:
    """Write arrays as a compressed .npz (readable by np.load) with identical bytes for identical arrays."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w") as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue())


def load_arrays(path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def checksum_arrays(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over names, dtypes, shapes and contents: a checksum of the data, not of the file."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def load_checkpoint(path, key: str) -> dict | None:
    """The checkpoint at `path` if the run `key` wrote it (same configuration, seed, data and code);
    None if there is none, or, saying so, if it belongs to another run."""
    import torch

    if path is None or not Path(path).exists():
        return None
    ck = torch.load(path, map_location="cpu", weights_only=False)
    if ck["key"] != key:
        print(f"ignoring {path}: it belongs to another configuration")
        return None
    return ck


def torch_save(obj, path) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
