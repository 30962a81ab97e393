"""Task files that arrive as bytes (a browser upload): size check, then the normal readers."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from ..errors import TasksError, TextColumnNumbers, TextColumnUnknown
from .readers import TextColumns, open_tasks, read_tasks, sheets_shown_first
from .sniffing import refuse_unsupported

MAX_UPLOAD_MB = 20  # keep equal to server.maxUploadSize in .streamlit/config.toml
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024


@contextlib.contextmanager
def _as_file(name: str, data: bytes, max_bytes: int) -> Iterator[Path]:
    """The bytes as a temporary file of the same type; errors name the user's file."""
    suffix = Path(name).suffix.lower()
    refuse_unsupported(name, suffix)
    if len(data) > max_bytes:
        raise TasksError(f"{name}: the file is {len(data) / 2**20:.1f} MB, over the "
                         f"{max_bytes / 2**20:.0f} MB limit; split it or keep only the task rows")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            yield path
        except TasksError as error:
            raise TasksError(str(error).replace(str(path), name)) from None


def upload_sheets(name: str, data: bytes, max_bytes: int = MAX_UPLOAD_BYTES) -> list[str]:
    """The sheets of an uploaded workbook (none for other file types)."""
    if Path(name).suffix.lower() != ".xlsx":
        return []
    with _as_file(name, data, max_bytes) as path:
        try:
            from openpyxl import load_workbook

            workbook = load_workbook(path, read_only=True)
        except Exception:
            raise TasksError(f"{name}: not a readable Excel workbook (.xlsx)") from None
        try:
            return sheets_shown_first(workbook)  # the first is the one read by default
        finally:
            workbook.close()


class UploadTable(NamedTuple):
    """What an uploaded table holds, before it is read whole."""

    columns: list[str]
    text_column: str | None  # None: the person must say which column holds the task text
    notes: list[str]  # how it was read: its encoding, a title above its header, ...


def upload_columns(name: str, data: bytes, max_bytes: int = MAX_UPLOAD_BYTES,
                   sheet: str | None = None) -> UploadTable:
    """The uploaded table's columns, the text column found in it (of `sheet` for a workbook,
    the first by default) and what its reading noted."""
    notes: list[str] = []
    with _as_file(name, data, max_bytes) as path:
        def note(message: str) -> None:
            notes.append(message.replace(str(path), name))

        try:
            source = open_tasks(path, sheet=sheet, warn=note)
        except TextColumnUnknown as unknown:
            return UploadTable(unknown.columns, None, notes)
        return UploadTable(source.columns, source.text_column, notes)


def read_upload(name: str, data: bytes, text_column: TextColumns = None,
                max_bytes: int = MAX_UPLOAD_BYTES, sheet: str | None = None
                ) -> tuple[pd.DataFrame, str]:
    """An uploaded tasks file as a DataFrame of text cells and its text column."""
    with _as_file(name, data, max_bytes) as path:
        try:
            return read_tasks(path, text_column=text_column, sheet=sheet)
        except TextColumnNumbers as numbers:  # the app's picker, not a flag, chooses it
            raise TasksError(numbers.app_message) from None
