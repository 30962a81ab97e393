"""Reading task lists: pasted text, stdin, .csv/.tsv/.txt/.jsonl/.xlsx, in chunks of rows.

One rule for lines everywhere (files, stdin, pasted text in the app): every line is a task row,
in order; a blank line is kept as a blank row, which the classifier marks `empty`, so output
rows match input rows one to one. A list's title line (`paste.list_title`) is a row too, marked
`empty` as a blank one, and said.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
import warnings
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from ..cells import is_blank, is_blank_task
from ..errors import TasksError
from ..phrases import without_marker
from ..results import earlier_results
from .columns import (
    DEFAULT_TEXT_COLUMN,
    choose_text_column,
    header_again,
    header_is_a_row,
    header_row,
    in_titled_groups,
    refuse_numbers,
)
from .hidden_rows import row_marks
from .late_bytes import open_text
from .markdown import cells, has_pipe, row_cells, table_header, table_warning
from .nul import NUL_MARK, NulFilter, first_marked, has_mark, unmarked
from .paste import TITLE_ENDS, TITLE_LINES, list_title, names, pasted_table, tab_rows
from .row_numbers import RowNumbers
from .sniffing import (
    SUPPORTED,
    TOP_ROWS,
    Warn,
    detect_encoding,
    duplicate_names,
    excel_separator,
    ignore,
    looks_binary,
    refuse_unsupported,
    sniff_separator,
    top_rows,
)
from .writer import unneutralised

SNIFF_BYTES = 256 * 1024
# The rows a file is opened with: its text column is found, and checked, among them.
HEAD_ROWS = 200
# A whole table's `DataFrame.attrs` key: its file is laid out in titled groups (`not_tasks`).
GROUP_TITLES = "group_titles"
# A whole table's `DataFrame.attrs` key: its list's title line (`paste.list_title`), as
# {"row": index label, "text": its text}; a title is a line of a list, no task.
LIST_TITLE = "list_title"
# A task read from several columns (a tracker's summary and description): their cells, each on
# a line of its own, in a column of this name's making ("Summary + Description").
PART_JOIN = " + "
TextColumns = str | Sequence[str] | None


@dataclass
class TaskSource:
    """A task file opened for reading: where it is, how to decode it, and its text column."""

    path: Path | None  # None for pasted text or stdin
    label: str  # how errors name it
    kind: str  # csv, tsv, txt, jsonl, xlsx; md for a .txt file of a Markdown table
    text_column: str
    columns: list[str]
    encoding: str = "utf-8"
    separator: str = ","
    sheet: str | int = 0
    header_row: int = 0  # rows (a Markdown table's lines) above the header, not read
    group_titles: bool = False  # a group's title above its header, the first one's too
    raw: str | None = None  # pasted text
    stream: TextIO | None = None  # stdin: read once, in chunks, never whole
    warn: Warn = ignore
    warnings: list[str] = field(default_factory=list)
    # The columns a task's text is read from when more than one (`text_column` is then a
    # column of their joined cells, added after the file's own).
    text_parts: list[str] = field(default_factory=list)
    # Lines: the row (from 0) of the list's title, no task (stdin's: found once read).
    title_row: int | None = None

    @property
    def inputs(self) -> dict[Path, str]:
        """The files this source reads, never to be overwritten (none for pasted text, stdin)."""
        return {self.path: "the tasks file"} if self.path is not None else {}


def _kind_of(path: Path) -> str:
    suffix = path.suffix.lower()
    refuse_unsupported(str(path), suffix)
    return suffix[1:]


def one_or_many(text_column: TextColumns) -> str | list[str] | None:
    """A column name, or two or more distinct names (the same name twice counts once)."""
    if text_column is None or isinstance(text_column, str):
        return text_column
    names = list(dict.fromkeys(str(name) for name in text_column))
    return None if not names else names[0] if len(names) == 1 else names


def _choose_text(source: TaskSource, text_column: str | list[str] | None,
                 head: pd.DataFrame) -> None:
    """Set the source's text column: one column (asked for, or found), or several joined."""
    label = source.label
    if isinstance(text_column, list):  # each one named, as one column asked for is
        named = list(dict.fromkeys(choose_text_column(source.columns, label, name)
                                   for name in text_column))
        text_column = named[0] if len(named) == 1 else named
    if not isinstance(text_column, list):
        source.text_column = choose_text_column(source.columns, label, text_column, head)
        refuse_numbers(head[source.text_column], source.text_column, label, source.columns)
        if (text_column is None and source.kind in ("csv", "tsv", "xlsx")
                and header_is_a_row(source.columns, source.text_column)):
            first = ", ".join(source.columns)
            fix = ("add a header row (task, ...) above it" if len(source.columns) > 1 else
                   "add a header row (task) above it, or save the list as .txt")
            source.warn(f"{label}: its first row ({first[:80]!r}) is read as the column names; "
                        f"if it is a task, {fix}")
        return
    joined = PART_JOIN.join(text_column)
    # In a file this tool wrote, that column is its earlier run's join: joined again, in place
    # (the same command on its own output was refused).
    if joined in source.columns and not earlier_results(source.columns):
        raise TasksError(f"{label}: a column is already called {joined!r}; rename it to read "
                         f"the task text from {', '.join(map(repr, text_column))}")
    refuse_numbers(head[text_column[0]], text_column[0], label, source.columns)
    source.text_parts, source.text_column = list(text_column), joined


def open_tasks(path: str | os.PathLike[str], text_column: TextColumns = None,
               sheet: str | int | None = None, warn: Warn = ignore) -> TaskSource:
    """Check a tasks file (or `-` for lines on stdin) and find its encoding, separator and text
    column (or the columns a task's text is joined from); nothing but a sample is read."""
    text_column = one_or_many(text_column)
    if str(path) == "-":
        if text_column not in (None, DEFAULT_TEXT_COLUMN):
            raise TasksError(f"stdin: lines on stdin have one column, {DEFAULT_TEXT_COLUMN!r}; "
                             f"drop --text-column")
        return TaskSource(path=None, label="stdin", kind="txt", text_column=DEFAULT_TEXT_COLUMN,
                          columns=[DEFAULT_TEXT_COLUMN], stream=sys.stdin, warn=warn)
    path = Path(path)
    label = str(path)
    if not path.exists():
        raise TasksError(f"{label}: tasks file not found")
    if path.is_dir():
        raise TasksError(f"{label}: is a folder, not a tasks file")
    kind = _kind_of(path)
    if sheet is not None and kind != "xlsx":
        warn(f"{label}: --sheet is for .xlsx workbooks; a .{kind} file has one table")
    if path.stat().st_size == 0:
        raise TasksError(f"{label}: the file is empty")
    if kind == "xlsx":
        return _open_xlsx(path, text_column, sheet, warn)
    with path.open("rb") as handle:
        sample = handle.read(SNIFF_BYTES)
    if looks_binary(sample):
        raise TasksError(f"{label}: not a text table (binary content); "
                         f"expected {', '.join(SUPPORTED)}")
    if not sample.replace(b"\x00", b"").strip() and len(sample) < SNIFF_BYTES:
        raise TasksError(f"{label}: the file is empty (only blank lines)")
    encoding = detect_encoding(sample, label, warn)
    if encoding == "utf-8-sig":
        warn(f"{label}: byte-order mark found and skipped (a .csv output keeps one)")
    source = TaskSource(path=path, label=label, kind=kind, text_column=DEFAULT_TEXT_COLUMN,
                        columns=[DEFAULT_TEXT_COLUMN], encoding=encoding, warn=warn)
    lines = (sample.decode(encoding, errors="replace").lstrip("\ufeff").replace("\x00", "")
             .splitlines()) if kind == "txt" else []
    table = table_header(lines) if kind == "txt" else None
    if table is not None:
        # Saved from Notion, Linear or GitHub: read as lines, the header was a task, the
        # separator line an empty row, and each task kept its pipes and its other cells.
        kind = source.kind = "md"
        source.header_row = table[0]
        warn(table_warning(label, lines, *table))
    elif kind == "txt" and tab_rows(sample.decode(encoding, errors="replace")):
        # Excel's "Text (Tab delimited)" and "Unicode Text" are .txt files of rows: read as
        # lines, the header was a task and each task's text ran on into its owner and hours.
        warn(f"{label}: rows of cells apart by tabs (Excel's \"Text (Tab delimited)\" or "
             f"\"Unicode Text\"): read as a table, as a .tsv file is")
        kind = source.kind = "tsv"
    if kind == "txt":
        if text_column not in (None, DEFAULT_TEXT_COLUMN):
            raise TasksError(f"{label}: a .txt file has one column, {DEFAULT_TEXT_COLUMN!r}; "
                             f"drop --text-column")
        source.title_row = _title_of(source)
        return source
    if kind in ("csv", "tsv"):
        text = sample.decode(encoding if encoding != "utf-16" else "utf-16", errors="replace")
        text = text.lstrip("\ufeff").replace("\x00", "")
        hinted = excel_separator(text)
        if hinted is not None:  # Excel reads with the separator it names, and hides the line
            text = text.partition("\n")[2]
        source.separator = hinted or sniff_separator(text, "\t" if kind == "tsv" else ",")
        top = top_rows(text, source.separator, TOP_ROWS)
        skipped = _skip_title(top, label, warn)
        source.header_row = skipped + (hinted is not None)
        source.group_titles = in_titled_groups(top, skipped)
        _say_extra_fields(top[skipped:], label, warn)
        repeated = duplicate_names(top[skipped] if len(top) > skipped else [])
        if repeated:
            warn(f"{label}: duplicate column names {', '.join(map(repr, repeated))}; the later "
                 f"ones are read as {repeated[0]}.1 and so on")
    head = next(_read_chunks(source, HEAD_ROWS, quiet=True), None)
    if head is None or (len(head.columns) == 0):
        raise TasksError(f"{label}: the file is empty")
    if len(head) == 0:
        raise TasksError(f"{label}: no task rows, only a header")
    source.columns = [str(column) for column in head.columns]
    if kind == "jsonl":
        # Any row may bring a new key; the output needs them all from the first row on.
        source.columns = _jsonl_columns(source)
        head = head.reindex(columns=source.columns)
    _choose_text(source, text_column, head)
    return source


def paste_source(text: str, label: str = "pasted text") -> TaskSource:
    """A source over pasted lines, one task a line (blank lines kept as blank rows)."""
    if not text.strip():
        raise TasksError(f"{label}: no tasks (the text is empty)")
    return TaskSource(path=None, label=label, kind="txt", text_column=DEFAULT_TEXT_COLUMN,
                      columns=[DEFAULT_TEXT_COLUMN], raw=text,
                      title_row=list_title(text.replace("\x00", "").splitlines()))


def paste_label(texts: list[str], width: int = 40) -> str:
    """What a pasted list is called among the runs: its first task, as a file is by its name
    ("pasted: Call the 12 customers whose service… and 14 more")."""
    # A placeholder ("-", "...") is a blank row, as the run counts it: "and 9 more" beside
    # "9 tasks" counted one.
    filled = [" ".join(str(text).split()) for text in texts if not is_blank_task(text)]
    if not filled:
        return "pasted"
    first = filled[0]
    if len(first) > width:
        cut = first[:width]
        first = (cut.rsplit(" ", 1)[0] if " " in cut[width // 2:] else cut[:-1]) + "…"
    more = len(filled) - 1
    return f"pasted: {first}" + (f" and {more:,} more" if more else "")


def paste_frame(text: str, label: str = "pasted text", warn: Warn = ignore
                ) -> tuple[pd.DataFrame, str]:
    """Pasted lines as a one-column table, by the same rule as files (a line, a row), a list's
    markers left out; or rows copied from a spreadsheet, or a Markdown table, as that table
    (`warn` hears how a Markdown table was read). And its text column."""
    source = paste_source(text, label)
    table = pasted_table(text, label, warn)
    if table is not None:
        return table
    frame, column = read_source(source)
    frame[column] = frame[column].map(without_marker)
    return frame, column


def _open_xlsx(path: Path, text_column: str | list[str] | None, sheet: str | int | None,
               warn: Warn) -> TaskSource:
    label = str(path)
    try:
        from openpyxl import load_workbook

        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception:
        raise TasksError(f"{label}: not a readable Excel workbook (.xlsx)") from None
    try:
        names = workbook.sheetnames
        if sheet is None:
            tables = sheets_shown_first(workbook)
            if not tables:
                raise TasksError(f"{label}: no sheet of cells, only charts: "
                                 f"{_numbered(names)}")
            sheet = tables[0]
            if len(tables) > 1:
                warn(f"{label}: {len(tables)} sheets; reading the first shown, {sheet!r} "
                     f"(choose another with --sheet NAME)")
        elif isinstance(sheet, str) and sheet not in names:
            if sheet.isdigit() and int(sheet) < len(names):
                sheet = int(sheet)
            else:
                raise TasksError(f"{label}: no sheet {sheet!r}; sheets are: "
                                 f"{_numbered(names)} (a name, or a number counted from 0, "
                                 f"hidden sheets included)")
        title = names[sheet] if isinstance(sheet, int) else sheet
        chosen = workbook[title]
        if chosen not in workbook.worksheets:
            raise TasksError(f"{label}: sheet {title!r} is a chart, not a table; sheets are: "
                             f"{_numbered(names)}")
        if chosen.sheet_state != "visible":
            # `--sheet 0` is the workbook's first sheet, which may be a hidden lookup table.
            warn(f"{label}: sheet {title!r} is hidden in Excel; reading it as asked (sheet "
                 f"numbers count from 0, hidden sheets included: {_numbered(names)})")
        elif isinstance(sheet, int):
            # Excel's users count sheets from 1: `--sheet 1` for the first read the second
            # without a word. The number's meaning is kept (scripts rely on it), and said.
            warn(f"{label}: sheet {sheet} is {title!r} (sheet numbers count from 0, hidden "
                 f"sheets included: {_numbered(names)})")
        top = [["" if is_blank(value) else str(value) for value in row]
               for row in chosen.iter_rows(max_row=TOP_ROWS, values_only=True)]
        unsaved = _unsaved_formulas(path, chosen)
        first_row = chosen.min_row or 1
        skipped = _skip_title(top, label, warn)
        # The sheet by its name: pandas numbers the sheets of cells only, --sheet every sheet.
        source = TaskSource(path=path, label=label, kind="xlsx", text_column=DEFAULT_TEXT_COLUMN,
                            columns=[], sheet=title, warn=warn, header_row=skipped,
                            group_titles=in_titled_groups(top, skipped))
        # The head as the whole sheet's first rows, read without the rest (9.5 s of 100,000
        # rows) from the workbook open here (loading one again parses a sheet saved without
        # its size whole): the same rows and columns unless a cell lies right of them below.
        try:
            head = next(_read_chunks(source, HEAD_ROWS, quiet=True, head_rows=HEAD_ROWS,
                                     workbook=workbook), None)
        except TasksError:
            head = None  # said as the whole sheet's read says it, below
        marks = row_marks(chosen, width=None if head is None else len(head.columns))
    finally:
        workbook.close()
    if head is None or len(head) < HEAD_ROWS or marks.wider:
        # Fewer rows than asked for may be blank rows trimmed before more tasks, and a wider
        # table's columns are known only by reading every row: read whole, as the run reads it.
        head = next(_read_chunks(source, HEAD_ROWS, quiet=True), None)
    _say_hidden_rows([row for row in marks.hidden if row > first_row + skipped], title, label,
                     warn)
    _say_merged([ref for top, ref in marks.merged if top > first_row + skipped], title, label,
                warn)
    header = top[skipped] if top else []
    repeated = duplicate_names([value for value in header if value])
    if repeated:
        warn(f"{label}: duplicate column names {', '.join(map(repr, repeated))}; the later "
             f"ones are read as {repeated[0]}.1 and so on")
    if unsaved:
        cells = f"{unsaved} cells of sheet {title!r} hold" if unsaved > 1 else \
            f"1 cell of sheet {title!r} holds"
        warn(f"{label}: {cells} a formula with no saved result (a workbook a program wrote, "
             f"never opened in a spreadsheet), read as empty; open and save it in Excel, or "
             f"export a CSV")
    if head is None or len(head.columns) == 0:
        raise TasksError(f"{label}: sheet {title!r} is empty")
    if len(head) == 0:
        raise TasksError(f"{label}: sheet {title!r} has no task rows, only a header")
    source.columns = [str(column) for column in head.columns]
    _choose_text(source, text_column, head)
    return source


def _numbered(names: list[str]) -> str:
    """A workbook's sheets as `--sheet` numbers them: "0 'Lookup', 1 'Tasks'"."""
    return ", ".join(f"{at} {name!r}" for at, name in enumerate(names))


def sheets_shown_first(workbook: Any) -> list[str]:
    """An openpyxl workbook's sheets of cells by name, the ones a person sees first: a hidden
    sheet (lookups, an export's raw data) is not the list they mean, and a chart sheet (Excel's
    "Move Chart: New sheet", often put first) holds no table at all."""
    return sorted((sheet.title for sheet in workbook.worksheets),
                  key=lambda name: workbook[name].sheet_state != "visible")


def _unsaved_formulas(path: Path, results: Any, rows: int = 200) -> int:
    """Formula cells among a sheet's first rows that carry no saved result (openpyxl and
    pandas read a formula's last saved result, and a program that wrote it saved none);
    `results` is the sheet as read for its values."""
    from openpyxl import load_workbook
    from openpyxl.cell.read_only import EMPTY_CELL

    # Such a formula reads as a cell with no value: where the first rows hold none, the
    # workbook is not loaded again (a sheet saved without its size is parsed whole to load).
    if not any(cell is not EMPTY_CELL and cell.value is None
               for row in results.iter_rows(max_row=rows) for cell in row):
        return 0
    formulas = load_workbook(path, read_only=True, data_only=False)
    try:
        count = 0
        pairs = zip(formulas[results.title].iter_rows(max_row=rows, values_only=True),
                    results.iter_rows(max_row=rows, values_only=True), strict=False)
        for written, saved in pairs:
            count += sum(isinstance(cell, str) and cell.startswith("=") and result is None
                         for cell, result in zip(written, saved, strict=False))
        return count
    finally:
        formulas.close()


def _say_hidden_rows(rows: list[int], title: str, label: str, warn: Warn) -> None:
    """Warn once of a sheet's hidden task rows (a filter a manager saved the export with: the
    other teams' tasks would go into the counts unseen)."""
    if not rows:
        return
    named = ", ".join(map(str, rows[:5])) + (f" and {len(rows) - 5:,} more" if len(rows) > 5
                                             else "")
    many = len(rows) > 1
    warn(f"{label}: {len(rows):,} row{'s' if many else ''} of sheet {title!r} "
         f"{'are' if many else 'is'} hidden in Excel (a filter?): row{'s' if many else ''} "
         f"{named}; read like the others (delete the rows not to be read)")


def _say_merged(ranges: list[str], title: str, label: str, warn: Warn) -> None:
    """Warn once of cells merged over several task rows: Excel shows one value over all of
    them, but only the top row holds it (a row below lost its task, and its hours the report)."""
    if not ranges:
        return
    named = ", ".join(ranges[:3]) + (f" and {len(ranges) - 3:,} more" if len(ranges) > 3 else "")
    warn(f"{label}: cells merged over several rows in sheet {title!r} ({named}): only the top "
         f"row holds the value, the rows below read blank (unmerge and fill them in Excel)")


def _skip_title(top: list[list[str]], label: str, warn: Warn) -> int:
    """How many rows above the header to leave unread (a title, blank rows), said in a warning."""
    skipped = header_row(top)
    if skipped:
        first = next(([cell.strip() for cell in row if cell.strip()] for row in top[:skipped]
                      if any(cell.strip() for cell in row)), [])
        said = (f" (the title {first[0][:60]!r})" if len(first) == 1 else
                f" (from {' | '.join(first)[:60]!r} on)" if first else " (blank)")
        warn(f"{label}: {skipped} row{'s' if skipped > 1 else ''} above the header not read"
             + said)
    return skipped


def _say_extra_fields(rows: list[list[str]], label: str, warn: Warn) -> None:
    """Warn when rows hold more filled fields than the header names (a trailing separator on
    each row is nothing lost, and said nothing of)."""
    width = len(rows[0]) if rows else 0
    if len(rows) < 2 or len(rows[1]) <= width:
        return  # a longer row below a first one that fits is refused by the parser, naming it
    if any(any(cell.strip() for cell in row[width:]) for row in rows[1:]):
        warn(f"{label}: rows hold more fields than the header's {width}; the extra fields "
             f"are not read (give them a name in the header)")


def _text_stream(source: TaskSource, mark: str, newline: str | None) -> NulFilter:
    assert source.path is not None
    handle, late = open_text(str(source.path), source.encoding, newline)
    return NulFilter(handle, mark, late)


def _say_not_utf8(handle: NulFilter, label: str, warn: Warn, said: bool) -> bool:
    """Warn once that a UTF-8 file has bytes that are not (read as cp1252); whether said."""
    if not said and handle.not_utf8_line is not None:
        warn(f"{label}: not all UTF-8: from line {handle.not_utf8_line} on, bytes that are not "
             f"were read as cp1252 (Windows); check its accents")
        return True
    return said


def _read_chunks(source: TaskSource, chunk_rows: int, quiet: bool = False,
                 head_rows: int | None = None, workbook: Any = None
                 ) -> Iterator[pd.DataFrame]:
    """The source's rows as DataFrames of at most `chunk_rows` rows, in order, NUL bytes dropped
    (the first row that held one is named in a warning, unless `quiet`); a workbook's first
    `head_rows` only, where given, from its open openpyxl `workbook` where given."""
    label = source.label
    numbers = None if quiet else row_numbers(source)
    named = False
    try:
        for chunk in _parse(source, chunk_rows, ignore if quiet else source.warn, head_rows,
                            workbook):
            rows = numbers.of(chunk) if numbers is not None and not named else []
            if not named and has_mark(chunk):
                named = True
                if numbers is not None:
                    source.warn(f"{label}: NUL bytes dropped (the first in {numbers.unit} "
                                f"{rows[first_marked(chunk)]})")
                chunk = unmarked(chunk)
            elif named:
                chunk = unmarked(chunk)
            yield chunk
    except TasksError:
        raise
    except pd.errors.EmptyDataError:
        raise TasksError(f"{label}: the file is empty") from None
    except pd.errors.ParserError as error:
        raise TasksError(f"{label}: not a well-formed {source.kind.upper()} table: "
                         f"{_parser_words(str(error), source)}") from None
    except UnicodeError as error:
        if source.stream is None:
            raise TasksError(f"{label}: cannot read: {error}") from None
        raise TasksError(f"{label}: not UTF-8 text; pass the file's path instead (its "
                         f"encoding is found), or convert it (iconv -f cp1252 -t utf-8)") from None
    except (ValueError, OSError) as error:
        raise TasksError(f"{label}: cannot read: {error}") from None


# The C parser's two common complaints, said with the file's line numbers and without its
# jargon ("Error tokenizing data. C error: ..."). It counts records (its "row" from 0, its
# "line" from 1), which are lines only until a cell holds a line break.
_OPEN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")
_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _parser_words(message: str, source: TaskSource | None = None) -> str:
    """A pandas parser error in a person's words, naming the file's line."""
    def where(record: int) -> str:
        line = _line_of_record(source, record) if source is not None else None
        return f"line {line}" if line is not None else f"record {record}"

    if found := _OPEN_QUOTE.search(message):
        return f"{where(int(found.group(1)) + 1)}: a quote opened there is never closed"
    if found := _FIELDS.search(message):
        expected, record, saw = found.groups()
        return (f"{where(int(record))}: {saw} fields where the header has {expected} (a "
                f"separator inside a cell needs quotes around the cell)")
    return message.strip()


def _line_of_record(source: TaskSource, record: int) -> int | None:
    """The file line where its `record`-th record (from 1, as the parser counts) starts: a
    tracker's multi-line descriptions put a bad row lines below its record number (the error
    named line 3 for a row on line 5). None where the file cannot be read again (stdin)."""
    if source.path is None:
        return None
    start = 1
    try:
        with _text_stream(source, NUL_MARK, newline="") as handle:
            reader = csv.reader(handle, delimiter=source.separator or ",")
            for _ in range(1, record):
                if next(reader, None) is None:
                    return None
                start = reader.line_num + 1
            return start
    except csv.Error:  # the record never ends (an open quote): it starts where it starts
        return start
    except (OSError, UnicodeError):
        return None


def row_numbers(source: TaskSource) -> RowNumbers:
    """How warnings number the source's rows: as its sheet or its file shows them (a data set
    of many files Ray reads has its rows counted)."""
    if source.kind == "xlsx":
        return RowNumbers("row", source.header_row + 2)
    if source.kind == "md":  # the lines of its header and of its separator are no rows
        return RowNumbers("line", source.header_row + 3)
    if source.kind in ("csv", "tsv") and source.path is not None:
        # A title, or a header cell over two lines ("Due\nDate"), moves the first row down.
        first = _line_of_record(source, source.header_row + 2)
        return RowNumbers("line", first or source.header_row + 2, breaks=True,
                          skip=source.text_column if source.text_parts else None)
    return RowNumbers("row")  # a .txt or .jsonl row is a line, and pasted text's too


def _parse(source: TaskSource, chunk_rows: int, warn: Warn, head_rows: int | None = None,
           workbook: Any = None) -> Iterator[pd.DataFrame]:
    if source.kind == "txt":
        yield from _txt_chunks(source, chunk_rows, warn)
    elif source.kind in ("csv", "tsv"):
        with _text_stream(source, NUL_MARK, newline="") as handle:
            reader = pd.read_csv(
                handle, sep=source.separator, dtype=str, keep_default_na=False, na_filter=False,
                chunksize=chunk_rows, skip_blank_lines=False, skiprows=source.header_row,
                # Rows one field longer than the header (a trailing comma on each) would make
                # the first column the index, and every cell would move one column left.
                index_col=False,
            )
            said = False
            with reader:
                while True:
                    with warnings.catch_warnings():  # said once, in our words (_say_extra_fields)
                        warnings.filterwarnings("ignore", category=pd.errors.ParserWarning,
                                                message="Length of header")
                        chunk = next(reader, None)
                    said = _say_not_utf8(handle, source.label, warn, said)
                    if chunk is None:
                        return
                    yield chunk
    elif source.kind == "md":
        yield from _markdown_chunks(source, chunk_rows, warn)
    elif source.kind == "jsonl":
        yield from _jsonl_chunks(source, chunk_rows, warn)
    elif source.kind == "xlsx":
        # dtype=object keeps numbers, dates and booleans as the workbook has them. An open
        # workbook is given as an ExcelFile of it, which read_excel leaves open.
        frame = pd.read_excel(source.path if workbook is None
                              else pd.ExcelFile(workbook, engine="openpyxl"),
                              sheet_name=source.sheet, dtype=object, keep_default_na=False,
                              engine="openpyxl", skiprows=source.header_row, nrows=head_rows)
        frame.columns = [str(column) for column in frame.columns]
        if frame.empty:
            yield frame  # its header still says what the sheet holds
        for start in range(0, len(frame), chunk_rows):
            yield frame.iloc[start:start + chunk_rows]


def _txt_lines(source: TaskSource, warn: Warn) -> Generator[str, None, None]:
    if source.raw is not None:
        yield from source.raw.replace("\x00", NUL_MARK).splitlines()
        return
    if source.stream is not None:
        lines = (line.rstrip("\r\n") for line in NulFilter(source.stream, NUL_MARK))
        ahead = list(islice(lines, TITLE_LINES))
        # stdin is read once: its title is found as its first lines are, before any is used.
        source.title_row = list_title(ahead)
        yield from ahead
        yield from lines
        return
    with _text_stream(source, NUL_MARK, newline=None) as handle:
        said = False
        for line in handle:
            said = _say_not_utf8(handle, source.label, warn, said)
            yield line.rstrip("\r\n")


def _title_of(source: TaskSource) -> int | None:
    """The row of a text file's list title (`paste.list_title`), from its first lines."""
    lines = _txt_lines(source, ignore)
    try:
        return list_title(lines)
    except (UnicodeError, OSError):
        return None  # said as the whole file's read says it
    finally:
        lines.close()


def _txt_chunks(source: TaskSource, chunk_rows: int, warn: Warn) -> Iterator[pd.DataFrame]:
    batch: list[str] = []
    for line in _txt_lines(source, warn):
        batch.append(line)
        if len(batch) >= chunk_rows:
            yield pd.DataFrame({DEFAULT_TEXT_COLUMN: batch}, dtype=object)
            batch = []
    if batch:
        yield pd.DataFrame({DEFAULT_TEXT_COLUMN: batch}, dtype=object)


def _markdown_chunks(source: TaskSource, chunk_rows: int, warn: Warn
                     ) -> Iterator[pd.DataFrame]:
    """A Markdown table's rows (`markdown.row_cells`), from the line below its separator; a line
    typed among them (no '|') holds the task's text, in the text column."""
    lines = _txt_lines(source, warn)
    try:
        header = next(islice(lines, source.header_row, None), None)
        if header is None:
            return
        columns = names(cells(header))
        next(lines, None)  # the separator line
        where = (columns.index(source.text_column) if source.text_column in columns else 0)
        number = source.header_row + 3
        batch: list[list[str]] = []
        for line in lines:
            row = row_cells(line, len(columns), source.label, number)
            if where and line.strip() and not has_pipe(line):
                row[0], row[where] = "", row[0]
            batch.append(row)
            number += 1
            if len(batch) >= chunk_rows:
                yield pd.DataFrame(batch, columns=columns, dtype=object)
                batch = []
        if batch or number == source.header_row + 3:  # no rows: its header still says what
            yield pd.DataFrame(batch, columns=columns, dtype=object)
    finally:
        lines.close()


def _jsonl_records(source: TaskSource, warn: Warn) -> Iterator[dict[str, Any]]:
    # NULs are dropped before parsing (JSON forbids them inside strings); a row is a line.
    with _text_stream(source, "", newline=None) as handle:
        warned = said = False
        for number, line in enumerate(handle, start=1):
            said = _say_not_utf8(handle, source.label, warn, said)
            if handle.first_line is not None and not warned:
                warned = True
                warn(f"{source.label}: NUL bytes dropped (the first in row {handle.first_line})")
            if not line.strip():
                yield {}
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                raise TasksError(f"{source.label}: row {number}: not valid JSON "
                                 f"({error.msg})") from None
            # An escaped NUL (\u0000) is dropped too, as a NUL byte is: PostgreSQL stores none
            # in text or JSON, and would refuse the run naming no file, row or field.
            if "\\u0000" in line and (cleaned := _without_nul(value)) != value:
                value = cleaned
                if not warned:
                    warned = True
                    warn(f"{source.label}: NUL characters (\\u0000) dropped (the first in row "
                         f"{number})")
            if isinstance(value, str):
                value = {DEFAULT_TEXT_COLUMN: value}
            if not isinstance(value, dict):
                raise TasksError(f"{source.label}: row {number}: expected an object "
                                 f"or a string, found {type(value).__name__}")
            yield _flat(value)


def _without_nul(value: Any) -> Any:
    """A parsed JSON value with the NUL characters taken out of its strings and keys."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def _flat(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A record with its nested objects as columns of dotted names ({"fields": {"summary": ..}}
    as "fields.summary"), as a tracker's API export nests them; a list stays one cell."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict) and value:
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _jsonl_columns(source: TaskSource) -> list[str]:
    return list(dict.fromkeys(key for record in _jsonl_records(source, ignore) for key in record))


def _records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    # Built column by column as objects: pandas would turn [1, None] into [1.0, NaN].
    keys = dict.fromkeys(key for record in records for key in record)
    return pd.DataFrame({key: [record.get(key) for record in records] for key in keys},
                        index=range(len(records)), dtype=object)


def _jsonl_chunks(source: TaskSource, chunk_rows: int, warn: Warn) -> Iterator[pd.DataFrame]:
    records: list[dict[str, Any]] = []
    for record in _jsonl_records(source, warn):
        records.append(record)
        if len(records) >= chunk_rows:
            yield _records_frame(records)
            records = []
    if records:
        yield _records_frame(records)


def iter_chunks(source: TaskSource, chunk_rows: int = 20_000) -> Iterator[pd.DataFrame]:
    """The rows of a source in chunks, cells as read (JSON or Excel values for .jsonl and .xlsx,
    text otherwise), the source's columns in order; the text column is always text."""
    column = source.text_column
    for chunk in _read_chunks(source, chunk_rows):
        chunk = chunk.astype(object)
        if source.kind == "jsonl":
            # A null stays null in the output; a key a row lacks reads as null.
            chunk = chunk.reindex(columns=source.columns)
        else:
            if column not in chunk.columns:
                chunk[column] = ""
            chunk = chunk.fillna("")
            # The `'` a CSV from this tool carries against formulas is not the task's: read
            # with it, "'- [ ] Call the buyers" lost its decision and its list marker rule.
            chunk = _unneutralised(chunk)
        if source.text_parts:
            chunk[column] = joined_text(chunk, source.text_parts)
        elif source.kind in ("jsonl", "xlsx"):
            chunk[column] = chunk[column].map(_as_text)
        yield chunk


def task_chunks(source: TaskSource, chunk_rows: int = 20_000
                ) -> Iterator[tuple[pd.DataFrame, list[str], list[int]]]:
    """`iter_chunks`, each chunk with the texts its rows give the classifier (`task_texts`)
    and where each row is (`row_numbers`, as warnings name it); the rows that are no tasks said
    once, by their row in a spreadsheet, when all are read."""
    found: list[int] = []
    title: tuple[int, str] | None = None  # where the list's title is, and what it says
    numbers = row_numbers(source)  # as every warning of a run names rows
    chunks = iter_chunks(source, chunk_rows)
    chunk = next(chunks, None)
    before: pd.DataFrame | None = None
    read = 0  # rows of the chunks before this one
    while chunk is not None:
        following = next(chunks, None)
        # A group's title that ends a chunk is told by the first row of the next, one that
        # starts it by the blank row that ends the one before: the same answer at any size.
        around = [part for part in (before, chunk,
                                    None if following is None else following.iloc[:1])
                  if part is not None]
        rows = pd.concat(around) if len(around) > 1 else chunk
        start = 0 if before is None else len(before)
        skipped = not_tasks(rows, source.text_column, source.group_titles
                            )[start:start + len(chunk)]
        before = chunk.iloc[-2:]
        where = numbers.of(chunk)
        texts = chunk[source.text_column].tolist()
        found += [where[int(at)] for at in np.flatnonzero(skipped)]
        if source.title_row is not None and 0 <= source.title_row - read < len(chunk):
            at = source.title_row - read
            skipped[at] = True
            title = (where[at], str(texts[at]))
        read += len(chunk)
        yield chunk, ["" if skip else str(text) for text, skip in zip(texts, skipped,
                                                                       strict=True)], where
        chunk = following
    if title is not None:
        source.warn(title_warning(f"{source.label}: {numbers.unit}", *title))
    if found:
        many = len(found) > 1
        named = ", ".join(map(str, found[:5])) + (f" and {len(found) - 5:,} more"
                                                  if len(found) > 5 else "")
        source.warn(f"{source.label}: {numbers.unit}{'s' if many else ''} {named} "
                    f"{'are' if many else 'is'} the header again or a group's title above it, "
                    f"not {'tasks' if many else 'a task'}: status empty, as a blank row")


def title_warning(where: str, row: int, text: str) -> str:
    """The one line that says a list's title line was read as its title (`where` is
    "FILE: row", "Run #7: row"): a task is never left out unsaid."""
    shown = " ".join(text.split())
    shown = shown if len(shown) <= 60 else shown[:59] + "…"
    return (f"{where} {row} ({shown!r}) is read as the list's title, not a task: status "
            f"empty, as a blank row (without its closing ':' it is classified)")


def task_texts(rows: pd.DataFrame, text_column: str) -> list[Any]:
    """The texts a table's rows give the classifier: blank for a row that is no task
    (`not_tasks`, and a list's title line), so it is `empty` as a blank row is."""
    skipped = not_tasks(rows, text_column, bool(rows.attrs.get(GROUP_TITLES, False)))
    title = title_position(rows, text_column)
    if title is not None:
        skipped[title] = True
    return ["" if skip else text for text, skip in zip(rows[text_column].tolist(), skipped,
                                                       strict=True)]


def title_position(rows: pd.DataFrame, text_column: str) -> int | None:
    """The position of a table's list title (`LIST_TITLE`), where the table still holds it
    (a part of the table, or one edited since, may not)."""
    title = rows.attrs.get(LIST_TITLE)
    if not isinstance(title, dict):
        return None
    found = np.flatnonzero(rows.index == title.get("row"))
    if len(found) != 1 or rows[text_column].iloc[int(found[0])] != title.get("text"):
        return None
    return int(found[0])


def not_tasks(rows: pd.DataFrame, text_column: str, group_titles: bool = False) -> np.ndarray:
    """Rows whose text is not blank but that are no tasks: the header again, and a group's
    title above it where the file is laid out in titled groups (`header_again`), told by the
    table's own columns (not an earlier run's results, nor a column joined for the task text)."""
    stale = set(earlier_results(rows.columns))
    parts = str(text_column).split(PART_JOIN)
    joined = len(parts) > 1 and all(part in rows.columns for part in parts)
    own = [position for position, column in enumerate(rows.columns)
           if column not in stale and not (joined and column == text_column)]
    if len(own) < 2:  # a list of one column: a task may be named as its header is
        return np.zeros(len(rows), dtype=bool)
    return header_again(rows.iloc[:, own], group_titles)


def with_group_titles(rows: pd.DataFrame, text_column: str, empty: Sequence[bool]
                      ) -> pd.DataFrame:
    """A stored run's table marked as laid out in titled groups when that run left a group's
    title empty, and with its list's title where it left that empty: its re-run leaves the same
    rows empty (the file's top, and a list's markers, are not stored)."""
    titles = not_tasks(rows, text_column, True) & ~not_tasks(rows, text_column, False)
    left = np.asarray(empty, dtype=bool)
    rows.attrs[GROUP_TITLES] = bool((titles & left).any())
    # A list's title line was left empty too: in a list (one column), nothing else with words
    # is (its items are stored without their markers, which told it).
    rows.attrs.pop(LIST_TITLE, None)
    texts = rows[text_column].tolist()
    at = next((at for at, text in enumerate(texts) if not is_blank(text)), None)
    if (len(rows.columns) == 1 and at is not None and left[at] and not is_blank_task(texts[at])
            and str(texts[at]).rstrip().endswith(TITLE_ENDS)):
        rows.attrs[LIST_TITLE] = {"row": rows.index[at], "text": texts[at]}
    return rows


def _unneutralised(chunk: pd.DataFrame) -> pd.DataFrame:
    """The chunk with `writer.unneutralised` cells; other cells as they are (DataFrame.map
    would make a workbook's 3 the float 3.0)."""
    for position in range(chunk.shape[1]):
        values = chunk.iloc[:, position].tolist()
        read = [unneutralised(value) for value in values]
        if any(new is not old for new, old in zip(read, values, strict=True)):
            chunk.iloc[:, position] = pd.Series(read, index=chunk.index, dtype=object)
    return chunk


def joined_text(chunk: pd.DataFrame, parts: Sequence[str]) -> list[str]:
    """Each row's text from several columns: its filled cells, each on a line of its own (a
    title, then its description), so a row is blank only when all of them are."""
    cells = [[_as_text(value).strip() for value in chunk[part].tolist()] for part in parts]
    return ["\n".join(cell for cell in row if cell) for row in zip(*cells, strict=True)]


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if is_blank(value):
        return ""
    if isinstance(value, bool | dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def read_source(source: TaskSource) -> tuple[pd.DataFrame, str]:
    """A whole source as one DataFrame, and the name of its text column."""
    frames = list(iter_chunks(source))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=source.columns)
    # Read whole, the table no longer shows what was above its header: `task_texts` needs it.
    frame.attrs[GROUP_TITLES] = source.group_titles
    if source.title_row is not None and source.title_row < len(frame):
        frame.attrs[LIST_TITLE] = {"row": frame.index[source.title_row],
                                   "text": frame[source.text_column].iloc[source.title_row]}
    return frame, source.text_column


def read_tasks(path: str | os.PathLike[str], text_column: TextColumns = None,
               sheet: str | int | None = None, warn: Warn = ignore) -> tuple[pd.DataFrame, str]:
    """A whole tasks file as one DataFrame, and the name of its text column."""
    return read_source(open_tasks(path, text_column=text_column, sheet=sheet, warn=warn))


def count_rows_estimate(source: TaskSource) -> int | None:
    """A fast estimate of the number of rows (line count) for progress bars; None if unknown."""
    if source.raw is not None:
        return len(source.raw.splitlines())
    if source.path is None or source.kind == "xlsx":
        return None
    lines = 0
    last = b"\n"
    with source.path.open("rb") as handle:
        while block := handle.read(1 << 22):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1
    above = {"txt": 0, "jsonl": 0, "md": 2 + source.header_row}.get(source.kind,
                                                                  1 + source.header_row)
    return max(lines - above, 0)
