"""params.yaml: reading it as DVC does, validating each section, and switching profiles.

`params.yaml` is the study's configuration and the **cpu** profile (the default): every value
with the reason beside it. `profiles/smoke.yaml` and `profiles/paper.yaml` are overlays that
name only what they change; `python -m hyperscale.core.params smoke` (or `make profile P=smoke`)
writes params.yaml = the cpu base + that overlay, and `git checkout params.yaml` returns to cpu
(after a switch, the base is git's committed params.yaml).

Each top-level section (`data`, `sshn`, `shape_adaptor`, ...) has a typed schema, registered
by the package that reads it. `section(name)` validates a section when a stage starts, so a
typo, a string where a number belongs or an empty list fails at once, in one line naming the
key, instead of deep inside a run. Numbers are read the YAML 1.2 way, like DVC does:
`lr: 1e-3` is a float (PyYAML's YAML 1.1 would make it a string).
"""
from __future__ import annotations

import argparse
import copy
import importlib
import re
import subprocess
import sys
from pathlib import Path

import yaml
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from .errors import InputError
from .io import write_text
from .project import project_root

PROFILES = ("smoke", "cpu", "paper")
BASE = "cpu"
SCALARS = ("profile", "device")  # top-level values that are not sections (device: see core.device)


class ParamsError(InputError, ValueError):
    """params.yaml (or a profile) does not match the schema; the message names the key."""


class Schema(BaseModel):
    """Base of every section's schema: unknown keys are errors, and no silent type coercion
    ("20" is not an int, 2.5 is not an int; an int is accepted where a float is expected)."""

    model_config = ConfigDict(extra="forbid", strict=True)


def upto(hi, lo=1, kind=int):
    """A size from `lo` to `hi`. Every size has an upper bound: what the machines the profiles
    target can hold (a 24 GiB laptop; a GPU node for the paper profile). Past it, a typo (an extra
    zero, a depth of 12) reaches the out-of-memory killer, which may kill any process on the machine."""
    def at_most(value):
        if value > hi:
            raise ValueError(f"at most {hi}: more does not fit the memory of the machines this study targets")
        return value

    return Annotated[kind, Field(ge=lo), AfterValidator(at_most)]


def _unique(values: list) -> list:
    repeated = [v for i, v in enumerate(values) if v in values[:i]]
    if repeated:
        raise ValueError(f"lists {', '.join(dict.fromkeys(map(repr, repeated)))} more than once "
                         f"(each entry is a run or a row: a repeat would train or report the same thing twice)")
    return values


Unique = AfterValidator(_unique)  # a list whose entries name runs or rows (seeds, phis, widths, templates)

SCHEMAS: dict[str, type[Schema]] = {}
# The package that registers each section's schema on import.
SECTION_PACKAGES = {"data": "hyperscale.data", "sshn": "hyperscale.sshn", "shape_adaptor": "hyperscale.shape_adaptor",
                    "hyperconv": "hyperscale.hyperconv", "hyperseg": "hyperscale.hyperseg", "cost": "hyperscale.cost"}


def register_section(name: str, schema: type[Schema]) -> None:
    SCHEMAS[name] = schema


class _Loader(yaml.SafeLoader):
    pass


# YAML 1.2 floats without a dot (1e-3, 2E5), which YAML 1.1 reads as strings.
_Loader.add_implicit_resolver("tag:yaml.org,2002:float",
                              re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
                              list("-+0123456789."))


def read_yaml(path) -> dict:
    try:
        return yaml.load(Path(path).read_text(), Loader=_Loader) or {}
    except yaml.YAMLError as e:
        raise ParamsError(f"{path} is not valid YAML: {' '.join(str(e).split())}") from None


def load(path=None) -> dict:
    """The whole params file (default: the project's params.yaml), unvalidated."""
    return read_yaml(path or project_root() / "params.yaml")


def _schema(name: str) -> type[Schema]:
    if name not in SCHEMAS and name in SECTION_PACKAGES:
        importlib.import_module(SECTION_PACKAGES[name])
    if name not in SCHEMAS:
        raise ParamsError(f"params.yaml has no section schema {name!r}; known: {sorted(SECTION_PACKAGES)}")
    return SCHEMAS[name]


def _message(name: str, err: ValidationError, source) -> str:
    parts = []
    for e in err.errors():
        key = ".".join([name, *map(str, e["loc"])])
        got = "" if e["type"] == "missing" else f" (got {e['input']!r})"
        parts.append(f"{key}: {e['msg']}{got}")
    return f"{source}: " + "; ".join(parts)


def validate(name: str, values, source="params.yaml") -> dict:
    """`values` of section `name` checked against its schema; returns them as plain data."""
    if values is None:
        raise ParamsError(f"{source} has no section {name!r}")
    try:
        return _schema(name).model_validate(values).model_dump()
    except ValidationError as e:
        raise ParamsError(_message(name, e, source)) from None


def section(name: str, path=None) -> dict:
    """Section `name` of params.yaml, validated (what a stage calls when it starts)."""
    path = Path(path or project_root() / "params.yaml")
    return validate(name, load(path).get(name), path.name)


def validate_all(params: dict, source="params.yaml") -> None:
    """Every section of `params` and its device checked (before anything is submitted or written)."""
    for name in params:
        if name not in SCALARS:
            validate(name, params[name], source)
    check_device(params.get("device", "cpu"), source)


def check_device(name, source: str = "params.yaml") -> str:
    """`name` if it is a device params.yaml may name, on any machine (core.device says what each
    means on this one); ParamsError otherwise."""
    if not isinstance(name, str) or not re.fullmatch(r"cpu|auto|cuda(:\d+)?", name):
        raise ParamsError(f"{source}: device: {name!r} is not one of cpu, cuda, cuda:N or auto")
    return name


def overlay(base: dict, over: dict, where: str = "") -> dict:
    """`base` with the values of `over`; every key of `over` must exist in `base` (typos fail)."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        key = f"{where}{k}"
        if k not in base:
            raise ParamsError(f"profile overlay sets {key}, which params.yaml does not have")
        out[k] = overlay(base[k], v, f"{key}.") if isinstance(v, dict) and isinstance(base[k], dict) else v
    return out


def cpu_base(root) -> dict:
    """The cpu base the overlays apply to: params.yaml, or git's copy of it after `make profile`."""
    base = read_yaml(Path(root) / "params.yaml")
    if base.get("profile") == BASE:
        return base
    git = subprocess.run(["git", "show", "HEAD:params.yaml"], cwd=root, capture_output=True, text=True)
    if git.returncode:
        raise ParamsError(f"params.yaml holds the {base.get('profile')!r} profile, not the cpu base the overlays "
                          f"apply to, and git has no committed copy here; restore the cpu params.yaml first")
    return yaml.load(git.stdout, Loader=_Loader)


def profile(name: str, root=None) -> dict:
    """The full params of profile `name`: the cpu base plus profiles/<name>.yaml."""
    root = Path(root or project_root())
    base = cpu_base(root)
    if name == BASE:
        return base
    if name not in PROFILES:
        raise ParamsError(f"unknown profile {name!r}; choose one of {PROFILES}")
    return overlay(base, {**read_yaml(root / "profiles" / f"{name}.yaml"), "profile": name})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Write params.yaml (or --out) for a profile: the cpu base plus "
                                                 "profiles/<profile>.yaml.")
    parser.add_argument("profile", choices=[p for p in PROFILES if p != BASE])
    parser.add_argument("--out", type=Path, help="where to write (default: params.yaml itself)")
    args = parser.parse_args(argv)
    root = project_root()
    try:
        params = profile(args.profile, root=root)
        validate_all(params, f"profile {args.profile}")
    except ParamsError as e:
        sys.exit(f"error: {e}")
    header = (f"# Generated by `make profile P={args.profile}`: the cpu base (git's params.yaml) plus "
              f"profiles/{args.profile}.yaml.\n# Edit those files, not this one; `git checkout params.yaml` returns "
              f"to the cpu profile.\n")
    write_text(args.out or root / "params.yaml", header + yaml.safe_dump(params, sort_keys=False, width=120))
    print(f"{args.out or 'params.yaml'} now holds the {args.profile} profile")


if __name__ == "__main__":  # run the importable module, so registries filled on import are the ones used
    from hyperscale.core.params import main

    main()
