"""Read task lists (paste, csv/tsv/xlsx/jsonl/txt, in chunks) and write results atomically."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import TasksError

SUPPORTED = (".csv", ".tsv", ".txt", ".jsonl", ".xlsx")
TEXT_COLUMN_NAMES = ("task", "tasks", "tactic", "tactics", "text", "title", "summary",
                     "description", "name", "subject", "item", "issue")
DEFAULT_TEXT_COLUMN = "task"
SNIFF_BYTES = 256 * 1024

Warn = Callable[[str], None]


def _ignore(_: str) -> None:
    return None


@dataclass
class TaskSource:
    """A task file opened for reading: where it is, how to decode it, and its text column."""

    path: Path | None  # None for pasted text or stdin
    label: str  # how errors name it
    kind: str  # csv, tsv, txt, jsonl, xlsx
    text_column: str
    columns: list[str]
    encoding: str = "utf-8"
    sheet: str | int = 0
    raw: str | None = None  # pasted text or stdin content
    warnings: list[str] = field(default_factory=list)


def _kind_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise TasksError(f"{path}: unsupported file type {suffix or '(none)'}; "
                         f"use one of {', '.join(SUPPORTED)}")
    return suffix[1:]


def detect_encoding(sample: bytes, label: str, warn: Warn = _ignore) -> str:
    """The encoding of a text sample: UTF-8 (BOM or not), cp1252 where it reads as such, else
    what charset_normalizer finds; refuses bytes that are no text at all."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        warn(f"{label}: read as UTF-16 (byte-order mark found)")
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        # A sample cut mid-character is still UTF-8.
        if error.start >= len(sample) - 3 and error.reason == "unexpected end of data":
            return "utf-8"
    if _looks_western(sample):
        # Charset detection misreads short Western files (café -> cp1250 or cp775).
        encoding = "cp1252"
    else:
        from charset_normalizer import from_bytes

        best = from_bytes(sample).best()
        if best is None:
            raise TasksError(f"{label}: not a text table (binary content); "
                             f"expected {', '.join(SUPPORTED)}")
        encoding = best.encoding
        if encoding in ("ascii", "utf_8"):
            encoding = "cp1252"
    warn(f"{label}: not UTF-8; read as {encoding}")
    return encoding


# Non-letters that cp1252 text has inside words; others there (Polish "³" for "ł") betray a
# different code page.
_WORD_PUNCTUATION = "\u2019\u2018\u00b7\u2026\u00ad"


def _looks_western(sample: bytes) -> bool:
    """True if the bytes read as plausible cp1252 text (accents inside mostly-ASCII words)."""
    try:
        text = sample.decode("cp1252")
    except UnicodeDecodeError as error:
        if error.start < len(sample) - 1:
            return False
        text = sample[:error.start].decode("cp1252")
    letters = [c for c in text if c.isalpha()]
    foreign = sum(1 for c in letters if not c.isascii())
    # Cyrillic or Greek read as cp1252 turn into words made only of accented letters.
    if not letters or foreign > 0.3 * len(letters):
        return False
    for before, char, after in zip(text, text[1:], text[2:], strict=False):
        if (not char.isascii() and not char.isalpha() and char not in _WORD_PUNCTUATION
                and before.isalpha() and after.isalpha()):
            return False
    return True


def _looks_binary(sample: bytes) -> bool:
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    head = sample[:8192]
    if b"\x00" in head:
        return True
    # Text files hold tabs and line breaks, almost never other control bytes.
    controls = sum(head.count(bytes([b]))
                   for b in (*range(1, 9), 11, *range(14, 27), *range(28, 32)))
    return controls > max(2, len(head) // 200)


def choose_text_column(columns: list[str], label: str, text_column: str | None,
                       frame: pd.DataFrame | None = None) -> str:
    """The column holding the task text: the one asked for, a known name, or the only text column."""
    if text_column is not None:
        if text_column in columns:
            return text_column
        raise TasksError(f"{label}: no column {text_column!r}; columns are: "
                         f"{', '.join(map(str, columns))}")
    if len(columns) == 1:
        return columns[0]
    by_name = {str(column).strip().lower(): column for column in columns}
    for name in TEXT_COLUMN_NAMES:
        if name in by_name:
            return by_name[name]
    candidates = list(columns)
    if frame is not None:
        candidates = [column for column in columns if _is_free_text(frame[column])]
    if len(candidates) == 1:
        return candidates[0]
    raise TasksError(f"{label}: cannot tell which column holds the task text; columns are: "
                     f"{', '.join(map(str, columns))}; pass --text-column NAME")


def _is_free_text(values: pd.Series) -> bool:
    values = values.astype(str).str.strip()
    values = values[values != ""]
    if values.empty:
        return False
    numeric = pd.to_numeric(values, errors="coerce").notna().mean()
    dates = pd.to_datetime(values, errors="coerce", format="mixed").notna().mean()
    has_words = values.str.contains(r"[^\W\d_]{2,}\s+\S", regex=True).mean()
    return numeric < 0.5 and dates < 0.5 and has_words >= 0.5


def open_tasks(path: str | os.PathLike[str], text_column: str | None = None,
               sheet: str | int | None = None, warn: Warn = _ignore) -> TaskSource:
    """Check a tasks file (or `-` for stdin) and find its encoding and text column."""
    if str(path) == "-":
        return paste_source(sys.stdin.read(), label="stdin", text_column=text_column)
    path = Path(path)
    label = str(path)
    if not path.exists():
        raise TasksError(f"{label}: tasks file not found")
    if path.is_dir():
        raise TasksError(f"{label}: is a folder, not a tasks file")
    kind = _kind_of(path)
    if path.stat().st_size == 0:
        raise TasksError(f"{label}: the file is empty")
    if kind == "xlsx":
        return _open_xlsx(path, text_column, sheet, warn)
    with path.open("rb") as handle:
        sample = handle.read(SNIFF_BYTES)
    if _looks_binary(sample):
        raise TasksError(f"{label}: not a text table (binary content); "
                         f"expected {', '.join(SUPPORTED)}")
    if not sample.strip() and len(sample) < SNIFF_BYTES:
        raise TasksError(f"{label}: the file is empty (only blank lines)")
    encoding = detect_encoding(sample, label, warn)
    if encoding == "utf-8-sig":
        warn(f"{label}: byte-order mark found and skipped")
    source = TaskSource(path=path, label=label, kind=kind, text_column=DEFAULT_TEXT_COLUMN,
                        columns=[DEFAULT_TEXT_COLUMN], encoding=encoding)
    if kind == "txt":
        if text_column not in (None, DEFAULT_TEXT_COLUMN):
            raise TasksError(f"{label}: a .txt file has one column, {DEFAULT_TEXT_COLUMN!r}; "
                             f"drop --text-column")
        return source
    head = next(_read_chunks(source, 200), None)
    if head is None or (len(head.columns) == 0):
        raise TasksError(f"{label}: the file is empty")
    if len(head) == 0:
        raise TasksError(f"{label}: no task rows, only a header")
    source.columns = [str(column) for column in head.columns]
    if kind == "jsonl":
        # Any row may bring a new key; the output needs them all from the first row on.
        source.columns = _jsonl_columns(source)
        head = head.reindex(columns=source.columns)
    source.text_column = choose_text_column(source.columns, label, text_column, head)
    return source


def paste_source(text: str, label: str = "pasted text", text_column: str | None = None
                 ) -> TaskSource:
    """A source over pasted lines, one task a line."""
    if not text.strip():
        raise TasksError(f"{label}: no tasks (the text is empty)")
    return TaskSource(path=None, label=label, kind="txt", text_column=DEFAULT_TEXT_COLUMN,
                      columns=[DEFAULT_TEXT_COLUMN], raw=text)


def _open_xlsx(path: Path, text_column: str | None, sheet: str | int | None,
               warn: Warn) -> TaskSource:
    label = str(path)
    try:
        from openpyxl import load_workbook

        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception:
        raise TasksError(f"{label}: not a readable Excel workbook (.xlsx)") from None
    names = workbook.sheetnames
    workbook.close()
    if sheet is None:
        sheet = 0
        if len(names) > 1:
            warn(f"{label}: {len(names)} sheets; reading the first, {names[0]!r} "
                 f"(choose another with --sheet)")
    elif isinstance(sheet, str) and sheet not in names:
        if sheet.isdigit() and int(sheet) < len(names):
            sheet = int(sheet)
        else:
            raise TasksError(f"{label}: no sheet {sheet!r}; sheets are: {', '.join(names)}")
    source = TaskSource(path=path, label=label, kind="xlsx", text_column=DEFAULT_TEXT_COLUMN,
                        columns=[], sheet=sheet)
    head = next(_read_chunks(source, 200), None)
    if head is None or len(head.columns) == 0:
        raise TasksError(f"{label}: sheet {sheet!r} is empty")
    if len(head) == 0:
        raise TasksError(f"{label}: sheet {sheet!r} has no task rows, only a header")
    source.columns = [str(column) for column in head.columns]
    source.text_column = choose_text_column(source.columns, label, text_column, head)
    return source


def _read_chunks(source: TaskSource, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The source's rows as string DataFrames of at most `chunk_rows` rows, in order."""
    label = source.label
    try:
        if source.kind == "txt":
            yield from _txt_chunks(source, chunk_rows)
        elif source.kind in ("csv", "tsv"):
            reader = pd.read_csv(
                source.path, sep="\t" if source.kind == "tsv" else ",", dtype=str,
                keep_default_na=False, na_filter=False, encoding=source.encoding,
                chunksize=chunk_rows, skip_blank_lines=False, encoding_errors="replace",
            )
            with reader:
                yield from reader
        elif source.kind == "jsonl":
            yield from _jsonl_chunks(source, chunk_rows)
        elif source.kind == "xlsx":
            # dtype=object keeps numbers, dates and booleans as the workbook has them.
            frame = pd.read_excel(source.path, sheet_name=source.sheet, dtype=object,
                                  keep_default_na=False, engine="openpyxl")
            frame.columns = [str(column) for column in frame.columns]
            for start in range(0, len(frame), chunk_rows):
                yield frame.iloc[start:start + chunk_rows]
    except TasksError:
        raise
    except pd.errors.EmptyDataError:
        raise TasksError(f"{label}: the file is empty") from None
    except pd.errors.ParserError as error:
        raise TasksError(f"{label}: not a well-formed {source.kind.upper()} table: "
                         f"{str(error).strip()}") from None
    except (UnicodeError, ValueError, OSError) as error:
        raise TasksError(f"{label}: cannot read: {error}") from None


def _txt_lines(source: TaskSource) -> Iterator[str]:
    if source.raw is not None:
        yield from source.raw.splitlines()
        return
    with open(source.path, encoding=source.encoding, errors="replace", newline=None) as handle:
        for line in handle:
            yield line.rstrip("\r\n")


def _txt_chunks(source: TaskSource, chunk_rows: int) -> Iterator[pd.DataFrame]:
    batch: list[str] = []
    for line in _txt_lines(source):
        batch.append(line)
        if len(batch) >= chunk_rows:
            yield pd.DataFrame({DEFAULT_TEXT_COLUMN: batch}, dtype=object)
            batch = []
    if batch:
        yield pd.DataFrame({DEFAULT_TEXT_COLUMN: batch}, dtype=object)


def _jsonl_records(source: TaskSource) -> Iterator[dict]:
    with open(source.path, encoding=source.encoding, errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                yield {}
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                raise TasksError(f"{source.label}: row {number}: not valid JSON "
                                 f"({error.msg})") from None
            if isinstance(value, str):
                value = {DEFAULT_TEXT_COLUMN: value}
            if not isinstance(value, dict):
                raise TasksError(f"{source.label}: row {number}: expected an object "
                                 f"or a string, found {type(value).__name__}")
            yield value


def _jsonl_columns(source: TaskSource) -> list[str]:
    return list(dict.fromkeys(key for record in _jsonl_records(source) for key in record))


def _records_frame(records: list[dict]) -> pd.DataFrame:
    # Built column by column as objects: pandas would turn [1, None] into [1.0, NaN].
    keys = dict.fromkeys(key for record in records for key in record)
    return pd.DataFrame({key: [record.get(key) for record in records] for key in keys},
                        index=range(len(records)), dtype=object)


def _jsonl_chunks(source: TaskSource, chunk_rows: int) -> Iterator[pd.DataFrame]:
    records: list[dict] = []
    for record in _jsonl_records(source):
        records.append(record)
        if len(records) >= chunk_rows:
            yield _records_frame(records)
            records = []
    if records:
        yield _records_frame(records)


def iter_chunks(source: TaskSource, chunk_rows: int = 20_000) -> Iterator[pd.DataFrame]:
    """The rows of a source in chunks, cells as read (JSON or Excel values for .jsonl and .xlsx,
    text otherwise), the source's columns in order; the text column is always text."""
    column = source.text_column
    for chunk in _read_chunks(source, chunk_rows):
        chunk = chunk.astype(object)
        if source.kind == "jsonl":
            # A null stays null in the output; a key a row lacks reads as null.
            chunk = chunk.reindex(columns=source.columns)
        else:
            if column not in chunk.columns:
                chunk[column] = ""
            chunk = chunk.fillna("")
        if source.kind in ("jsonl", "xlsx"):
            chunk[column] = chunk[column].map(_as_text)
        yield chunk


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if _missing(value):
        return ""
    if isinstance(value, bool | dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def read_tasks(path: str | os.PathLike[str], text_column: str | None = None,
               sheet: str | int | None = None, warn: Warn = _ignore) -> tuple[pd.DataFrame, str]:
    """A whole tasks file as one DataFrame of text cells, and the name of its text column."""
    source = open_tasks(path, text_column=text_column, sheet=sheet, warn=warn)
    frames = list(iter_chunks(source))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=source.columns)
    return frame, source.text_column


def count_rows_estimate(source: TaskSource) -> int | None:
    """A fast estimate of the number of rows (line count) for progress bars; None if unknown."""
    if source.raw is not None:
        return source.raw.count("\n") + 1
    if source.path is None or source.kind == "xlsx":
        return None
    lines = 0
    last = b"\n"
    with source.path.open("rb") as handle:
        while block := handle.read(1 << 22):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - (0 if source.kind in ("txt", "jsonl") else 1), 0)


# ---------------------------------------------------------------- writing


def _temporary_beside(path: Path) -> tuple[int, Path]:
    descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    return descriptor, Path(name)


def prepare_output(path: str | os.PathLike[str]) -> Path:
    """Check an output path before any work: a known type; its folder is created if missing."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".tsv", ".jsonl", ".xlsx"):
        raise TasksError(f"{path}: unsupported output type {suffix or '(none)'}; "
                         f"use .csv, .tsv, .jsonl or .xlsx")
    if path.is_dir():
        raise TasksError(f"{path}: is a folder; give a file name such as {path / 'results.csv'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TasksError(f"{path}: cannot create the output folder: {error.strerror}") from None
    if not os.access(path.parent, os.W_OK):
        raise TasksError(f"{path}: the output folder is not writable")
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write text to a file so that readers see the old or the new content, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = _temporary_beside(path)
    try:
        with os.fdopen(descriptor, "w", encoding=encoding, newline="") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class ResultWriter:
    """Writes result chunks to a temporary file beside OUT, moved into place only on success."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = prepare_output(path)
        self.kind = self.path.suffix.lower()[1:]
        self.rows = 0
        self._temporary: Path | None = None
        self._handle: io.TextIOBase | None = None
        self._csv = None
        self._columns: list[str] | None = None
        self._workbook = None
        self._sheet = None

    def __enter__(self) -> ResultWriter:
        descriptor, self._temporary = _temporary_beside(self.path)
        if self.kind == "xlsx":
            os.close(descriptor)
            from openpyxl import Workbook

            self._workbook = Workbook(write_only=True)
            self._sheet = self._workbook.create_sheet("results")
        else:
            self._handle = os.fdopen(descriptor, "w", encoding="utf-8", newline="")
            if self.kind in ("csv", "tsv"):
                self._csv = csv.writer(self._handle, delimiter="\t" if self.kind == "tsv" else ",")
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append a chunk of result rows."""
        if self._columns is None:
            self._columns = [str(column) for column in frame.columns]
            if self._csv is not None:
                self._csv.writerow(self._columns)
            elif self._sheet is not None:
                self._sheet.append(self._columns)
        rows = frame.itertuples(index=False, name=None)
        if self._csv is not None:
            self._csv.writerows(("" if _missing(v) else _flat(v) for v in row) for row in rows)
        elif self._sheet is not None:
            for row in rows:
                self._sheet.append([None if _missing(v) else _flat(v) for v in row])
        else:
            for row in rows:
                record = {c: (None if _missing(v) else _plain(v))
                          for c, v in zip(self._columns, row, strict=True)}
                self._handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self.rows += len(frame)

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if self._handle is not None:
                self._handle.close()
            if kind is None:
                if self._workbook is not None:
                    if self._columns is None:
                        self._sheet.append([])
                    self._workbook.save(self._temporary)
                os.replace(self._temporary, self.path)
        finally:
            if self._temporary is not None:
                with contextlib.suppress(FileNotFoundError):
                    self._temporary.unlink()


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _flat(value: object) -> object:
    # A JSON list or object from a .jsonl row goes into a cell as JSON text.
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def _plain(value: object) -> object:
    if hasattr(value, "item"):
        return value.item()
    return value
