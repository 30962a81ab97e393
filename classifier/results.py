"""What the classifier says of a task, in the words and columns every layer shares."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
