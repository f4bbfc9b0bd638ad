"""Results shared through DVC's default remote: `make publish` pushes them, `make pull` fetches them.

    python -m hyperscale.core.share push|pull

The default remote (`.dvc/config`) is a folder beside the publisher's checkout, so a fresh clone
elsewhere has none: `pull` then says so in one line, and what to do, instead of DVC's line per
missing file. A remote given by URL (s3://, ssh://, ...) is left to DVC.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from .cli import run_stage
from .errors import SettingsError
from .project import project_root


def remote(root: Path) -> tuple[str, str, Path | None]:
    """The default remote's name, URL and, for a folder, its absolute path (relative URLs are
    relative to .dvc/, as DVC reads them)."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        name = repo.config["core"].get("remote")
        if not name:
            raise SettingsError("this checkout has no default DVC remote; add one with `dvc remote add -d NAME URL`")
        url = repo.config["remote"][name]["url"]
    return name, url, None if "://" in url else (root / ".dvc" / url).resolve()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["push", "pull"])
    action = parser.parse_args(argv).action
    root = project_root()
    name, url, folder = remote(root)
    if folder is not None:
        if action == "push":
            folder.mkdir(parents=True, exist_ok=True)
        elif not folder.is_dir():
            raise SettingsError(
                f"no results to pull: DVC remote {name!r} is the folder {folder}, which this machine does not have "
                f"(it is filled by `make publish` in the publisher's checkout). Point it at their store with "
                f"`dvc remote modify --local {name} url URL`, read the published book instead, or compute every "
                f"result here with `make study`")
    if subprocess.run(["dvc", action], cwd=root).returncode:
        sys.exit(f"error: dvc {action} {'to' if action == 'push' else 'from'} {url} did not complete (above)")
    print(f"{'pushed every output to' if action == 'push' else 'pulled every output from'} {url}"
          + ("; readers: git clone, then make pull" if action == "push" else "; `make study` now runs nothing"))


if __name__ == "__main__":  # run the importable module
    run_stage(lambda: main(sys.argv[1:]))
