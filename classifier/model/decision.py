"""The status rule (aligned / review / misaligned), its default thresholds, and calibration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..cells import is_blank
from ..plan import Thresholds, means_no_strategy
from ..results import Status

# What calibrate() fits for the bundled all-MiniLM-L6-v2 on CLINC150 val + oos_val with a
# zero-shot plan (intent names only, like a new user's plan): benchmarks/clinc150.py.
DEFAULT_THRESHOLDS = Thresholds(aligned=0.466, misaligned=0.369, margin=0.08,
                                fitted_on="CLINC150 val+oos_val zero-shot, all-MiniLM-L6-v2")


def decide(best: np.ndarray, runner_up: np.ndarray, thresholds: Thresholds) -> np.ndarray:
    """The status of each task from its best and runner-up scores (an array of Status values)."""
    best = np.asarray(best, dtype=np.float64)
    runner_up = np.asarray(runner_up, dtype=np.float64)
    runner_up = np.where(np.isfinite(runner_up), runner_up, -np.inf)
    status = np.full(best.shape, Status.ALIGNED.value, dtype=object)
    doubtful = (best < thresholds.aligned) | ((best - runner_up) < thresholds.margin)
    status[doubtful] = Status.REVIEW.value
    status[best < thresholds.misaligned] = Status.MISALIGNED.value
    return status


@dataclass
class Scored:
    """Labeled rows after matching: what the machine said, and what the label says."""

    best: np.ndarray  # best score per row
    runner_up: np.ndarray  # runner-up score per row
    predicted: list[str]  # best strategy id per row
    gold: list[str | None]  # gold strategy id, None for "serves no strategy"


def misaligned_cut(best: np.ndarray, none: np.ndarray) -> float | None:
    """The best-score cut where the share of no-strategy rows let through equals the share of
    strategy rows flagged (equal error rate); None unless both kinds are present.

    Unlike an F1-best cut it does not move with how many no-strategy rows the labeled set holds:
    on CLINC150 val (3% out of scope) the F1-best cut gave test F1 0.62-0.66, this one 0.76.
    """
    best = np.asarray(best, dtype=np.float64)
    none = np.asarray(none, dtype=bool)
    if none.all() or not none.any():
        return None
    candidates = np.unique(np.round(best, 4))
    flagged_none = np.searchsorted(np.sort(best[none]), candidates, side="left")
    flagged_real = np.searchsorted(np.sort(best[~none]), candidates, side="left")
    # Rows below a cut are flagged: misses are no-strategy rows at or above it.
    missed = 1.0 - flagged_none / none.sum()
    false_flags = flagged_real / (~none).sum()
    gap = np.abs(missed - false_flags)
    winners = candidates[np.isclose(gap, gap.min())]
    return round(float(winners[len(winners) // 2]), 4)


def calibrate(scored: Scored, current: Thresholds = DEFAULT_THRESHOLDS,
              aligned_precision: float = 0.9, fitted_on: str | None = None) -> Thresholds:
    """Fit thresholds on labeled rows.

    `misaligned` is `misaligned_cut` (needs rows of both kinds, else it is kept); `aligned` and
    `margin` are the smallest review band after which tasks called aligned are right at least
    `aligned_precision` of the time.
    """
    best = np.asarray(scored.best, dtype=np.float64)
    runner_up = np.asarray(scored.runner_up, dtype=np.float64)
    runner_up = np.where(np.isfinite(runner_up), runner_up, -1.0)
    gold_none = np.array([label is None for label in scored.gold])
    correct = np.array([p == g for p, g in zip(scored.predicted, scored.gold, strict=True)])

    cut = misaligned_cut(best, gold_none)
    misaligned = current.misaligned if cut is None else cut

    kept = best >= misaligned
    good = correct & ~gold_none
    best_choice = (current.aligned if current.aligned >= misaligned else misaligned,
                   current.margin)
    if kept.any():
        best_review = None
        for aligned in np.unique(np.round(np.r_[misaligned, best[kept]], 3)):
            if aligned < misaligned:
                continue
            for margin in (0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12):
                confident = kept & (best >= aligned) & ((best - runner_up) >= margin)
                if not confident.any():
                    continue
                precision = float(np.mean(good[confident]))
                review = int(np.sum(kept & ~confident))
                if precision >= aligned_precision and (best_review is None or review < best_review):
                    best_review, best_choice = review, (float(aligned), margin)
        if best_review is None:  # no band reaches the precision: send all doubtful cases to review
            best_choice = (float(np.quantile(best[kept], 0.9)), 0.05)
    aligned, margin = best_choice
    return Thresholds(aligned=round(max(aligned, misaligned), 4), misaligned=round(misaligned, 4),
                      margin=margin, fitted_on=fitted_on)


def labels_from_column(values: Sequence[object]) -> list[str | None]:
    """Gold labels from a label column: an empty cell, `none` or "serves no strategy" (as in a
    decisions file) means the task serves no strategy."""
    return [None if is_blank(value) or means_no_strategy(str(value)) else str(value).strip()
            for value in values]
