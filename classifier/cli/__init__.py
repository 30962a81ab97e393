"""The `tactics` command: a thin layer over the library that turns its errors into one line.
Each module holds commands; importing them here registers them on the app."""

from __future__ import annotations

from . import classify, loop, measure  # noqa: F401  (their commands register on `app`)
from .common import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point for `python -m classifier`."""
    app(prog_name="tactics")
