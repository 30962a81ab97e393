"""A folder of parts: each worker writes its block's results as one part in a hidden folder,
which takes the output's place once every part is there, numbered in input order."""

from __future__ import annotations

import dataclasses
import json
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..files.readers import TaskSource
from ..model.engine import Classifier
from ..pipeline import Progress, RunSummary
from ..standing import standing_for, with_decisions
from .datasets import DATASET_BATCH_ROWS, ClassifyRows, texts_of
from .runtime import import_ray, ray_failure
from .workers import ClassifierSpec, frame_batch

if TYPE_CHECKING:
    from ..store import Decision


class WriteParts(ClassifyRows):
    """A worker that writes its block's results as one part in the staging folder (text kinds
    through the one safe writer) and returns only the part's name, rows and statuses."""

    def __init__(self, spec: ClassifierSpec, text_column: str, folder: str, kind: str,
                 decisions: dict[str, Decision] | None):
        super().__init__(spec, text_column)
        self.folder = Path(folder)
        self.kind = kind
        self.decisions = decisions

    def __call__(self, block: pd.DataFrame) -> pd.DataFrame:
        from ..files.writer import TableWriter
        from ..model.engine import join_results

        rows = super().__call__(block)
        batch = frame_batch(rows, texts_of(rows[self.text_column]))
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
                                             decisions),
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
            raise ray_failure(error) from None
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
