"""Rows a workbook hides (an Excel filter, rows hidden by hand), and cells merged over several
rows: read as the cells hold them, and said so. openpyxl's read-only sheets expose neither
row_dimensions nor merged cells, so the sheet's XML is scanned once, as a stream, for both, and
parsed only where it mentions hidden rows at all."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import IO, Any

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_ROW, _CELL = f"{_MAIN} row", f"{_MAIN} c"
_HIDDEN = (b'hidden="1"', b'hidden="true"', b"hidden='1'", b"hidden='true'")
_BLOCK = 1 << 20
# <mergeCell ref="A6:A7"/>: the first and last row of a merged range
_MERGED = re.compile(rb'<(?:\w+:)?mergeCell\s[^>]*ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')


@dataclass(frozen=True)
class RowMarks:
    """What a sheet's XML says of its rows beyond their cells: the numbers (1 = the sheet's
    first row) of its hidden rows that hold cells, and its ranges merged over several rows with
    their top row ((6, "A6:A7"): only the top row holds the value)."""

    hidden: list[int] = field(default_factory=list)
    merged: list[tuple[int, str]] = field(default_factory=list)


def row_marks(sheet: Any) -> RowMarks:
    """A read-only openpyxl sheet's RowMarks, read in one pass over its XML (and a second,
    parsing it, only where it mentions hidden rows); none where that cannot be told."""
    from xml.parsers.expat import ExpatError

    # Each a warning's worth where it cannot be told: the rows are read all the same.
    try:
        with sheet._get_source() as source:  # the sheet's XML in the workbook, streamed
            mentions_hidden, merged = _scan(source)
    except (AttributeError, OSError, ValueError):
        return RowMarks()
    if not mentions_hidden:
        return RowMarks(merged=merged)
    try:
        with sheet._get_source() as source:
            return RowMarks(_hidden(source), merged)
    except (OSError, ExpatError, ValueError):
        return RowMarks(merged=merged)


def _scan(source: IO[bytes]) -> tuple[bool, list[tuple[int, str]]]:
    """Whether the XML mentions a hidden row, and its ranges merged over several rows."""
    hidden = False
    merged: list[tuple[int, str]] = []
    tail = b""
    while block := source.read(_BLOCK):
        text = tail + block
        hidden = hidden or any(mark in text for mark in _HIDDEN)
        for first, top, last, bottom in _MERGED.findall(text):
            if int(bottom) > int(top):
                merged.append((int(top), f"{first.decode()}{int(top)}:{last.decode()}"
                                         f"{int(bottom)}"))
        # A tag cut at the block's end (a mark or a range in it) is read whole with the next.
        cut = text.rfind(b"<")
        tail = text[cut:] if cut >= 0 and b">" not in text[cut:] else b""
    return hidden, list(dict.fromkeys(merged))


def _hidden(source: IO[bytes]) -> list[int]:
    # expat with a start handler alone: no tree is built, twice as fast as iterparse.
    from xml.parsers import expat

    rows: list[int] = []
    number = 0
    pending: int | None = None  # a hidden row, counted once a cell of it is seen

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal number, pending
        if name == _ROW:
            number = int(attributes.get("r", number + 1))
            pending = number if attributes.get("hidden") in ("1", "true") else None
        elif name == _CELL and pending is not None:
            rows.append(pending)
            pending = None

    def refuse_entities(*_: object) -> None:
        raise ValueError("entity declarations in a sheet")  # no sheet has one; a bomb might

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = start
    parser.EntityDeclHandler = refuse_entities
    parser.ParseFile(source)
    return rows
