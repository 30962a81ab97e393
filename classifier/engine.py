"""The Classifier: plan + embedder + index + thresholds -> one result per task."""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .decision import DEFAULT_THRESHOLDS, Status, decide
from .embedding import Embedder, get_embedder
from .index import Matches, MatchSettings, StrategyIndex
from .learning import Learned, fit_thresholds, with_negatives
from .plan import Plan, Thresholds
from .tasks import ResultWriter, TaskSource, count_rows_estimate, iter_chunks, open_tasks

RESULT_COLUMNS = ["strategy_id", "strategy", "score", "status", "runner_up_id",
                  "runner_up_score", "evidence"]
LLM_COLUMNS = ["llm_strategy_id", "rationale"]
SCORE_DECIMALS = 4
LONG_ROWS_NAMED = 5  # a file of long descriptions would otherwise print a warning per row

Warn = Callable[[str], None]


@dataclass(frozen=True)
class Candidate:
    """One strategy a task could serve, with its score and the strategy text it matched best."""

    strategy_id: str
    strategy: str
    score: float
    evidence: str


@dataclass(frozen=True)
class TaskResult:
    """What the classifier says of one task."""

    text: str
    status: str
    strategy_id: str | None = None
    strategy: str | None = None
    score: float | None = None
    runner_up_id: str | None = None
    runner_up_score: float | None = None
    evidence: str | None = None
    candidates: tuple[Candidate, ...] = ()


@dataclass
class Batch:
    """Results for many tasks as arrays (the hot path); rows with blank text have `empty` set."""

    texts: list[str]
    empty: np.ndarray  # bool (n,)
    matches: Matches  # positions into the plan's strategies, best first
    status: np.ndarray  # object (n,), Status values

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class RunSummary:
    """What a file run did: rows written, statuses counted, warnings raised."""

    rows: int = 0
    status_counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    out: str | None = None


class Classifier:
    """Classifies tasks against a plan's strategies; build once, call many times."""

    def __init__(self, plan: Plan, embedder: Embedder | None = None,
                 thresholds: Thresholds | None = None, match: MatchSettings | None = None,
                 top_k: int = 3, learned: Learned | None = None):
        """`learned` (from review decisions) adds examples and negatives, and past enough
        decisions re-fits the thresholds unless `thresholds` is given."""
        self.plan = plan
        self.embedder = embedder or get_embedder()
        self.learned = (learned or Learned()).for_plan(plan)
        fitted = None if thresholds is not None else fit_thresholds(
            plan, self.embedder, self.learned, plan.thresholds or DEFAULT_THRESHOLDS, match)
        self.thresholds = thresholds or fitted or plan.thresholds or DEFAULT_THRESHOLDS
        self.top_k = max(2, top_k)
        self.strategy_ids = [strategy.id for strategy in plan.strategies]
        self.strategy_names = [strategy.name for strategy in plan.strategies]
        texts: list[str] = []
        owners: list[int] = []
        examples: list[bool] = []  # texts that are examples refine the strategy prototypes
        for position, strategy in enumerate(plan.strategies):
            own = strategy.texts()
            learned_texts = [t for t in self.learned.examples.get(strategy.id, []) if t not in own]
            heads = len(own) - len(strategy.examples)
            for offset, text in enumerate(own + learned_texts):
                texts.append(text)
                owners.append(position)
                examples.append(offset >= heads)
        self.texts = texts
        vectors = self.embedder.embed(texts)
        self.index = with_negatives(
            StrategyIndex(vectors, np.array(owners), len(plan.strategies), texts, match,
                          examples=np.array(examples, dtype=bool)),
            vectors, self.learned.negatives, self.embedder)

    # ------------------------------------------------------------------ arrays

    def classify_batch(self, texts: Sequence[str],
                       progress: Callable[[int], None] | None = None) -> Batch:
        """Classify texts into arrays; blank texts are not embedded and get status `empty`."""
        texts = ["" if t is None else str(t) for t in texts]
        empty = np.array([not text.strip() for text in texts], dtype=bool)
        filled = [text for text, blank in zip(texts, empty, strict=True) if not blank]
        if progress is not None and empty.any():
            progress(int(empty.sum()))
        vectors = self.embedder.embed(filled, progress=progress)
        found = self.index.search(vectors, k=self.top_k)
        # Scores are rounded once, here: the status is decided on the number the output shows.
        found.score = np.round(found.score, SCORE_DECIMALS)
        k = found.strategy.shape[1]
        matches = Matches(
            strategy=np.full((len(texts), k), -1, dtype=np.int32),
            score=np.full((len(texts), k), np.nan, dtype=np.float64),
            evidence=np.full((len(texts), k), -1, dtype=np.int32),
        )
        matches.strategy[~empty] = found.strategy
        matches.score[~empty] = found.score
        matches.evidence[~empty] = found.evidence
        status = np.full(len(texts), Status.EMPTY.value, dtype=object)
        if len(filled):
            runner_up = found.score[:, 1] if k > 1 else np.full(len(filled), -np.inf)
            status[~empty] = decide(found.score[:, 0], runner_up, self.thresholds)
        return Batch(texts=texts, empty=empty, matches=matches, status=status)

    def result_columns(self, batch: Batch) -> pd.DataFrame:
        """The contract's result columns for a batch, one row per task, in order."""
        n = len(batch)
        ids = np.array(self.strategy_ids + [""], dtype=object)
        names = np.array(self.strategy_names + [""], dtype=object)
        texts = np.array(self.texts + [""], dtype=object)
        first = batch.matches.strategy[:, 0] if n else np.zeros(0, np.int32)
        has_runner = batch.matches.strategy.shape[1] > 1
        second = batch.matches.strategy[:, 1] if has_runner else np.full(n, -1)
        score = np.round(batch.matches.score[:, 0].astype(np.float64), SCORE_DECIMALS)
        runner_score = (np.round(batch.matches.score[:, 1].astype(np.float64), SCORE_DECIMALS)
                        if has_runner else np.full(n, np.nan))
        frame = pd.DataFrame({
            "strategy_id": ids[first],
            "strategy": names[first],
            "score": score,
            "status": batch.status,
            "runner_up_id": ids[second],
            "runner_up_score": runner_score,
            "evidence": texts[batch.matches.evidence[:, 0]] if n else [],
        })
        return frame

    # ------------------------------------------------------------------ objects

    def classify(self, texts: Sequence[str]) -> list[TaskResult]:
        """Classify a list of task texts; one TaskResult each, in order."""
        batch = self.classify_batch(texts)
        return [self._result(batch, row) for row in range(len(batch))]

    def _result(self, batch: Batch, row: int) -> TaskResult:
        text = batch.texts[row]
        if batch.empty[row]:
            return TaskResult(text=text, status=Status.EMPTY.value)
        candidates = tuple(
            Candidate(self.strategy_ids[s], self.strategy_names[s],
                      round(float(score), SCORE_DECIMALS), self.texts[e])
            for s, score, e in zip(batch.matches.strategy[row], batch.matches.score[row],
                                   batch.matches.evidence[row], strict=True)
        )
        best = candidates[0]
        runner = candidates[1] if len(candidates) > 1 else None
        return TaskResult(
            text=text, status=str(batch.status[row]), strategy_id=best.strategy_id,
            strategy=best.strategy, score=best.score, evidence=best.evidence,
            runner_up_id=runner.strategy_id if runner else None,
            runner_up_score=runner.score if runner else None, candidates=candidates,
        )

    def classify_frame(self, frame: pd.DataFrame, text_column: str,
                       progress: Callable[[int], None] | None = None) -> pd.DataFrame:
        """Every input column, in order, followed by the result columns."""
        batch = self.classify_batch(frame[text_column].tolist(), progress=progress)
        return join_results(frame, self.result_columns(batch))

    # ------------------------------------------------------------------ files

    def classify_file(self, tasks: str | os.PathLike[str] | TaskSource, out: str | os.PathLike[str],
                      text_column: str | None = None, sheet: str | int | None = None,
                      chunk_rows: int = 20_000, progress: bool = False,
                      warn: Warn | None = None) -> RunSummary:
        """Stream a tasks file through the classifier into OUT, which appears only when complete."""
        summary = RunSummary()

        def note(message: str) -> None:
            summary.warnings.append(message)
            if warn is not None:
                warn(message)

        source = tasks if isinstance(tasks, TaskSource) else open_tasks(
            tasks, text_column=text_column, sheet=sheet, warn=note)
        bar = _progress_bar(count_rows_estimate(source)) if progress else None
        counts = {s.value: 0 for s in Status}
        first_row = 1
        long_rows: list[int] = []
        try:
            with ResultWriter(out) as writer:
                for chunk in iter_chunks(source, chunk_rows):
                    texts = chunk[source.text_column].tolist()
                    self._warn_long(texts, first_row, source.label, note, long_rows)
                    batch = self.classify_batch(texts, progress=bar.update if bar else None)
                    writer.write(join_results(chunk, self.result_columns(batch)))
                    for value, count in zip(*np.unique(batch.status, return_counts=True),
                                            strict=True):
                        counts[str(value)] += int(count)
                    first_row += len(chunk)
                    release_freed_memory()
        finally:
            if bar is not None:
                bar.close()
        if len(long_rows) > LONG_ROWS_NAMED:
            note(f"{source.label}: {len(long_rows) - LONG_ROWS_NAMED:,} more rows are longer "
                 f"than the model's window (rows {long_rows[LONG_ROWS_NAMED]}..{long_rows[-1]}); "
                 f"only their first {self.embedder.max_tokens} tokens are read")
        summary.rows = first_row - 1
        summary.status_counts = counts
        summary.out = str(out)
        return summary

    def _warn_long(self, texts: list[str], first_row: int, label: str, warn: Warn,
                   long_rows: list[int]) -> None:
        """Name the first few rows the model truncates; the rest are counted in `long_rows`."""
        window = self.embedder.max_tokens
        for offset, text in enumerate(texts):
            # Tokens average about 4 characters: shorter texts are not worth tokenizing twice.
            if len(text) > window * 3 and self.embedder.count_tokens(text) > window:
                long_rows.append(first_row + offset)
                if len(long_rows) <= LONG_ROWS_NAMED:
                    warn(f"{label}: row {first_row + offset}: task of {len(text):,} characters "
                         f"is longer than the model's window; only its first {window} tokens "
                         f"are read")


def release_freed_memory() -> None:
    """Hand memory freed by the last chunk back to the OS (glibc keeps it otherwise).

    Tensors of many shapes leave the heap fragmented; without this a 1,000,000-row run grew by
    hundreds of MB although each chunk frees what it used.
    """
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except OSError:  # not glibc (musl, say): nothing to trim
            pass


def join_results(frame: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """Input columns untouched and in order, then result columns (a re-run replaces old ones)."""
    kept = frame.drop(columns=[c for c in RESULT_COLUMNS if c in frame.columns])
    results.index = kept.index
    return pd.concat([kept, results], axis=1)


def _progress_bar(total: int | None):
    from tqdm import tqdm

    return tqdm(total=total, unit=" rows", file=sys.stderr, dynamic_ncols=True,
                desc="classifying", smoothing=0.1, mininterval=0.5)
