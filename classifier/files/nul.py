"""NUL bytes in a text file: dropped, but while parsing they stand in as a private-use
character, so the first row that held one can be named in a warning."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import TextIO

import pandas as pd

from .late_bytes import Utf8Bytes

NUL_MARK = "\ue000"


class NulFilter(io.TextIOBase):
    """A text stream with NUL characters replaced (by `mark`), remembering the line of the first."""

    def __init__(self, inner: TextIO, mark: str, late: Utf8Bytes | None = None):
        self._inner = inner
        self._mark = mark
        self._lines = 0  # line breaks passed before the first NUL
        self.first_line: int | None = None
        self._late = late

    @property
    def not_utf8_line(self) -> int | None:
        """The line of the first byte that was not UTF-8 in a UTF-8 file (read as cp1252)."""
        return self._late.first_line if self._late is not None else None

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._inner.close()
        super().close()

    def _clean(self, text: str) -> str:
        if self.first_line is None:
            position = text.find("\x00")
            if position < 0:
                self._lines += text.count("\n")
                return text
            self.first_line = self._lines + text.count("\n", 0, position) + 1
        return text.replace("\x00", self._mark)

    def read(self, size: int | None = -1) -> str:
        return self._clean(self._inner.read(-1 if size is None else size))

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        return self._clean(self._inner.readline(-1 if size is None else size))

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        for line in self._inner:
            yield self._clean(line)


def _text_columns(chunk: pd.DataFrame) -> list[int]:
    """Positions of the columns that can hold text."""
    return [position for position in range(chunk.shape[1])
            if pd.api.types.is_object_dtype(chunk.dtypes.iloc[position])
            or pd.api.types.is_string_dtype(chunk.dtypes.iloc[position])]


def has_mark(chunk: pd.DataFrame) -> bool:
    """Whether a NUL stood anywhere in the chunk (its header or a text cell)."""
    if any(NUL_MARK in str(column) for column in chunk.columns):
        return True
    return any(chunk.iloc[:, p].astype(str).str.contains(NUL_MARK, regex=False).any()
               for p in _text_columns(chunk))


def first_marked(chunk: pd.DataFrame) -> int:
    """The position (from 0) of the chunk's first row that held a NUL."""
    hits = pd.Series(False, index=chunk.index)
    for position in _text_columns(chunk):
        hits |= chunk.iloc[:, position].astype(str).str.contains(NUL_MARK, regex=False)
    positions = [i for i, hit in enumerate(hits.tolist()) if hit]
    return positions[0] if positions else 0


def unmarked(chunk: pd.DataFrame) -> pd.DataFrame:
    """The chunk with the NULs dropped from its header and text cells."""
    chunk = chunk.copy()
    chunk.columns = [str(c).replace(NUL_MARK, "") for c in chunk.columns]
    for position in _text_columns(chunk):
        column = chunk.iloc[:, position]
        chunk.isetitem(position, column.map(
            lambda v: v.replace(NUL_MARK, "") if isinstance(v, str) else v))
    return chunk
