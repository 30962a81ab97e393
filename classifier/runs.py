"""Classification runs kept in the store: classify a table into a new run, re-run an old one.

What the review app does with a run lives here, so the pages only arrange widgets around it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from .engine import RESULT_COLUMNS, Batch, Candidate, Classifier, TaskResult, join_results
from .errors import StoreError
from .store import RunInfo, Store

Progress = Callable[[int], None]


def candidates_of(classifier: Classifier, batch: Batch) -> list[list[dict]]:
    """The top strategies of each task as plain dicts (strategy_id, strategy, score, evidence)."""
    out: list[list[dict]] = []
    for row in range(len(batch)):
        if batch.empty[row]:
            out.append([])
            continue
        found = []
        for position, score, evidence in zip(batch.matches.strategy[row], batch.matches.score[row],
                                             batch.matches.evidence[row], strict=True):
            if position < 0 or not np.isfinite(score):
                continue
            found.append({
                "strategy_id": classifier.strategy_ids[position],
                "strategy": classifier.strategy_names[position],
                "score": round(float(score), 4),
                "evidence": classifier.texts[evidence] if 0 <= evidence < len(classifier.texts)
                else "",
            })
        out.append(found)
    return out


def classify_into_store(store: Store, classifier: Classifier, plan_version: int,
                        frame: pd.DataFrame, text_column: str, source: str,
                        progress: Progress | None = None) -> int:
    """Classify every row of `frame` (other columns kept) and store it as a new run; its id."""
    if text_column not in frame.columns:
        raise StoreError(f"{source}: no column {text_column!r} to classify")
    batch = classifier.classify_batch(frame[text_column].tolist(), progress=progress)
    classified = join_results(frame.reset_index(drop=True), classifier.result_columns(batch))
    return store.create_run(plan_version, classified, text_column, source,
                            classifier.embedder.model_name, classifier.thresholds,
                            candidates=candidates_of(classifier, batch))


def input_frame(store: Store, run: RunInfo) -> pd.DataFrame:
    """The tasks a run was made from: its input columns only, in their order."""
    results = store.run_results(run.id)
    columns = [c for c in run.columns if c in results.columns and c not in RESULT_COLUMNS]
    if run.text_column not in columns:
        columns.append(run.text_column)
    return results[columns].reset_index(drop=True)


def rerun(store: Store, classifier: Classifier, plan_version: int, run: RunInfo,
          progress: Progress | None = None) -> int:
    """Classify an earlier run's tasks again (e.g. with an edited plan) as a new run; its id."""
    return classify_into_store(store, classifier, plan_version, input_frame(store, run),
                               run.text_column, run.source, progress=progress)


def is_stale(store: Store, run: RunInfo) -> bool:
    """True when the plan's strategies or thresholds changed after the run was made
    (a reworded vision alone does not change any result)."""
    latest = store.latest_plan(run.plan_name)
    if latest is None or latest[0] == run.plan_version:
        return False
    before, now = store.plan(run.plan_version), latest[1]
    return before.strategies != now.strategies or before.thresholds != now.thresholds


DECISION_COLUMNS = ["machine_strategy_id", "machine_status", "decision", "decided_by", "decided_at"]


def results_for_download(store: Store, run: RunInfo) -> pd.DataFrame:
    """One row per task: the input columns, the result columns with each person's decision
    applied (strategy_id, strategy, status), then what the machine said and who decided when."""
    results = store.results_with_decisions(run.id)
    inputs = [c for c in run.columns if c in results.columns and c not in RESULT_COLUMNS]
    decided = results["decision"].notna()
    out = results[inputs].copy()
    out["strategy_id"] = results["final_strategy_id"]
    out["strategy"] = results["final_strategy"]
    out["score"] = results["score"]
    out["status"] = results["final_status"]
    for column in ("runner_up_id", "runner_up_score", "evidence"):
        out[column] = results[column]
    out["machine_strategy_id"] = results["strategy_id"]
    out["machine_status"] = results["status"]
    out["decision"] = results["decision"].where(decided, "")
    out["decided_by"] = results["decided_by"].where(decided, "")
    out["decided_at"] = results["decided_at"]
    return out.reset_index(drop=True)


def task_result(row: pd.Series, text_column: str) -> TaskResult:
    """One stored result row (with its `candidates`) as the engine's TaskResult."""
    candidates = tuple(
        Candidate(c["strategy_id"], c["strategy"], float(c["score"]), c.get("evidence", ""))
        for c in (row.get("candidates") or []))

    def text_or_none(value: object) -> str | None:
        return None if value is None or pd.isna(value) else str(value)

    def number_or_none(value: object) -> float | None:
        number = pd.to_numeric(value, errors="coerce")
        return None if pd.isna(number) else float(number)

    return TaskResult(
        text=str(row[text_column]), status=str(row["status"]),
        strategy_id=text_or_none(row.get("strategy_id")),
        strategy=text_or_none(row.get("strategy")), score=number_or_none(row.get("score")),
        runner_up_id=text_or_none(row.get("runner_up_id")),
        runner_up_score=number_or_none(row.get("runner_up_score")),
        evidence=text_or_none(row.get("evidence")), candidates=candidates)
