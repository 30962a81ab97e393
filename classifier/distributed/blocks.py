"""One tasks file on Ray: read once on the driver into (row, text) blocks, classified by a
pool of workers, the results taken back in input order beside the file's own chunks."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ClusterError
from ..files.readers import TaskSource, count_rows_estimate, task_chunks
from ..files.sniffing import ignore
from ..model.engine import Batch, Classifier
from ..pipeline import Count
from .runtime import import_ray, ray_failure
from .workers import ROW, TEXT, ClassifierSpec, ClassifyBlock, frame_batch, keep_vectors

# Blocks smaller than this pad the model's batches (a length group's last batch is filled to
# 16/32/64 rows): 500-row blocks encoded 1.46 texts per row, 5,000-row blocks 0.74.
MIN_BLOCK_ROWS = 5_000
MAX_BLOCK_ROWS = 20_000
BLOCKS_PER_WORKER = 4  # enough blocks that a slow or restarted worker is not the whole run


def block_size(rows: int | None, workers: int) -> int:
    """Rows per block: a few blocks per worker, within what keeps the model's batches full."""
    if rows is None:
        return MAX_BLOCK_ROWS
    wanted = math.ceil(rows / (workers * BLOCKS_PER_WORKER))
    return min(MAX_BLOCK_ROWS, max(MIN_BLOCK_ROWS, wanted))


@dataclass
class RayBatches:
    """`pipeline.Batches` on Ray Data: the source read once on the driver into (row, text) blocks
    in the object store, classified by a pool of workers, and the results taken in input order
    beside the source's chunks (read again; kept from that read for a sheet; rebuilt from the
    texts for stdin)."""

    workers: int
    block_rows: int | None = None

    def __call__(self, classifier: Classifier, source: TaskSource, chunk_rows: int,
                 progress: Count | None = None
                 ) -> Iterator[tuple[pd.DataFrame, Batch, list[int]]]:
        ray = import_ray()
        rows = self.block_rows or block_size(count_rows_estimate(source), self.workers)
        spec = ClassifierSpec.of(classifier)
        refs: list[Any] = []
        sizes: list[int] = []
        # A sheet is read whole however it is chunked: its chunks are kept, not read again
        # (which took as long as the first read, for the memory the second read held anyway).
        kept: list[tuple[pd.DataFrame, list[str], list[int]]] | None = (
            [] if source.kind == "xlsx" else None)
        # stdin is not read again: where its rows are, and the texts of its rows that are no
        # task (a list's title), which `texts` has blank and its output keeps.
        numbered: list[tuple[list[int], dict[int, str]]] = []
        first = 0
        for chunk, texts, where in task_chunks(source, rows):
            refs.append(ray.put(pd.DataFrame({
                ROW: np.arange(first, first + len(chunk), dtype=np.int64),
                TEXT: pd.Series(texts, dtype=object)})))
            sizes.append(len(chunk))
            first += len(chunk)
            if kept is not None:
                kept.append((chunk, texts, where))
            elif source.stream is not None:
                given = chunk[source.text_column].tolist()
                numbered.append((where, {at: str(given[at]) for at, text in enumerate(texts)
                                         if text != str(given[at])}))
        if not refs:
            return
        # stdin cannot be read twice: its chunks (one text column) are rebuilt from the texts.
        again = (iter(kept) if kept is not None
                 else task_chunks(dataclasses.replace(source, warn=ignore), rows)
                 if source.stream is None else None)
        dataset = ray.data.from_pandas_refs(refs).map_batches(
            ClassifyBlock, fn_constructor_args=(spec,), batch_size=None, batch_format="pandas",
            # One block in flight per actor: otherwise the first actor up queues several blocks
            # while the others sit idle. Killed actors are restarted and their block retried
            # (Ray Data's defaults for actor pools).
            compute=ray.data.ActorPoolStrategy(size=min(self.workers, len(refs)),
                                               max_tasks_in_flight_per_actor=1),
            num_cpus=1)
        expected = 0
        try:
            results = dataset.iter_batches(batch_size=None, batch_format="pandas",
                                           prefetch_batches=1)
            for position, result in enumerate(results):
                if again is not None:
                    chunk, texts, where = next(again, (None, [], []))
                    if chunk is None or len(chunk) != sizes[position]:
                        raise ClusterError(f"{source.label}: the file changed while it was "
                                           f"being classified")
                else:
                    texts = ray.get(refs[position])[TEXT].tolist()
                    (where, no_tasks), numbered[position] = numbered[position], ([], {})
                    given = [no_tasks.get(at, text) for at, text in enumerate(texts)]
                    chunk = pd.DataFrame({source.text_column: given}, dtype=object)
                row_numbers = result[ROW].to_numpy(dtype=np.int64)
                if not np.array_equal(row_numbers,
                                      np.arange(expected, expected + len(chunk))):
                    raise ClusterError(f"Ray returned rows out of order at row {expected + 1}")
                result = result.reset_index(drop=True)
                batch = frame_batch(result, texts)
                keep_vectors(classifier, result)
                if progress is not None:
                    progress(len(chunk))
                refs[position] = None  # its texts are no longer needed in the object store
                expected += len(chunk)
                yield chunk, batch, where
        except Exception as error:  # Ray's own failures too: one line, never a traceback
            raise ray_failure(error) from None
        if expected != first:
            raise ClusterError(f"Ray returned {expected:,} of {first:,} rows")
