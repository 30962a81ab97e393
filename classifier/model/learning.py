"""Learning from review decisions: a classifier that knows them, with thresholds re-fitted.

Every confirmed or reassigned task becomes an extra text of its strategy in the index; every task
marked as serving no strategy becomes a negative example (see `index`). Past enough decisions the
thresholds are re-fitted from them, each decided task scored by a classifier built without it.
"""

from __future__ import annotations

import numpy as np

from ..plan import Plan, Thresholds
from .decision import Scored, calibrate
from .embedding import Embedder, VectorBank, get_embedder
from .engine import Classifier
from .evaluation import score_labeled
from .history import Earlier
from .index import MatchSettings
from .learned import Learned

FOLDS = 5


def build_classifier(plan: Plan, embedder: Embedder | None = None,
                     learned: Learned | None = None, match: MatchSettings | None = None,
                     vectors: VectorBank | None = None, earlier: Earlier | None = None
                     ) -> Classifier:
    """A classifier for the plan that knows the decisions in `learned` and the plan's `earlier`
    tasks, with thresholds re-fitted from the decisions once there are enough (else the plan's,
    else the plan-relative ones)."""
    embedder = embedder or get_embedder()
    learned = (learned or Learned()).for_plan(plan)
    classifier = Classifier(plan, embedder, match=match, learned=learned, vectors=vectors,
                            earlier=earlier)
    # The classifier's own `earlier` carries the vectors it embedded: the folds reuse them.
    fitted = fit_thresholds(plan, embedder, learned, classifier.thresholds, match,
                            earlier=classifier.earlier)
    return classifier.with_thresholds(fitted) if fitted is not None else classifier


def fit_thresholds(plan: Plan, embedder: Embedder, learned: Learned, base: Thresholds,
                   match: MatchSettings | None = None, folds: int = FOLDS,
                   earlier: Earlier | None = None) -> Thresholds | None:
    """Thresholds re-fitted from review decisions, or None while there are too few.

    The rule: once there are at least MIN_DECISIONS decisions, with at least MIN_EACH_KIND tasks
    given a strategy and MIN_EACH_KIND given none, every decided task is scored by a classifier
    built without it (`folds`-fold, so a task never matches itself); `decision.calibrate` fits
    `aligned` and `margin` on those scores against what the reviewer said, and `misaligned` is
    the `youden_cut` (CLINC150, 300 reviews: misaligned F1 0.71 against 0.56-0.65 for F1-best).
    """
    if not learned.enough_for_thresholds():
        return None
    texts, labels = learned.labeled()
    parts: list[Scored] = []
    for fold in range(folds):
        held = [i for i in range(len(texts)) if i % folds == fold]
        if not held:
            continue
        held_set = set(held)
        rest = [i for i in range(len(texts)) if i not in held_set]
        training = Learned.from_labels([texts[i] for i in rest], [labels[i] for i in rest])
        classifier = Classifier(plan, embedder, thresholds=base, match=match, learned=training,
                                earlier=earlier)
        parts.append(score_labeled(classifier, [texts[i] for i in held],
                                   [labels[i] for i in held], source="review decisions"))
    scored = Scored(best=np.concatenate([p.best for p in parts]),
                    runner_up=np.concatenate([p.runner_up for p in parts]),
                    predicted=[x for p in parts for x in p.predicted],
                    gold=[x for p in parts for x in p.gold])
    fitted = calibrate(scored, base, fitted_on=f"{learned.decisions} review decisions")
    return with_review_band(fitted, scored.best, np.array([g is None for g in scored.gold]))


def with_review_band(fitted: Thresholds, best: np.ndarray, none: np.ndarray) -> Thresholds:
    """`fitted` with its misaligned cut from decided tasks' scores (`best`; `none`: said to
    serve no strategy) and the doubt about it in review."""
    winners = _near_best_cuts(best, none)
    if winners is None:
        return fitted
    # Misaligned below the middle of the cuts that tell the two kinds apart nearly best
    # (misaligned F1 0.71 on CLINC150 after 300 reviews; their lowest flagged a third as much,
    # F1 0.30 after 100 decisions with history). Above it, up to the highest such cut, the
    # decisions cannot tell the kinds apart: doubt, which goes to review. The middle as both
    # cut-offs left no review band (30 decisions of a marketing team: 0.3496 and 0.3496).
    return fitted.model_copy(update={
        "misaligned": round(float(np.mean(winners)), 4),
        "aligned": max(fitted.aligned, round(float(winners.max()), 4))})


def youden_cut(best: np.ndarray, none: np.ndarray) -> float | None:
    """The score cut that best tells no-strategy tasks apart (max recall minus false alarms).

    Reviewed tasks come from the review queue, far richer in no-strategy work than a week's list,
    so an F1-best cut on them lands too low; this rule does not depend on how many there are.
    """
    winners = _near_best_cuts(best, none)
    return None if winners is None else round(float(np.mean(winners)), 4)


def _near_best_cuts(best: np.ndarray, none: np.ndarray) -> np.ndarray | None:
    # A plateau, not the single best cut: a few reviewed tasks move that one a lot.
    best = np.asarray(best, dtype=np.float64)
    candidates = np.unique(np.round(best, 4))
    gain = [np.mean(best[none] < cut) - np.mean(best[~none] < cut) for cut in candidates]
    if max(gain) <= 0:  # no cut tells them apart: leave it to calibrate
        return None
    return candidates[np.asarray(gain) >= 0.9 * max(gain)]
