"""What a person pastes into the task box: lines, a bulleted or numbered list, or rows copied
from a spreadsheet or a tracker's table view (cells apart by tabs, as every spreadsheet copies
them). A list's markers are its layout, not the task's words ("- [ ] Call the customers" moved up
to 19% of the sample's and two written plans' tasks to another strategy); copied rows keep their
other columns (owner, hours), which the report reads, instead of becoming words of the task.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from itertools import islice

import pandas as pd

from ..cells import is_blank_task
from ..errors import TasksError
from ..phrases import without_marker
from .columns import (
    COLUMN_NAMES,
    DEFAULT_TEXT_COLUMN,
    choose_text_column,
    column_name,
    filled_cells,
    is_free_text,
    numbers_or_dates,
)
from .markdown import cells, has_pipe, row_cells, table_header, table_warning
from .sniffing import Warn, ignore

# The lines a list's title is looked for in: the title and the first item below it.
TITLE_LINES = 20
# What ends a list's title: a colon (a full-width one in Chinese and Japanese).
TITLE_ENDS = (":", "\uff1a")


def list_title(lines: Iterable[str]) -> int | None:
    """The row (from 0) of a list's title: its first line, ending in ':' and no item of the
    list itself, right above an item of a list ("My team's tasks this week:" over "- Fix the
    login bug", blank lines aside); None for a list without one."""
    title = None
    for at, line in enumerate(islice(lines, TITLE_LINES)):
        if not line.strip():
            continue
        item = _is_item(line)
        if title is not None:
            return title if item else None
        if item or is_blank_task(line) or not line.rstrip().endswith(TITLE_ENDS):
            return None
        title = at
    return None


def _is_item(line: str) -> bool:
    """Whether a line is a list's item: a bullet, number or check box before its words."""
    return without_marker(line).strip() != line.strip()


def _rows(text: str) -> tuple[list[list[str]], set[int]] | None:
    """The cells of rows copied from a spreadsheet, and which rows are a line typed among them
    (one cell: a task without the other columns); None for plain lines. Most filled rows have
    the most cells, two or more (quoted cells may hold line breaks)."""
    if "\t" not in text:
        return None
    try:
        rows = list(csv.reader(io.StringIO(text.strip("\r\n")), delimiter="\t"))
    except csv.Error:  # a cell past the csv module's size limit: not a spreadsheet's copy
        return None
    filled = [len(row) for row in rows if any(cell.strip() for cell in row)]
    width = max(filled, default=1)
    # A line typed under rows copied from a spreadsheet ("Order toner", no tabs) is a row with
    # its other cells empty; a list with one stray tab ("Hire a welder<tab>Tom") is lines.
    if width == 1 or 2 * filled.count(width) <= len(filled):
        return None
    loose = {number for number, row in enumerate(rows)
             if len(row) == 1 and row[0].strip()}
    # A list's sub-items indented by tabs ("- Fix the seal" over "<tab>- order the kit") start
    # with an empty cell, under items of one: read as a table, a .txt file's first item was its
    # header and its sub-items were dropped. A sheet's header names its first column.
    if loose and all(not row[0].strip() for row in rows if len(row) > 1):
        return None
    return [row + [""] * (width - len(row)) for row in rows], loose


def _markdown_rows(text: str, label: str, warn: Warn
                   ) -> tuple[list[list[str]], set[int]] | None:
    """A Markdown table's header and rows (`markdown.table_header`), and which rows are a line
    typed below it (no '|'); None for text that is no such table. Said in a warning."""
    lines = text.splitlines()
    found = table_header(lines)
    if found is None:
        return None
    header, title = found
    width = len(cells(lines[header]))
    body = lines[header + 2:]
    while body and not body[-1].strip():  # the blank lines a copy ends with are no rows
        body.pop()
    rows = [cells(lines[header])] + [row_cells(line, width, label, header + 3 + at)
                                     for at, line in enumerate(body)]
    loose = {number for number, line in enumerate(body, start=1)
             if line.strip() and not has_pipe(line)}
    warn(table_warning(label, lines, header, title))
    return rows, loose


def tab_rows(text: str) -> bool:
    """Whether lines are rows copied or saved from a spreadsheet (cells apart by tabs), by the
    rule the paste box reads them with, not a list with a stray tab."""
    return _rows(text.lstrip("\ufeff").replace("\x00", "")) is not None


def _has_header(rows: list[list[str]]) -> bool:
    """Whether the first row names the columns: a known column name, or a word above a column
    of numbers or dates ("Time" over 3, 5, 2)."""
    first = rows[0]
    if any(column_name(cell) in COLUMN_NAMES for cell in first):
        return True
    for position, cell in enumerate(first):
        values = filled_cells([row[position] for row in rows[1:]])
        if not cell.strip() or values.empty:
            continue
        named = not numbers_or_dates(pd.Series([cell.strip()])).iloc[0]
        if named and numbers_or_dates(values).mean() >= 0.9:
            return True
    return False


def _some_text(values: pd.Series) -> bool:
    """Whether a column holds text, however short ("Payroll"): not mostly numbers or dates."""
    filled = filled_cells(values)
    return not filled.empty and numbers_or_dates(filled).mean() < 0.5


def names(header: list[str]) -> list[str]:
    """A header's cells as column names: a blank one numbered, a repeated one with ".1"."""
    names: list[str] = []
    for position, cell in enumerate(header, start=1):
        name = " ".join(cell.split()) or f"column {position}"
        while name in names:  # a repeated name gets ".1", as in a file read by pandas
            name += ".1"
        names.append(name)
    return names


def pasted_table(text: str, label: str = "pasted text", warn: Warn = ignore
                 ) -> tuple[pd.DataFrame, str] | None:
    """Rows copied from a spreadsheet, or a Markdown table, as a table (a header row when the
    first row names its columns, as a Markdown table's always does) and the column holding the
    task text; None when the text is plain lines."""
    text = text.replace("\x00", "")
    found = _markdown_rows(text, label, warn)
    markdown = found is not None
    found = found or _rows(text)
    if found is None:
        return None
    rows, loose = found
    header = markdown or _has_header(rows)
    columns = names(rows[0]) if header else [f"column {i}" for i in range(1, len(rows[0]) + 1)]
    frame = pd.DataFrame(rows[1:] if header else rows, columns=columns, dtype=object)
    if frame.empty:
        raise TasksError(f"{label}: no task rows, only a header ({', '.join(columns)})")
    text_column = None
    if header:
        try:
            text_column = choose_text_column(columns, label, None, frame)
        except TasksError:
            pass
    if text_column is None:
        # No name says which: the column of words; of several, the one with the longest texts.
        wordy = ([column for column in columns if is_free_text(frame[column])]
                 or [column for column in columns if _some_text(frame[column])])
        if not wordy:
            raise TasksError(f"{label}: no pasted column holds task text (words); columns "
                             f"are: {', '.join(columns)}")
        text_column = max(wordy, key=lambda column: frame[column].str.len().mean())
        if not header:
            frame = frame.rename(columns={text_column: DEFAULT_TEXT_COLUMN})
            text_column = DEFAULT_TEXT_COLUMN
    # A typed line is a task: its text goes in the task column, not the first one.
    positions = [number - 1 if header else number for number in sorted(loose)]
    positions = [p for p in positions if 0 <= p < len(frame)]
    if positions and frame.columns.get_loc(text_column) != 0:
        first = frame.columns[0]
        frame.loc[positions, text_column] = frame.loc[positions, first]
        frame.loc[positions, first] = ""
    return frame, text_column
