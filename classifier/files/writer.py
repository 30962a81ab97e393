"""The one safe writer: every file the product writes (CSV, TSV, JSONL, XLSX, text) goes out here.

- XLSX: a text cell is always a string cell, never a formula or an error value, text intact.
- CSV/TSV: a text cell starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'` (OWASP's
  advice against CSV injection); numbers, and text that is a plain number, stay as they are.
- Files appear whole or not at all (a temporary file beside the output, then a rename), with the
  permissions the umask gives; a full disk is one OutputError and nothing is left behind.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

import numpy as np
import pandas as pd

from ..cells import is_blank, plain
from ..errors import OutputError
from .atomic import remove_leftovers, same_file, temporary_beside, write_bytes
from .reproducible import reproducible_bytes, save_reproducibly

OUTPUT_TYPES = (".csv", ".tsv", ".jsonl", ".xlsx")
# What a CSV output may be separated by: `,`, or `;`, which Excel expects (and writes) where the
# decimal mark is a comma, as in most of Europe; it opened a `,` file as one column.
CSV_SEPARATORS = (",", ";")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
# Characters XML 1.0 forbids; an .xlsx cannot hold them (each becomes a space: Word's soft line
# break, \x0b, stands between two words).
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Text openpyxl would store as a formula or an error value instead of a string.
_XLSX_ERRORS = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"}
# Text that is a number as Excel itself writes one ("42", "-3.5", "0.25"; not "007", "+12",
# "1e5", "2.50" or "-0"), in the 15 digits Excel keeps: an .xlsx cell holds it as that number,
# so SUM and pivot tables count a CSV's hours, and it reads back as the same text.
_EXCEL_NUMBER = re.compile(r"^-?(0|[1-9]\d*)(\.\d*[1-9])?$")
EXCEL_DIGITS = 15
# The most characters an Excel cell holds; a longer one makes Excel "repair" the file on opening.
XLSX_CELL_LIMIT = 32_767
CUT_MARK = "…"
# A sheet column is as wide as most of its first rows' cells and its name, up to MAX_WIDTH
# (which a task's text and its evidence reach): Excel's default showed 8 characters of each.
MAX_WIDTH = 60
WIDTH_SAMPLE_ROWS = 2000


# ---------------------------------------------------------------------- cells

def neutralise_text(value: str) -> str:
    """Text that a spreadsheet would run as a formula, with a leading `'`; plain numbers kept."""
    if value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def unneutralised(value: object) -> object:
    """A cell as it was before `neutralise_text` (the `'` this tool put in front of a formula
    start taken away), so a file the tool wrote reads back as the same tasks; else as it is."""
    if isinstance(value, str) and value[:1] == "'" and neutralise_text(value[1:]) == value:
        return value[1:]
    return value


def _flat(value: object) -> object:
    # A JSON list or object from a .jsonl row goes into a cell as JSON text.
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def decimal_mark(separator: str) -> str:
    """The decimal mark of a CSV for Excel separated by `separator`: `;` is for Excel where the
    mark is a comma, which reads "0.5321" as text (no sums, no sorting by number)."""
    return "," if separator == ";" else "."


def csv_cell(value: object, decimal: str = ".") -> object:
    """A value for a CSV/TSV cell: blank for missing, JSON text for containers, safe text, a
    fraction with `decimal` as its decimal mark."""
    if is_blank(value) and not isinstance(value, str):
        return ""
    value = _flat(value)
    if decimal != "." and isinstance(value, float | np.floating):
        return str(float(value)).replace(".", decimal)
    if isinstance(value, dt.datetime) and value.tzinfo is None and value.time() == dt.time():
        # A workbook's date cell is read as midnight of its day: written as the day it shows.
        return value.date().isoformat()
    return neutralise_text(value) if isinstance(value, str) else value


def xlsx_value(value: object) -> object:
    """A value openpyxl can write: Python scalars, naive datetimes, text without XML-illegal
    characters (strings stay strings: see `SheetWriter`)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        # An empty cell stays blank (an empty string cell is not blank to ISBLANK or COUNTA).
        return _ILLEGAL_XML.sub(" ", value) or None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        value = value.replace(tzinfo=None) if value.tzinfo else value
        # A workbook's date cell is read as midnight of its day: written back as that day
        # (it showed "2026-03-03 00:00:00"), as CSV writes it.
        return value.date() if value.time() == dt.time() else value
    if isinstance(value, pd.Timedelta):
        value = value.to_pytimedelta()
    if isinstance(value, dt.timedelta):
        return value  # a duration stays one (it became the text "5:00:00", which SUM skips)
    if isinstance(value, dt.date | dt.time):
        return value
    if isinstance(value, dict | list):
        return _ILLEGAL_XML.sub("", json.dumps(plain(value), ensure_ascii=False))
    if is_blank(value):
        return None
    return _ILLEGAL_XML.sub(" ", str(value))


def number_cell(value: str) -> object:
    """Text that is a plain number as Excel writes one, as that number; other text as it is."""
    if not _EXCEL_NUMBER.match(value) or value == "-0":
        return value
    digits = value.lstrip("-").replace(".", "").lstrip("0")
    if len(digits) > EXCEL_DIGITS:
        return value
    if "." not in value:
        return int(value)
    number = float(value)
    return number if repr(number) == value else value


def cut_warning(path: str | os.PathLike[str], cells: Sequence[str]) -> str | None:
    """What to tell the user when cells were cut to Excel's limit (None when none were)."""
    if not cells:
        return None
    named = ", ".join(cells[:3]) + (f" and {len(cells) - 3:,} more" if len(cells) > 3 else "")
    return (f"{path}: {len(cells):,} cell{'s' if len(cells) != 1 else ''} held more than "
            f"Excel's {XLSX_CELL_LIMIT:,} characters and end in {CUT_MARK!r} there ({named}); "
            f"write a .csv to keep every character")


def may_cut(frame: pd.DataFrame) -> bool:
    """Whether a cell of the frame holds more than an .xlsx cell does (text, or a list or a
    mapping as JSON): a quick look before a workbook is built to find its cut cells."""
    for column in frame.columns:
        values = frame[column]
        if not isinstance(values.dtype, pd.StringDtype) and values.dtype != object:
            continue  # numbers, dates, flags: short
        if isinstance(values.dtype, pd.StringDtype) or pd.api.types.infer_dtype(
                values, skipna=True) == "string":
            lengths = values.str.len()  # vectorised: every cell text or missing
        else:
            lengths = values.map(lambda v: len(v) if isinstance(v, str) else
                                 len(str(xlsx_value(v))) if isinstance(v, dict | list) else 0)
        if (lengths > XLSX_CELL_LIMIT).any():
            return True
    return False


def _json_value(value: object) -> object:
    # JSON has no NaN or Infinity (jq and JSON.parse refuse them): both are written as null.
    if is_blank(value) and not isinstance(value, str):
        return None
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    return value


def json_record(columns: Sequence[str], values: Iterable[object]) -> str:
    """One JSONL line: missing and infinite values as null, numpy scalars as numbers."""
    record = {column: _json_value(v) for column, v in zip(columns, values, strict=True)}
    return json.dumps(record, ensure_ascii=False, default=str) + "\n"


# ---------------------------------------------------------------------- XLSX

def column_width(header: str, values: pd.Series) -> float:
    """A sheet column's width for its name and cells (judged on the first few thousand)."""
    sample = values.head(WIDTH_SAMPLE_ROWS)
    # Blank cells left out: a column of times decided on a few tasks (NaT, "NaT" as text) was
    # judged on the blanks and too narrow for a time, which Excel showed as "########".
    lengths = [len(str(v)) for v in sample if not is_blank(v)]
    typical = float(np.percentile(lengths, 90)) if lengths else 0.0
    return float(min(max(len(str(header)) + 3, typical + 2, 8), MAX_WIDTH))


def _is_number(value: object) -> bool:
    return (isinstance(value, int | float | np.integer | np.floating)
            and not isinstance(value, bool | np.bool_) and math.isfinite(float(value)))


@dataclass(frozen=True)
class CellStyle:
    """How a cell looks: bold/colour, a background, a number format, wrapping."""

    bold: bool = False
    color: str | None = None
    fill: str | None = None
    number_format: str | None = None
    wrap: bool = False


class SheetWriter:
    """Rows appended to one sheet of a write-only workbook."""

    def __init__(self, sheet: Any):
        self._sheet = sheet
        self._styles: dict[CellStyle, dict[str, Any]] = {}
        self._row = 0
        # Text that is a plain number goes in as a number (`number_cell`); off for a sheet
        # whose text must stay text, such as a column of ids a person picks from.
        self.numbers = True
        # Cells cut to Excel's limit, as Excel names them ("C6"), for the caller to say so.
        self.cut: list[str] = []

    def _style(self, style: CellStyle) -> dict[str, Any]:
        if style not in self._styles:
            from openpyxl.styles import Alignment, Font, PatternFill

            made: dict[str, Any] = {}
            if style.bold or style.color:
                made["font"] = Font(bold=style.bold, color=style.color)
            if style.fill:
                made["fill"] = PatternFill("solid", fgColor=style.fill)
            if style.number_format:
                made["number_format"] = style.number_format
            if style.wrap:
                made["alignment"] = Alignment(vertical="center", wrap_text=True)
            self._styles[style] = made
        return self._styles[style]

    def filter_rows(self, columns: int) -> None:
        """An autofilter over `columns` and the rows appended so far (set after the last)."""
        from openpyxl.utils import get_column_letter

        self._sheet.auto_filter.ref = f"A1:{get_column_letter(columns)}{max(self._row, 1)}"

    def dropdown(self, cells: str, choices: str) -> None:
        """A list to pick from in `cells` (like "H2:H500"), its values in range `choices`."""
        from openpyxl.worksheet.datavalidation import DataValidation

        validation = DataValidation(type="list", formula1=f"={choices}", allow_blank=True)
        validation.add(cells)
        self._sheet.data_validations.append(validation)

    def append(self, values: Sequence[object],
               styles: Sequence[CellStyle | None] | CellStyle | None = None) -> None:
        """One row; text cells are written as strings whatever they start with."""
        from openpyxl.cell import WriteOnlyCell

        self._row += 1
        cells: list[object] = []
        for position, raw in enumerate(values):
            value = xlsx_value(raw)
            if isinstance(value, str) and self.numbers:
                value = number_cell(value)
            if isinstance(value, str) and len(value) > XLSX_CELL_LIMIT:
                from openpyxl.utils import get_column_letter

                value = value[:XLSX_CELL_LIMIT - len(CUT_MARK)] + CUT_MARK
                self.cut.append(f"{get_column_letter(position + 1)}{self._row}")
            style = styles if isinstance(styles, CellStyle | None) else (
                styles[position] if position < len(styles) else None)
            forced = isinstance(value, str) and (value.startswith("=") or value in _XLSX_ERRORS)
            if style is None and not forced:
                cells.append(value)
                continue
            cell = WriteOnlyCell(self._sheet, value=value)
            if forced:
                cell.data_type = "s"
            if style is not None:
                for name, made in self._style(style).items():
                    setattr(cell, name, made)
            cells.append(cell)
        self._sheet.append(cells)


class WorkbookWriter:
    """An .xlsx workbook built sheet by sheet, streamed (write-only)."""

    def __init__(self) -> None:
        from openpyxl import Workbook

        self._book = Workbook(write_only=True)
        self._sheets: list[tuple[str, SheetWriter]] = []

    def sheet(self, title: str, widths: Sequence[float] | None = None,
              freeze_header: bool = False, filter_columns: int = 0,
              rows: int = 0) -> SheetWriter:
        """A new sheet; `filter_columns` and `rows` set an autofilter over the table."""
        from openpyxl.utils import get_column_letter

        sheet = self._book.create_sheet(_ILLEGAL_XML.sub("", title)[:31] or "Sheet")
        for index, width in enumerate(widths or (), start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        if freeze_header:
            sheet.freeze_panes = "A2"
        if filter_columns:
            sheet.auto_filter.ref = f"A1:{get_column_letter(filter_columns)}{rows + 1}"
        writer = SheetWriter(sheet)
        self._sheets.append((sheet.title, writer))
        return writer

    def cut_cells(self) -> list[str]:
        """Cells cut to Excel's 32,767 characters, as "Results!C6"."""
        return [f"{title}!{cell}" for title, sheet in self._sheets for cell in sheet.cut]

    def save(self, target: str | os.PathLike[str] | io.BytesIO) -> None:
        """Save to a path (the caller makes it atomic) or a buffer, the same bytes every time."""
        save_reproducibly(self._book, target if isinstance(target, io.BytesIO) else str(target))

    def to_bytes(self) -> bytes:
        """The workbook as bytes, for a download."""
        return reproducible_bytes(self._book)


# ---------------------------------------------------------------------- whole files

def csv_separator(separator: str, path: str | os.PathLike[str]) -> str:
    """The separator asked for a CSV output (`--sep`), checked: `,` or `;` and a .csv file."""
    if separator not in CSV_SEPARATORS:
        raise OutputError(f"--sep {separator!r}: use ',' or ';' (for Excel where the decimal "
                          f"mark is a comma)")
    if separator != "," and Path(path).suffix.lower() != ".csv":
        raise OutputError(f"{path}: --sep is for a .csv output; this one has no separator")
    return separator


def csv_bytes(frame: pd.DataFrame, separator: str = ",") -> bytes:
    """A frame as CSV that Excel opens with accents intact (UTF-8 with BOM, CRLF lines), its
    fractions with the decimal mark that goes with `separator`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator="\r\n")
    decimal = decimal_mark(separator)
    writer.writerow([csv_cell(str(c)) for c in frame.columns])
    writer.writerows([csv_cell(v, decimal) for v in row]
                     for row in frame.itertuples(index=False, name=None))
    return buffer.getvalue().encode("utf-8-sig")


def prepare_output(path: str | os.PathLike[str], inputs: Mapping[Path, str] | None = None,
                   types: Sequence[str] = OUTPUT_TYPES) -> Path:
    """Check an output path before any work: a known type, none of `inputs` (files never to be
    overwritten, by path, symlink or hard link, with what they are), a folder that can be made
    and written; removes what killed earlier runs left behind for this output."""
    if str(path) == "-":  # as stdin is for TASKS: the one-line refusal named no type "(none)"
        raise OutputError(f"-: writing to stdout is not supported; give an output file "
                          f"({', '.join(types[:-1])} or {types[-1]})")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in types:
        raise OutputError(f"{path}: unsupported output type {suffix or '(none)'}; "
                          f"use {', '.join(types)}")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give a file name such as "
                          f"{path / ('results' + types[0])}")
    for source, what in (inputs or {}).items():
        if same_file(path, source) or path.resolve() == Path(source).resolve():
            raise OutputError(f"{path}: is {what} ({source}); write the output to another "
                              f"file (it is never overwritten)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"{path}: cannot create the output folder: {error.strerror}") from None
    if not os.access(path.parent, os.W_OK):
        raise OutputError(f"{path}: the output folder is not writable")
    remove_leftovers(path)
    return path


def save_workbook(path: str | os.PathLike[str], book: WorkbookWriter) -> None:
    """Write a workbook atomically."""
    write_bytes(path, book.to_bytes())


class TableWriter:
    """Rows written chunk by chunk to a temporary file beside OUT, moved into place only when
    the block ends without error (CSV, TSV, JSONL or a one-sheet XLSX: its header frozen and
    filterable, its columns as wide as their cells, `number_formats` on a column's numbers)."""

    def __init__(self, path: str | os.PathLike[str], inputs: Mapping[Path, str] | None = None,
                 sheet_title: str = "results", separator: str = ",", bom: bool = False,
                 number_formats: Mapping[str, str] | None = None, decimal: str = "."):
        self.path = prepare_output(path, inputs)
        self.kind = self.path.suffix.lower()[1:]
        # A .csv output keeps the separator of the .csv it classifies: Excel in most of Europe
        # writes and expects `;`, and opens a `,` file as one column.
        self.separator = "\t" if self.kind == "tsv" else separator
        # A fraction's decimal mark in a CSV/TSV (`decimal_mark`); JSONL and XLSX hold numbers.
        self.decimal = decimal
        # A CSV that came from Excel (a byte-order mark, or a Windows code page) goes back with
        # a byte-order mark: without one Excel reads UTF-8 as its code page ("MÃ¼ller").
        self.encoding = "utf-8-sig" if bom and self.kind in ("csv", "tsv") else "utf-8"
        self.rows = 0
        self._sheet_title = sheet_title
        self._stack = ExitStack()
        self._temporary: Path | None = None
        self._handle: TextIO | None = None
        self._csv: Any = None
        self._columns: list[str] | None = None
        self._book: WorkbookWriter | None = None
        self._sheet: SheetWriter | None = None
        # A write-only sheet's widths go out before its first row: its first rows wait here
        # until there are enough to judge them on, whatever the chunks' sizes.
        self._waiting: list[pd.DataFrame] = []
        self._number_formats = dict(number_formats or {})
        self._styles: list[CellStyle | None] = []

    @property
    def cut_cells(self) -> list[str]:
        """Cells of an .xlsx output cut to Excel's 32,767 characters ("results!C6")."""
        return self._book.cut_cells() if self._book is not None else []

    def __enter__(self) -> TableWriter:
        self._temporary = self._stack.enter_context(temporary_beside(self.path))
        if self.kind == "xlsx":
            self._book = WorkbookWriter()
        else:
            self._handle = self._stack.enter_context(
                open(self._temporary, "w", encoding=self.encoding, newline=""))
            if self.kind in ("csv", "tsv"):
                self._csv = csv.writer(self._handle, delimiter=self.separator)
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append a chunk of rows (the first chunk's columns are the header)."""
        self._write(frame)
        self.rows += len(frame)

    def _write(self, frame: pd.DataFrame) -> None:
        if self._columns is None:
            self._columns = [str(column) for column in frame.columns]
            if self._csv is not None:
                self._csv.writerow([csv_cell(c) for c in self._columns])
        rows = frame.itertuples(index=False, name=None)
        if self._csv is not None:
            self._csv.writerows([csv_cell(v, self.decimal) for v in row] for row in rows)
        elif self._book is not None:
            if self._sheet is not None:
                self._append(frame)
                return
            self._waiting.append(frame)
            if sum(len(waiting) for waiting in self._waiting) >= WIDTH_SAMPLE_ROWS:
                self._open_sheet()
        else:
            assert self._handle is not None
            self._handle.writelines(json_record(self._columns, row) for row in rows)

    def _open_sheet(self) -> None:
        """The sheet, with its header, its widths from the rows that waited, and those rows."""
        assert self._book is not None
        columns = self._columns or []
        waiting, self._waiting = self._waiting, []
        widths = [column_width(name, pd.concat([frame.iloc[:, at] for frame in waiting])
                               if waiting else pd.Series(dtype=object))
                  for at, name in enumerate(columns)]
        self._sheet = self._book.sheet(self._sheet_title, widths=widths, freeze_header=True)
        self._styles = [CellStyle(number_format=self._number_formats[name])
                        if name in self._number_formats else None for name in columns]
        self._sheet.append(columns)
        for frame in waiting:
            self._append(frame)

    def _append(self, frame: pd.DataFrame) -> None:
        assert self._sheet is not None
        styled = [at for at, style in enumerate(self._styles) if style is not None]
        for row in frame.itertuples(index=False, name=None):
            if not styled:
                self._sheet.append(row)
                continue
            styles: list[CellStyle | None] = [None] * len(row)
            for at in styled:
                if _is_number(row[at]):  # a blank score stays a blank cell
                    styles[at] = self._styles[at]
            self._sheet.append(row, styles)

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is None and self._book is not None:
            assert self._temporary is not None
            try:
                if self._sheet is None:
                    self._open_sheet()
                assert self._sheet is not None
                if self._columns:
                    self._sheet.filter_rows(len(self._columns))
                self._book.save(self._temporary)
            except BaseException as error:
                self._stack.__exit__(type(error), error, error.__traceback__)
                raise
        self._stack.__exit__(kind, value, traceback)
