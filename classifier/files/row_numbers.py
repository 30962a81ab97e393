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
                if name != self.skip:
                    lines += chunk.iloc[:, position].map(line_breaks).to_numpy(dtype=np.int64)
        starts = self.next + np.cumsum(lines) - lines
        self.next += int(lines.sum())
        return [int(start) for start in starts]
