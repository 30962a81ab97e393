"""The `tactics` command: a thin layer over the library that turns its errors into one line.
Each module holds commands; importing them here registers them on the app."""

from __future__ import annotations

import atexit
import os
import signal
import sys

import typer


def _interrupted_while_loading(*_: object) -> None:
    print("error: interrupted; no output was written", file=sys.stderr)
    os._exit(128 + signal.SIGINT)


# Ctrl-C while the commands' modules load (the first tenth of a second) ends as quietly as
# later; `main` hands Ctrl-C back to Python once they are loaded. Only when this process is
# the command (not a test run or a program importing the app).
if (os.path.basename(sys.argv[0]) in ("tactics", "__main__.py")
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
    signal.signal(signal.SIGINT, _interrupted_while_loading)

from . import classify, loop, measure  # noqa: E402, F401  (their commands register on `app`)
from .common import PIPE_CLOSED, app, leave_stdout  # noqa: E402

__all__ = ["app", "main"]


def _reader_gone(done: SystemExit) -> bool:
    """Whether this exit is Rich's or Click's way of ending once stdout's reader went away."""
    frame = done.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    raised_by = frame.tb_frame.f_code.co_name if frame is not None else ""
    return raised_by == "on_broken_pipe" or type(sys.stdout).__name__ == "PacifyFlushWrapper"


def main() -> None:
    """Entry point of `tactics` and `python -m classifier`."""
    if signal.getsignal(signal.SIGINT) is _interrupted_while_loading:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        # Not standalone: a mistyped option is one line too (Click would draw a box).
        result = app(prog_name="tactics", standalone_mode=False)
        code: object = result if isinstance(result, int) else 0
    except OSError as error:
        # Writing the help failed (a full disk, a closed terminal): one line. A command's own
        # errors are its own lines already (common.py).
        print(f"error: could not write the output: {error.strerror or error}", file=sys.stderr)
        code = 1
    except typer.Abort:
        print("error: aborted; no output was written", file=sys.stderr)
        code = 1
    except Exception as error:
        # Typer's own copy of Click raises these; only their names and shape are public.
        kinds = {kind.__name__ for kind in type(error).__mro__}
        if "ClickException" not in kinds:
            raise
        if "NoArgsIsHelpError" in kinds:
            app(prog_name="tactics", args=["--help"])  # the help, as Typer draws it; exits
        where = getattr(getattr(error, "ctx", None), "command_path", None) or "tactics"
        see = f" (see {where} --help)" if "UsageError" in kinds else ""
        print(f"error: {' '.join(error.format_message().split())}{see}",  # type: ignore[attr-defined]
              file=sys.stderr)
        code = error.exit_code  # type: ignore[attr-defined]
    except SystemExit as done:
        code = done.code
        if isinstance(code, str):  # as the interpreter would have: the message, then 1
            print(code, file=sys.stderr)
        if _reader_gone(done):
            # Rich's (and Click's) answer to a reader gone while the help was written is exit
            # 1, as for a failure; a Unix tool ends as on SIGPIPE, as our commands do.
            leave_stdout()
            code = PIPE_CLOSED
    except KeyboardInterrupt:
        # Ctrl-C before a command's own handling is in place (its modules still loading):
        # nothing was written yet, and a traceback through import machinery tells nobody anything.
        print("error: interrupted; no output was written", file=sys.stderr)
        code = 128 + signal.SIGINT
    # Once the command is done (outputs closed and renamed, the store closed), the interpreter's
    # own teardown of torch and its thread pools takes 2-3 s: a finished run, or a Ctrl-C, would
    # keep the shell waiting for nothing. Exit handlers still run; then the process ends.
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()  # what a command printed may still be here, its reader gone
    except BrokenPipeError:
        leave_stdout()
        code = PIPE_CLOSED
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))
