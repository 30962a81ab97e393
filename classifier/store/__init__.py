"""The store: plans (versioned), runs, results, review decisions and LLM answers, in a SQLite
file (the embedded default) or a PostgreSQL server named by a SQLAlchemy URL, shared by a team.

Nothing is overwritten: a decision is a new row, an undo is a new row that cancels an earlier
one, and hiding a learned example is recorded too. `row` is a task's 0-based position in its run.
"""

from __future__ import annotations

from .answers import AnswerStore
from .database import default_db_path, default_db_target, is_url, safe_url
from .decisions import (
    ACTIONS,
    STANDING_ACTIONS,
    UNDO,
    Decision,
    DecisionRequest,
    DecisionStore,
    Replaced,
)
from .plans import PlanVersion
from .runs import RunInfo, task_result
from .teach_in import TeachInStore
from .vectors import VectorStore

__all__ = ["ACTIONS", "STANDING_ACTIONS", "UNDO", "Decision", "DecisionRequest", "PlanVersion",
           "Replaced", "RunInfo", "Store", "default_db_path", "default_db_target", "is_url",
           "safe_url", "task_result"]


class Store(DecisionStore, AnswerStore, VectorStore, TeachInStore):
    """One store: plans, runs, decisions, answers. Safe to share between threads; several
    Store objects (tabs, processes) may use one file or server."""
