"""Rows named as the person with the file open finds them: a sheet's row (a title above the
header counts), a CSV's line (a cell's line breaks move every row below it down), a line of a
.txt or .jsonl. Counting tasks instead sent a manager to the wrong row."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def line_breaks(value: object) -> int:
    """How many line breaks a cell holds (\\r\\n, \\r or \\n, as csv and editors count them)."""
    if not isinstance(value, str):
        return 0
    return value.count("\n") + value.count("\r") - value.count("\r\n")


def _breaks(column: pd.Series) -> np.ndarray:
    """`line_breaks` of every cell, vectorised (a Python call per cell took a tenth of a second
    per 20,000 rows of ten columns, on every chunk of a big file); a cell that is no text has none."""
    try:
        counts = column.str.count(_BREAK)  # NaN where a cell is no text
    except AttributeError:  # no cell of the column is text (dates, numbers as objects)
        return np.zeros(len(column), dtype=np.int64)
    return counts.fillna(0).to_numpy(dtype=np.int64)


_BREAK = r"\r\n|\r|\n"


@dataclass
class RowNumbers:
    """Numbers the rows of a source's chunks, given in order; `unit` is what a number counts
    ("line" where a row may take several, else "row")."""

    unit: str
    next: int = 1  # the number of the next chunk's first row
    breaks: bool = False  # a row takes a line, and one more for each line break in its cells
    skip: str | None = None  # a column made here, not read from the file (a joined task text)

    def of(self, chunk: pd.DataFrame) -> list[int]:
        """Where each of the chunk's rows starts."""
        lines = np.ones(len(chunk), dtype=np.int64)
        if self.breaks:
            for position, name in enumerate(chunk.columns):
                column = chunk.iloc[:, position]
                if name != self.skip and not pd.api.types.is_numeric_dtype(column):
                    lines += _breaks(column)
        starts = self.next + np.cumsum(lines) - lines
        self.next += int(lines.sum())
        return [int(start) for start in starts]
