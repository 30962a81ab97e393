"""A Markdown table, as Notion, Linear, GitHub and Confluence copy or save one: a header row, a
separator line of dashes (`|---|:---:|`), then rows, cells apart by `|` (`\\|` is a cell's own).
Read as lines, each task kept its pipes and its owner, the header was classified, and the
separator line was an empty row."""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import islice

from ..errors import TasksError

# The lines a table's header is looked for in: a title above it, blank lines, the header.
HEAD_LINES = 20
_DELIMITER = re.compile(r"\s*:?-+:?\s*")


def cells(line: str) -> list[str]:
    """A row's cells, trimmed: split at each `|` that is not escaped (`\\|` is a `|` of the
    cell's text), the row's opening and closing pipe aside."""
    found: list[str] = []
    cell: list[str] = []
    text = line.strip()
    closed = False  # whether the last character was a pipe between cells
    at = 0
    while at < len(text):
        char = text[at]
        if char == "\\" and text[at + 1:at + 2] == "|":
            cell.append("|")
            at += 2
            closed = False
            continue
        if char == "|":
            found.append("".join(cell).strip())
            cell = []
            closed = True
        else:
            cell.append(char)
            closed = closed and char.isspace()
        at += 1
    if not closed:
        found.append("".join(cell).strip())
    if text.startswith("|") and found:
        found = found[1:]
    return found


def has_pipe(line: str) -> bool:
    """Whether a line holds a `|` that parts cells (not only escaped ones)."""
    return "|" in line.replace("\\|", "")


def _is_delimiter(line: str, width: int) -> bool:
    """Whether a line is a table's separator line under a header of `width` cells."""
    if not has_pipe(line):  # "---" alone under a line is a heading's underline, no table
        return False
    parts = cells(line)
    return len(parts) == width and all(_DELIMITER.fullmatch(part) for part in parts)


def table_header(lines: Iterable[str]) -> tuple[int, int | None] | None:
    """Where a Markdown table's header line is (from 0), and the line of its one title above
    it if any ("## Sprint 12"), when the text starts with such a table; None when it does not
    (plain lines, a list, a table further down)."""
    head = list(islice(lines, HEAD_LINES))
    filled = [at for at, line in enumerate(head) if line.strip()]
    for position, at in enumerate(filled[:2]):
        line = head[at]
        if has_pipe(line) and at + 1 < len(head) and _is_delimiter(head[at + 1], len(cells(line))):
            return at, (filled[0] if position else None)
        if has_pipe(line):
            return None  # a title above a table holds no cells
    return None


def row_cells(line: str, width: int, label: str, line_number: int) -> list[str]:
    """A table row's cells, `width` of them (a short row's last ones empty); a blank line is a
    row of empty cells, kept as a blank row is. TasksError for a row wider than the header."""
    if not line.strip():
        return [""] * width
    if not has_pipe(line):  # a line typed below the table: a task whose other cells are empty
        return [line.strip().replace("\\|", "|")] + [""] * (width - 1)
    found = cells(line)
    if len(found) > width:
        raise TasksError(f"{label}: line {line_number}: {len(found)} cells where the table's "
                         f"header has {width} (a '|' inside a cell is written '\\|')")
    return found + [""] * (width - len(found))


def table_warning(label: str, lines: list[str], header: int, title: int | None) -> str:
    """The one line that says a text was read as a Markdown table, and where its rows start
    (`header`, `title`: its lines, from 0)."""
    said = (f"{label}: a Markdown table (cells apart by '|'): read as a table; line "
            f"{header + 1} names the columns, line {header + 2} (|---|) is no row, and each "
            f"line from {header + 3} on is a task row")
    if title is not None:
        shown = " ".join(lines[title].split())
        shown = shown if len(shown) <= 60 else shown[:59] + "…"
        said += f"; line {title + 1} ({shown!r}) above it is its title, not read"
    return said
