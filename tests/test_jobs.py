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


# --- Runs side by side (lib/hyperscale/core/pool.py). The workers import this module by name
# (spawn), so the job and its task live at module level.
import os  # noqa: E402
import signal  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

from hyperscale.core.errors import DivergedError, SettingsError  # noqa: E402
from hyperscale.core.jobs import Job  # noqa: E402
from hyperscale.core.pool import RunFailed, train_side_by_side, workers  # noqa: E402
from hyperscale.core.train import TrainConfig, train  # noqa: E402


class ToyTask:
    """Fit y = sum(x) with a linear layer; `kill_at`: the worker SIGKILLs itself there once."""
    phases, score_name, code = ("fit",), "score", ()

    def __init__(self, run_dir: Path, kill_at=None, fail_at=None):
        self.run_dir, self.kill_at, self.fail_at = run_dir, kill_at, fail_at

    def __len__(self):
        return 64

    def sample(self, gen, batch_size, step):
        if step == self.kill_at and not (self.run_dir / "killed-once").exists():
            (self.run_dir / "killed-once").touch()
            os.kill(os.getpid(), signal.SIGKILL)
        if step == self.fail_at:
            raise ValueError(f"a bug at step {step}")
        x = torch.randn(batch_size, 4, generator=gen)
        return x, x.sum(1, keepdim=True)

    def loss(self, model, batch, phase):
        x, y = batch
        return torch.nn.functional.mse_loss(model(x), y) * (float("nan") if self.fail_at == -1 else 1)

    def score(self, model):
        x = torch.linspace(-1, 1, 32).reshape(8, 4)
        return {"score": -float(torch.nn.functional.mse_loss(model(x), x.sum(1, keepdim=True)))}

    def describe(self):
        return {"toy": 1}

    def checksum(self):
        return "toy"


def toy_run(run_dir, kill_at=None, fail_at=None, progress=False) -> dict:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    model.config = {"in": 4}
    cfg = TrainConfig(batch_size=8, max_steps=60, eval_every=10, checkpoint_every=10)
    res = train(model, ToyTask(run_dir, kill_at, fail_at), cfg, 0, run_dir, progress=progress, desc=run_dir.name)
    return {"steps": res.steps}


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5"])
def test_a_bad_jobs_value_fails_in_one_line(value):
    with pytest.raises(SettingsError, match=rf"^JOBS='{value}': expected a whole number of runs to train at a "
                                            rf"time, at least 1 \(default: the \d+ cores here"):
        workers({"JOBS": value})


def test_jobs_default_to_the_cores_and_more_only_warn(capsys):
    assert workers({}) == workers({"JOBS": ""}) == len(os.sched_getaffinity(0))
    assert workers({"JOBS": "64"}) == 64
    assert capsys.readouterr().err.startswith("warning: JOBS=64 x HYPERSCALE_THREADS=1 threads on ")


def test_a_killed_worker_stops_the_stage_and_its_run_resumes_to_the_same_bytes(tmp_path):
    """Issue 24: a worker killed mid-run (SIGKILL, the out-of-memory killer) fails the stage in one
    line naming the run; rerunning it resumes from the checkpoint and writes the bytes of an
    uninterrupted run."""
    toy_run(tmp_path / "whole")
    jobs = [Job("toy/killed", toy_run, (str(tmp_path / "killed"), 35)), Job("toy/other", toy_run, (str(tmp_path / "other"),))]
    with pytest.raises(RunFailed, match=r"a training worker died .* while training .*toy/killed.*rerun the stage"):
        train_side_by_side(jobs, 2, tmp_path)
    assert (tmp_path / "killed/checkpoint.pt").exists()  # from step 30
    assert train_side_by_side(jobs, 2, tmp_path) == [{"steps": 60}, {"steps": 60}]
    for run in ("killed", "other"):
        assert (tmp_path / run / "checkpoint.pt").read_bytes() == (tmp_path / "whole/checkpoint.pt").read_bytes()
    assert not list(tmp_path.rglob(".*.tmp*"))  # nothing half-written


def test_a_failing_run_stops_the_stage_with_its_name_and_log_and_finished_runs_stay(tmp_path):
    jobs = [Job("toy/good", toy_run, (str(tmp_path / "good"),)), Job("toy/bad", toy_run, (str(tmp_path / "bad"), None, 25))]
    with pytest.raises(RunFailed, match=r"^toy/bad failed: ValueError: a bug at step 25 \(traceback in .*toy/bad\.log\)"):
        train_side_by_side(jobs, 1, tmp_path)
    assert "Traceback" in (tmp_path / ".logs/toy/bad.log").read_text()
    assert (tmp_path / "good/checkpoint.pt").exists() and (tmp_path / "bad/checkpoint.pt").exists()
    with pytest.raises(DivergedError, match="^nan diverged"):  # an input error passes through as itself
        train_side_by_side([Job("toy/nan", toy_run, (str(tmp_path / "nan"), None, -1))], 1, tmp_path)
