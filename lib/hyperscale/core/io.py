"""Atomic, byte-deterministic file output, and safe loading of the torch files we write.

Every file a stage writes goes through here, so an interrupted run never leaves a
half-written output behind, and the same inputs give the same bytes (DVC hashes files, so a
rerun can be checked against `dvc.lock`). Timings never go into these files' neighbours'
results: they live in their own `timing*` files (see `core.train`).

Torch files (models, checkpoints) hold `{"sha256": hash of the payload, "payload": ...}`,
are written through memory (torch names the zip's inner folder after the file, so writing to
a random temporary name gave different bytes every time) and are read with
`weights_only=True`: a tampered file cannot run code, and a truncated or bit-flipped one
fails with one line naming the file.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import pickle
import sys
import tempfile
import zipfile
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .errors import InputError

# numpy's savez stamps the current time into the zip; a fixed stamp keeps files identical.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class UnreadableFile(InputError, ValueError):
    """A file we wrote is missing, truncated, corrupt or not ours; the message names it and the fix."""


def _temp_glob(path: Path) -> str:
    return f".{path.name}.*.tmp{path.suffix}"


def _umask() -> int:
    """The process's umask, read without changing it where Linux allows (os.umask can only set it)."""
    try:
        line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("Umask:"))
        return int(line.split()[1], 8)
    except (OSError, StopIteration):
        mask = os.umask(0o022)
        os.umask(mask)
        return mask


@contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path next to `path`; move it into place only if the block succeeds.

    A process killed by SIGKILL cannot clean up after itself: its temporaries for the same
    target are swept here the next time that target is written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(_temp_glob(path)):
        stale.unlink(missing_ok=True)
    # Same suffix as the target: some writers (papermill) check the extension.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
    os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the mode any new file gets
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_bytes(path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path, text: str) -> None:
    write_bytes(path, text.encode())


def _finite(obj):
    """NaN and infinities as null: JSON has no such numbers (json.dumps would write -Infinity)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def read_csv(path, **kw):
    """pandas.read_csv; a missing file (its stage has not run) stops in one line naming it."""
    import pandas as pd

    if not Path(path).exists():
        raise UnreadableFile(f"{path}: no such file; the stage that writes it has not run: run `dvc repro` "
                             f"(or `make study`) first")
    return pd.read_csv(path, **kw)


def write_json(path, obj) -> None:
    write_text(path, json.dumps(_finite(obj), indent=2, sort_keys=True, allow_nan=False) + "\n")


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
    """What `save_arrays` wrote; `UnreadableFile` naming the file when it is missing, truncated or corrupt."""
    if not Path(path).exists():
        raise UnreadableFile(f"{path}: no such file; rerun the stage that writes it")
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise UnreadableFile(f"{path} is truncated or corrupt ({type(e).__name__}: {str(e).strip()[:120]}); "
                             f"delete it and rerun the stage that writes it") from None


def checksum_arrays(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over names, dtypes, shapes and contents: a checksum of the data, not of the file."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def content_hash(obj) -> str:
    """sha256 of nested dicts, lists and tensors by value: tensors by dtype, shape and bytes."""
    import torch

    h = hashlib.sha256()

    def walk(o):
        if isinstance(o, torch.Tensor):
            t = o.detach().cpu().contiguous()
            h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
        elif isinstance(o, dict):
            h.update(f"D{len(o)}".encode())
            for k, v in o.items():
                h.update(repr(k).encode())
                walk(v)
        elif isinstance(o, (list, tuple)):
            h.update(f"L{len(o)}".encode())
            for v in o:
                walk(v)
        else:
            h.update(f"V{o!r}".encode())

    walk(obj)
    return h.hexdigest()


def _canonical(obj):
    """`obj` rebuilt so that its pickle depends on its values only, not on its history.

    pickle writes an object seen before as a back-reference: a string key shared by two dicts
    (a model's state and the best state copied from it) is written once in a fresh run but twice
    after a resume (the loaded copies are distinct objects), so equal checkpoints got different
    bytes. Here every container is new (never shared) and every string is interned (always shared).
    """
    if type(obj) is str:
        return sys.intern(obj)
    if type(obj) in (dict, OrderedDict):  # a state_dict is an OrderedDict with a _metadata attribute
        out = type(obj)((_canonical(k), _canonical(v)) for k, v in obj.items())
        if type(obj) is OrderedDict:
            out.__dict__.update(_canonical(vars(obj)))
        return out
    if type(obj) in (list, tuple):
        return type(obj)(_canonical(v) for v in obj)
    return obj


def save_torch(obj, path) -> None:
    """torch.save `obj` with its content hash, atomically and byte-deterministically."""
    import torch

    buf = io.BytesIO()
    torch.save(_canonical({"sha256": content_hash(obj), "payload": obj}), buf)
    write_bytes(path, buf.getvalue())


def load_torch(path) -> dict:
    """What `save_torch` wrote to `path`, verified; `UnreadableFile` (one line naming the file) otherwise."""
    import torch

    path = Path(path)
    if not path.exists():
        raise UnreadableFile(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise UnreadableFile(f"{path} is empty (a run killed while writing it?); delete it and rerun its stage")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0]
        raise UnreadableFile(f"{path} holds more than tensors and plain data, so it was not written by this project "
                             f"(refused by torch.load(weights_only=True): {first}); delete it") from None
    except Exception as e:  # truncated zip, not a torch file, ...
        raise UnreadableFile(f"{path} is not a readable torch file ({type(e).__name__}: {str(e).strip()[:120]}); "
                             f"it is truncated or corrupt: delete it and rerun its stage") from None
    if not (isinstance(data, dict) and {"sha256", "payload"} <= set(data)):
        raise UnreadableFile(f"{path} was not written by hyperscale.core.io.save_torch (no content hash); "
                             f"rerun the stage that writes it")
    if content_hash(data["payload"]) != data["sha256"]:
        raise UnreadableFile(f"{path} is corrupt: its tensors do not match the hash stored with them; "
                             f"delete it and rerun its stage")
    return data["payload"]
