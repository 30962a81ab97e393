"""The store's tables: Alembic revisions own the DDL (classifier/store/migrations/versions,
frozen once shipped; a change is a new revision), and light table clauses here for queries
(which never emit DDL), typed so that times and JSON read the same on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from ..results import LLM_COLUMNS, RESULT_COLUMNS
from .types import JSONText, Timestamp

# The hand-rolled migrations before Alembic recorded ids 1-6 in `migrations`; Alembic revision
# "000N" is migration N, and every revision still records its number there.
LEGACY_IDS = frozenset(range(1, 7))


def alembic_config() -> Config:
    """Alembic's settings without alembic.ini: the scripts live inside the package."""
    config = Config()
    config.set_main_option("script_location", "classifier.store:migrations")
    return config


def scripts() -> ScriptDirectory:
    """The revision scripts shipped with this version."""
    return ScriptDirectory.from_config(alembic_config())


def revisions() -> list[tuple[int, str]]:
    """(number, description) of every revision this version knows, oldest first."""
    found = reversed(list(scripts().walk_revisions()))
    return [(int(script.revision), (script.doc or "").strip()) for script in found]


def _table(name: str, *columns: str | tuple[str, sa.types.TypeEngine]) -> sa.TableClause:
    return sa.table(name, *(sa.column(*c) if isinstance(c, tuple) else sa.column(c)
                            for c in columns))


TIME, JSON = Timestamp(), JSONText()

MIGRATIONS_TABLE = _table("migrations", "id", "name", ("applied_at", TIME))
PLANS = _table("plans", "id", "name", "version", "content_hash", ("content", JSON),
               ("created_at", TIME))
RUNS = _table("runs", "id", "plan_id", ("created_at", TIME), "source", "model", "text_column",
              ("thresholds", JSON), ("columns", JSON), ("result_columns", JSON), "row_count",
              "state", "owner_pid", "owner_host", "earlier", "set_aside_by",
              ("set_aside_at", TIME), "date_columns")
RESULTS = _table("results", "run_id", "row", ("input", JSON), *RESULT_COLUMNS, *LLM_COLUMNS,
                 ("candidates", JSON))
DECISIONS = _table("decisions", "id", "run_id", "row", "action", "strategy_id", "reviewer",
                   ("decided_at", TIME), "machine_strategy_id", "machine_status",
                   "machine_score", "text", "note", "undoes", "reviewer_subject")
FLAGS = _table("example_flags", "id", "decision_id", "action", "by", ("at", TIME), "note")
CACHE = _table("cache", "kind", "key_hash", "key", ("value", JSON), ("created_at", TIME))
USAGE = _table("usage", "id", "kind", "tokens_in", "tokens_out", ("at", TIME))
VECTORS = _table("vectors", "model", "text_hash", ("vector", sa.LargeBinary()))
TEACH_IN_CHOICES = _table("teach_in_choices", "id", "plan_name", "plan_version", "reviewer",
                          "choice", ("at", TIME))

DECISION_FIELDS = ["id", "run_id", "row", "action", "strategy_id", "reviewer", "decided_at",
                   "machine_strategy_id", "machine_status", "machine_score", "text", "note",
                   "undoes", "reviewer_subject"]
