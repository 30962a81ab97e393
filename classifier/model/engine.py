"""The Classifier: plan + embedder + index + thresholds -> one result per task (texts in,
arrays or TaskResults out; files and stores are the pipeline's business)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..cells import is_blank_task
from ..plan import Plan, Thresholds
from ..results import (
    RESULT_COLUMNS,
    SCORE_DECIMALS,
    Candidate,
    Status,
    TaskResult,
    earlier_results,
)
from .decision import DEFAULT_THRESHOLDS, decide
from .embedding import Embedder, VectorBank, get_embedder
from .history import Earlier, EarlierUse
from .index import Matches, MatchSettings, StrategyIndex
from .learned import Learned
from .pieces import Pieces
from .reference import disowned, reference_texts, reference_vectors, relative_thresholds
from .words import WordMatch
from .work_text import work_text

Progress = Callable[[int], None]


@dataclass
class Batch:
    """Results for many tasks as arrays (the hot path); rows with blank text have `empty` set."""

    texts: list[str]
    empty: np.ndarray  # bool (n,)
    matches: Matches  # positions into the plan's strategies, best first; scores rounded
    status: np.ndarray  # object (n,), Status values

    def __len__(self) -> int:
        return len(self.texts)


class Classifier:
    """Classifies tasks against a plan's strategies; build once, call many times."""

    def __init__(self, plan: Plan, embedder: Embedder | None = None,
                 thresholds: Thresholds | None = None, match: MatchSettings | None = None,
                 top_k: int = 3, learned: Learned | None = None,
                 vectors: VectorBank | None = None, earlier: Earlier | None = None):
        """`thresholds` default to the plan's, else to cut-offs relative to how generic work
        scores against this plan (`reference`); `learned` (from review decisions) adds example
        texts and tasks that serve no strategy; `vectors` (the store) keeps task vectors;
        `earlier` are the plan's earlier runs' tasks (the store's), see `history`."""
        self.earlier = earlier or Earlier()
        self.vectors = vectors
        self.plan = plan
        self.embedder = embedder or get_embedder()
        self.learned = (learned or Learned()).for_plan(plan)
        self.match = match or MatchSettings()
        self.top_k = max(2, top_k)
        self.strategy_ids = [strategy.id for strategy in plan.strategies]
        self.strategy_names = [strategy.name for strategy in plan.strategies]
        texts: list[str] = []
        owners: list[int] = []
        examples: list[bool] = []  # texts that are examples refine the strategy prototypes
        for position, strategy in enumerate(plan.strategies):
            own = strategy.texts(phrases=self.match.phrases)
            learned_texts = [t for t in self.learned.examples.get(strategy.id, []) if t not in own]
            heads = len(own) - len(strategy.examples)
            for offset, text in enumerate(own + learned_texts):
                texts.append(text)
                owners.append(position)
                examples.append(offset >= heads)
        self.texts = texts
        parts = ([self._embed_tasks(list(self.learned.negatives))]
                 if self.learned.negatives else [])
        reference = reference_vectors(self.embedder) if self.match.reference else None
        if reference is not None:
            parts.append(reference)
        negatives = np.concatenate(parts) if parts else None
        # Examples are tasks (a reviewer's, or pasted from a tracker): read as their work.
        read = [self._read(text) if example else text
                for text, example in zip(texts, examples, strict=True)]
        self.index = StrategyIndex(self.embedder.embed(read, bank=vectors), np.array(owners),
                                   len(plan.strategies), texts, self.match,
                                   examples=np.array(examples, dtype=bool),
                                   negative_vectors=negatives,
                                   earlier_vectors=self._earlier_vectors(),
                                   words=self._words(plan))
        # How generic work scores against this plan: each reference task scored as a task,
        # its own copy among the negatives left out.
        self.reference_best: np.ndarray | None = None
        self.default_thresholds = DEFAULT_THRESHOLDS
        if reference is not None:
            offset = len(parts[0]) if len(parts) > 1 else 0
            found = self._search(reference, reference_texts(),
                                 exclude_negative=offset + np.arange(len(reference)))
            self.reference_best = np.round(found.score[:, 0], SCORE_DECIMALS)
            self.default_thresholds = relative_thresholds(self.reference_best)
            # Generic work this plan would not call misaligned ("Answer support tickets" for a
            # support team's plan) is no evidence that a task like it serves none.
            self.index.negative_weight[offset:] = disowned(self.reference_best,
                                                           self.default_thresholds)
        self.thresholds = thresholds or plan.thresholds or self.default_thresholds

    def _words(self, plan: Plan) -> WordMatch | None:
        if self.match.word_weight <= 0:
            return None
        # The statement only, not examples: a strategy's examples already speak through the
        # index's best-text score, and with them here CLINC150's teach-in learned more slowly.
        return WordMatch([strategy.statement() for strategy in plan.strategies],
                         reference_texts())

    def _earlier_vectors(self) -> np.ndarray | None:
        if not self.earlier:
            return None
        if self.earlier.vectors is None:
            self.earlier = dataclasses.replace(
                self.earlier, vectors=self._embed_tasks(list(self.earlier.texts)))
        return self.earlier.vectors

    def _search(self, vectors: np.ndarray, texts: Sequence[str],
                exclude_negative: np.ndarray | None = None) -> Matches:
        """The index's matches for embedded tasks, their long ones' pieces embedded too."""
        pieces = Pieces.of(texts) if self.match.pieces else None
        if pieces is not None and len(pieces):
            pieces = dataclasses.replace(
                pieces, vectors=self.embedder.embed(pieces.texts, bank=self.vectors))
        return self.index.search(vectors, k=self.top_k, exclude_negative=exclude_negative,
                                 texts=texts, pieces=pieces)

    def _embed_tasks(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        """Grid vectors of tasks, read as their work (model/work_text.py: no ticket keys, links)."""
        return self.embedder.embed([self._read(text) for text in texts],
                                   progress=progress, bank=self.vectors)

    def _read(self, task: str) -> str:
        """A task's text as it is matched."""
        return work_text(task) if self.match.work_text else task

    @property
    def earlier_use(self) -> EarlierUse:
        """What this classifier learned from earlier runs (recorded with the run it makes)."""
        return EarlierUse(self.earlier.runs, len(self.earlier.texts),
                          self.index.taught_by_earlier)

    def with_thresholds(self, thresholds: Thresholds) -> Classifier:
        """The same classifier (index shared, nothing re-embedded) deciding with other cut-offs."""
        other = copy.copy(self)
        other.thresholds = thresholds
        return other

    # ------------------------------------------------------------------ arrays

    def classify_batch(self, texts: Sequence[str | None],
                       progress: Progress | None = None) -> Batch:
        """Classify texts into arrays; blank texts (and placeholders such as "-": is_blank_task)
        are not embedded and get status `empty`."""
        plain = ["" if t is None else str(t) for t in texts]
        empty = np.array([is_blank_task(text) for text in plain], dtype=bool)
        filled = [text for text, blank in zip(plain, empty, strict=True) if not blank]
        if progress is not None and empty.any():
            progress(int(empty.sum()))
        read = [self._read(text) for text in filled]
        vectors = self.embedder.embed(read, progress=progress, bank=self.vectors)
        found = self._search(vectors, read)
        # Scores are rounded once, here: the status is decided on the number the output shows.
        found.score = np.round(found.score, SCORE_DECIMALS)
        k = found.strategy.shape[1]
        matches = Matches(
            strategy=np.full((len(plain), k), -1, dtype=np.int32),
            score=np.full((len(plain), k), np.nan, dtype=np.float64),
            evidence=np.full((len(plain), k), -1, dtype=np.int32),
        )
        matches.strategy[~empty] = found.strategy
        matches.score[~empty] = found.score
        matches.evidence[~empty] = found.evidence
        status = np.full(len(plain), Status.EMPTY.value, dtype=object)
        if len(filled):
            runner_up = found.score[:, 1] if k > 1 else np.full(len(filled), -np.inf)
            status[~empty] = decide(found.score[:, 0], runner_up, self.thresholds)
        return Batch(texts=plain, empty=empty, matches=matches, status=status)

    def result_columns(self, batch: Batch) -> pd.DataFrame:
        """The contract's result columns for a batch, one row per task, in order."""
        n = len(batch)
        ids = np.array(self.strategy_ids + [""], dtype=object)
        names = np.array(self.strategy_names + [""], dtype=object)
        texts = np.array(self.texts + [""], dtype=object)
        first = batch.matches.strategy[:, 0] if n else np.zeros(0, np.int32)
        has_runner = batch.matches.strategy.shape[1] > 1
        second = batch.matches.strategy[:, 1] if has_runner else np.full(n, -1)
        runner_score = batch.matches.score[:, 1] if has_runner else np.full(n, np.nan)
        return pd.DataFrame({
            "strategy_id": ids[first],
            "strategy": names[first],
            "score": batch.matches.score[:, 0] if n else np.zeros(0),
            "status": batch.status,
            "runner_up_id": ids[second],
            "runner_up_score": runner_score,
            "evidence": texts[batch.matches.evidence[:, 0]] if n else [],
        }, columns=RESULT_COLUMNS)

    def candidates(self, batch: Batch) -> list[tuple[Candidate, ...]]:
        """The top strategies of each task, best first (none for a blank task)."""
        out: list[tuple[Candidate, ...]] = []
        for row in range(len(batch)):
            if batch.empty[row]:
                out.append(())
                continue
            out.append(tuple(
                Candidate(self.strategy_ids[s], self.strategy_names[s], float(score),
                          self.texts[e] if 0 <= e < len(self.texts) else "")
                for s, score, e in zip(batch.matches.strategy[row], batch.matches.score[row],
                                       batch.matches.evidence[row], strict=True)
                if s >= 0 and np.isfinite(score)))
        return out

    # ------------------------------------------------------------------ objects

    def classify(self, texts: Sequence[str]) -> list[TaskResult]:
        """Classify a list of task texts; one TaskResult each, in order."""
        batch = self.classify_batch(texts)
        return [result_of(batch, row, found)
                for row, found in enumerate(self.candidates(batch))]

    def classify_frame(self, frame: pd.DataFrame, text_column: str,
                       progress: Progress | None = None) -> pd.DataFrame:
        """Every input column, in order, followed by the result columns."""
        batch = self.classify_batch(frame[text_column].tolist(), progress=progress)
        return join_results(frame, self.result_columns(batch))


def result_of(batch: Batch, row: int, candidates: tuple[Candidate, ...]) -> TaskResult:
    """One row of a batch as a TaskResult."""
    text = batch.texts[row]
    if batch.empty[row] or not candidates:
        return TaskResult(text=text, status=Status.EMPTY)
    best = candidates[0]
    runner = candidates[1] if len(candidates) > 1 else None
    return TaskResult(
        text=text, status=Status(str(batch.status[row])), strategy_id=best.strategy_id,
        strategy=best.strategy, score=best.score, evidence=best.evidence,
        runner_up_id=runner.strategy_id if runner else None,
        runner_up_score=runner.score if runner else None, candidates=candidates,
    )


def join_results(frame: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """Input columns untouched and in order, then result columns (a re-run replaces old ones:
    results, and who decided or what the LLM said of them)."""
    kept = frame.drop(columns=earlier_results(frame.columns))
    results.index = kept.index
    return pd.concat([kept, results], axis=1)
