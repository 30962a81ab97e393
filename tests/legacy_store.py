"""The hand-rolled migrator that made stores before Alembic (a frozen copy of the old
classifier/store/schema.py), to make such stores in tests and check they are adopted."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from classifier.results import RESULT_COLUMNS


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


def make_legacy_store(target: str, upto: int = 6) -> None:
    """A store as the hand-rolled migrator left it (migrations 1..upto), with a run, decisions
    (one undone), a hidden example and a cached answer in it, written as it wrote them."""
    url = target if "://" in target else f"sqlite:///{target}"
    engine = sa.create_engine(url)
    stamp = "2025-01-02T03:04:05.123456+00:00"
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA journal_mode = WAL")
        MIGRATIONS_TABLE.create(conn)
        for number, name, migrate in MIGRATIONS[:upto]:
            migrate(conn)
            conn.execute(sa.insert(MIGRATIONS_TABLE).values(id=number, name=name,
                                                            applied_at=stamp))
        if upto < 4:
            engine.dispose()
            return
        plan = json.dumps({"vision": "v", "strategies": [
            {"id": "a", "name": "Strategy A", "description": "", "examples": []},
            {"id": "b", "name": "Strategy B", "description": "", "examples": []}],
            "thresholds": None}, sort_keys=True)
        conn.execute(sa.text("INSERT INTO plans (name, version, content_hash, content, "
                             "created_at) VALUES ('default', 1, 'h', :c, :t)"),
                     {"c": plan, "t": stamp})
        conn.execute(sa.text(
            "INSERT INTO runs (plan_id, created_at, source, model, text_column, thresholds, "
            "columns, result_columns, row_count) VALUES (1, :t, 'old.csv', 'm', 'task', :th, "
            ":cols, :rc, 2)"),
            {"t": stamp, "th": json.dumps({"aligned": 0.5, "misaligned": 0.3, "margin": 0.03}),
             "cols": json.dumps(["task", "effort"]),
             "rc": json.dumps(RESULT_COLUMNS)})
        for row, (task, effort) in enumerate([("Call buyers", 1.0), ("Fix the coffee", "5")]):
            conn.execute(sa.text(
                'INSERT INTO results (run_id, "row", input, strategy_id, strategy, score, '
                "status, runner_up_id, runner_up_score, evidence, candidates) VALUES (1, :r, "
                ":i, 'a', 'Strategy A', 0.4, 'review', 'b', 0.35, 'e', :c)"),
                {"r": row, "i": json.dumps([task, effort]),
                 "c": json.dumps([{"strategy_id": "a", "strategy": "Strategy A",
                                   "score": 0.4, "evidence": "e"}])})
        for action, undoes in (("confirm", None), ("undo", 1), ("reassign", None)):
            conn.execute(sa.text(
                'INSERT INTO decisions (run_id, "row", action, strategy_id, reviewer, '
                "decided_at, machine_strategy_id, machine_status, machine_score, text, undoes) "
                "VALUES (1, 0, :a, :s, 'ann', :t, 'a', 'review', 0.4, 'Call buyers', :u)"),
                {"a": action, "s": None if action == "undo" else "a" if action == "confirm"
                 else "b", "t": stamp, "u": undoes})
        conn.execute(sa.text('INSERT INTO example_flags (decision_id, action, "by", "at") '
                             "VALUES (3, 'remove', 'ann', :t)"), {"t": stamp})
        conn.execute(sa.text("INSERT INTO cache (kind, key_hash, key, value, created_at) "
                             "VALUES ('llm', :h, 'k', :v, :t)"),
                     {"h": hashlib.sha256(b"k").hexdigest(),
                      "v": json.dumps({"strategy_id": "a"}), "t": stamp})
    engine.dispose()
