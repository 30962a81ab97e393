"""Scoring labeled tasks with a classifier, for `evaluate`, `calibrate` and the benchmarks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .decision import Scored
from .engine import Classifier
from .errors import ClassifierError


def score_labeled(classifier: Classifier, texts: Sequence[str], labels: Sequence[str | None],
                  source: str = "labeled rows") -> Scored:
    """Match labeled texts; unknown labels are refused with their row; blank texts are skipped."""
    known = set(classifier.strategy_ids)
    for row, label in enumerate(labels, start=1):
        if label is not None and label not in known:
            raise ClassifierError(f"{source}: row {row}: label {label!r} is not a strategy id "
                                  f"of the plan ({', '.join(classifier.strategy_ids)})")
    keep = [i for i, text in enumerate(texts) if text is not None and str(text).strip()]
    if not keep:
        raise ClassifierError(f"{source}: no labeled tasks to score")
    batch = classifier.classify_batch([str(texts[i]) for i in keep])
    scores = batch.matches.score
    runner_up = scores[:, 1] if scores.shape[1] > 1 else np.full(len(keep), -np.inf)
    return Scored(best=scores[:, 0].astype(np.float64), runner_up=runner_up.astype(np.float64),
                  predicted=[classifier.strategy_ids[s] for s in batch.matches.strategy[:, 0]],
                  gold=[labels[i] for i in keep])
