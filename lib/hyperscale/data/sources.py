"""Where the papers' real datasets come from, and the one error a loader raises when one is missing."""
from __future__ import annotations

from pathlib import Path

from ..core.data import DataMissingError


def need(path: Path, name: str, sources: dict[str, str]) -> Path:
    """`path`, or DataMissingError naming what to get (sources[name]) and where to point the data root."""
    if not path.exists():
        raise DataMissingError(f"{name}: {path} not found. Get {sources[name]}, and point the data root at it.")
    return path
