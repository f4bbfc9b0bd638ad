"""The project's own consistency: pins, profiles, notebook defaults, pipeline naming."""
import re
from pathlib import Path

import nbformat
import papermill
import pytest
import yaml

from hyperscale.project import fixed_run_name

ROOT = Path(__file__).resolve().parents[1]
PROFILES = {p.stem: yaml.safe_load(p.read_text()) for p in (ROOT / "profiles").glob("*.yaml")}
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_environment_yml_and_requirements_agree():
    req = [l.strip() for l in (ROOT / "requirements.txt").read_text().splitlines() if l.strip() and not l.startswith("#")]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert [p for p in pip if not p.startswith("-")] == req
    assert "torch==2.13.0" in req and not any(r.startswith("torchvision") for r in req)


def test_params_yaml_is_the_cpu_profile():
    assert yaml.safe_load((ROOT / "params.yaml").read_text()) == PROFILES["cpu"]


def test_profiles_share_one_structure():
    def keys(d, prefix=""):
        return {prefix + k for k in d} | {x for k, v in d.items() if isinstance(v, dict) for x in keys(v, f"{prefix}{k}.")}

    assert set(PROFILES) == {"smoke", "cpu", "paper"}
    assert keys(PROFILES["smoke"]) == keys(PROFILES["cpu"]) == keys(PROFILES["paper"])
    for name, p in PROFILES.items():
        assert p["profile"] == name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_defaults_are_the_smoke_profile(path):
    declared = papermill.inspect_notebook(str(path))
    smoke = PROFILES["smoke"]
    shared = [k for k in declared if k in smoke]
    assert shared, f"{path.name} reads no params.yaml section"
    ns = {}
    nb = nbformat.read(path, as_version=4)
    exec(next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", [])), ns)
    for key in shared:
        assert ns[key] == smoke[key], f"{path.name}: default of {key!r} differs from profiles/smoke.yaml"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_sources_carry_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")


def test_pipeline_names_fixed_runs_like_the_library():
    dvc = (ROOT / "dvc.yaml").read_text()
    template = re.search(r"runs/train/(fixed-phi)\$\{item\.phi\}", dvc)
    assert template and fixed_run_name(0.1) == template.group(1) + "0.1"
    assert fixed_run_name(0.05) == "fixed-phi0.05"


def test_notebook_runner_rejects_unknown_parameters(tmp_path, capsys):
    from hyperscale.notebook import main

    with pytest.raises(SystemExit):
        main([str(ROOT / "notebooks/train.ipynb"), str(tmp_path / "out.ipynb"), "-p", "learning_rate", "0.1"])
    assert "no parameter(s) ['learning_rate']" in capsys.readouterr().err
    assert not (tmp_path / "out.ipynb").exists()


def test_killed_notebook_run_leaves_no_temporary_file(tmp_path):
    """SIGTERM (kill, pkill, a CI timeout) must still remove the half-executed notebook."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "out.ipynb"
    proc = subprocess.Popen([sys.executable, "-m", "hyperscale.notebook", str(ROOT / "notebooks/train.ipynb"), str(out),
                             "-p", "run_dir", str(tmp_path / "run")], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not list(tmp_path.glob(".out.ipynb.*")) and time.time() < deadline:
        time.sleep(0.1)
    assert list(tmp_path.glob(".out.ipynb.*")), "the runner never created its temporary notebook"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) != 0
    assert not list(tmp_path.glob(".out.ipynb.*")) and not out.exists()
