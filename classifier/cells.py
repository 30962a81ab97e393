"""What a table cell holds, read the same way everywhere: blank or not, its text, a plain value."""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
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


# A time of day's offset from UTC ("+02:00", "Z"): a tracker's timestamps change it with summer
# time, and pandas refuses a column of mixed offsets.
_OFFSET = re.compile(r"(\d:\d\d(?::\d\d(?:[.,]\d+)?)?)\s*(?:Z|UTC|GMT|[+-]\d\d(?::?\d\d)?)$",
                     re.IGNORECASE)
# A date written day or month first: 02/03/2026, 2.3.26, 02-03-2026 (not 2026-03-02).
_DAY_OR_MONTH_FIRST = re.compile(r"^(\d{1,2})([./-])(\d{1,2})\2\d{2,4}(?!\d)")


def read_dates(values: pd.Series) -> pd.Series:
    """A column's cells as dates, NaT where a cell is none, read one way for the whole column:
    dates written day first (a 13/03/2026 among them, or dots: 02.03.2026) are all day first,
    where pandas read 02/03/2026 as 3 February beside 13/03/2026 as 13 March; a timestamp is its
    date and time as written, its offset dropped (Monday 00:30 at +02:00 is Monday, not
    Sunday in UTC); a time of day alone ("09:00") is no date (`times_of_day`), nor a day
    with no year ("1 Dec": `no_year`)."""
    dates, times = _dates_and_times(values)
    return dates.mask(times | _no_year(dates, times))


def times_of_day(values: pd.Series) -> pd.Series:
    """Which cells are a time of day with no date ("09:00", "2:30 PM"): a value, not words."""
    return _dates_and_times(values)[1]


def no_year(values: pd.Series) -> pd.Series:
    """Which cells are a day with no year ("1 Dec", "Dec 3"): pandas dates them in year 1, and
    the year they mean is not known (today's would make a file's weeks change with the day)."""
    return _no_year(*_dates_and_times(values))


def _no_year(dates: pd.Series, times: pd.Series) -> pd.Series:
    # A year-1 date is none a tracker keeps: no year written (or .NET's empty 0001-01-01).
    return (dates.dt.year == 1).fillna(False).astype(bool) & ~times


def _dates_and_times(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = values.astype(str).str.strip().str.replace(_OFFSET, r"\1", regex=True)
    parts = text.str.extract(_DAY_OR_MONTH_FIRST)
    written = parts[0].notna()
    first, second = (pd.to_numeric(parts[i][written]) for i in (0, 2))
    day_first = (bool((first > 12).any()) or bool((parts[1][written] == ".").any())
                 ) and not bool((second > 12).any())
    try:
        dates = pd.to_datetime(text, errors="coerce", format="mixed")
        if day_first:
            dates[written] = pd.to_datetime(text[written], errors="coerce", format="mixed",
                                            dayfirst=True)
    except ValueError:  # zones by name ("CET", "CEST"): the same moments, in UTC
        dates = pd.to_datetime(text, errors="coerce", format="mixed", utc=True)
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_localize(None)
    # pandas dates a time alone today ("09:00"), or in year 1 ("9am"): a column of meeting
    # times put all the work in this week on the Trends page. Only such dates are read again.
    today = pd.Timestamp.now().normalize()
    doubtful = dates.notna() & ((dates.dt.normalize() == today) | (dates.dt.year == 1))
    times = pd.Series(False, index=values.index)
    if doubtful.any():
        times[doubtful] = [_no_date_written(cell) for cell in text[doubtful]]
    return dates, times


def _no_date_written(text: str) -> bool:
    """Whether a text that reads as a moment names no day of the year: read against two
    defaults, its month and day are both theirs."""
    from dateutil.parser import ParserError, parse

    with warnings.catch_warnings():  # a zone's name it does not know ("CET") changes no date
        warnings.simplefilter("ignore")
        try:
            one = parse(text, default=datetime(2000, 1, 1))
            two = parse(text, default=datetime(2001, 2, 2))
        except (ParserError, ValueError, OverflowError):
            return False
    return one.month != two.month and one.day != two.day


def holds_dates(values: pd.Series) -> bool:
    """Whether a column holds a date or a timestamp cell (as a workbook's date cells are read),
    not text that looks like one."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return bool(values.notna().any())
    if values.dtype != object:
        return False
    return bool(values.map(lambda v: isinstance(v, date) and v is not pd.NaT).any())


# A date or a timestamp as `plain` writes one (date.isoformat, datetime.isoformat).
_ISO_DATE = re.compile(r"^\d{4}-\d\d-\d\d(T\d\d:\d\d:\d\d(\.\d{1,6})?([+-]\d\d:\d\d)?)?$")


def dates_again(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """A copy of `frame` whose `columns` (that held dates, stored as ISO text: see `plain`) hold
    those cells as dates and timestamps again; every other cell as it is."""
    def again(value: object) -> object:
        if not isinstance(value, str) or not _ISO_DATE.match(value):
            return value
        return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    out = frame.copy()
    for column in columns:
        if column in out.columns:
            out[column] = out[column].map(again).astype(object)
    return out
