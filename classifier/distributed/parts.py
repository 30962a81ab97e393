"""A folder of parts: each worker writes its block's results as one part in a hidden folder,
which takes the output's place once every part is there, numbered in input order."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import OutputError
from ..files.atomic import remove_leftovers
from ..files.readers import TaskSource
from ..model.engine import Classifier
from ..pipeline import Progress, RunSummary
from ..standing import standing_for, with_decisions
from .datasets import (
    DATASET_BATCH_ROWS,
    READ_BACK_KINDS,
    ClassifyRows,
    read_failure,
    texts_of,
    with_columns,
)
from .runtime import import_ray
from .workers import ClassifierSpec, frame_batch

if TYPE_CHECKING:
    from ..store import Decision


class WriteParts(ClassifyRows):
    """A worker that writes its block's results as one part in the staging folder (text kinds
    through the one safe writer) and returns only the part's name, rows and statuses."""

    def __init__(self, spec: ClassifierSpec, text_column: str, folder: str, kind: str,
                 decisions: dict[str, Decision] | None, read_back: bool = False,
                 columns: list[str] | None = None):
        super().__init__(spec, text_column, read_back)
        self.columns = columns  # every file's: each part has them all, in one order
        self.folder = Path(folder)
        self.kind = kind
        self.decisions = decisions

    def __call__(self, block: pd.DataFrame) -> pd.DataFrame:
        from ..files.writer import TableWriter
        from ..model.engine import join_results

        if self.columns is not None:
            block = with_columns(block.reset_index(drop=True), self.columns)
        rows = super().__call__(block)
        batch = frame_batch(rows, texts_of(rows[self.text_column], self.read_back))
        frame = join_results(rows[list(block.columns)], self.classifier.result_columns(batch))
        if self.decisions is not None:  # a person's word stands, as in one output file
            frame = with_decisions(frame, standing_for(batch.texts, self.decisions,
                                                    self.classifier), self.classifier, batch)
        name = f"block-{uuid.uuid4().hex}.{self.kind}"  # numbered in order by the driver
        if self.kind == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), self.folder / name)
        else:
            with TableWriter(self.folder / name) as writer:
                writer.write(frame)
        statuses = {str(k): int(v) for k, v in frame["status"].value_counts().items()}
        return pd.DataFrame({"part": [name], "rows": [len(frame)],
                             "statuses": [json.dumps(statuses)]})


# What a folder of parts holds when this tool wrote it: a folder holding anything else is
# someone's, and is never replaced.
PART_NAME = re.compile(r"part-\d{6}\.(?:parquet|csv|tsv|jsonl)")


def prepare_parts_folder(folder: Path, inputs: Mapping[Path, str]) -> None:
    """OutputError, before any work, unless FOLDER may take a folder of parts: new, empty, or
    parts this tool wrote (it is replaced whole), holding none of `inputs` and inside no input
    folder. A folder output replaced a project folder with its tasks, plan and store in it."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: is a file; give a folder for the parts, or a .csv, .tsv, "
                          f".jsonl or .xlsx name for one output file")
    where = folder.resolve()
    for source, what in inputs.items():
        path = Path(source).resolve()
        relation = ("is" if path == where else "holds" if where in path.parents
                    else "is inside" if path.is_dir() and path in where.parents else None)
        if relation is not None:
            raise OutputError(f"{folder}: {relation} {what} ({source}); write the parts to a "
                              f"folder of their own")
    remove_leftovers(folder)  # what a killed run (kill -9, out of memory) staged beside it
    if folder.is_dir():
        others = sorted(p.name for p in folder.iterdir() if not PART_NAME.fullmatch(p.name))
        if others:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            raise OutputError(f"{folder}: holds files this tool did not write ({shown}); a "
                              f"folder of parts is replaced whole, so give a new or empty "
                              f"folder")


def write_parts(classifier: Classifier, dataset: Any, source: TaskSource, folder: Path,
                kind: str, workers: int, progress: Progress,
                decisions: dict[str, Decision] | None = None) -> RunSummary:
    """Workers classify the Dataset and write a part each into a hidden folder beside FOLDER,
    which takes FOLDER's place once every part is there (parts numbered in input order)."""
    from ..files.atomic import partial_name
    from ..results import Status

    ray = import_ray()
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / partial_name(folder)
    staging.mkdir()
    counts = {s.value: 0 for s in Status}
    total = 0
    # A part's worker returns only the part's name and counts: vectors would be gathered and
    # packed for nothing.
    spec = dataclasses.replace(ClassifierSpec.of(classifier), keep_vectors=False)
    try:
        written = dataset.map_batches(
            WriteParts, fn_constructor_args=(spec, source.text_column, str(staging), kind,
                                             decisions, source.kind in READ_BACK_KINDS,
                                             source.columns),
            batch_size=DATASET_BATCH_ROWS, batch_format="pandas", num_cpus=1,
            compute=ray.data.ActorPoolStrategy(size=workers, max_tasks_in_flight_per_actor=1))
        kept: list[str] = []
        try:
            for result in written.iter_batches(batch_size=None, batch_format="pandas"):
                for name, rows, statuses in zip(result["part"], result["rows"],
                                                result["statuses"], strict=True):
                    part = f"part-{len(kept):06d}.{kind}"
                    (staging / name).rename(staging / part)  # input order, whoever wrote it
                    kept.append(part)
                    total += int(rows)
                    for status, count in json.loads(statuses).items():
                        counts[status] = counts.get(status, 0) + count
                    if progress.rows is not None:
                        progress.rows(int(rows))
        except Exception as error:  # one line, never a traceback
            raise read_failure(error, source.kind) from None
        for leftover in staging.iterdir():  # a part of an attempt Ray retried
            if leftover.name not in kept:
                leftover.unlink()
        if folder.exists():
            old = folder.parent / partial_name(folder.with_name(folder.name + ".old"))
            folder.rename(old)
            staging.rename(folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RunSummary(rows=total, status_counts=counts, out=str(folder))
