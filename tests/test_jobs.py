"""Running an experiment's planned runs (lib/hyperscale/core/jobs.py)."""
from types import SimpleNamespace

from hyperscale.core.jobs import train_planned


def test_train_planned_keeps_exactly_the_planned_runs(tmp_path):
    for name in ("a", "old"):
        (tmp_path / name).mkdir()
    (tmp_path / "results.csv").write_text("kept: not a run folder")
    planned = [(SimpleNamespace(name=n), (n, i)) for i, n in enumerate(("a", "b"))]
    assert train_planned(tmp_path, planned, lambda n, i: f"{n}{i}") == ["a0", "b1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "results.csv"]  # "old" is no longer planned
