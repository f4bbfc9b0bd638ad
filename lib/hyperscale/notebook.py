"""Run one pipeline notebook: `python -m hyperscale.notebook IN OUT [-p NAME VALUE]...`.

The notebook gets the sections of params.yaml that its `parameters` cell declares (replacing
the smoke defaults there), then the `-p` values (parsed as YAML: `-p phi 0.1` is a float).
`{name}` in the notebook's first markdown cell is replaced by that parameter's value, so pages
from one notebook get their own titles in the book.
papermill executes it into a temporary file that replaces OUT only when every cell ran, so a
failed or killed stage never leaves a half-executed notebook behind.
"""
from __future__ import annotations

import argparse
import re
import signal
import sys
from pathlib import Path

import nbformat
import yaml

from .io import atomic_path
from .project import load_params


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="extra parameter (YAML value)")
    args = parser.parse_args(argv)
    import papermill

    declared = papermill.inspect_notebook(str(args.input))
    extra = {name: yaml.safe_load(value) for name, value in args.p}
    unknown = sorted(set(extra) - set(declared))
    if unknown:
        parser.error(f"{args.input} has no parameter(s) {unknown}; its parameters cell declares {sorted(declared)}")
    # A notebook receives the params.yaml sections its parameters cell declares, nothing else.
    parameters = {k: v for k, v in load_params().items() if k in declared} | extra
    # SIGTERM (kill, pkill, a CI timeout) would end Python without unwinding, skipping the
    # temporary file's clean-up; as an exception it unwinds like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    with atomic_path(args.output) as tmp:
        # The kernel's output streams to this terminal (progress bars included) as it runs.
        papermill.execute_notebook(str(args.input), str(tmp), parameters=parameters, progress_bar=False,
                                   stdout_file=sys.stdout, stderr_file=sys.stderr)
        nb = nbformat.read(tmp, as_version=4)
        title = next((c for c in nb.cells if c.cell_type == "markdown"), None)
        if title is not None:
            title.source = re.sub(r"\{(\w+)\}", lambda m: str(parameters.get(m[1], m[0])), title.source)
        for cell in nb.cells:
            tags = cell.metadata.setdefault("tags", [])
            if "parameters" in tags:  # the smoke defaults, replaced by the next cell
                tags.append("remove-cell")
            elif "injected-parameters" in tags:  # the values this run used: shown folded
                tags.append("hide-cell")
        nbformat.write(nb, tmp)


if __name__ == "__main__":
    main()
