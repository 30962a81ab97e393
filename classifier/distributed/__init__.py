"""Classification on a Ray cluster with Ray Data: the same rows, bytes and messages as a local run,
the model running in workers. Ray is an extra (`pip install 'tactic-classifier[ray]'`), imported
only in this package and only when asked for.

A tasks file is read on the driver by the project's own reader (its cell semantics intact); only
row numbers and task texts travel to the workers, through Ray's object store. Each worker builds
one Classifier, the same as the driver's, and sends back the result arrays of its block; the
driver takes them in input order and runs the rest of the pipeline as a local run does (LLM
second opinion, store, the one safe writer), so OUT is byte-identical to the run without Ray.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ClassifierError
from ..files.readers import TaskSource, TextColumns
from ..files.writer import prepare_output
from ..pipeline import Progress, RunSummary, StoreTarget, Warn, classify_file
from .blocks import RayBatches, block_size
from .cluster import Cluster, cluster
from .datasets import (
    DatasetBatches,
    dataset_files,
    folder_output,
    is_dataset,
    is_dataset_run,
    open_dataset,
)
from .parts import prepare_parts_folder, write_parts
from .runtime import import_ray, require_ray
from .workers import batch_frame

if TYPE_CHECKING:
    from ..llm import Asker
    from ..model.engine import Classifier

__all__ = ["Cluster", "RayBatches", "batch_frame", "block_size", "check_dataset_output",
           "classify_on_ray", "cluster", "is_dataset", "is_dataset_run", "require_ray"]


def check_dataset_output(tasks: str, out: str | os.PathLike[str],
                         inputs: Mapping[Path, str]) -> None:
    """Before a --ray run of many files (or to a folder of parts) reads or writes anything:
    OutputError if OUT would replace any of `inputs` or of the files TASKS names, or a folder
    this tool did not write (`prepare_parts_folder`)."""
    kept = dict(inputs)
    if is_dataset(tasks):
        files, _ = dataset_files(tasks)
        kept |= {Path(file): "a tasks file" for file in files}
        if Path(tasks).is_dir():
            kept[Path(tasks)] = "the tasks folder"
    parts = folder_output(out)
    if parts is None:
        prepare_output(out, kept)
    else:
        prepare_parts_folder(parts[0], kept)


def classify_on_ray(classifier: Classifier, tasks: str | os.PathLike[str] | TaskSource,
                    out: str | os.PathLike[str], *, text_column: TextColumns = None,
                    sheet: str | int | None = None, progress: Progress | None = None,
                    warn: Warn | None = None, asker: Asker | None = None,
                    keep: StoreTarget | None = None, workers: int | None = None,
                    block_rows: int | None = None) -> RunSummary:
    """`pipeline.classify_file` with the classifying done by Ray Data workers (RAY_ADDRESS's
    cluster, or a local one for the run): the same OUT, byte for byte, the same messages.

    TASKS may also be a folder, a glob or a Parquet dataset, read by Ray Data, and OUT a folder
    of parts (`results.parquet`, `results/*.csv`) that the workers write."""
    require_ray()
    progress = progress or Progress()
    parts = folder_output(out)
    many = not isinstance(tasks, TaskSource) and is_dataset_run(str(tasks), out)
    if parts is not None and asker is not None:
        raise ClassifierError(f"{out}: --llm needs one output file (its answers are asked "
                              f"from the driver); write a .csv, .tsv, .jsonl or .xlsx")
    if many:  # a caller that did not check (the command line does, before the store)
        check_dataset_output(str(tasks), out, {})
    with cluster(workers, warn) as ray_cluster:
        if not many:
            return classify_file(classifier, tasks, out, text_column=text_column, sheet=sheet,
                                 progress=progress, warn=warn, asker=asker, keep=keep,
                                 batches=RayBatches(ray_cluster.workers, block_rows))
        dataset, source = open_dataset(import_ray(), str(tasks), text_column, warn)
        if parts is None:
            return classify_file(classifier, source, out, progress=progress, warn=warn,
                                 asker=asker, keep=keep,
                                 batches=DatasetBatches(dataset, ray_cluster.workers))
        summary = write_parts(classifier, dataset, source, parts[0], parts[1],
                              ray_cluster.workers, progress,
                              keep.decisions if keep is not None else None)
        if keep is not None:
            message = (f"{parts[0]}: a folder of parts is not saved as a run in the store "
                       f"(the store still taught the classifier)")
            summary.warnings.append(message)
            if warn is not None:
                warn(message)
        return summary
