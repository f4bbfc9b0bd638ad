"""Errors about input: a wrong setting, a missing or unreadable file, a run that diverged.

Their messages name what was wrong and how to fix it, so they are shown as one line, never
with a traceback: by `core.cli.run_stage`, by the notebook runner (which sees a failing cell's
error by name only, hence `NAMES`) and, for anything else, by the hook `hyperscale` installs.
"""
from __future__ import annotations


class InputError(Exception):
    """Base of the errors whose message is the whole story."""


class SettingsError(InputError, ValueError):
    """A setting outside params.yaml that cannot be used: an environment variable, a command-line
    value, the working directory."""


class DivergedError(InputError, FloatingPointError):
    """A training loss that became NaN or infinite."""


# Every subclass of InputError in the library (tests/test_project.py checks the list).
NAMES = ("InputError", "SettingsError", "DivergedError", "ParamsError", "DataMissingError", "UnreadableFile")
