"""What a table cell holds, read the same way everywhere: blank or not, its text, a plain value."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, is_dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd


def is_blank(value: object) -> bool:
    """True for None, NaN/NA/NaT, and text that is empty or only whitespace."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float | np.floating):
        return math.isnan(float(value))
    return False


# A letter or a digit, in any script: what a task has and a placeholder ("-", "...") has not.
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")


def is_blank_task(value: object) -> bool:
    """True for a blank cell and for one of only punctuation or symbols ("-", "—", "...", "?"):
    a tracker's placeholder, not a task ("5 * 3", "C#" and "n/a" are tasks)."""
    return is_blank(value) or _LETTER_OR_DIGIT.search(str(value)) is None


def cell_text(value: object) -> str:
    """The cell as stripped text; "" for a blank one."""
    return "" if is_blank(value) else str(value).strip()


def column_words(name: object) -> str:
    """A column name as words for a label: `effort_hours` -> "effort hours"."""
    return " ".join(str(name).replace("_", " ").split())


def task_key(text: object) -> str:
    """What makes two task texts the same task, for a person's decision and for "new" orphan
    work: spacing, letter case and a closing full stop aside ("Tidy up the shared drive." is
    "tidy up the shared drive"); "" for a blank one."""
    return " ".join(cell_text(text).split()).rstrip(".").rstrip().casefold()


def plain(value: object) -> object:
    """A JSON-safe copy of a cell: missing values become None, numpy scalars Python ones,
    dates ISO text, containers plain lists and dicts."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    return str(value)
