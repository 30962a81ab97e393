"""Rows a workbook hides (an Excel filter, rows hidden by hand), and cells merged over several
rows: read as the cells hold them, and said so. openpyxl's read-only sheets expose neither
row_dimensions nor merged cells, so the sheet's XML is scanned once, as a stream, for both, and
parsed only where it mentions hidden rows at all. The same pass tells whether a cell lies right
of the columns the sheet's first rows fill, so that opening a workbook need not read every row."""

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
# A cell whose column cannot be told by _beyond (no reference, or not first, or an odd one):
# openpyxl then counts its column from the cell before it.
_CELL_START = rb"<(?:[\w.-]+:)?c"
_UNREFERENCED = re.compile(_CELL_START + rb'(?=[\s/>])(?!\s+r="[A-Za-z]{1,3}\d)')


@dataclass(frozen=True)
class RowMarks:
    """What a sheet's XML says of its rows beyond their cells: the numbers (1 = the sheet's
    first row) of its hidden rows that hold cells, and its ranges merged over several rows with
    their top row ((6, "A6:A7"): only the top row holds the value)."""

    hidden: list[int] = field(default_factory=list)
    merged: list[tuple[int, str]] = field(default_factory=list)
    # Whether a cell with content may lie right of the columns `row_marks` was given (a note
    # far down the sheet): pandas then gives the table more columns than its first rows show.
    wider: bool = False


def row_marks(sheet: Any, width: int | None = None) -> RowMarks:
    """A read-only openpyxl sheet's RowMarks, read in one pass over its XML (and a second,
    parsing it, only where it mentions hidden rows); none where that cannot be told."""
    from xml.parsers.expat import ExpatError

    beyond = None if width is None else _beyond(width)
    # Each a warning's worth where it cannot be told: the rows are read all the same.
    try:
        with sheet._get_source() as source:  # the sheet's XML in the workbook, streamed
            mentions_hidden, merged, wider = _scan(source, beyond)
    except (AttributeError, OSError, ValueError):
        return RowMarks(wider=True)
    if not mentions_hidden:
        return RowMarks(merged=merged, wider=wider)
    try:
        with sheet._get_source() as source:
            return RowMarks(_hidden(source), merged, wider)
    except (OSError, ExpatError, ValueError):
        return RowMarks(merged=merged, wider=wider)


def _beyond(width: int) -> re.Pattern[bytes]:
    """A cell with content right of the first `width` columns, by its reference: for 30 (AD),
    columns A[E-Z], [B-Z][A-Z] and any of three letters. A self-closed cell holds nothing."""
    letters = ""
    while width > 0:  # the column's letters, as Excel names it (1 A, 26 Z, 27 AA)
        width, last = divmod(width - 1, 26)
        letters = chr(ord("A") + last) + letters
    options = [f"[A-Z]{{{len(letters) + 1},}}"]
    for at, letter in enumerate(letters):
        if letter < "Z":
            options.append(f"{letters[:at]}[{chr(ord(letter) + 1)}-Z]"
                           + "[A-Z]" * (len(letters) - at - 1))
    return re.compile(_CELL_START + rb'\s+r="(?:' + "|".join(options).encode()
                      + rb')\d+"[^>]*(?<!/)>', re.IGNORECASE)


def _scan(source: IO[bytes], beyond: re.Pattern[bytes] | None = None
          ) -> tuple[bool, list[tuple[int, str]], bool]:
    """Whether the XML mentions a hidden row, its ranges merged over several rows, and whether
    a cell may be `beyond` (one whose column is not told by its reference may be)."""
    hidden = wider = False
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
        if beyond is not None and not wider:
            whole = text[:len(text) - len(tail)]  # a cut cell is told with the next block
            wider = bool(beyond.search(whole) or _UNREFERENCED.search(whole))
    return hidden, list(dict.fromkeys(merged)), wider


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
