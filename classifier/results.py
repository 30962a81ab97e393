"""What the classifier says of a task, in the words and columns every layer shares."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from .cells import task_key


class Status(StrEnum):
    """A task's status: it serves its strategy, needs a person, serves none, or is blank."""

    ALIGNED = "aligned"
    REVIEW = "review"
    MISALIGNED = "misaligned"
    EMPTY = "empty"


STATUS_ORDER = [Status.ALIGNED.value, Status.REVIEW.value, Status.MISALIGNED.value,
                Status.EMPTY.value]
# The contract's output columns, after the input's own, in this order.
RESULT_COLUMNS = ["strategy_id", "strategy", "score", "status", "runner_up_id",
                  "runner_up_score", "evidence"]
LLM_COLUMNS = ["llm_strategy_id", "rationale"]
DECIDED_BY = "decided_by"  # with --db: who decided the row (empty for the machine's answer)
SCORE_DECIMALS = 4
SCORE_COLUMNS = ("score", "runner_up_score")
SCORE_FORMAT = "0.000"  # a workbook's score cells, shown so (the cell keeps its 4 decimals)
# What a report's results carry once decisions apply.
FINAL_COLUMNS = ["final_strategy_id", "final_status", DECIDED_BY, "decided_at"]
# Columns the store adds beside the contract's; never task text, effort or owner.
STORE_COLUMNS = ["row", "candidates", "final_strategy", "decision", "decision_id",
                 "machine_strategy_id", "machine_status", "decision_note", "decision_run"]
# Every column the tool writes beside a task's own: the above, and the queue file's (whose
# candidate_1, candidate_1_name, candidate_1_score ... follow the pattern).
WRITTEN_COLUMNS = frozenset(RESULT_COLUMNS + LLM_COLUMNS + FINAL_COLUMNS + STORE_COLUMNS
                            + ["run_id", "task_id", "why", "queue_reason"])
_CANDIDATE = re.compile(r"candidate_\d+(?:_name|_score)?")


def input_renames(columns: Sequence[object]) -> dict[str, str]:
    """New names for a task list's columns that the tool's own would overwrite ("status" from a
    tracker kept as "status (input)"); none for a file this tool wrote, whose results a new run
    replaces."""
    names = [str(column) for column in columns]
    if set(RESULT_COLUMNS) <= set(names):
        return {}
    renames: dict[str, str] = {}
    for name in names:
        if name in WRITTEN_COLUMNS or _CANDIDATE.fullmatch(name):
            new = f"{name} (input)"
            while new in names or new in renames.values():
                new += "'"
            renames[name] = new
    return renames


def earlier_results(columns: Sequence[object]) -> list[str]:
    """The columns an earlier run wrote into a file this tool wrote (its results, who decided,
    the LLM's answer, a queue's): a new run writes its own, so none of them is carried over."""
    names = [str(column) for column in columns]
    if not set(RESULT_COLUMNS) <= set(names):
        return []
    return [name for name in names if name in WRITTEN_COLUMNS or _CANDIDATE.fullmatch(name)]


def said_renames(renames: dict[str, str]) -> str:
    """Renamed columns in a person's words: "'status' as 'status (input)', ..."."""
    return ", ".join(f"{old!r} as {new!r}" for old, new in renames.items())


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
    status: Status
    strategy_id: str | None = None
    strategy: str | None = None
    score: float | None = None
    runner_up_id: str | None = None
    runner_up_score: float | None = None
    evidence: str | None = None
    candidates: tuple[Candidate, ...] = ()


class Figures(NamedTuple):
    """A strategy's figures for a task, in the output's columns."""

    score: float | None
    runner_up_id: str | None
    runner_up_score: float | None
    evidence: str | None


def decided_figures(candidates: Sequence[Candidate | Mapping[str, Any]], strategy_id: str
                    ) -> Figures:
    """The machine's figures beside a strategy a person chose for a task: that strategy's score
    and evidence among the task's top candidates, the best other one as runner-up. Score and
    evidence are empty where it is not among them (the runner-up is then the machine's best)."""
    found = [(str(c["strategy_id"]), float(c["score"]), str(c.get("evidence") or ""))
             if isinstance(c, Mapping) else (c.strategy_id, c.score, c.evidence)
             for c in candidates]
    chosen = next((c for c in found if c[0] == strategy_id), None)
    runner = next((c for c in found if c[0] != strategy_id), None)  # candidates: best first
    return Figures(chosen[1] if chosen else None, runner[0] if runner else None,
                   runner[1] if runner else None, chosen[2] if chosen else None)


def decided_evidence(evidence: object, text: str, reviewer: str, decided_at: datetime) -> object:
    """A decided task's `evidence`: the strategy text it matched best, unless that is its own
    text (the example its decision taught, which tells nothing): then the decision it comes
    from, "decided by Ana, 2026-12-01" (the UTC date)."""
    if not isinstance(evidence, str) or not task_key(text) or task_key(evidence) != task_key(text):
        return evidence
    when = decided_at if decided_at.tzinfo is None else decided_at.astimezone(UTC)
    return f"decided by {reviewer}, {when:%Y-%m-%d}"
