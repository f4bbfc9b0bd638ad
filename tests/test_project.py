"""The project's own consistency: pins, params and profiles, notebooks, the notebook runner."""
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest
import yaml

from hyperscale.core import params as P
from hyperscale.core.io import write_text

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_environment_yml_and_requirements_agree():
    req = [l.strip() for l in (ROOT / "requirements.txt").read_text().splitlines() if l.strip() and not l.startswith("#")]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert [p for p in pip if not p.startswith("-")] == req
    assert "torch==2.13.0" in req and not any(r.startswith("torchvision") for r in req)


def test_params_yaml_validates_whatever_profile_it_holds():
    params = P.load(ROOT / "params.yaml")
    assert params["profile"] in P.PROFILES
    for name in params:
        if name not in P.SCALARS:
            P.validate(name, params[name])


@pytest.mark.parametrize("profile", ["smoke", "paper"])
def test_every_profile_is_the_cpu_base_plus_a_valid_overlay(profile, tmp_path):
    base = P.cpu_base(ROOT)
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / f"{profile}.yaml").write_bytes((ROOT / "profiles" / f"{profile}.yaml").read_bytes())
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(base))
    full = P.profile(profile, root=tmp_path)
    assert full["profile"] == profile
    for name in full:
        if name not in P.SCALARS:
            P.validate(name, full[name], profile)
    assert full["device"] == {"smoke": "cpu", "paper": "auto"}[profile]  # the paper profile takes a GPU if there is one


def test_overlay_keys_must_exist():
    with pytest.raises(P.ParamsError, match="sets sshn.train.max_step, which params.yaml does not have"):
        P.overlay({"sshn": {"train": {"max_steps": 1}}}, {"sshn": {"train": {"max_step": 2}}})


def test_numbers_are_read_as_dvc_reads_them(tmp_path):
    (tmp_path / "p.yaml").write_text("a: 1e-3\nb: 2E5\nc: 1.5e-2\nd: 20\ne: '1e-3'\nf: 1_000\n")
    assert P.read_yaml(tmp_path / "p.yaml") == {"a": 0.001, "b": 200000.0, "c": 0.015, "d": 20, "e": "1e-3", "f": 1000}


def _sshn_with(**train):
    sshn = P.load(ROOT / "params.yaml")["sshn"]
    return {**sshn, "train": {**sshn["train"], **train}}


@pytest.mark.parametrize("change, message", [
    ({"max_steps": "20"}, r"sshn\.train\.max_steps: Input should be a valid integer \(got '20'\)"),
    ({"max_steps": 2.5}, r"sshn\.train\.max_steps: Input should be a valid integer \(got 2\.5\)"),
    ({"val_phis": []}, r"sshn\.train\.val_phis: List should have at least 1 item"),
    ({"optimizer": {"name": "adam", "lr": "1e-3"}}, r"sshn\.train\.optimizer\.lr: Input should be a valid number"),
    ({"optimizer": {"name": "adam", "learning_rate": 0.1}}, r"sshn\.train\.optimizer\.learning_rate: Extra inputs"),
    ({"patience_steps": 0}, r"sshn\.train\.patience_steps: Input should be greater than 0"),
    ({"batch_size": 4096}, r"sshn\.train\.batch_size: Value error, at most 256: more does not fit the memory"),
    ({"optimizer": {"name": "adam", "lr": float("inf")}}, r"sshn\.train\.optimizer\.lr: Input should be a finite number"),
    ({"optimizer": {"name": "adam", "betas": [0.9, 1.5]}}, r"sshn\.train\.optimizer\.betas\.1: Input should be less than 1"),
    ({"val_phis": [0.25, 0.5, 0.25]}, r"sshn\.train\.val_phis: Value error, lists 0\.25 more than once"),
])
def test_bad_params_fail_in_one_line_naming_the_key(change, message):
    with pytest.raises(P.ParamsError, match=message) as e:
        P.validate("sshn", _sshn_with(**change))
    assert "\n" not in str(e.value)


def _with(section: str, path: str, value) -> dict:
    """params.yaml's `section` with the value at dotted `path` replaced."""
    import copy

    s = copy.deepcopy(P.load(ROOT / "params.yaml")[section])
    *parents, leaf = path.split(".")
    node = s
    for k in parents:
        node = node[k]
    node[leaf] = value
    return s


@pytest.mark.parametrize("section, path, value, message", [
    # sizes past what the machines hold (a depth of 12 once grew to 21.8 GB)
    ("hyperseg", "tradeoff.unet_depth", 12, r"hyperseg\.tradeoff\.unet_depth: Value error, at most 5"),
    ("hyperseg", "tradeoff.unet_widths", [3, 4096], r"hyperseg\.tradeoff\.unet_widths\.1: Value error, at most 64"),
    ("hyperconv", "eq4.draws", 10**9, r"hyperconv\.eq4\.draws: Value error, at most 1000000"),
    ("hyperconv", "benchmark.grouped.sizes", [64, 100000], r"hyperconv\.benchmark\.grouped\.sizes\.1: Value error"),
    ("hyperseg", "benchmark.fps.size", [288, 99999], r"hyperseg\.benchmark\.fps\.size\.1: Value error, at most"),
    ("sshn", "model.width", 1024, r"sshn\.model\.width: Value error, at most 64"),
    ("data", "scenes.size", 100000, r"data\.scenes\.size: Value error, at most 256"),
    ("data", "atlas2d.copies.train", 1000, r"data\.atlas2d\.copies\.train: Value error, at most 64"),
    ("shape_adaptor", "train.batch_size", 100000, r"shape_adaptor\.train\.batch_size: Value error, at most 1024"),
    # what the models need
    ("hyperseg", "ablation.templates", ["S-camvd"], r"hyperseg\.ablation\.templates\.0: Input should be 'L-voc', .* \(got 'S-camvd'\)"),
    ("hyperseg", "benchmark.dpw.template", "M", r"hyperseg\.benchmark\.dpw\.template: Input should be"),
    ("data", "multiscenes.size", 32, r"data\.multiscenes\.size: Input should be greater than or equal to 64"),
    ("data", "multiscenes.size", 100, r"data\.multiscenes\.size: Input should be a multiple of 32"),
    ("data", "isp.patch", 80, r"data\.isp\.patch: Input should be a multiple of 32"),
    ("hyperseg", "ablation.train.batch_size", 1, r"BatchNorm normalises over the batch"),
    ("hyperseg", "ablation.judged.backbone", "resnet18", r"judged \(S-camvid, resnet18\) is not trained"),
    ("hyperconv", "equivariance.shifts", [[1]], r"hyperconv\.equivariance\.shifts\.0: List should have at least 2 items"),
    ("shape_adaptor", "train.batch_size", 1, r"shape_adaptor\.train\.batch_size: Input should be greater than or equal to 2"),
    ("hyperconv", "sweep.train.optimizers", {"weigths": {"name": "adam"}}, r"hyperconv\.sweep\.train\.optimizers\.weigths\.\[key\]: Input should be 'weights' or 'alpha'"),
    ("hyperconv", "sweep.train.optimizers.weights.lr", float("inf"), r"Input should be a finite number"),
    ("shape_adaptor", "train.optimizer.momentum", 1.5, r"shape_adaptor\.train\.optimizer\.momentum: Input should be less than 1"),
    # duplicates: the same run or row twice
    ("hyperseg", "ablation.seeds", [0, 1, 0], r"hyperseg\.ablation\.seeds: Value error, lists 0 more than once"),
    ("hyperseg", "ablation.templates", ["S-camvid", "S-camvid"], r"lists 'S-camvid' more than once"),
    ("hyperconv", "sweep.n_hid", [16, 64, 16], r"hyperconv\.sweep\.n_hid: Value error, lists 16 more than once"),
    ("hyperseg", "tradeoff.unet_widths", [3, 3], r"lists 3 more than once"),
    ("sshn", "main.seeds", [0, 0], r"sshn\.main\.seeds: Value error, lists 0 more than once"),
    ("shape_adaptor", "nets", ["vgg16", "vgg16", "mobilenetv2"], r"lists 'vgg16' more than once"),
])
def test_schema_bounds_and_needs_fail_in_one_line(section, path, value, message):
    """Issue 28's schema gaps: each ended in a deep traceback or the out-of-memory killer."""
    with pytest.raises(P.ParamsError, match=message) as e:
        P.validate(section, _with(section, path, value))
    assert "\n" not in str(e.value)


def test_params_that_contradict_each_other_fail_at_once():
    sshn = P.load(ROOT / "params.yaml")["sshn"]
    with pytest.raises(P.ParamsError, match="prior.center must be in main.fixed_phis"):
        P.validate("sshn", {**sshn, "prior": {**sshn["prior"], "center": 0.3}})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_name_what_they_run_and_read_values_from_params(path):
    """A parameters cell names a paper, experiment or dataset; no params.yaml section is copied in."""
    declared = papermill.inspect_notebook(str(path))
    assert len(declared) == 1 and next(iter(declared)) in ("paper", "experiment", "dataset"), declared
    assert not set(declared) & set(P.load(ROOT / "params.yaml"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_sources_carry_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("name", ["sshn.ipynb", "shape_adaptor.ipynb", "hyperconv.ipynb", "hyperseg.ipynb"])
def test_chapter_notebooks_stay_records(name):
    """Well under 200 code lines, and no file writing of their own."""
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert len(code.splitlines()) < 200
    assert not any(w in code for w in ("write_text", "write_json", "to_csv(", "open("))


def _notebook(tmp_path, *sources) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('experiment = "x"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Run `{experiment}`"), params,
                *(nbformat.v4.new_code_cell(s) for s in sources)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "in.ipynb"
    nbformat.write(nb, path)
    return path


def _run_notebook(path, out, *args, **kw):
    return subprocess.run([sys.executable, "-m", "hyperscale.core.notebook", str(path), str(out), *args],
                          cwd=path.parent, capture_output=True, text=True, **kw)


def test_notebook_runner_rejects_unknown_parameters(tmp_path):
    nb = _notebook(tmp_path, "1")
    r = _run_notebook(nb, tmp_path / "out.ipynb", "-p", "learning_rate", "0.1")
    assert r.returncode != 0 and "no parameter(s) ['learning_rate']" in r.stderr
    assert not (tmp_path / "out.ipynb").exists()


def test_notebook_runner_output_is_deterministic_quiet_and_titled(tmp_path):
    nb = _notebook(tmp_path, "import sys; print('out'); print('progress', file=sys.stderr); experiment * 2",
                   "import pandas as pd; pd.DataFrame({'a': [1.5]}).style.format(precision=2)")  # a random table id
    outs = []
    for _ in range(2):
        r = _run_notebook(nb, tmp_path / "out.ipynb", "-p", "experiment", "main")
        assert r.returncode == 0, r.stderr
        assert "without encryption" not in r.stderr + r.stdout  # the kernel talks over IPC, not TCP
        outs.append((tmp_path / "out.ipynb").read_bytes())
    assert outs[0] == outs[1]
    assert not list(tmp_path.glob("kernel*"))  # the kernel's IPC sockets stay out of the working directory
    executed = nbformat.reads(outs[0].decode(), as_version=4)
    assert executed.cells[0].source == "# Run `main`"
    assert not any(o.get("name") == "stderr" for c in executed.cells if c.cell_type == "code" for o in c.outputs)


def test_notebook_runner_reports_a_failing_cell_in_one_line_first(tmp_path):
    bad_input = _notebook(tmp_path, "from hyperscale.core.params import ParamsError\n"
                                    "raise ParamsError('params.yaml: sshn.train.lr: Input should be a valid number')")
    r = _run_notebook(bad_input, tmp_path / "out.ipynb")
    assert r.returncode == 1 and not (tmp_path / "out.ipynb").exists()
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {bad_input}, cell 2: ParamsError: params.yaml: sshn.train.lr: Input should be a valid number"], \
        r.stderr  # (once in ~20 full runs something else was printed last; kept visible if it recurs)
    assert "Traceback" not in r.stderr  # an input error's message says it all
    bug = _notebook(tmp_path, "1 / 0")
    r = _run_notebook(bug, tmp_path / "out.ipynb")
    err = r.stderr[r.stderr.index("error: "):]
    assert err.startswith(f"error: {bug}, cell 2: ZeroDivisionError: division by zero\n") and "1 / 0" in err


def test_killed_notebook_run_leaves_no_temporary_file(tmp_path):
    """SIGTERM (kill, pkill, a CI timeout) removes the half-executed notebook and stops the kernel
    mid-cell (a cell of 10 minutes here: waiting for it would time the test out)."""
    import signal
    import time

    nb, out = _notebook(tmp_path, "import time; time.sleep(600)"), tmp_path / "out.ipynb"
    proc = subprocess.Popen([sys.executable, "-m", "hyperscale.core.notebook", str(nb), str(out)], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not list(tmp_path.glob(".out.ipynb.*")) and time.time() < deadline:
        time.sleep(0.1)
    assert list(tmp_path.glob(".out.ipynb.*")), "the runner never created its temporary notebook"
    time.sleep(1)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) != 0
    assert not list(tmp_path.glob(".out.ipynb.*")) and not out.exists()
    assert not list(tmp_path.glob("kernel*"))


def test_temporaries_a_killed_run_left_are_swept_and_ignored(tmp_path):
    """SIGKILL leaves a temporary behind; the next write of that file removes it, and DVC never hashes one."""
    stale = tmp_path / ".checkpoint.pt.k1d2.tmp.pt"
    stale.write_bytes(b"")
    other = tmp_path / ".history.csv.x.tmp.csv"
    other.write_bytes(b"")
    write_text(tmp_path / "checkpoint.pt", "new")
    assert not stale.exists() and other.exists()  # only the target's own leftovers
    assert "**/.*.tmp*" in (ROOT / ".dvcignore").read_text().splitlines()


def test_import_fixes_the_thread_count():
    """Convolutions sum in another order on another thread count: every process uses HYPERSCALE_THREADS,
    one by default whatever the machine's cores (runs use the cores side by side), whether torch was
    loaded before hyperscale or after it."""
    before = "import torch; torch.set_num_threads(3); import hyperscale; print(torch.get_num_threads())"
    after = "import hyperscale, sys; assert 'torch' not in sys.modules; import torch; print(torch.get_num_threads())"
    clean = {k: v for k, v in os.environ.items() if k not in {"HYPERSCALE_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"}}
    for code in (before, after):
        for env, want in (({}, "1"), ({"HYPERSCALE_THREADS": "2"}, "2"), ({"OMP_NUM_THREADS": "3"}, "1")):
            r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean | env)
            assert r.stdout.strip() == want, (code, env, r.stderr)


def test_the_notebook_runner_does_not_load_torch():
    """It runs once per stage; the notebook's kernel loads what the notebook needs."""
    code = "import sys, hyperscale.core.notebook; print('torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1.5"])
def test_a_bad_thread_count_fails_in_one_line(value):
    r = subprocess.run([sys.executable, "-c", "import hyperscale"], capture_output=True, text=True,
                       env=os.environ | {"HYPERSCALE_THREADS": value})
    assert r.returncode == 1 and r.stderr == (f"error: HYPERSCALE_THREADS={value!r}: expected a whole number of "
                                              f"threads per process, at least 1 (default 1; unset it, and use JOBS "
                                              f"to train runs side by side)\n")


def test_every_input_error_is_shown_in_one_line():
    """The notebook runner knows a cell's error by name only: core.errors.NAMES lists every InputError."""
    import importlib

    from hyperscale.core import errors
    from hyperscale.launch import PAPERS  # noqa: F401  (imports every package)

    for m in ("hyperscale.data", "hyperscale.core.share", "hyperscale.core.device"):
        importlib.import_module(m)

    def subclasses(c):
        return {c.__name__} | {n for s in c.__subclasses__() for n in subclasses(s)}

    assert subclasses(errors.InputError) == set(errors.NAMES)


def test_study_progress_line_counts_stages_and_estimates_from_the_last_run():
    from hyperscale.core.progress import status_line

    last = {"a": 60, "b": 120, "c": 30}
    assert status_line("b", ["a", "b"], ["a", "b", "c"], 61, last) == "[2/3] b: 1:01 elapsed, about 2:30 left"
    assert status_line("a", ["a"], ["a", "d"], 0, last) == ("[1/2] a: 0:00 elapsed, about 1:00 left "
                                                          "(+ 1 stages never timed here)")
    assert status_line("a", ["a"], ["a"], 3725, {}) == "[1/1] a: 1:02:05 elapsed, no earlier run timed here"
    # a stage the dry run did not foresee still counts, with its own last time
    assert status_line("c", ["a", "b", "c"], ["a", "b"], 10, last) == "[3/3] c: 0:10 elapsed, about 0:30 left"


def test_pull_without_the_publishers_remote_says_so_in_one_line(tmp_path):
    """A fresh clone's default remote is a folder beside the publisher's checkout: `make pull` says
    where results come from instead of DVC's line per missing file."""
    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc/config").write_text("[core]\n    no_scm = true\n    remote = shared\n"
                                          "['remote \"shared\"']\n    url = ../../absent-remote\n")
    for name in ("dvc.yaml", "params.yaml"):
        (tmp_path / name).write_text("{}\n")
    r = subprocess.run([sys.executable, "-m", "hyperscale.core.share", "pull"], cwd=tmp_path, capture_output=True,
                       text=True, env=os.environ | {"DVC_NO_ANALYTICS": "1"})
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("error: no results to pull: DVC remote 'shared' is the folder ") and \
        "make study" in r.stderr and r.stderr.count("\n") == 1, r.stderr


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not yet reaped by its parent, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for(condition, timeout=60.0) -> bool:
    import time

    deadline = time.time() + timeout
    while not condition() and time.time() < deadline:
        time.sleep(0.1)
    return condition()


def test_a_dead_kernel_ends_the_stage_in_one_line(tmp_path):
    """The out-of-memory killer took a kernel and the runner waited forever."""
    import signal

    from hyperscale.core.processes import children

    nb = _notebook(tmp_path, "import pathlib, time; pathlib.Path('busy').touch(); time.sleep(600)")
    out = tmp_path / "out.ipynb"
    proc = subprocess.Popen([sys.executable, "-m", "hyperscale.core.notebook", str(nb), str(out)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(lambda: (tmp_path / "busy").exists())  # the kernel is in a cell
        kernel = children(proc.pid)[0]
        os.kill(kernel, signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 1
    assert err.strip().splitlines()[-1].startswith(f"error: {nb}: its kernel died"), err
    assert "Traceback" not in err and not out.exists() and not list(tmp_path.glob(".out.ipynb.*"))


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_the_runner_and_its_kernel_die_with_their_parent(tmp_path, how):
    """Killing `dvc repro` left the runner training with parent 1, beside the rerun."""
    import signal

    from hyperscale.core.processes import children

    nb, out = _notebook(tmp_path, "import time; time.sleep(600)"), tmp_path / "out.ipynb"
    # What DVC does: a parent process that starts the runner and waits for it.
    parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys; subprocess.run(sys.argv[1:])",
                               sys.executable, "-m", "hyperscale.core.notebook", str(nb), str(out)], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runner = kernel = 0
    try:
        assert _wait_for(lambda: children(parent.pid) and list(tmp_path.glob(".out.ipynb.*")))
        runner = children(parent.pid)[0]
        assert _wait_for(lambda: children(runner))
        kernel = children(runner)[0]
        parent.send_signal(getattr(signal, how))
        parent.wait(timeout=10)
        assert _wait_for(lambda: not _alive(runner), 30), "the runner outlived its parent"
        assert _wait_for(lambda: not _alive(kernel), 30), "the kernel outlived the runner"
    finally:
        parent.kill()
        for pid in (runner, kernel):
            if pid and _alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert not out.exists() and not list(tmp_path.glob(".out.ipynb.*"))


def _project(tmp_path, **changes) -> Path:
    """A folder the library takes for the project: dvc.yaml and params.yaml (with `changes`)."""
    params = P.load(ROOT / "params.yaml") | changes
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path


def _module(args, cwd, **env):
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True,
                          env=os.environ | env)


def test_launch_checks_params_before_submitting_anything(tmp_path):
    """Issue 28: a bad device failed every job after queueing, with a 55-line traceback each."""
    project = _project(tmp_path, device="cuda:3")
    r = _module(["hyperscale.launch", "--executor", "local"], project)
    assert r.returncode == 1 and r.stderr.startswith("error: params.yaml: device: cuda:3 but torch sees 0 GPU")
    assert r.stderr.count("\n") == 1 and not (project / ".launch").exists()
    r = _module(["hyperscale.launch", "--executor", "slurm"], _project(tmp_path, device="cuda"))
    assert r.returncode == 1 and "device: cuda, but the jobs ask for no GPU; add --gpus 1" in r.stderr
    r = _module(["hyperscale.launch", "--slurm", "partition"], project)
    assert r.returncode == 2 and "--slurm takes KEY=VALUE options (e.g. --slurm partition=gpu), not partition" \
        in r.stderr and "Traceback" not in r.stderr
    r = _module(["hyperscale.launch", "--executor", "local"], project, JOBS="abc")
    assert r.returncode == 1 and r.stderr.startswith("error: JOBS='abc': expected a whole number")


def test_a_stage_outside_the_project_or_before_its_inputs_says_so_in_one_line(tmp_path):
    r = _module(["hyperscale.hyperseg.evaluate"], tmp_path)
    assert r.returncode == 1 and r.stderr == (f"error: {tmp_path.resolve()} is not inside the study (no folder with "
                                              f"dvc.yaml and params.yaml at or above it); run the command from the "
                                              f"project's folder\n")
    from hyperscale.core.io import UnreadableFile
    from hyperscale.hyperseg import runs

    with pytest.raises(UnreadableFile, match=r"ablation/results\.csv: no such file; the stage that writes it has "
                                             r"not run: run `dvc repro`"):
        runs.results(_project(tmp_path))
