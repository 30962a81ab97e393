"""Classification on a Ray cluster with Ray Data: the same rows, bytes and messages as a local run,
the model running in workers. Ray is an extra (`pip install 'tactic-classifier[ray]'`), imported
only here and only when asked for.

A tasks file is read on the driver by the project's own reader (its cell semantics intact); only
row numbers and task texts travel to the workers, through Ray's object store. Each worker builds
one Classifier, the same as the driver's, and sends back the result arrays of its block; the
driver takes them in input order and runs the rest of the pipeline as a local run does (LLM
second opinion, store, the one safe writer), so OUT is byte-identical to the run without Ray.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import importlib.util
import json
import logging
import math
import os
import secrets
import shutil
import signal
import sys
import threading
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .cells import is_blank, plain
from .errors import ClassifierError, ClusterError, TasksError
from .files.readers import TaskSource, count_rows_estimate, iter_chunks
from .files.sniffing import ignore
from .model.embedding import Embedder, EmbedderSettings, get_embedder
from .model.engine import Batch, Classifier
from .model.index import Matches, MatchSettings
from .model.learned import Learned
from .pipeline import Count, Progress, RunSummary, StoreTarget, Warn, classify_file
from .plan import Plan, Thresholds

if TYPE_CHECKING:
    from .llm import Asker
    from .store import Decision

RAY_HINT = "--ray needs Ray: pip install 'tactic-classifier[ray]'"
ROW = "__row"  # the input row (from 0) a result belongs to: order is checked on the driver
TEXT = "__text"
EMPTY = "__empty"
STATUS = "__status"
# Blocks smaller than this pad the model's batches (a length group's last batch is filled to
# 16/32/64 rows): 500-row blocks encoded 1.46 texts per row, 5,000-row blocks 0.74.
MIN_BLOCK_ROWS = 5_000
MAX_BLOCK_ROWS = 20_000
BLOCKS_PER_WORKER = 4  # enough blocks that a slow or restarted worker is not the whole run


def require_ray() -> None:
    """A one-line ClassifierError that says how to install Ray, when it is missing (Ray itself
    is not imported: a local cluster's settings must be in the environment before it is)."""
    if importlib.util.find_spec("ray") is None:
        raise ClassifierError(RAY_HINT)


def import_ray() -> ModuleType:
    """The `ray` module, or a one-line ClassifierError that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data is the extra's `ray[data]`)
    except ImportError:
        raise ClassifierError(RAY_HINT) from None
    return ray


# ---------------------------------------------------------------------- workers


@dataclass(frozen=True)
class ClassifierSpec:
    """What a worker needs to build the very classifier the driver has (it pickles small)."""

    plan: Plan
    embedder: EmbedderSettings
    thresholds: Thresholds
    match: MatchSettings
    top_k: int
    learned: Learned

    @classmethod
    def of(cls, classifier: Classifier) -> ClassifierSpec:
        """The spec of a classifier whose embedder is the project's (so a worker can load it)."""
        if not isinstance(classifier.embedder, Embedder):
            raise ClassifierError(f"--ray: a worker cannot rebuild an embedder of type "
                                  f"{type(classifier.embedder).__name__}; use the project's "
                                  f"Embedder")
        return cls(classifier.plan, classifier.embedder.settings, classifier.thresholds,
                   classifier.match, classifier.top_k, classifier.learned)

    def build(self) -> Classifier:
        """The classifier, its model loaded once for this process (task vectors are not kept
        in the store from a worker: they are the same wherever computed)."""
        return Classifier(self.plan, get_embedder(self.embedder), thresholds=self.thresholds,
                          match=self.match, top_k=self.top_k, learned=self.learned)


class ClassifyBlock:
    """A Ray Data worker: one classifier per actor, built once, then block after block of
    (row, text) into the result arrays of each row."""

    def __init__(self, spec: ClassifierSpec):
        try:
            self.classifier = spec.build()
        except ClassifierError as error:
            raise _carried(error) from None

    def __call__(self, block: pd.DataFrame) -> pd.DataFrame:
        try:
            batch = self.classifier.classify_batch(block[TEXT].tolist())
        except ClassifierError as error:
            raise _carried(error) from None
        return batch_frame(block[ROW].to_numpy(dtype=np.int64), batch)


def batch_frame(rows: np.ndarray, batch: Batch) -> pd.DataFrame:
    """A batch's arrays as a flat table (one column per candidate rank), rows first."""
    columns: dict[str, Any] = {ROW: rows, EMPTY: batch.empty, STATUS: batch.status}
    for rank in range(batch.matches.strategy.shape[1]):
        columns[f"__strategy{rank}"] = batch.matches.strategy[:, rank]
        columns[f"__score{rank}"] = batch.matches.score[:, rank]
        columns[f"__evidence{rank}"] = batch.matches.evidence[:, rank]
    return pd.DataFrame(columns)


def frame_batch(frame: pd.DataFrame, texts: list[str]) -> Batch:
    """The Batch a worker computed, back from its table, with the driver's own texts."""
    ranks = sum(1 for column in frame.columns if str(column).startswith("__strategy"))

    def matrix(name: str, dtype: type) -> np.ndarray:
        return np.stack([frame[f"__{name}{rank}"].to_numpy(dtype=dtype)
                         for rank in range(ranks)], axis=1).reshape(len(frame), ranks)

    return Batch(texts=["" if t is None else str(t) for t in texts],
                 empty=frame[EMPTY].to_numpy(dtype=bool),
                 matches=Matches(strategy=matrix("strategy", np.int32),
                                 score=matrix("score", np.float64),
                                 evidence=matrix("evidence", np.int32)),
                 status=frame[STATUS].to_numpy(dtype=object))


def _carried(error: ClassifierError) -> ClassifierError:
    # Ray rewrites a failed task's exception message; the one line travels beside it.
    error.one_line = str(error)  # type: ignore[attr-defined]
    return error


def plain_error(error: BaseException) -> ClassifierError | None:
    """The project's error inside what Ray raised on the driver, as its one line; or None."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ClassifierError):
            kind = next(c for c in type(current).__mro__
                        if issubclass(c, ClassifierError) and c.__module__ == ClassifierError.__module__)
            line = getattr(current, "one_line", None) or str(current).strip().splitlines()[0]
            return kind(line)
        current = getattr(current, "cause", None) or current.__cause__
    return None


# ---------------------------------------------------------------------- the cluster


@dataclass
class Cluster:
    """The Ray cluster of a run: RAY_ADDRESS's, or a local one started for the run."""

    workers: int
    started: bool  # a local cluster this run started (and stops)
    address: str


def _quiet_ray(ray: ModuleType) -> None:
    """No Ray progress bars, execution banners or tracebacks on our stderr (its logs keep them)."""
    from ray.data import DataContext

    # Advice meant for pipeline authors ("increase override_num_blocks"), not for our users.
    warnings.filterwarnings("ignore", category=UserWarning, module=r"ray\.data")
    for handler in logging.getLogger("ray.data").handlers:
        if type(handler).__name__ != "SessionFileHandler":
            handler.setLevel(logging.CRITICAL)
    context = DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    context.enable_auto_log_stats = False
    context.execution_options.verbose_progress = False
    # Results come back in input order, whichever worker finishes first.
    context.execution_options.preserve_order = True
    # A ClassifierError raised in a worker reaches the driver as itself, not as Ray's wrapper.
    context.raise_original_map_exception = True


@contextlib.contextmanager
def cluster(workers: int | None = None) -> Iterator[Cluster]:
    """Connect to the cluster at RAY_ADDRESS, or start a local one on 127.0.0.1 for the block;
    `workers` defaults to one per CPU of the cluster, less one for Ray's own tasks."""
    if workers is not None and workers < 1:
        raise ClassifierError(f"--workers {workers}: give at least 1")
    address = os.environ.get("RAY_ADDRESS", "").strip()
    settings = {"RAY_DATA_DISABLE_PROGRESS_BARS": "1",
                # Ray's C++ core writes below sys.stderr: a line for each actor pool ("constructor
                # arguments in the object store"), and for each worker lost; errors reach us anyway.
                "RAY_BACKEND_LOG_LEVEL": "fatal"}
    if not address and "ray" not in sys.modules:
        # A local head listens on every interface: a token of this run guards it. Ray reads it
        # when imported, and, given in the environment, writes nothing to ~/.ray.
        settings.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    with _environment({k: v for k, v in settings.items() if not os.environ.get(k)}), \
            _ray_threads_quiet():
        ray = import_ray()
        ours = not ray.is_initialized()  # a caller's own connection is left as it was
        if ours:
            _init(ray, address, workers)
        try:
            _quiet_ray(ray)
            cpus = int(ray.cluster_resources().get("CPU", 1))
            yield Cluster(workers=workers or max(1, cpus - 1), started=ours and not address,
                          address=address or "local")
        finally:
            if ours:
                with contextlib.suppress(Exception):
                    ray.shutdown()


def _init(ray: ModuleType, address: str, workers: int | None) -> None:
    """ray.init, quiet; its failure as one ClusterError line."""
    handler = signal.getsignal(signal.SIGTERM)
    quiet: dict[str, Any] = dict(include_dashboard=False, logging_level=logging.ERROR,
                                 log_to_driver=False)
    try:
        with _stderr_silenced():  # the core's "Set ray log level" line, retries while it waits
            if address:
                ray.init(address=address, **quiet)
            else:
                local = workers or max(1, (os.cpu_count() or 1))
                # One CPU more than workers, for Ray Data's own small tasks beside the pool.
                ray.init(num_cpus=local + 1, _node_ip_address="127.0.0.1", **quiet)
    except Exception as error:
        where = f"at {address}" if address else "(a local one)"
        raise ClusterError(f"cannot start or reach the Ray cluster {where}: "
                           f"{_first_line(error)}") from None
    finally:
        # ray.init installs its own SIGTERM handler; `kill` must still end the run cleanly.
        if handler is not None and signal.getsignal(signal.SIGTERM) is not handler:
            signal.signal(signal.SIGTERM, handler)


@contextlib.contextmanager
def _ray_threads_quiet() -> Iterator[None]:
    """Ray's own threads may end with a traceback when a run stops early (an error, Ctrl-C): the
    run reports its one line; the threads' stack traces stay out of our stderr."""
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        target = getattr(args.thread, "_target", None)
        if not str(getattr(target, "__module__", "") or "").startswith("ray."):
            previous(args)

    threading.excepthook = hook
    try:
        yield
    finally:
        threading.excepthook = previous


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Environment variables set for the block, then put back as they were."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """File descriptor 2 sent to /dev/null for the block (C++ code writes there directly)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# ---------------------------------------------------------------------- one file


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
    beside the source's chunks (read again, or rebuilt from the texts for stdin)."""

    workers: int
    block_rows: int | None = None

    def __call__(self, classifier: Classifier, source: TaskSource, chunk_rows: int,
                 progress: Count | None = None) -> Iterator[tuple[pd.DataFrame, Batch]]:
        ray = import_ray()
        rows = self.block_rows or block_size(count_rows_estimate(source), self.workers)
        spec = ClassifierSpec.of(classifier)
        refs: list[Any] = []
        sizes: list[int] = []
        first = 0
        for chunk in iter_chunks(source, rows):
            texts = [str(t) for t in chunk[source.text_column].tolist()]
            refs.append(ray.put(pd.DataFrame({
                ROW: np.arange(first, first + len(chunk), dtype=np.int64),
                TEXT: pd.Series(texts, dtype=object)})))
            sizes.append(len(chunk))
            first += len(chunk)
        if not refs:
            return
        # stdin cannot be read twice: its chunks (one text column) are rebuilt from the texts.
        again = (iter_chunks(dataclasses.replace(source, warn=ignore), rows)
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
                    chunk = next(again, None)
                    if chunk is None or len(chunk) != sizes[position]:
                        raise ClusterError(f"{source.label}: the file changed while it was "
                                           f"being classified")
                else:
                    chunk = pd.DataFrame(
                        {source.text_column: ray.get(refs[position])[TEXT]}, dtype=object)
                row_numbers = result[ROW].to_numpy(dtype=np.int64)
                if not np.array_equal(row_numbers,
                                      np.arange(expected, expected + len(chunk))):
                    raise ClusterError(f"Ray returned rows out of order at row {expected + 1}")
                result = result.reset_index(drop=True)
                batch = frame_batch(result, chunk[source.text_column].tolist())
                if progress is not None:
                    progress(len(chunk))
                refs[position] = None  # its texts are no longer needed in the object store
                expected += len(chunk)
                yield chunk, batch
        except Exception as error:  # Ray's own failures too: one line, never a traceback
            raise _ray_failure(error) from None
        if expected != first:
            raise ClusterError(f"Ray returned {expected:,} of {first:,} rows")


def classify_on_ray(classifier: Classifier, tasks: str | os.PathLike[str] | TaskSource,
                    out: str | os.PathLike[str], *, text_column: str | None = None,
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
    with cluster(workers) as ray_cluster:
        if not many:
            return classify_file(classifier, tasks, out, text_column=text_column, sheet=sheet,
                                 progress=progress, warn=warn, asker=asker, keep=keep,
                                 batches=RayBatches(ray_cluster.workers, block_rows))
        dataset, source = open_dataset(import_ray(), str(tasks), text_column)
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


# ---------------------------------------------------------------------- many files

DATASET_KINDS = ("parquet", "csv", "tsv", "jsonl", "txt")
PART_KINDS = ("parquet", "csv", "tsv", "jsonl")
DATASET_BATCH_ROWS = 10_000


def is_dataset(tasks: str | os.PathLike[str]) -> bool:
    """Whether TASKS names files for Ray Data to read: a folder, a glob, or Parquet."""
    text = str(tasks)
    return (Path(text).is_dir() or any(c in text for c in "*?[")
            or Path(text).suffix.lower() == ".parquet")


def folder_output(out: str | os.PathLike[str]) -> tuple[Path, str] | None:
    """Where a folder of parts goes, and their kind: `results/*.csv` (parts named like that),
    `results.parquet`, a name without a suffix, or an existing folder; None for one file."""
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
    elif any(c in tasks for c in "*?["):
        anchor = Path(path.anchor) if path.is_absolute() else Path()
        found = [p for p in anchor.glob(str(path.relative_to(anchor)) if path.is_absolute()
                                        else tasks) if p.is_file()]
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


def read_dataset(ray: ModuleType, files: list[str], kind: str) -> Any:
    """The files as a Ray Dataset, read by Ray's readers in parallel; CSV cells stay text and
    blank lines stay rows, as the project's reader keeps them."""
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

    delimiter = "\t" if kind == "tsv" else ","
    with open(files[0], encoding="utf-8-sig", newline="") as handle:
        names = next(csv.reader(handle, delimiter=delimiter), None)
    if not names:
        raise TasksError(f"{files[0]}: the file is empty")
    return ray.data.read_csv(
        files, num_cpus=0, file_extensions=None,
        read_options=pacsv.ReadOptions(use_threads=False, encoding="utf8"),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                         ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in names}, strings_can_be_null=False,
            quoted_strings_can_be_null=False, null_values=[]))


def texts_of(values: pd.Series) -> list[str]:
    """A text column's cells as the project reads them: blank for missing, JSON for lists."""
    texts = []
    for value in values.tolist():
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict | list | bool):
            texts.append(json.dumps(plain(value), ensure_ascii=False))
        else:
            texts.append("" if is_blank(value) else str(value))
    return texts


class ClassifyRows(ClassifyBlock):
    """A worker for rows Ray read: every input column kept, the result arrays after them."""

    def __init__(self, spec: ClassifierSpec, text_column: str):
        super().__init__(spec)
        self.text_column = text_column

    def __call__(self, block: pd.DataFrame) -> pd.DataFrame:
        block = block.reset_index(drop=True)
        try:
            batch = self.classifier.classify_batch(texts_of(block[self.text_column]))
        except ClassifierError as error:
            raise _carried(error) from None
        arrays = batch_frame(np.zeros(len(block), dtype=np.int64), batch).drop(columns=[ROW])
        return pd.concat([block, arrays], axis=1)


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
        from .files.writer import TableWriter
        from .model.engine import join_results
        from .pipeline import _decided, _with_decisions

        rows = super().__call__(block)
        batch = frame_batch(rows, texts_of(rows[self.text_column]))
        frame = join_results(rows[list(block.columns)], self.classifier.result_columns(batch))
        if self.decisions is not None:  # a person's word stands, as in one output file
            frame = _with_decisions(frame, _decided(batch.texts, self.decisions,
                                                    self.classifier), self.classifier)
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


def open_dataset(ray: ModuleType, tasks: str, text_column: str | None) -> tuple[Any, TaskSource]:
    """TASKS as a Ray Dataset, and a TaskSource that names it and its text column."""
    from .files.columns import choose_text_column, refuse_numbers

    files, kind = dataset_files(tasks)
    try:
        dataset = read_dataset(ray, files, kind)
        head = dataset.limit(200).to_pandas()
    except ClassifierError:
        raise
    except Exception as error:  # Arrow's parse errors and the like, in one line
        raise TasksError(f"{tasks}: cannot read as {kind}: "
                         f"{_first_line(_innermost(error))}") from None
    columns = [str(c) for c in head.columns]
    if not len(head):
        raise TasksError(f"{tasks}: no task rows")
    column = choose_text_column(columns, tasks, text_column, head)
    refuse_numbers(head[column], column, tasks, columns)
    return dataset, TaskSource(path=None, label=tasks, kind=kind, text_column=column,
                               columns=columns)


def _innermost(error: BaseException) -> BaseException:
    while (cause := getattr(error, "cause", None) or error.__cause__) is not None:
        error = cause
    return error


def _ray_failure(error: Exception) -> ClassifierError:
    """What Ray raised on the driver, as one line: the project's error, or Ray's."""
    return plain_error(error) or ClusterError(
        f"Ray: {type(error).__name__}: {_first_line(_innermost(error))}")


@dataclass
class DatasetBatches:
    """`pipeline.Batches` over a Dataset Ray read: blocks classified by the workers, taken in
    input order on the driver (for one output file, the LLM and the store)."""

    dataset: Any
    workers: int

    def __call__(self, classifier: Classifier, source: TaskSource, chunk_rows: int,
                 progress: Count | None = None) -> Iterator[tuple[pd.DataFrame, Batch]]:
        ray = import_ray()
        classified = self.dataset.map_batches(
            ClassifyRows, fn_constructor_args=(ClassifierSpec.of(classifier), source.text_column),
            batch_size=DATASET_BATCH_ROWS, batch_format="pandas", num_cpus=1,
            compute=ray.data.ActorPoolStrategy(size=self.workers,
                                               max_tasks_in_flight_per_actor=1))
        try:
            for result in classified.iter_batches(batch_size=None, batch_format="pandas"):
                result = result.reset_index(drop=True)
                chunk = result[source.columns]
                batch = frame_batch(result, texts_of(chunk[source.text_column]))
                if progress is not None:
                    progress(len(chunk))
                yield chunk.assign(**{source.text_column: batch.texts}), batch
        except Exception as error:  # one line, never a traceback
            raise _ray_failure(error) from None


def write_parts(classifier: Classifier, dataset: Any, source: TaskSource, folder: Path,
                kind: str, workers: int, progress: Progress,
                decisions: dict[str, Decision] | None = None) -> RunSummary:
    """Workers classify the Dataset and write a part each into a hidden folder beside FOLDER,
    which takes FOLDER's place once every part is there (parts numbered in input order)."""
    from .files.atomic import partial_name
    from .results import Status

    ray = import_ray()
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / partial_name(folder)
    staging.mkdir()
    counts = {s.value: 0 for s in Status}
    total = 0
    try:
        written = dataset.map_batches(
            WriteParts, fn_constructor_args=(ClassifierSpec.of(classifier), source.text_column,
                                             str(staging), kind, decisions),
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
            raise _ray_failure(error) from None
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
