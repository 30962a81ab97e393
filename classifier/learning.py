"""What the classifier learns from review decisions: examples, negative examples, thresholds.

Every confirmed or reassigned task becomes an extra text of its strategy in the index; every task
marked as serving no strategy becomes a negative example. A task nearer a negative example than
any strategy text loses score by the difference, so it drifts towards `misaligned`; output strategy
ids stay the plan's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import faiss
import numpy as np

from .decision import Scored, calibrate
from .index import Matches
from .plan import Plan, Thresholds

if TYPE_CHECKING:
    import pandas as pd

    from .embedding import Embedder
    from .index import MatchSettings

# Thresholds are re-fitted from decisions only past this many, with this many of each kind
# (tasks given a strategy, tasks given none): fewer make the cut-offs jump with every click.
MIN_DECISIONS = 30
MIN_EACH_KIND = 3
FOLDS = 5


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or not str(value).strip()


@dataclass(frozen=True)
class Learned:
    """Examples learned from decisions: texts per strategy id, negatives, and how many decisions."""

    examples: dict[str, list[str]] = field(default_factory=dict)
    negatives: list[str] = field(default_factory=list)
    decisions: int = 0

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Learned:
        """From `Store.learned_examples`: removed rows are skipped; a text decided twice keeps
        its latest decision; an empty strategy id means "serves no strategy"."""
        if frame is None or frame.empty:
            return cls()
        rows = frame
        if "removed" in rows.columns:
            rows = rows[~rows["removed"].fillna(False).astype(bool)]
        if "decided_at" in rows.columns:
            rows = rows.sort_values("decided_at", kind="stable")
        latest: dict[str, str | None] = {}
        for text, strategy_id in zip(rows["text"].tolist(), rows["strategy_id"].tolist(),
                                     strict=True):
            if _blank(text):
                continue
            key = str(text).strip()
            latest.pop(key, None)  # re-insert so order follows the latest decision
            latest[key] = None if _blank(strategy_id) else str(strategy_id).strip()
        return cls.from_labels(list(latest), list(latest.values()))

    @classmethod
    def from_labels(cls, texts: Sequence[str], labels: Sequence[str | None]) -> Learned:
        """From decided texts and their strategy ids (None: serves no strategy)."""
        examples: dict[str, list[str]] = {}
        negatives: list[str] = []
        for text, label in zip(texts, labels, strict=True):
            if label is None:
                negatives.append(text)
            else:
                examples.setdefault(label, []).append(text)
        return cls(examples, negatives, len(texts))

    def labeled(self) -> tuple[list[str], list[str | None]]:
        """Every decided text with its strategy id (None for a negative)."""
        texts = [t for examples in self.examples.values() for t in examples] + self.negatives
        labels: list[str | None] = [sid for sid, examples in self.examples.items()
                                    for _ in examples]
        return texts, labels + [None] * len(self.negatives)

    def for_plan(self, plan: Plan) -> Learned:
        """Only examples of strategies the plan still has (a removed strategy's are ignored)."""
        ids = set(plan.ids)
        kept = {sid: list(texts) for sid, texts in self.examples.items() if sid in ids}
        count = sum(map(len, kept.values())) + len(self.negatives)
        return Learned(kept, list(self.negatives), count)

    def enough_for_thresholds(self) -> bool:
        """True once thresholds may be re-fitted from these decisions (see `fit_thresholds`)."""
        positives = sum(map(len, self.examples.values()))
        return (self.decisions >= MIN_DECISIONS and positives >= MIN_EACH_KIND
                and len(self.negatives) >= MIN_EACH_KIND)


def load_learned(store: Any, plan_name: str = "default") -> Learned:
    """What the store has learned for this plan (decisions not removed)."""
    return Learned.from_frame(store.learned_examples(plan_name))


class NegativeAwareIndex:
    """A strategy index whose scores drop, for every strategy alike, by how much nearer a task
    is to a negative example than to any strategy text (order and margin are kept)."""

    def __init__(self, index: Any, text_vectors: np.ndarray, negative_vectors: np.ndarray):
        self.index = index
        dimension = text_vectors.shape[1]
        self._texts = faiss.IndexFlatIP(dimension)
        self._texts.add(np.ascontiguousarray(text_vectors, dtype=np.float32))
        self._negatives = faiss.IndexFlatIP(dimension)
        self._negatives.add(np.ascontiguousarray(negative_vectors, dtype=np.float32))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.index, name)

    def search(self, vectors: np.ndarray, k: int = 3) -> Matches:
        """The wrapped index's matches, with the negative penalty taken off every score."""
        found = self.index.search(vectors, k)
        if len(vectors) == 0:
            return found
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        # Exact in float32 for grid vectors (embedding.to_grid); the arithmetic after is float64.
        nearest_text = self._texts.search(vectors, 1)[0][:, 0].astype(np.float64)
        nearest_negative = self._negatives.search(vectors, 1)[0][:, 0].astype(np.float64)
        penalty = np.maximum(nearest_negative - nearest_text, 0.0)
        # Floored at zero: a negative score reads as a bug to a person, and zero is misaligned.
        score = np.maximum(found.score - penalty[:, None], np.minimum(found.score, 0.0))
        return Matches(strategy=found.strategy, score=score, evidence=found.evidence)


def with_negatives(index: Any, text_vectors: np.ndarray, negatives: Sequence[str],
                   embedder: Embedder) -> Any:
    """The index itself when there are no negatives, else it wrapped in a NegativeAwareIndex."""
    if not negatives:
        return index
    return NegativeAwareIndex(index, text_vectors, embedder.embed(list(negatives)))


def fit_thresholds(plan: Plan, embedder: Embedder, learned: Learned, base: Thresholds,
                   match: MatchSettings | None = None, folds: int = FOLDS) -> Thresholds | None:
    """Thresholds re-fitted from review decisions, or None while there are too few.

    The rule: once there are at least MIN_DECISIONS decisions, with at least MIN_EACH_KIND tasks
    given a strategy and MIN_EACH_KIND given none, every decided task is scored by a classifier
    built without it (`folds`-fold, so a task never matches itself); `decision.calibrate` fits
    `aligned` and `margin` on those scores against what the reviewer said, and `misaligned` is
    the `youden_cut` (CLINC150, 300 reviews: misaligned F1 0.71 against 0.56-0.65 for F1-best).
    """
    if not learned.enough_for_thresholds():
        return None
    from .engine import Classifier
    from .evaluation import score_labeled

    texts, labels = learned.labeled()
    parts: list[Scored] = []
    for fold in range(folds):
        held = [i for i in range(len(texts)) if i % folds == fold]
        if not held:
            continue
        held_set = set(held)
        rest = [i for i in range(len(texts)) if i not in held_set]
        training = Learned.from_labels([texts[i] for i in rest], [labels[i] for i in rest])
        classifier = Classifier(plan, embedder, thresholds=base, match=match, learned=training)
        parts.append(score_labeled(classifier, [texts[i] for i in held],
                                   [labels[i] for i in held], source="review decisions"))
    scored = Scored(best=np.concatenate([p.best for p in parts]),
                    runner_up=np.concatenate([p.runner_up for p in parts]),
                    predicted=[x for p in parts for x in p.predicted],
                    gold=[x for p in parts for x in p.gold])
    fitted = calibrate(scored, base, fitted_on=f"{learned.decisions} review decisions")
    misaligned = youden_cut(scored.best, np.array([g is None for g in scored.gold]))
    if misaligned is None:
        return fitted
    return fitted.model_copy(update={"misaligned": misaligned,
                                     "aligned": max(fitted.aligned, misaligned)})


def youden_cut(best: np.ndarray, none: np.ndarray) -> float | None:
    """The score cut that best tells no-strategy tasks apart (max recall minus false alarms).

    Reviewed tasks come from the review queue, far richer in no-strategy work than a week's list,
    so an F1-best cut on them lands too low; this rule does not depend on how many there are.
    """
    best = np.asarray(best, dtype=np.float64)
    candidates = np.unique(np.round(best, 4))
    gain = [np.mean(best[none] < cut) - np.mean(best[~none] < cut) for cut in candidates]
    if max(gain) <= 0:  # no cut tells them apart: leave it to calibrate
        return None
    # The middle of the near-best plateau: a few reviewed tasks move the single best cut a lot.
    winners = candidates[np.asarray(gain) >= 0.9 * max(gain)]
    return round(float(np.mean(winners)), 4)
