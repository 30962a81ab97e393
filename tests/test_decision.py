"""The status rule, calibration and metrics on exact, hand-made scores."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.model.decision import (
    DEFAULT_THRESHOLDS,
    Scored,
    calibrate,
    decide,
    misaligned_cut,
)
from classifier.model.evaluation import metrics
from classifier.plan import Thresholds
from classifier.results import Status

RULE = Thresholds(aligned=0.6, misaligned=0.4, margin=0.05)


@pytest.mark.parametrize(("best", "runner_up", "status"), [
    (0.60, 0.10, Status.ALIGNED),     # exactly at `aligned` is aligned
    (0.80, 0.75, Status.ALIGNED),     # margin exactly met
    (0.80, 0.76, Status.REVIEW),      # two strategies too close
    (0.5999, 0.10, Status.REVIEW),    # just under `aligned`
    (0.40, 0.10, Status.REVIEW),      # exactly at `misaligned` is not misaligned
    (0.3999, 0.10, Status.MISALIGNED),
    (0.30, 0.29, Status.MISALIGNED),  # misaligned wins over a close runner-up
    (0.90, float("-inf"), Status.ALIGNED),  # a plan of one strategy has no runner-up
    (0.90, float("nan"), Status.ALIGNED),
])
def test_status_rule_edges(best, runner_up, status):
    assert decide(np.array([best]), np.array([runner_up]), RULE)[0] == status.value


@pytest.mark.parametrize(("thresholds", "best", "runner_up", "status"), [
    (Thresholds(aligned=0.0, misaligned=0.0, margin=0.0), 0.0, 0.0, Status.ALIGNED),
    (Thresholds(aligned=0.0, misaligned=0.0, margin=0.0), -0.01, -0.5, Status.MISALIGNED),
    (Thresholds(aligned=0.5, misaligned=0.0, margin=0.0), 0.2, 0.2, Status.REVIEW),
    (Thresholds(aligned=0.5, misaligned=0.3, margin=0.0), 0.7, 0.7, Status.ALIGNED),
])
def test_thresholds_of_zero_are_honoured(thresholds, best, runner_up, status):
    assert decide(np.array([best]), np.array([runner_up]), thresholds)[0] == status.value


def test_default_thresholds_are_ordered_and_say_where_they_come_from():
    assert 0 < DEFAULT_THRESHOLDS.misaligned <= DEFAULT_THRESHOLDS.aligned < 1
    assert "CLINC150" in DEFAULT_THRESHOLDS.fitted_on


def tiny() -> Scored:
    """Four strategy rows (three right) and two no-strategy rows, scores made by hand."""
    return Scored(best=np.array([0.9, 0.7, 0.5, 0.45, 0.35, 0.2]),
                  runner_up=np.array([0.2, 0.68, 0.3, 0.1, 0.3, 0.1]),
                  predicted=["a", "b", "a", "b", "a", "b"],
                  gold=["a", "b", "b", "b", None, None])


def test_metrics_on_a_tiny_example():
    result = metrics(tiny(), RULE)
    # Statuses: aligned, review (margin 0.02), review, review, misaligned, misaligned.
    assert result["status_counts"] == {"aligned": 1, "review": 3, "misaligned": 2}
    assert result["rows"] == 6 and result["labeled_rows"] == 4 and result["no_strategy_rows"] == 2
    assert result["top1_accuracy"] == 0.75
    assert result["misaligned_precision"] == 1.0 and result["misaligned_recall"] == 1.0
    assert result["misaligned_f1"] == 1.0
    assert result["decision_accuracy"] == round(5 / 6, 4)
    assert result["auroc"] == 1.0
    assert result["aligned_rows_correct"] == 1.0
    assert result["review_rows_correct"] == round(2 / 3, 4)


def test_metrics_count_a_flagged_strategy_row_as_a_wrong_decision():
    result = metrics(tiny(), Thresholds(aligned=0.6, misaligned=0.48, margin=0.0))
    assert result["misaligned_precision"] == round(2 / 3, 4)
    assert result["misaligned_recall"] == 1.0
    assert result["misaligned_f1"] == 0.8
    assert result["decision_accuracy"] == round(4 / 6, 4)


def test_auroc_is_none_with_one_class():
    scored = Scored(np.array([0.5, 0.6]), np.array([0.1, 0.1]), ["a", "a"], ["a", "a"])
    assert metrics(scored, RULE)["auroc"] is None


def synthetic(seed: int, n_real: int, n_none: int) -> Scored:
    """Strategy rows score around 0.6, no-strategy rows around 0.3; 10% of strategy rows are
    predicted wrong, and those have a small margin."""
    rng = np.random.default_rng(seed)
    best = np.r_[rng.normal(0.6, 0.08, n_real), rng.normal(0.3, 0.08, n_none)]
    wrong = np.r_[rng.random(n_real) < 0.1, np.zeros(n_none, bool)]
    runner_up = best - np.where(wrong, 0.01, 0.15)
    gold = [f"s{i % 5}" for i in range(n_real)] + [None] * n_none
    predicted = [("x" if w else g) if g else "s0" for g, w in zip(gold, wrong, strict=True)]
    return Scored(best, runner_up, predicted, gold)


def test_calibrate_puts_the_misaligned_cut_between_the_classes():
    fitted = calibrate(synthetic(0, 900, 300), DEFAULT_THRESHOLDS, fitted_on="synthetic")
    assert 0.4 < fitted.misaligned < 0.5
    assert fitted.misaligned <= fitted.aligned
    assert fitted.fitted_on == "synthetic"
    assert metrics(synthetic(1, 900, 300), fitted)["misaligned_f1"] > 0.85


def test_calibrated_cut_does_not_move_with_how_many_rows_serve_no_strategy():
    few = calibrate(synthetic(0, 3000, 100)).misaligned
    many = calibrate(synthetic(0, 3000, 1000)).misaligned
    assert abs(few - many) < 0.03


def test_calibrate_sends_close_calls_to_review_so_aligned_rows_are_right():
    scored = synthetic(2, 900, 300)
    fitted = calibrate(scored, aligned_precision=0.97)
    assert fitted.margin > 0.01
    assert metrics(scored, fitted)["aligned_rows_correct"] >= 0.97


@pytest.mark.parametrize("gold", [["a", "a", "a"], [None, None, None]])
def test_calibrate_keeps_the_misaligned_cut_without_both_kinds_of_rows(gold):
    scored = Scored(np.array([0.9, 0.5, 0.2]), np.array([0.1, 0.1, 0.1]), ["a", "a", "a"], gold)
    fitted = calibrate(scored, RULE)
    assert fitted.misaligned == RULE.misaligned
    assert fitted.aligned >= fitted.misaligned


def test_misaligned_cut_at_equal_error_rate():
    best = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    none = np.array([True, True, True, False, True, False, False, False])
    # At 0.5: one of four no-strategy rows let through, one of four strategy rows flagged.
    cut = misaligned_cut(best, none)
    assert 0.4 < cut <= 0.5
    assert misaligned_cut(best, np.zeros(8, bool)) is None
