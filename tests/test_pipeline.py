"""The pipeline as a whole, on a tree where `dvc repro` has just run (make test runs these in its
smoke copy with HYPERSCALE_PIPELINE=1; elsewhere they are skipped): every file a stage writes is
a declared output, and a second run from scratch writes the same bytes, measured times aside."""
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path.cwd()
pytestmark = pytest.mark.skipif(os.environ.get("HYPERSCALE_PIPELINE") != "1" or not (ROOT / "dvc.lock").exists(),
                                reason="runs on a freshly built pipeline only (make test)")
WRITTEN = ("data", "runs", "book/generated")
# Rendered pages that display no measured time (the others show training minutes or latencies).
TIMELESS_PAGES = ("book/generated/atlas2d.ipynb", "book/generated/scenes.ipynb")


def declared_outputs() -> list[Path]:
    from dvc.repo import Repo

    with Repo(str(ROOT)) as repo:
        return [Path(out.fs_path).relative_to(ROOT) for stage in repo.index.stages for out in stage.outs]


def written_files() -> list[Path]:
    return sorted(p.relative_to(ROOT) for top in WRITTEN for p in (ROOT / top).rglob("*") if p.is_file()
                  and p.name != "README.md")


def is_timing(path: Path) -> bool:
    """Measured times: each run's timing.json and the evaluations' timing/ folders."""
    return path.name == "timing.json" or "timing" in path.parts


def fingerprints() -> dict[str, str]:
    """md5 of every file the pipeline wrote but the measured times and the pages that show them."""
    return {str(p): hashlib.md5((ROOT / p).read_bytes()).hexdigest() for p in written_files()
            if not is_timing(p) and (p.parts[0] != "book" or str(p) in TIMELESS_PAGES)}


def test_every_file_a_stage_writes_is_a_declared_output():
    outs = declared_outputs()
    undeclared = [str(p) for p in written_files() if not any(p == o or o in p.parents for o in outs)]
    assert not undeclared, f"written but not declared in dvc.yaml: {undeclared[:10]}"


def test_a_second_run_from_scratch_writes_the_same_bytes(tmp_path):
    first = fingerprints()
    assert len(first) > 100
    for top in WRITTEN:
        shutil.move(ROOT / top, tmp_path / top.replace("/", "_"))
    subprocess.run(["dvc", "repro", "--quiet", "--force"], cwd=ROOT, check=True)
    second = fingerprints()
    changed = sorted(k for k in first.keys() | second.keys() if first.get(k) != second.get(k))
    assert not changed, f"{len(changed)} files differ between two runs from scratch: {changed[:10]}"
