"""Scoring labeled tasks with a classifier, and the metrics `evaluate` and benchmarks print."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..cells import is_blank_task
from ..errors import ClassifierError
from ..plan import NO_STRATEGY_ID, Thresholds
from ..results import Status
from .decision import Scored, decide
from .engine import Classifier


def score_labeled(classifier: Classifier, texts: Sequence[str], labels: Sequence[str | None],
                  source: str = "labeled rows", first_row: int = 1) -> Scored:
    """Match labeled texts; a label is a strategy id or name (`Plan.meant`), an unknown one is
    refused with its row (the first label's is `first_row`: 2 under a spreadsheet's header);
    blank texts (and placeholders such as "-") are skipped, as a run leaves them empty."""
    meant: list[str | None] = []
    for row, label in enumerate(labels, start=first_row):
        strategy = None if label is None else classifier.plan.meant(label)
        if label is not None and strategy is None:
            raise ClassifierError(f"{source}: row {row}: label {label!r} is neither a strategy "
                                  f"id of the plan ({', '.join(classifier.strategy_ids)}) nor "
                                  f"a strategy's name")
        meant.append(None if strategy in (None, NO_STRATEGY_ID) else strategy)
    labels = meant
    keep = [i for i, text in enumerate(texts) if not is_blank_task(text)]
    if not keep:
        raise ClassifierError(f"{source}: no labeled tasks to score")
    batch = classifier.classify_batch([str(texts[i]) for i in keep])
    scores = batch.matches.score
    runner_up = scores[:, 1] if scores.shape[1] > 1 else np.full(len(keep), -np.inf)
    return Scored(best=scores[:, 0].astype(np.float64), runner_up=runner_up.astype(np.float64),
                  predicted=[classifier.strategy_ids[s] for s in batch.matches.strategy[:, 0]],
                  gold=[labels[i] for i in keep])


def _f1(flag: np.ndarray, positive: np.ndarray) -> tuple[float, float, float]:
    true_positive = float(np.sum(flag & positive))
    precision = true_positive / max(float(np.sum(flag)), 1.0)
    recall = true_positive / max(float(np.sum(positive)), 1.0)
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return precision, recall, f1


def metrics(scored: Scored, thresholds: Thresholds) -> dict[str, Any]:
    """Top-1 accuracy, accuracy of the whole decision, misaligned P/R/F1 and AUROC of the score."""
    status = decide(scored.best, scored.runner_up, thresholds)
    gold_none = np.array([label is None for label in scored.gold])
    correct = np.array([p == g for p, g in zip(scored.predicted, scored.gold, strict=True)])
    flagged = status == Status.MISALIGNED.value
    decided_correctly = np.where(flagged, gold_none, correct & ~gold_none)
    precision, recall, f1 = _f1(flagged, gold_none)
    result = {
        "rows": int(len(status)),
        "labeled_rows": int(np.sum(~gold_none)),
        "no_strategy_rows": int(np.sum(gold_none)),
        "top1_accuracy": _mean(correct[~gold_none]),
        "decision_accuracy": _mean(decided_correctly),
        "misaligned_precision": round(precision, 4),
        "misaligned_recall": round(recall, 4),
        "misaligned_f1": round(f1, 4),
        "auroc": auroc(scored.best, ~gold_none),
        "status_counts": {s.value: int(np.sum(status == s.value))
                          for s in (Status.ALIGNED, Status.REVIEW, Status.MISALIGNED)},
        "review_rows_correct": _mean(correct[status == Status.REVIEW.value]),
        "aligned_rows_correct": _mean(correct[status == Status.ALIGNED.value]),
        "thresholds": thresholds.model_dump(exclude_none=True),
    }
    return result


def _mean(values: np.ndarray) -> float | None:
    return round(float(np.mean(values)), 4) if len(values) else None


def auroc(score: np.ndarray, positive: np.ndarray) -> float | None:
    """Area under the ROC curve of `score` for telling `positive` rows apart; None if one class."""
    positive = np.asarray(positive, dtype=bool)
    if positive.all() or not positive.any():
        return None
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(positive, np.asarray(score, dtype=np.float64))), 4)
