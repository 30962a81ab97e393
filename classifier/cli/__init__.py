"""The `tactics` command: a thin layer over the library that turns its errors into one line.
Each module holds commands; importing them here registers them on the app."""

from __future__ import annotations

import atexit
import os
import sys

from . import classify, loop, measure  # noqa: F401  (their commands register on `app`)
from .common import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of `tactics` and `python -m classifier`."""
    try:
        app(prog_name="tactics")
        code: object = 0
    except SystemExit as done:
        code = done.code
        if isinstance(code, str):  # as the interpreter would have: the message, then 1
            print(code, file=sys.stderr)
    # Once the command is done (outputs closed and renamed, the store closed), the interpreter's
    # own teardown of torch and its thread pools takes 2-3 s: a finished run, or a Ctrl-C, would
    # keep the shell waiting for nothing. Exit handlers still run; then the process ends.
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))
