"""Which column of a table holds the task text, and whether a column can be task text at all."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..cells import cell_text, no_year, read_dates, times_of_day
from ..errors import TasksError, TextColumnNumbers, TextColumnUnknown

# The names trackers give the task's text, first found first (case, "_" and "-" aside): its
# title before its description (Planner's "Task Name" beside "Description", Trello's "Card
# Name" beside "Card Description": a task with no description is still a task), then
# "name", which in a timesheet (Name, Description, Hours) is the person.
TEXT_COLUMN_NAMES = (
    "task", "tasks", "tactic", "tactics", "text", "title", "summary",
    "task name", "task title", "card name", "card title", "item name", "item title",
    "issue title", "issue summary", "story title", "ticket title", "work item title",
    "to do", "todo", "content",
    "description", "task description", "card description", "item description",
    "name", "subject", "item", "issue", "work item",
)
DEFAULT_TEXT_COLUMN = "task"

# The names task lists give their columns: a header row is told from a first task (pasted
# rows) or from a title above it (a workbook) by them.
COLUMN_NAMES = frozenset(TEXT_COLUMN_NAMES) | {
    "owner", "owners", "assignee", "assigned to", "responsible", "who", "team", "reporter",
    "effort", "effort hours", "hours", "points", "story points", "estimate", "sp",
    "status", "state", "priority", "due", "due date", "start date", "end date", "created",
    "updated", "id", "key", "issue key", "issue id", "work item type", "type", "issue type",
    "labels", "tags", "project", "sprint", "iteration path", "area path", "notes", "comments",
    "task id", "card id", "members", "assignees", "person", "people", "progress", "start",
    "finish", "duration", "deadline", "bucket name", "list name", "section", "category",
}


def column_name(name: object) -> str:
    """A column's name as the rules here read it: lower case, "_" and "-" as spaces."""
    return " ".join(str(name).replace("_", " ").replace("-", " ").lower().split())


def choose_text_column(columns: list[str], label: str, text_column: str | None,
                       frame: pd.DataFrame | None = None) -> str:
    """The column holding the task text: the one asked for, a known name, or the only text column."""
    if text_column is not None:
        return _named_column(columns, label, text_column)
    if len(columns) == 1:
        return columns[0]
    by_name: dict[str, str] = {}
    for column in columns:
        by_name.setdefault(column_name(column), column)
    for column in columns:  # a nested field read flat ("fields.summary": a Jira export's JSON)
        if "." in str(column):
            by_name.setdefault(column_name(str(column).rsplit(".", 1)[1]), column)
    for name in TEXT_COLUMN_NAMES:
        if name in by_name:
            return by_name[name]
    candidates = list(columns)
    if frame is not None:
        candidates = [column for column in columns if is_free_text(frame[column])]
    if len(candidates) == 1:
        return candidates[0]
    raise TextColumnUnknown(f"{label}: cannot tell which column holds the task text; columns "
                            f"are: {', '.join(map(str, columns))}; pass --text-column NAME",
                            [str(column) for column in columns])


def _named_column(columns: list[str], label: str, name: str) -> str:
    """The column named: as written, else the one named so with case and spacing aside (a
    header's trailing space or line break cannot be seen, nor typed from the error's list)."""
    if name in columns:
        return name
    alike = [column for column in columns if column_name(column) == column_name(name)]
    if len(alike) == 1:
        return alike[0]
    if alike:
        raise TasksError(f"{label}: {name!r} may be any of the columns "
                         f"{', '.join(map(repr, alike))}; pass one as written there")
    raise TasksError(f"{label}: no column {name!r}; columns are: "
                     f"{', '.join(map(_shown_name, columns))}")


def _shown_name(column: object) -> str:
    """A column's name for a list a person copies from: quoted where it holds what cannot be
    seen (a trailing space, a line break, a no-break space)."""
    name = str(column)
    return name if name == " ".join(name.split()) and name.isprintable() else repr(name)


def filled_cells(values: list[str] | pd.Series) -> pd.Series:
    """A column's cells that hold something, stripped."""
    cells = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    cells = cells.astype(str).str.strip()
    return cells[cells != ""]


def is_free_text(values: pd.Series) -> bool:
    """Whether a column reads as free text: words, mostly not numbers or dates."""
    values = filled_cells(values)
    if values.empty:
        return False
    numeric = pd.to_numeric(values, errors="coerce").notna().mean()
    dates = (read_dates(values).notna() | times_of_day(values) | no_year(values)).mean()
    has_words = values.str.contains(r"[^\W\d_]{2,}\s+\S", regex=True).mean()
    return numeric < 0.5 and dates < 0.5 and has_words >= 0.5


def refuse_numbers(values: pd.Series, column: str, label: str, columns: list[str]) -> None:
    """TasksError if a text column holds numbers (an id or effort column picked by mistake)."""
    text = filled_cells(values)
    if text.empty:
        return
    if pd.to_numeric(text, errors="coerce").notna().mean() >= 0.9:
        others = [c for c in columns if c != column]
        said = f"{label}: column {column!r} holds numbers, not task text"
        raise TextColumnNumbers(
            f"{said}; pass --text-column with the column that describes each task"
            + (f" (other columns: {', '.join(map(str, others))})" if others else ""),
            f"{said}; choose the column that describes each task")


def header_row(rows: list[list[str]]) -> int:
    """Where a table's header is among its first rows: below blank rows and a title (one filled
    cell of two words or more that names no column: "Q4 task list - Sales team") or a block of
    "key | value" rows (Planner's "Plan name | ..."), else the first row."""
    filled = [[cell.strip() for cell in row if cell.strip()] for row in rows]
    header = next((at for at, cells in enumerate(filled) if len(cells) >= 2), 0)
    if header < len(filled) and len(filled[header]) >= 2:
        header = _named_below_pairs(filled, header)
    if 0 < header < len(filled) and not filled[header - 1] and _are_column_names(filled[header]):
        # Column names set off by a blank row: what is above is a title, one word ("Marketing",
        # a board's name) or not; read as the header, the file was refused.
        return header
    for cells in filled[:header]:
        # "Activity" alone may be a header whose second column has no name.
        if len(cells) == 1 and (len(cells[0].split()) < 2
                                or column_name(cells[0]) in COLUMN_NAMES):
            return 0
    return header


def _named_below_pairs(filled: list[list[str]], first: int) -> int:
    """The row of column names below a block of one- and two-cell rows that starts at `first`
    and names no columns, where the block ends in a blank row (Planner's) or the names are
    wider than it; `first` where there is none (a two-column table, whose rows may hold two
    column words, "Status, Owner"; a wider row)."""
    for at in range(first, len(filled)):
        if _are_column_names(filled[at]):
            set_off = at > first and (not filled[at - 1] or len(filled[at]) > 2)
            return at if set_off else first
        if len(filled[at]) > 2:
            break
    return first


def _are_column_names(cells: list[str]) -> bool:
    """Whether filled cells read as a header: two or more, most of them names task lists use."""
    known = sum(column_name(cell) in COLUMN_NAMES for cell in cells)
    return known >= 2 and 2 * known >= len(cells)


# pandas' names for a header's blank cell and for a name's second use ("Labels.1").
_BLANK_NAME = re.compile(r"Unnamed: \d+")
_LATER_NAME = re.compile(r"(.+)\.[1-9]\d*")
# A stored run's name for an input column the tool's own would overwrite (results.input_renames:
# "status" kept as "status (input)"): its repeated header still reads "status".
_KEPT_NAME = re.compile(r"(.+) \(input\)'*")


def header_again(rows: pd.DataFrame, group_titles: bool = False) -> np.ndarray:
    """Which rows are the header again (a board's export repeats it above each group of rows),
    and, in a file laid out in titled groups (`group_titles`), each group's title above it."""
    again = np.zeros(len(rows), dtype=bool)
    candidates = np.arange(len(rows))
    for position, name in enumerate(rows.columns):  # most rows are told by their first cell
        if not len(candidates):
            return again
        cells = rows.iloc[candidates, position].map(cell_text)
        candidates = candidates[cells.isin(_header_cells(str(name))).to_numpy()]

    def filled(at: int) -> list[int]:
        return filled_positions(rows.iloc[at].tolist())

    repeats = [at for at in candidates.tolist() if len(filled(at)) >= 2]
    titles: list[int] = []
    if group_titles:
        # A group's title is a cell alone above the header's first name (column A, or B where
        # A is left empty), set off by a blank row, as the title above the file's own header
        # was. Without such a title there, a row of one cell above a repeated header is a task
        # whose other cells are empty (two exports joined).
        titles = [at - 1 for at in repeats
                  if at >= 2 and filled(at - 1) == filled(at)[:1] and not filled(at - 2)]
    again[repeats + titles] = True
    return again


def in_titled_groups(top: list[list[str]], header: int) -> bool:
    """Whether a table is laid out in titled groups, as a board's export is: above its header,
    the board's name, or right above it a row whose one filled cell is above the header's
    first name (the first group's title; column B's where the sheet leaves column A empty)."""
    if not 0 < header < len(top):
        return False
    first = filled_positions(top[header])[:1]
    if bool(first) and filled_positions(top[header - 1]) == first:
        return True
    # A board whose first group has no title (its title row deleted, or an export of one
    # group first) starts with the board's name all the same; a list of tasks has no title
    # above its header and a group's title below it.
    return any(filled_positions(row) for row in top[:header])


def filled_positions(row: Sequence[object]) -> list[int]:
    """Where a row's cells hold something (blank and whitespace-only cells aside)."""
    return [at for at, value in enumerate(row) if cell_text(value) != ""]


def _header_cells(name: str) -> set[str]:
    """What a header's cell holds where pandas named its column `name`."""
    cells = {name.strip()}
    if _BLANK_NAME.fullmatch(name):
        cells.add("")
    if later := _LATER_NAME.fullmatch(name):
        cells.add(later.group(1).strip())
    if kept := _KEPT_NAME.fullmatch(name):
        cells.add(kept.group(1).strip())
    return cells


def header_is_a_row(columns: list[str], text_column: str) -> bool:
    """Whether a table's column names look like its first row of tasks (a file with no header
    row): a name that is a number or a date not after names task lists use ("Task, Owner,
    2026-03-02": a week's columns), or a task-like text column name (three words or more)
    where no name is one task lists use."""
    names = pd.Series([str(column) for column in columns], dtype=object)
    counted = _counted_names(names).tolist()
    if any(counted):
        before = columns[:counted.index(True)]
        return not before or any(column_name(column) not in COLUMN_NAMES for column in before)
    if any(column_name(column) in COLUMN_NAMES for column in columns):
        return False
    return len(str(text_column).split()) >= 3


def numbers_or_dates(values: pd.Series) -> pd.Series:
    """Which values are numbers, dates (a year's or not) or times of day (an effort, an id, a
    due date, a meeting's start)."""
    numbers = pd.to_numeric(values, errors="coerce").notna()
    dates = read_dates(values).notna()
    return numbers | dates | times_of_day(values) | no_year(values)


def _counted_names(names: pd.Series) -> pd.Series:
    # A date with digits ("2026-03-02"); month names ("May", "June") are fine column names.
    return numbers_or_dates(names) & names.str.contains(r"\d")
