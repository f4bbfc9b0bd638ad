"""Entry point of the python-module stages: input errors end in one line, not a traceback."""
from __future__ import annotations

import sys

from .errors import InputError


def run_stage(main) -> None:
    """Call `main()`; an input error (bad params, missing data, unreadable file, divergence) exits with its
    message alone, since it already says what was wrong and how to fix it."""
    try:
        main()
    except InputError as e:
        sys.exit(f"error: {e}")
