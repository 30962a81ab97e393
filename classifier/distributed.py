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
import dataclasses
import importlib.util
import logging
import math
import os
import secrets
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import ClassifierError, ClusterError
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
                   classifier.index.settings, classifier.top_k, classifier.learned)

    def build(self) -> Classifier:
        """The classifier, its model loaded once for this process."""
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
    saved_env: dict[str, str | None] = {}
    if not address and "ray" not in sys.modules and not os.environ.get("RAY_AUTH_TOKEN"):
        # A local head listens on every interface: a token of this run guards it. Ray reads it
        # when imported, and, given in the environment, writes nothing to ~/.ray.
        for name, setting in (("RAY_AUTH_MODE", "token"),
                              ("RAY_AUTH_TOKEN", secrets.token_hex(32))):
            saved_env[name] = os.environ.get(name)
            os.environ[name] = setting
    os.environ.setdefault("RAY_DATA_DISABLE_PROGRESS_BARS", "1")
    ray = import_ray()
    quiet = dict(include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    handler = signal.getsignal(signal.SIGTERM)
    started = False
    ours = not ray.is_initialized()  # a caller's own connection is left as it was
    if ours:
        try:
            if address:
                ray.init(address=address, **quiet)
            else:
                local = workers or max(1, (os.cpu_count() or 1))
                # One CPU more than workers, for Ray Data's own small tasks beside the pool.
                ray.init(num_cpus=local + 1, _node_ip_address="127.0.0.1", **quiet)
                started = True
        except ClassifierError:
            raise
        except Exception as error:
            where = f"at {address}" if address else "(a local one)"
            raise ClusterError(f"cannot start or reach the Ray cluster {where}: "
                               f"{_first_line(error)}") from None
        finally:
            # ray.init installs its own SIGTERM handler; `kill` must still end the run cleanly.
            if signal.getsignal(signal.SIGTERM) is not handler and handler is not None:
                signal.signal(signal.SIGTERM, handler)
    try:
        _quiet_ray(ray)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        size = workers or max(1, cpus - 1)
        yield Cluster(workers=size, started=started, address=address or "local")
    finally:
        if ours:
            with contextlib.suppress(Exception):
                ray.shutdown()
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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
            compute=ray.data.ActorPoolStrategy(size=self.workers,
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
        except ClassifierError as error:
            raise plain_error(error) or error from None
        except Exception as error:  # Ray's own failures: one line, never a traceback
            raise plain_error(error) or ClusterError(
                f"Ray: {type(error).__name__}: {_first_line(error)}") from None
        if expected != first:
            raise ClusterError(f"Ray returned {expected:,} of {first:,} rows")


def classify_on_ray(classifier: Classifier, tasks: str | os.PathLike[str] | TaskSource,
                    out: str | os.PathLike[str], *, text_column: str | None = None,
                    sheet: str | int | None = None, progress: Progress | None = None,
                    warn: Warn | None = None, asker: Asker | None = None,
                    keep: StoreTarget | None = None, workers: int | None = None,
                    block_rows: int | None = None) -> RunSummary:
    """`pipeline.classify_file` with the classifying done by Ray Data workers (RAY_ADDRESS's
    cluster, or a local one for the run): the same OUT, byte for byte, the same messages."""
    require_ray()
    with cluster(workers) as ray_cluster:
        return classify_file(classifier, tasks, out, text_column=text_column, sheet=sheet,
                             progress=progress, warn=warn, asker=asker, keep=keep,
                             batches=RayBatches(ray_cluster.workers, block_rows))


def is_dataset(tasks: str) -> bool:
    """Whether TASKS names files for Ray Data to read (a folder, a glob, Parquet)."""
    return (Path(tasks).is_dir() or any(c in tasks for c in "*?[")
            or Path(tasks).suffix.lower() == ".parquet")
