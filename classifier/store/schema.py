"""The store's tables: numbered migrations that own the DDL (frozen once shipped; a change is a
new migration), and light table clauses for queries (which never emit DDL)."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..results import LLM_COLUMNS, RESULT_COLUMNS


def _m1_plans_runs_results(conn: Connection) -> None:
    meta = sa.MetaData()
    sa.Table(
        "plans", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("name", "version"),
    )
    sa.Table(
        "runs", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("plan_id", sa.Integer, sa.ForeignKey("plans.id"), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("text_column", sa.Text, nullable=False),
        sa.Column("thresholds", sa.Text, nullable=False),
        sa.Column("columns", sa.Text, nullable=False),
        sa.Column("result_columns", sa.Text, nullable=False),
        sa.Column("row_count", sa.Integer, nullable=False),
    )
    sa.Table(
        "results", meta,
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("row", sa.Integer, primary_key=True),
        sa.Column("input", sa.Text, nullable=False),
        sa.Column("strategy_id", sa.Text),
        sa.Column("strategy", sa.Text),
        sa.Column("score", sa.Float),
        sa.Column("status", sa.String(20)),
        sa.Column("runner_up_id", sa.Text),
        sa.Column("runner_up_score", sa.Float),
        sa.Column("evidence", sa.Text),
        sa.Column("llm_strategy_id", sa.Text),
        sa.Column("rationale", sa.Text),
        sa.Column("candidates", sa.Text),
    )
    meta.create_all(conn)


def _m2_decisions(conn: Connection) -> None:
    meta = sa.MetaData()
    sa.Table("runs", meta, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "decisions", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("row", sa.Integer, nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("strategy_id", sa.Text),
        sa.Column("reviewer", sa.Text, nullable=False),
        sa.Column("decided_at", sa.String(40), nullable=False),
        sa.Column("machine_strategy_id", sa.Text),
        sa.Column("machine_status", sa.String(20)),
        sa.Column("machine_score", sa.Float),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("undoes", sa.Integer, sa.ForeignKey("decisions.id")),
        sa.Index("ix_decisions_run_row", "run_id", "row"),
        sa.Index("ix_decisions_undoes", "undoes"),
    )
    meta.tables["decisions"].create(conn)


def _m3_example_flags(conn: Connection) -> None:
    meta = sa.MetaData()
    sa.Table("decisions", meta, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "example_flags", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("decision_id", sa.Integer, sa.ForeignKey("decisions.id"), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("by", sa.Text, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("note", sa.Text),
        sa.Index("ix_example_flags_decision", "decision_id"),
    )
    meta.tables["example_flags"].create(conn)


def _m4_cache_usage(conn: Connection) -> None:
    meta = sa.MetaData()
    sa.Table(
        "cache", meta,
        sa.Column("kind", sa.String(100), primary_key=True),
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    sa.Table(
        "usage", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("tokens_in", sa.Integer, nullable=False),
        sa.Column("tokens_out", sa.Integer, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
    )
    meta.create_all(conn)


def _m5_run_state(conn: Connection) -> None:
    # A run written chunk by chunk (the command line) is `writing` until its last row is in;
    # pages and commands only see `done` runs, and a killed run's rows are removed later.
    conn.execute(sa.text("ALTER TABLE runs ADD COLUMN state VARCHAR(20) NOT NULL DEFAULT 'done'"))
    conn.execute(sa.text("ALTER TABLE runs ADD COLUMN owner_pid INTEGER"))


def _m6_vectors(conn: Connection) -> None:
    # Vectors of task texts, by model: a re-run embeds only what it has never seen.
    meta = sa.MetaData()
    sa.Table(
        "vectors", meta,
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("text_hash", sa.String(64), primary_key=True),
        sa.Column("vector", sa.LargeBinary, nullable=False),
    )
    meta.create_all(conn)


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "plans, runs and results", _m1_plans_runs_results),
    (2, "review decisions", _m2_decisions),
    (3, "learned example flags", _m3_example_flags),
    (4, "cache and usage", _m4_cache_usage),
    (5, "run state", _m5_run_state),
    (6, "vectors", _m6_vectors),
]

MIGRATIONS_TABLE = sa.Table(
    "migrations", sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("applied_at", sa.String(40), nullable=False),
)


def _table(name: str, *columns: str | tuple[str, sa.types.TypeEngine]) -> sa.TableClause:
    return sa.table(name, *(sa.column(*c) if isinstance(c, tuple) else sa.column(c)
                            for c in columns))


PLANS = _table("plans", "id", "name", "version", "content_hash", "content", "created_at")
RUNS = _table("runs", "id", "plan_id", "created_at", "source", "model", "text_column",
               "thresholds", "columns", "result_columns", "row_count", "state", "owner_pid")
RESULTS = _table("results", "run_id", "row", "input", *RESULT_COLUMNS, *LLM_COLUMNS,
                  "candidates")
DECISIONS = _table("decisions", "id", "run_id", "row", "action", "strategy_id", "reviewer",
                    "decided_at", "machine_strategy_id", "machine_status", "machine_score",
                    "text", "note", "undoes")
FLAGS = _table("example_flags", "id", "decision_id", "action", "by", "at", "note")
CACHE = _table("cache", "kind", "key_hash", "key", "value", "created_at")
USAGE = _table("usage", "id", "kind", "tokens_in", "tokens_out", "at")
VECTORS = _table("vectors", "model", "text_hash", ("vector", sa.LargeBinary()))

DECISION_FIELDS = ["id", "run_id", "row", "action", "strategy_id", "reviewer", "decided_at",
                    "machine_strategy_id", "machine_status", "machine_score", "text", "note",
                    "undoes"]


