"""Run one pipeline notebook: `python -m hyperscale.core.notebook IN OUT [-p NAME VALUE]...`.

A notebook's `parameters` cell names what it runs (an experiment, a dataset); the library
reads every value from params.yaml, so `-p` only picks among the declared names (values are
parsed as YAML). `{name}` in the notebook's first markdown cell is replaced by that
parameter's value, so pages from one notebook get their own titles in the book.

papermill executes it into a temporary file that replaces OUT only when every cell ran, so a
failed or killed stage never leaves a half-executed notebook (or a busy kernel) behind; a kernel
that dies (out of memory, killed) ends the stage at once, and the runner dies with its parent
(`core.processes`), so killing `dvc repro` leaves no stage training behind it. The kernel talks over
local IPC sockets (not TCP). The record keeps no timestamps and no stderr (progress bars), so
the same inputs give the same notebook wherever no measured time is displayed. A failing
cell is reported in one line first (notebook, cell, error), then its traceback unless the
error is one of the library's input errors, whose message says what to fix.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import nbformat
import yaml

from . import errors
from .io import atomic_path
from .processes import die_with_parent, kill_children


def _kernel_manager(sockets: Path):
    """A kernel manager whose IPC sockets live under `sockets` (by default they land in the working
    directory, one file per channel, and a killed kernel leaves them there)."""
    # The asynchronous manager: nbclient polls it while a cell runs and stops at once when the
    # kernel dies (killed, out of memory); with the synchronous one it waited forever.
    from jupyter_client.manager import AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kw):
            super().__init__(transport="ipc", ip=str(sockets / "kernel"), **kw)

    return IPCKernelManager


_STYLER_ID = re.compile(r"T_[0-9a-f]{5}(?=[_\"\s])")  # pandas Styler's random table id (uuid4)
_ADDRESS = re.compile(r" at 0x[0-9a-f]+>")  # an object's memory address in its repr


def _scrub(nb, output: Path) -> None:
    """Drop what differs between two runs of the same inputs: timestamps, the temporary file's
    name, random ids (the injected cell's, styled tables'), memory addresses and stderr streams."""
    nb.metadata.get("papermill", {}).update(start_time=None, end_time=None, duration=None, output_path=str(output))
    for i, cell in enumerate(nb.cells):
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.id = "injected-parameters"
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")]
        for j, out in enumerate(cell.outputs):
            data = out.get("data", {})
            if "text/plain" in data:
                data["text/plain"] = _ADDRESS.sub(" at 0x...>", "".join(data["text/plain"]))
            html = data.get("text/html")
            if html:
                ids = {}  # the same table keeps one id across its <style> and its cells
                out.data["text/html"] = _STYLER_ID.sub(lambda m: ids.setdefault(m[0], f"T_{i}_{j}_{len(ids)}"),
                                                       "".join(html))


def _stop_on_signals(tmp: Path, sockets: Path) -> None:
    """On SIGTERM (kill, a CI timeout, the parent's death) or Ctrl-C: remove the half-executed notebook, kill the kernel
    and exit at once. (An exception raised here would surface only when the kernel's current
    cell ended, which in a training stage can be an hour.)"""
    def stop(signum, frame):
        tmp.unlink(missing_ok=True)
        kill_children()
        shutil.rmtree(sockets, ignore_errors=True)
        os._exit(128 + signum)

    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, stop)


def run(input_path: Path, output: Path, parameters: dict) -> None:
    import papermill

    with atomic_path(output) as tmp, tempfile.TemporaryDirectory(prefix="hyperscale-kernel-") as sockets:
        _stop_on_signals(tmp, Path(sockets))
        die_with_parent()  # SIGTERM when DVC dies: the handler above stops the kernel too
        # The kernel's output streams to this terminal (progress bars included) as it runs.
        papermill.execute_notebook(str(input_path), str(tmp), parameters=parameters, progress_bar=False,
                                   stdout_file=sys.stdout, stderr_file=sys.stderr,
                                   kernel_manager_class=_kernel_manager(Path(sockets)), record_timing=False)
        nb = nbformat.read(tmp, as_version=4)
        title = next((c for c in nb.cells if c.cell_type == "markdown"), None)
        if title is not None:
            title.source = re.sub(r"\{(\w+)\}", lambda m: str(parameters.get(m[1], m[0])), title.source)
        for cell in nb.cells:
            tags = cell.metadata.setdefault("tags", [])
            if "parameters" in tags:  # the defaults, replaced by the next cell
                tags.append("remove-cell")
            elif "injected-parameters" in tags:  # the values this run used: shown folded
                tags.append("hide-cell")
        _scrub(nb, output)
        nbformat.write(nb, tmp)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="a parameter the notebook declares (YAML value)")
    args = parser.parse_args(argv)
    import papermill

    declared = papermill.inspect_notebook(str(args.input))
    parameters = {name: yaml.safe_load(value) for name, value in args.p}
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        parser.error(f"{args.input} has no parameter(s) {unknown}; its parameters cell declares {sorted(declared)}")
    from nbclient.exceptions import DeadKernelError

    try:
        run(args.input, args.output, parameters)
    except (DeadKernelError, RuntimeError) as e:
        if not isinstance(e, DeadKernelError) and "Kernel died" not in str(e):  # (before it replied, nbclient says so)
            raise
        sys.exit(f"error: {args.input}: its kernel died (killed, or by the out-of-memory killer: see `dmesg`); "
                 f"nothing was written. Free memory or lower the sizes in params.yaml, then rerun")
    except papermill.PapermillExecutionError as e:
        print(f"error: {args.input}, cell {e.exec_count}: {e.ename}: {e.evalue}", file=sys.stderr)
        if e.ename not in errors.NAMES:  # an input error's message says what to fix
            print(re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(e.traceback)), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":  # run the importable module, so registries filled on import are the ones used
    from hyperscale.core.notebook import main

    main()
