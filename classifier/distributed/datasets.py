"""Many files on Ray: a folder, a glob or Parquet read by Ray Data's own readers (cells kept as
the project's reader keeps them), classified by workers that keep every input column."""

from __future__ import annotations

import codecs
import csv
import glob
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from ..cells import is_blank, plain
from ..errors import ClassifierError, TasksError
from ..files.readers import TaskSource, TextColumns, one_or_many, row_numbers
from ..files.sniffing import excel_separator, sniff_separator
from ..files.writer import unneutralised
from ..model.engine import Batch, Classifier
from ..pipeline import Count, Warn
from .runtime import first_line, import_ray, innermost, ray_failure
from .workers import ROW, ClassifierSpec, ClassifyBlock, batch_frame, frame_batch, keep_vectors

DATASET_KINDS = ("parquet", "csv", "tsv", "jsonl", "txt")
PART_KINDS = ("parquet", "csv", "tsv", "jsonl")
DATASET_BATCH_ROWS = 10_000


def is_dataset(tasks: str | os.PathLike[str]) -> bool:
    """Whether TASKS names files for Ray Data to read: a folder, a glob, or Parquet."""
    text = str(tasks)
    return (Path(text).is_dir() or _is_glob(text)
            or Path(text).suffix.lower() == ".parquet")


def _is_glob(tasks: str) -> bool:
    """Whether TASKS is a pattern: a file that is there is itself, whatever its name holds
    ("Export [2026-11-30].csv" was read as a pattern that matched no file: "no files")."""
    return any(c in tasks for c in "*?[") and not Path(tasks).is_file()


def _in_named_folder(pattern: Path) -> Path:
    """PATTERN with its longest leading folder that is there taken as named, as a file that is
    there is ("Export [Nov]/*.csv" read its folder's name as a pattern too, and matched none)."""
    parts = pattern.parts
    for at in range(len(parts) - 1, 0, -1):
        folder = Path(*parts[:at])
        if folder.is_dir():
            return Path(glob.escape(str(folder)), *parts[at:])
    return pattern


def folder_output(out: str | os.PathLike[str]) -> tuple[Path, str] | None:
    """Where a folder of parts goes, and their kind: `results/*.csv` (parts named like that),
    `results.parquet`, a name without a suffix, or an existing folder; None for one file."""
    if str(out) == "-":  # stdout, refused as one file is (not a folder named "-")
        return None
    path = Path(out)
    if "*" in path.name:
        kind = path.suffix.lower().lstrip(".")
        if kind not in PART_KINDS:
            raise ClassifierError(f"{out}: parts can be "
                                  f"{', '.join('*.' + k for k in PART_KINDS)}")
        return path.parent, kind
    if path.is_dir() or not path.suffix or path.suffix.lower() == ".parquet":
        return path, "parquet"
    return None


def is_dataset_run(tasks: str, out: str | os.PathLike[str]) -> bool:
    """Whether a --ray run reads with Ray Data's readers: many files in, or parts out."""
    return tasks != "-" and (is_dataset(tasks) or folder_output(out) is not None)


def dataset_files(tasks: str) -> tuple[list[str], str]:
    """The files TASKS names, sorted, and their one kind; TasksError when none or mixed."""
    path = Path(tasks)
    if path.is_dir():
        found = [p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))]
    elif _is_glob(tasks):
        pattern = _in_named_folder(path)
        anchor = Path(pattern.anchor) if pattern.is_absolute() else Path()
        found = [p for p in anchor.glob(str(pattern.relative_to(anchor))) if p.is_file()]
    elif path.exists():
        found = [path]
    else:
        raise TasksError(f"{tasks}: no such file or folder")
    files = sorted(str(p) for p in found)
    if not files:
        raise TasksError(f"{tasks}: no files")
    kinds = sorted({Path(f).suffix.lower().lstrip(".") for f in files})
    if len(kinds) > 1:
        raise TasksError(f"{tasks}: files of several kinds ({', '.join(kinds)}); give one kind")
    if kinds[0] not in DATASET_KINDS:
        raise TasksError(f"{tasks}: with --ray, many files can be "
                         f"{', '.join(DATASET_KINDS)}, not {kinds[0] or 'without a suffix'}")
    return files, kinds[0]


def read_dataset(ray: ModuleType, files: list[str], kind: str,
                 separator: str | None = None, names: list[str] | None = None) -> Any:
    """The files as a Ray Dataset, read by Ray's readers in parallel; CSV cells stay text and
    blank lines stay rows, as the project's reader keeps them (`separator`: the CSV files',
    found when not given; `names`: every column of their headers, else the first file's)."""
    # Read tasks take no CPU slot: the classifier workers may hold every one.
    if kind == "parquet":
        return ray.data.read_parquet(files, num_cpus=0)
    if kind == "jsonl":
        return ray.data.read_json(files, lines=True, num_cpus=0, file_extensions=None)
    if kind == "txt":
        return ray.data.read_text(files, drop_empty_lines=False, num_cpus=0).rename_columns(
            {"text": "task"})
    import pyarrow as pa
    import pyarrow.csv as pacsv

    delimiter = separator or files_separator(files, kind)
    if names is None:
        names = files_columns(files[:1], kind, delimiter)[files[0]]
    return ray.data.read_csv(
        files, num_cpus=0, file_extensions=None,
        read_options=pacsv.ReadOptions(use_threads=False, encoding="utf8"),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                         ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in names}, strings_can_be_null=False,
            quoted_strings_can_be_null=False, null_values=[]))


def files_encoding(files: list[str], kind: str) -> str:
    """"utf-8-sig" where a folder's first CSV file starts with a byte-order mark, as the files
    joined into one start (and the local run then writes a .csv output with one), else "utf-8"."""
    if kind not in ("csv", "tsv"):
        return "utf-8"
    with open(files[0], "rb") as handle:
        return "utf-8-sig" if handle.read(3) == codecs.BOM_UTF8 else "utf-8"


def files_separator(files: list[str], kind: str) -> str:
    """The field separator of a folder's CSV files, as the local reader finds a file's (sniffed
    in the first): Excel in most of Europe writes `;` into a .csv, which Ray's reader refused in
    its own words ("filter out non-CSV file with 'partition_filter'")."""
    if kind == "tsv":
        return "\t"
    with open(files[0], encoding="utf-8-sig", errors="replace", newline="") as handle:
        return sniff_separator(handle.read(65536), ",")


# Ray's CSV reader names the file it failed on, not what is wrong with it ("Please check the CSV
# file has correct format, or filter out non-CSV file with 'partition_filter' field").
_FAILED_FILE = re.compile(r"Failed to read CSV file: (.+?)\. Please check")


def read_failure(error: Exception, kind: str) -> ClassifierError:
    """What Ray raised reading the files, as one line: where its CSV reader failed on a file,
    what the project's own reader says of that file (an open quote, a row too long, an empty
    file), or that the file is not UTF-8, the one encoding Ray reads; else Ray's own line."""
    from ..files.readers import iter_chunks, open_tasks

    found = _FAILED_FILE.search(str(innermost(error)))
    if found is None or kind not in ("csv", "tsv"):
        return ray_failure(error)
    file = found.group(1)
    try:
        source = open_tasks(file)
        for _ in iter_chunks(source):
            pass
    except ClassifierError as own:
        return own
    except OSError:
        pass
    else:
        if source.encoding not in ("utf-8", "utf-8-sig"):
            return TasksError(f"{file}: not UTF-8 ({source.encoding}), the one encoding a folder "
                              f"read with --ray may have; convert it (iconv -f {source.encoding} "
                              f"-t utf-8), or classify it without --ray")
    return TasksError(f"{file}: Ray's CSV reader cannot read it (rows of fewer fields than the "
                      f"header, or bytes that are not UTF-8?); classify it without --ray to "
                      f"find the row")


def files_columns(files: list[str], kind: str, separator: str) -> dict[str, list[str]]:
    """Each file's column names, from its header row (CSV, TSV) or its schema (Parquet); none
    for the kinds whose columns are only known once read (JSONL, text). Only a header is read:
    a folder's files may each have columns of their own (a field added to the tracker since)."""
    columns: dict[str, list[str]] = {}
    for file in files:
        if kind == "parquet":
            import pyarrow.parquet as pq

            try:
                columns[file] = [str(name) for name in pq.read_schema(file).names]
            except Exception as error:  # not Parquet at all, a file cut short
                raise TasksError(f"{file}: cannot read as parquet: {first_line(error)}") from None
        elif kind in ("csv", "tsv"):
            with open(file, encoding="utf-8-sig", errors="replace", newline="") as handle:
                names = next(csv.reader(handle, delimiter=separator), None)
            if not names:
                raise TasksError(f"{file}: the file is empty")
            columns[file] = names
    return columns


def refuse_files_without(column: str, headers: dict[str, list[str]]) -> None:
    """TasksError naming the first file whose header lacks the text column: each of its rows
    read blank, `empty`, with no word said (or the run crashed in a worker on a KeyError)."""
    for file, names in headers.items():
        if column not in names:
            holder = next((f for f, n in headers.items() if column in n), None)
            where = f", which holds the task text in {holder}" if holder else ""
            raise TasksError(f"{file}: no column {column!r}{where}; its columns are: "
                             f"{', '.join(names)}; give the files one header, or classify "
                             f"them one by one")


def refuse_separator_lines(files: list[str]) -> None:
    """TasksError naming the first file that starts with Excel's "sep=;" line: Ray's reader
    would take it for the header, and every column name with it."""
    for file in files:
        with open(file, encoding="utf-8-sig", errors="replace", newline="") as handle:
            hinted = excel_separator(handle.read(8))
        if hinted is not None:
            raise TasksError(f"{file}: starts with Excel's line 'sep={hinted}', which a folder "
                             f"read with --ray cannot skip; delete that line from its files, or "
                             f"classify the files one by one")


# Kinds whose cells are read as the local reader reads a CSV: the `'` this tool puts before a
# formula start is not the task's (a run on Ray scored "'-Call the customers" apart from the
# same task read locally, and a decision on it did not stand).
READ_BACK_KINDS = ("csv", "tsv", "txt")


def texts_of(values: pd.Series, read_back: bool = False) -> list[str]:
    """A text column's cells as the project reads them: blank for missing, JSON for lists;
    with `read_back` (a CSV-like kind), without the `'` this tool wrote against formulas."""
    texts = []
    for value in values.tolist():
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if isinstance(value, str):
            texts.append(str(unneutralised(value)) if read_back else value)
        elif isinstance(value, dict | list | bool):
            texts.append(json.dumps(plain(value), ensure_ascii=False))
        else:
            texts.append("" if is_blank(value) else str(value))
    return texts


def with_columns(block: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The block's `columns`, in order: those its file lacks (another file's) empty, as a key a
    JSONL row lacks reads locally."""
    missing = {name: pd.Series([None] * len(block), index=block.index, dtype=object)
               for name in columns if name not in block.columns}
    return (block.assign(**missing) if missing else block)[columns]


class ClassifyRows(ClassifyBlock):
    """A worker for rows Ray read: every input column kept, the result arrays after them."""

    def __init__(self, spec: ClassifierSpec, text_column: str, read_back: bool = False):
        super().__init__(spec)
        self.text_column = text_column
        self.read_back = read_back

    def __call__(self, block: pd.DataFrame) -> pd.DataFrame:
        block = block.reset_index(drop=True)
        batch = self.classify(texts_of(block[self.text_column], self.read_back))
        arrays = batch_frame(np.zeros(len(block), dtype=np.int64), batch).drop(columns=[ROW])
        return self.with_vectors(pd.concat([block, arrays], axis=1))


def open_dataset(ray: ModuleType, tasks: str, text_column: TextColumns,
                 warn: Warn | None = None) -> tuple[Any, TaskSource]:
    """TASKS as a Ray Dataset, and a TaskSource that names it, its text column and encoding."""
    from ..files.columns import choose_text_column, refuse_numbers

    text_column = one_or_many(text_column)
    if isinstance(text_column, list):  # Ray Data's readers give the workers their blocks unjoined
        raise TasksError(f"{tasks}: a folder of files is read from one text column; "
                         f"join {', '.join(map(repr, text_column))} into one first, or classify "
                         f"the files one by one")

    files, kind = dataset_files(tasks)
    if kind in ("csv", "tsv"):
        refuse_separator_lines(files)
    # The separator the files hold, read by Ray's reader and kept for one output file, written
    # as a local run writes it.
    separator = files_separator(files, kind) if kind in ("csv", "tsv") else ","
    headers = files_columns(files, kind, separator)
    # Every file's columns, in the order they first come: a column the first rows lack (a
    # later file's) was dropped from one output file, or crashed the run where a whole block
    # lacked one of theirs; and its CSV cells were read as numbers ("007" written as 7).
    named = list(dict.fromkeys(name for names in headers.values() for name in names))
    try:
        dataset = read_dataset(ray, files, kind, separator, named or None)
        head = dataset.limit(200).to_pandas()
    except ClassifierError:
        raise
    except Exception as error:  # Arrow's parse errors and the like, in one line
        if _FAILED_FILE.search(str(innermost(error))):
            raise read_failure(error, kind) from None
        raise TasksError(f"{tasks}: cannot read as {kind}: "
                         f"{first_line(innermost(error))}") from None
    columns = list(dict.fromkeys([str(c) for c in head.columns] + named))
    if not len(head):
        raise TasksError(f"{tasks}: no task rows")
    head = head.reindex(columns=columns)
    column = choose_text_column(columns, tasks, text_column, head)
    refuse_numbers(head[column], column, tasks, columns)
    refuse_files_without(column, headers)
    # Ray's reader skips a byte-order mark; the output keeps one as the local run's does (it
    # was written without, where the same file run locally has one).
    encoding = files_encoding(files, kind)
    if encoding == "utf-8-sig" and warn is not None:
        warn(f"{files[0]}: byte-order mark found and skipped (a .csv output keeps one)")
    return dataset, TaskSource(path=None, label=tasks, kind=kind, text_column=column,
                               columns=columns, separator=separator, encoding=encoding)


@dataclass
class DatasetBatches:
    """`pipeline.Batches` over a Dataset Ray read: blocks classified by the workers, taken in
    input order on the driver (for one output file, the LLM and the store)."""

    dataset: Any
    workers: int

    def __call__(self, classifier: Classifier, source: TaskSource, chunk_rows: int,
                 progress: Count | None = None
                 ) -> Iterator[tuple[pd.DataFrame, Batch, list[int]]]:
        ray = import_ray()
        numbers = row_numbers(source)  # rows counted: many files have no one line to name
        classified = self.dataset.map_batches(
            ClassifyRows, fn_constructor_args=(ClassifierSpec.of(classifier), source.text_column,
                                               source.kind in READ_BACK_KINDS),
            batch_size=DATASET_BATCH_ROWS, batch_format="pandas", num_cpus=1,
            compute=ray.data.ActorPoolStrategy(size=self.workers,
                                               max_tasks_in_flight_per_actor=1))
        try:
            for result in classified.iter_batches(batch_size=None, batch_format="pandas"):
                result = result.reset_index(drop=True)
                chunk = with_columns(result, source.columns)
                batch = frame_batch(result, texts_of(chunk[source.text_column],
                                                     source.kind in READ_BACK_KINDS))
                keep_vectors(classifier, result)
                if progress is not None:
                    progress(len(chunk))
                yield chunk.assign(**{source.text_column: batch.texts}), batch, numbers.of(chunk)
        except Exception as error:  # one line, never a traceback
            raise read_failure(error, source.kind) from None
