"""Task files that arrive as bytes (a browser upload): size check, then the normal readers."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from ..errors import TasksError, TextColumnUnknown
from .readers import TextColumns, open_tasks, read_tasks
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
            return list(workbook.sheetnames)
        finally:
            workbook.close()


def upload_columns(name: str, data: bytes, max_bytes: int = MAX_UPLOAD_BYTES,
                   sheet: str | None = None) -> tuple[list[str], str | None]:
    """The uploaded table's columns and the text column found in it (of `sheet` for a
    workbook, the first by default); None when the person must say which it is."""
    with _as_file(name, data, max_bytes) as path:
        try:
            source = open_tasks(path, sheet=sheet if sheet is not None else None)
        except TextColumnUnknown as unknown:
            return unknown.columns, None
        return source.columns, source.text_column


def read_upload(name: str, data: bytes, text_column: TextColumns = None,
                max_bytes: int = MAX_UPLOAD_BYTES, sheet: str | None = None
                ) -> tuple[pd.DataFrame, str]:
    """An uploaded tasks file as a DataFrame of text cells and its text column."""
    with _as_file(name, data, max_bytes) as path:
        return read_tasks(path, text_column=text_column, sheet=sheet)
