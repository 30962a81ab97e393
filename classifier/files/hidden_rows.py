"""Rows a workbook hides (an Excel filter, rows hidden by hand), and cells merged over several
rows: read as the cells hold them, and said so. openpyxl's read-only sheets expose neither
row_dimensions nor merged cells, so the sheet's XML is scanned once, as a stream, and parsed
only where it mentions hidden rows at all."""

from __future__ import annotations

import re
from typing import IO, Any

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_ROW, _CELL = f"{_MAIN} row", f"{_MAIN} c"
_HIDDEN = (b'hidden="1"', b'hidden="true"', b"hidden='1'", b"hidden='true'")
_BLOCK = 1 << 20
# <mergeCell ref="A6:A7"/>: the first and last row of a merged range
_MERGED = re.compile(rb'<(?:\w+:)?mergeCell\s[^>]*ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')


def hidden_rows(sheet: Any) -> list[int]:
    """The numbers (1 = the sheet's first row) of a read-only openpyxl sheet's hidden rows that
    hold cells; [] where that cannot be told."""
    from xml.parsers.expat import ExpatError

    try:
        with sheet._get_source() as source:  # the sheet's XML in the workbook, streamed
            if not _mentions_hidden(source):
                return []
        with sheet._get_source() as source:
            return _hidden(source)
    except (AttributeError, OSError, ExpatError, ValueError):
        return []  # a warning's worth: the rows are read all the same


def _mentions_hidden(source: IO[bytes]) -> bool:
    tail = b""
    while block := source.read(_BLOCK):
        text = tail + block
        if any(mark in text for mark in _HIDDEN):
            return True
        tail = text[-16:]
    return False


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


def merged_over_rows(sheet: Any) -> list[tuple[int, str]]:
    """The ranges of a read-only openpyxl sheet whose cells are merged over several rows, with
    their top row ((6, "A6:A7")): only the top row holds the value, the rows below read blank;
    [] where that cannot be told."""
    found: list[tuple[int, str]] = []
    try:
        with sheet._get_source() as source:
            tail = b""
            while block := source.read(_BLOCK):
                text = tail + block
                for first, top, last, bottom in _MERGED.findall(text):
                    if int(bottom) > int(top):
                        found.append((int(top), f"{first.decode()}{int(top)}:"
                                                f"{last.decode()}{int(bottom)}"))
                # A tag cut at the block's end is read whole with the next block.
                cut = text.rfind(b"<")
                tail = text[cut:] if cut >= 0 and b">" not in text[cut:] else b""
    except (AttributeError, OSError, ValueError):
        return []
    return list(dict.fromkeys(found))
