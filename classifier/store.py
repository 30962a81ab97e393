"""The store: plans (versioned), runs, results and the review decisions' audit trail, in SQLite.

Nothing is overwritten: a decision is a new row, an undo is a new row that cancels an earlier one,
and hiding a learned example is recorded too. `row` is a task's 0-based position in its run.
The SQL is SQLAlchemy Core, so a server database could take SQLite's place behind `Store`.
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, is_dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Self

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection

from .engine import LLM_COLUMNS, RESULT_COLUMNS
from .errors import StoreError
from .plan import Plan, Thresholds

ACTIONS = ("confirm", "reassign", "misaligned", "skip")
UNDO = "undo"
STANDING_ACTIONS = ("confirm", "reassign", "misaligned")
BUSY_TIMEOUT_S = 30.0
_INSERT_CHUNK = 5_000


def default_db_path() -> Path:
    """The store's file: $TACTICS_DB if set, else ./tactics.db (read when called, not at import)."""
    return Path(os.environ.get("TACTICS_DB") or "tactics.db")


@dataclass(frozen=True)
class PlanVersion:
    """One stored version of a named plan."""

    id: int
    name: str
    version: int
    created_at: datetime
    strategies: int
    content_hash: str


@dataclass(frozen=True)
class RunInfo:
    """One classification run: where its tasks came from, with what, and its status counts."""

    id: int
    plan_version: int
    plan_name: str
    created_at: datetime
    source: str
    model: str
    text_column: str
    thresholds: Thresholds
    rows: int
    columns: list[str]
    status_counts: dict[str, int]


@dataclass(frozen=True)
class Decision:
    """One row of the audit trail: what a person did to a task, and what the machine had said."""

    id: int
    run_id: int
    row: int
    action: str  # confirm | reassign | misaligned | skip | undo
    strategy_id: str | None  # the person's choice; None: serves no strategy (or skip, undo)
    reviewer: str
    decided_at: datetime
    machine_strategy_id: str | None
    machine_status: str | None
    machine_score: float | None
    text: str
    note: str | None = None
    undoes: int | None = None  # for an undo: the id of the decision it cancels

    @property
    def final_status(self) -> str | None:
        """The status this decision gives the task (None for skip and undo)."""
        if self.action not in STANDING_ACTIONS:
            return None
        return "misaligned" if self.strategy_id is None else "aligned"


# ---------------------------------------------------------------------- schema
# Migrations own the DDL and are frozen once shipped: a change is a new numbered migration.
# Queries use the light table clauses below, which never emit DDL.

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


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "plans, runs and results", _m1_plans_runs_results),
    (2, "review decisions", _m2_decisions),
    (3, "learned example flags", _m3_example_flags),
    (4, "cache and usage", _m4_cache_usage),
]

_migrations = sa.Table(
    "migrations", sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("applied_at", sa.String(40), nullable=False),
)


def _table(name: str, *columns: str | tuple[str, sa.types.TypeEngine]) -> sa.TableClause:
    return sa.table(name, *(sa.column(*c) if isinstance(c, tuple) else sa.column(c)
                            for c in columns))


_plans = _table("plans", "id", "name", "version", "content_hash", "content", "created_at")
_runs = _table("runs", "id", "plan_id", "created_at", "source", "model", "text_column",
               "thresholds", "columns", "result_columns", "row_count")
_results = _table("results", "run_id", "row", "input", *RESULT_COLUMNS, *LLM_COLUMNS,
                  "candidates")
_decisions = _table("decisions", "id", "run_id", "row", "action", "strategy_id", "reviewer",
                    "decided_at", "machine_strategy_id", "machine_status", "machine_score",
                    "text", "note", "undoes")
_flags = _table("example_flags", "id", "decision_id", "action", "by", "at", "note")
_cache = _table("cache", "kind", "key_hash", "key", "value", "created_at")
_usage = _table("usage", "id", "kind", "tokens_in", "tokens_out", "at")

_DECISION_FIELDS = ["id", "run_id", "row", "action", "strategy_id", "reviewer", "decided_at",
                    "machine_strategy_id", "machine_status", "machine_score", "text", "note",
                    "undoes"]


# ---------------------------------------------------------------------- plain values

def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _plain(value: object) -> object:
    """A JSON-safe copy of one cell: missing values become None, numpy scalars Python ones."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    return str(value)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _plan_json(plan: Plan) -> str:
    return json.dumps(plan.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)


def _as_row(row: object, run_id: int, label: str) -> int:
    try:
        if isinstance(row, bool):
            raise TypeError
        return operator.index(row)  # type: ignore[arg-type]
    except TypeError:
        raise StoreError(f"{label}: run {run_id}: row must be a whole number, "
                         f"got {row!r}") from None


# ---------------------------------------------------------------------- the store

class Store:
    """A SQLite file (or a SQLAlchemy URL) holding plans, runs, results and decisions.

    Safe to share between threads; several Store objects (tabs, processes) may use one file.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None):
        """Open (creating and migrating if needed); StoreError names the file if it is unusable."""
        target = default_db_path() if path is None else path
        self._lock: threading.RLock | None = None
        self._plan_ids: dict[int, list[str]] = {}
        if isinstance(target, str) and "://" in target:
            url = sa.engine.make_url(target)
            self.path: Path | None = None
            self.label = url.render_as_string(hide_password=True)
            self._engine = sa.create_engine(url)
        elif str(target) == ":memory:":
            self.path = None
            self.label = ":memory:"
            self._lock = threading.RLock()  # one shared connection: serialise its users
            self._engine = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool,
                                            connect_args={"check_same_thread": False})
        else:
            self.path = Path(target)
            self.label = str(self.path)
            self._prepare_file(self.path)
            self._engine = sa.create_engine(
                sa.engine.URL.create("sqlite", database=str(self.path)),
                connect_args={"timeout": BUSY_TIMEOUT_S})
        if self._engine.dialect.name == "sqlite":
            _sqlite_setup(self._engine)
        try:
            self._migrate()
        except BaseException:
            self._engine.dispose()
            raise

    def _prepare_file(self, path: Path) -> None:
        if path.is_dir():
            raise StoreError(f"{path}: is a folder; give the store a file name such as "
                             f"{path / 'tactics.db'}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"{path}: cannot create its folder {path.parent}: "
                             f"{error.strerror or error}") from None

    def close(self) -> None:
        """Release the connections."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.label!r})"

    # ---------------------------------------------------------------- plumbing

    @contextmanager
    def _connect(self, write: bool) -> Iterator[Connection]:
        """One transaction; a write one takes SQLite's write lock at BEGIN so writers queue."""
        with self._lock or nullcontext(), self._translate(), self._engine.connect() as conn:
            conn.execution_options(tactics_write=write)
            with conn.begin():
                yield conn

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except sa.exc.DBAPIError as error:
            raise StoreError(f"{self.label}: {_reason(error)}") from None

    def _migrate(self) -> None:
        with self._connect(write=True) as conn:
            _migrations.create(conn, checkfirst=True)
            applied = set(conn.execute(sa.select(_migrations.c.id)).scalars())
            known = {number for number, _, _ in MIGRATIONS}
            if applied - known:
                raise StoreError(f"{self.label}: made by a newer tactic-classifier (schema "
                                 f"migration {max(applied)}); upgrade tactic-classifier")
            for number, name, migrate in MIGRATIONS:
                if number not in applied:
                    migrate(conn)
                    conn.execute(sa.insert(_migrations).values(
                        id=number, name=name, applied_at=_now()))

    def migrations(self) -> list[tuple[int, str]]:
        """The schema migrations applied to this store, in order."""
        with self._connect(write=False) as conn:
            rows = conn.execute(sa.select(_migrations.c.id, _migrations.c.name)
                                .order_by(_migrations.c.id))
            return [(row.id, row.name) for row in rows]

    # ---------------------------------------------------------------- plans

    def save_plan(self, plan: Plan, name: str = "default") -> int:
        """Store the plan; the id of its version (a new one only if it differs from the latest)."""
        content = _plan_json(plan)
        digest = hashlib.sha256(content.encode()).hexdigest()
        with self._connect(write=True) as conn:
            latest = conn.execute(
                sa.select(_plans.c.id, _plans.c.version, _plans.c.content_hash)
                .where(_plans.c.name == name).order_by(_plans.c.version.desc()).limit(1)
            ).first()
            if latest is not None and latest.content_hash == digest:
                return int(latest.id)
            return int(conn.execute(
                sa.insert(_plans).values(
                    name=name, version=(latest.version + 1) if latest else 1,
                    content_hash=digest, content=content, created_at=_now())
                .returning(_plans.c.id)).scalar_one())

    def latest_plan(self, name: str = "default") -> tuple[int, Plan] | None:
        """The newest version id and plan of that name, or None."""
        with self._connect(write=False) as conn:
            row = conn.execute(
                sa.select(_plans.c.id, _plans.c.content).where(_plans.c.name == name)
                .order_by(_plans.c.version.desc()).limit(1)).first()
        return None if row is None else (int(row.id), Plan.model_validate_json(row.content))

    def plan(self, plan_version: int) -> Plan:
        """The plan stored under this version id."""
        with self._connect(write=False) as conn:
            return self._plan(conn, plan_version)

    def _plan(self, conn: Connection, plan_version: int) -> Plan:
        content = conn.execute(sa.select(_plans.c.content)
                               .where(_plans.c.id == plan_version)).scalar()
        if content is None:
            raise StoreError(f"{self.label}: no plan version with id {plan_version}")
        return Plan.model_validate_json(content)

    def _strategy_ids(self, conn: Connection, plan_version: int) -> list[str]:
        # Stored plan versions never change, so their ids can be remembered.
        if plan_version not in self._plan_ids:
            self._plan_ids[plan_version] = self._plan(conn, plan_version).ids
        return self._plan_ids[plan_version]

    def plan_versions(self, name: str = "default") -> list[PlanVersion]:
        """Every version of the named plan, oldest first."""
        with self._connect(write=False) as conn:
            rows = conn.execute(sa.select(_plans).where(_plans.c.name == name)
                                .order_by(_plans.c.version)).all()
        return [PlanVersion(id=r.id, name=r.name, version=r.version,
                            created_at=_when(r.created_at),
                            strategies=len(json.loads(r.content)["strategies"]),
                            content_hash=r.content_hash) for r in rows]

    # ---------------------------------------------------------------- runs

    def create_run(self, plan_version: int, frame: pd.DataFrame, text_column: str, source: str,
                   model: str, thresholds: Thresholds,
                   candidates: Sequence[Sequence[object]] | None = None) -> int:
        """Store a classified frame (input + result columns) as one run, all or nothing; its id.

        `candidates`, if given, holds per row the top-k matches as dicts (or Candidate objects)
        with strategy_id, score and evidence.
        """
        missing = [c for c in RESULT_COLUMNS if c not in frame.columns]
        if missing:
            raise StoreError(f"{self.label}: cannot store run from {source}: result column(s) "
                             f"{', '.join(missing)} missing; classify the tasks first")
        if text_column not in frame.columns:
            raise StoreError(f"{self.label}: cannot store run from {source}: no text column "
                             f"{text_column!r} among {', '.join(map(str, frame.columns))}")
        if candidates is not None and len(candidates) != len(frame):
            raise StoreError(f"{self.label}: cannot store run from {source}: {len(candidates)} "
                             f"candidate lists for {len(frame)} rows")
        columns = [str(c) for c in frame.columns if c not in RESULT_COLUMNS + LLM_COLUMNS]
        result_columns = RESULT_COLUMNS + [c for c in LLM_COLUMNS if c in frame.columns]
        with self._connect(write=True) as conn:
            self._plan(conn, plan_version)
            run_id = int(conn.execute(sa.insert(_runs).values(
                plan_id=plan_version, created_at=_now(), source=str(source), model=str(model),
                text_column=str(text_column), thresholds=_dumps(thresholds.model_dump()),
                columns=_dumps(columns), result_columns=_dumps(result_columns),
                row_count=len(frame)).returning(_runs.c.id)).scalar_one())
            for start in range(0, len(frame), _INSERT_CHUNK):
                part = frame.iloc[start:start + _INSERT_CHUNK]
                conn.execute(sa.insert(_results),
                             _result_rows(run_id, start, part, columns, candidates))
        return run_id

    def _run_infos(self, conn: Connection, where: sa.ColumnElement[bool] | None,
                   limit: int | None) -> list[RunInfo]:
        query = (sa.select(_runs, _plans.c.name.label("plan_name"))
                 .join_from(_runs, _plans, _runs.c.plan_id == _plans.c.id)
                 .order_by(_runs.c.id.desc()))
        if where is not None:
            query = query.where(where)
        if limit is not None:
            query = query.limit(limit)
        rows = conn.execute(query).all()
        counts: dict[int, dict[str, int]] = {row.id: {} for row in rows}
        if rows:
            grouped = conn.execute(
                sa.select(_results.c.run_id, _results.c.status, sa.func.count())
                .where(_results.c.run_id.in_(list(counts)))
                .group_by(_results.c.run_id, _results.c.status))
            for run_id, status, count in grouped:
                counts[run_id][str(status)] = int(count)
        return [RunInfo(id=r.id, plan_version=r.plan_id, plan_name=r.plan_name,
                        created_at=_when(r.created_at), source=r.source, model=r.model,
                        text_column=r.text_column,
                        thresholds=Thresholds.model_validate_json(r.thresholds),
                        rows=r.row_count, columns=json.loads(r.columns),
                        status_counts=counts[r.id]) for r in rows]

    def runs(self, limit: int = 50) -> list[RunInfo]:
        """The most recent runs, newest first."""
        with self._connect(write=False) as conn:
            return self._run_infos(conn, None, limit)

    def run(self, run_id: int) -> RunInfo:
        """One run; StoreError if there is none with this id."""
        with self._connect(write=False) as conn:
            return self._run(conn, run_id)

    def _run(self, conn: Connection, run_id: int) -> RunInfo:
        found = self._run_infos(conn, _runs.c.id == run_id, 1)
        if not found:
            raise StoreError(f"{self.label}: no run with id {run_id}")
        return found[0]

    def latest_run(self, plan_name: str = "default") -> RunInfo | None:
        """The newest run made with any version of the named plan, or None."""
        with self._connect(write=False) as conn:
            found = self._run_infos(conn, _plans.c.name == plan_name, 1)
        return found[0] if found else None

    def run_results(self, run_id: int) -> pd.DataFrame:
        """Rows in order: `row`, the input columns, the result columns, `candidates`.

        The index is the row number too; an input column named `row` keeps its values.
        """
        with self._connect(write=False) as conn:
            info = self._run(conn, run_id)
            result_columns = json.loads(conn.execute(
                sa.select(_runs.c.result_columns).where(_runs.c.id == run_id)).scalar_one())
            picked = [_results.c.row, _results.c.input, _results.c.candidates,
                      *(_results.c[column] for column in result_columns)]
            rows = conn.execute(sa.select(*picked).where(_results.c.run_id == run_id)
                                .order_by(_results.c.row)).all()
        return _results_frame(info.columns, result_columns, rows)

    # ---------------------------------------------------------------- decisions

    def record_decision(self, run_id: int, row: int, action: str, strategy_id: str | None,
                        reviewer: str, *, note: str | None = None) -> Decision:
        """Append a person's decision on one task.

        confirm with strategy_id None confirms the machine's best strategy (whatever its status);
        reassign needs an id of the run's plan; misaligned and skip take none.
        """
        row = _as_row(row, run_id, self.label)
        reviewer = (reviewer or "").strip()
        if not reviewer:
            raise StoreError(f"{self.label}: run {run_id}, row {row}: a reviewer name is needed")
        if action not in ACTIONS:
            raise StoreError(f"{self.label}: run {run_id}, row {row}: unknown action {action!r}; "
                             f"use one of {', '.join(ACTIONS)}")
        with self._connect(write=True) as conn:
            task = self._task(conn, run_id, row)
            if action == "confirm" and strategy_id is None:
                if task.status == "empty" or not task.strategy_id:
                    raise StoreError(f"{self.label}: run {run_id}, row {row}: the machine "
                                     f"suggested no strategy, so there is nothing to confirm")
                strategy_id = task.strategy_id
            elif action in ("misaligned", "skip"):
                if strategy_id is not None:
                    raise StoreError(f"{self.label}: run {run_id}, row {row}: {action} takes "
                                     f"no strategy id (got {strategy_id!r})")
            elif strategy_id is None:
                raise StoreError(f"{self.label}: run {run_id}, row {row}: {action} needs a "
                                 f"strategy id")
            if strategy_id is not None:
                known = self._strategy_ids(conn, task.plan_id)
                if strategy_id not in known:
                    raise StoreError(f"{self.label}: run {run_id}, row {row}: strategy id "
                                     f"{strategy_id!r} is not in the run's plan (ids: "
                                     f"{', '.join(known)})")
            return self._append(conn, run_id, row, action, strategy_id, reviewer, task, note)

    def _task(self, conn: Connection, run_id: int, row: int) -> _Task:
        run = conn.execute(sa.select(_runs.c.plan_id, _runs.c.row_count, _runs.c.text_column,
                                     _runs.c.columns).where(_runs.c.id == run_id)).first()
        if run is None:
            raise StoreError(f"{self.label}: no run with id {run_id}")
        if not 0 <= row < run.row_count:
            raise StoreError(f"{self.label}: run {run_id}: row {row} out of range (the run has "
                             f"{run.row_count} rows, numbered 0 to {run.row_count - 1})")
        found = conn.execute(sa.select(_results.c.input, _results.c.strategy_id,
                                       _results.c.status, _results.c.score)
                             .where(_results.c.run_id == run_id, _results.c.row == row)).one()
        values = json.loads(found.input)
        text = values[json.loads(run.columns).index(run.text_column)]
        return _Task(plan_id=run.plan_id, text="" if text is None else str(text),
                     strategy_id=found.strategy_id, status=found.status, score=found.score)

    def _append(self, conn: Connection, run_id: int, row: int, action: str,
                strategy_id: str | None, reviewer: str, task: _Task | Decision,
                note: str | None, undoes: int | None = None) -> Decision:
        machine = ((task.machine_strategy_id, task.machine_status, task.machine_score)
                   if isinstance(task, Decision) else (task.strategy_id, task.status, task.score))
        values = {"run_id": run_id, "row": row, "action": action, "strategy_id": strategy_id,
                  "reviewer": reviewer, "decided_at": _now(), "machine_strategy_id": machine[0],
                  "machine_status": machine[1], "machine_score": machine[2], "text": task.text,
                  "note": note, "undoes": undoes}
        new_id = conn.execute(sa.insert(_decisions).values(**values)
                              .returning(_decisions.c.id)).scalar_one()
        return _decision({"id": new_id, **values})

    def undo_last_decision(self, run_id: int, reviewer: str) -> Decision | None:
        """Append an undo cancelling this reviewer's last standing decision in the run; or None.

        The undo row carries the cancelled decision's row, so a view can go back to it.
        """
        reviewer = (reviewer or "").strip()
        with self._connect(write=True) as conn:
            self._run(conn, run_id)
            undone = sa.select(_decisions.c.undoes).where(_decisions.c.undoes.is_not(None))
            last = conn.execute(
                sa.select(_decisions).where(
                    _decisions.c.run_id == run_id, _decisions.c.reviewer == reviewer,
                    _decisions.c.action != UNDO, _decisions.c.id.not_in(undone))
                .order_by(_decisions.c.id.desc()).limit(1)).first()
            if last is None:
                return None
            target = _decision(last._mapping)
            return self._append(conn, run_id, target.row, UNDO, None, reviewer, target,
                                None, undoes=target.id)

    def _decision_rows(self, conn: Connection, where: sa.ColumnElement[bool] | None
                       ) -> list[Decision]:
        query = sa.select(_decisions).order_by(_decisions.c.id)
        if where is not None:
            query = query.where(where)
        return [_decision(row._mapping) for row in conn.execute(query)]

    def decisions(self, run_id: int | None = None) -> pd.DataFrame:
        """The audit trail (one run or all), oldest first, undo rows included.

        `undone` tells whether a later undo row cancelled that decision.
        """
        with self._connect(write=False) as conn:
            trail = self._decision_rows(
                conn, None if run_id is None else _decisions.c.run_id == run_id)
        cancelled = _cancelled(trail)
        frame = pd.DataFrame([asdict(d) for d in trail], columns=_DECISION_FIELDS)
        for column in ("strategy_id", "machine_strategy_id", "note"):
            frame[column] = pd.Series([getattr(d, column) for d in trail], dtype=object)
        frame["undone"] = pd.Series([d.id in cancelled for d in trail], dtype=bool)
        frame["decided_at"] = pd.to_datetime(frame["decided_at"], utc=True)
        frame["undoes"] = frame["undoes"].astype("Int64")
        return frame

    def current_decisions(self, run_id: int) -> dict[int, Decision]:
        """The standing decision per row: the latest not undone; skips do not count."""
        with self._connect(write=False) as conn:
            self._run(conn, run_id)
            trail = self._decision_rows(conn, _decisions.c.run_id == run_id)
        return {key[1]: decision for key, decision in _standing(trail).items()}

    def standing_decision(self, run_id: int, row: int) -> Decision | None:
        """The standing decision on one task, or None; reads only that task's trail."""
        with self._connect(write=False) as conn:
            self._run(conn, run_id)
            trail = self._decision_rows(
                conn, sa.and_(_decisions.c.run_id == run_id, _decisions.c.row == row))
        return _standing(trail).get((run_id, row))

    def skipped_rows(self, run_id: int, reviewer: str) -> set[int]:
        """Rows this reviewer skipped in the run (skips not undone): their queue shows them last."""
        reviewer = (reviewer or "").strip()
        with self._connect(write=False) as conn:
            self._run(conn, run_id)
            trail = self._decision_rows(conn, _decisions.c.run_id == run_id)
        cancelled = _cancelled(trail)
        return {d.row for d in trail
                if d.action == "skip" and d.reviewer == reviewer and d.id not in cancelled}

    def results_with_decisions(self, run_id: int) -> pd.DataFrame:
        """run_results plus final_strategy_id, final_strategy, final_status, decision,
        decision_id, decided_by, decided_at (the machine's answer where nobody decided)."""
        with self._connect(write=False) as conn:
            plan_id = self._run(conn, run_id).plan_version
            plan = self._plan(conn, plan_id)
        frame = self.run_results(run_id)
        standing = self.current_decisions(run_id)
        names = {s.id: s.name for s in plan.strategies}
        final_id = frame["strategy_id"].astype(object).where(frame["strategy_id"].notna(), None)
        final_status = frame["status"].astype(object)
        action: list[str | None] = [None] * len(frame)
        decision_id: list[int | None] = [None] * len(frame)
        by: list[str | None] = [None] * len(frame)
        at: list[datetime | None] = [None] * len(frame)
        final_id = final_id.tolist()
        final_status = final_status.tolist()
        for row, decision in standing.items():
            final_id[row] = decision.strategy_id
            final_status[row] = decision.final_status
            action[row], decision_id[row] = decision.action, decision.id
            by[row], at[row] = decision.reviewer, decision.decided_at
        frame["final_strategy_id"] = pd.Series(final_id, index=frame.index, dtype=object)
        frame["final_strategy"] = pd.Series([names.get(i) if i else None for i in final_id],
                                            index=frame.index, dtype=object)
        frame["final_status"] = pd.Series(final_status, index=frame.index, dtype=object)
        frame["decision"] = pd.Series(action, index=frame.index, dtype=object)
        frame["decision_id"] = pd.Series(decision_id, index=frame.index, dtype="Int64")
        frame["decided_by"] = pd.Series(by, index=frame.index, dtype=object)
        frame["decided_at"] = pd.to_datetime(pd.Series(at, index=frame.index, dtype=object),
                                             utc=True)
        return frame

    # ---------------------------------------------------------------- learning

    def learned_examples(self, plan_name: str = "default") -> pd.DataFrame:
        """Standing decisions over all runs of the plan: text, strategy_id (None: no strategy),
        action, decision_id, run_id, plan_version, reviewer, decided_at, removed."""
        with self._connect(write=False) as conn:
            runs = dict(conn.execute(
                sa.select(_runs.c.id, _runs.c.plan_id)
                .join_from(_runs, _plans, _runs.c.plan_id == _plans.c.id)
                .where(_plans.c.name == plan_name)).all())
            trail = self._decision_rows(conn, _decisions.c.run_id.in_(list(runs))) if runs else []
            flags = conn.execute(sa.select(_flags.c.decision_id, _flags.c.action)
                                 .order_by(_flags.c.id)).all()
        removed = {}
        for decision_id, flag in flags:
            removed[decision_id] = flag == "remove"
        rows = [{"text": d.text, "strategy_id": d.strategy_id, "action": d.action,
                 "decision_id": d.id, "run_id": d.run_id, "plan_version": runs[d.run_id],
                 "reviewer": d.reviewer, "decided_at": d.decided_at,
                 "removed": removed.get(d.id, False)}
                for d in _standing(trail).values() if d.text.strip()]
        columns = ["text", "strategy_id", "action", "decision_id", "run_id", "plan_version",
                   "reviewer", "decided_at", "removed"]
        frame = pd.DataFrame(rows, columns=columns)
        # object dtype keeps None as None: "serves no strategy", not a missing value.
        frame["strategy_id"] = pd.Series([r["strategy_id"] for r in rows], dtype=object)
        frame["decided_at"] = pd.to_datetime(frame["decided_at"], utc=True)
        frame["removed"] = frame["removed"].astype(bool)
        return frame.sort_values("decision_id", kind="stable").reset_index(drop=True)

    def remove_learned_example(self, decision_id: int, by: str, note: str | None = None) -> None:
        """Hide a decision from the learned examples (recorded, nothing deleted)."""
        self._flag(decision_id, "remove", by, note)

    def restore_learned_example(self, decision_id: int, by: str, note: str | None = None) -> None:
        """Show a hidden learned example again (recorded too)."""
        self._flag(decision_id, "restore", by, note)

    def _flag(self, decision_id: int, action: str, by: str, note: str | None) -> None:
        by = (by or "").strip()
        if not by:
            raise StoreError(f"{self.label}: decision {decision_id}: a reviewer name is needed")
        with self._connect(write=True) as conn:
            exists = conn.execute(sa.select(_decisions.c.id)
                                  .where(_decisions.c.id == decision_id)).first()
            if exists is None:
                raise StoreError(f"{self.label}: no decision with id {decision_id}")
            conn.execute(sa.insert(_flags).values(decision_id=decision_id, action=action, by=by,
                                                  at=_now(), note=note))

    def example_flags(self) -> pd.DataFrame:
        """Every remove/restore of a learned example, oldest first."""
        with self._connect(write=False) as conn:
            rows = conn.execute(sa.select(_flags).order_by(_flags.c.id)).all()
        return pd.DataFrame([dict(r._mapping) for r in rows],
                            columns=["id", "decision_id", "action", "by", "at", "note"])

    # ---------------------------------------------------------------- cache and usage

    def cache_get(self, kind: str, key: str) -> dict | None:
        """A cached value (e.g. an LLM answer keyed by model + prompt), or None."""
        with self._connect(write=False) as conn:
            value = conn.execute(sa.select(_cache.c.value).where(
                _cache.c.kind == kind, _cache.c.key_hash == _key_hash(key))).scalar()
        return None if value is None else json.loads(value)

    def cache_put(self, kind: str, key: str, value: dict) -> None:
        """Cache a JSON-able value under (kind, key), replacing any earlier one."""
        text = _dumps(_plain(value))
        digest = _key_hash(key)
        with self._connect(write=True) as conn:
            conn.execute(sa.delete(_cache).where(_cache.c.kind == kind,
                                                 _cache.c.key_hash == digest))
            conn.execute(sa.insert(_cache).values(kind=kind, key_hash=digest, key=key,
                                                  value=text, created_at=_now()))

    def usage_add(self, kind: str, tokens_in: int, tokens_out: int) -> None:
        """Record one call's token usage."""
        with self._connect(write=True) as conn:
            conn.execute(sa.insert(_usage).values(kind=kind, tokens_in=int(tokens_in or 0),
                                                  tokens_out=int(tokens_out or 0), at=_now()))

    def usage_total(self, kind: str | None = None) -> dict:
        """{'calls', 'tokens_in', 'tokens_out'} summed for a kind (or all kinds)."""
        query = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(_usage.c.tokens_in), 0),
                          sa.func.coalesce(sa.func.sum(_usage.c.tokens_out), 0))
        if kind is not None:
            query = query.where(_usage.c.kind == kind)
        with self._connect(write=False) as conn:
            calls, tokens_in, tokens_out = conn.execute(query).one()
        return {"calls": int(calls), "tokens_in": int(tokens_in), "tokens_out": int(tokens_out)}


# ---------------------------------------------------------------------- helpers

@dataclass(frozen=True)
class _Task:
    plan_id: int
    text: str
    strategy_id: str | None
    status: str | None
    score: float | None


def _sqlite_setup(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's "begin" hook emit BEGIN itself, so a write can ask for IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front: two writers queue on busy_timeout instead
        # of one failing when it upgrades a read to a write.
        write = conn.get_execution_options().get("tactics_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _reason(error: sa.exc.DBAPIError) -> str:
    message = str(error.orig) if error.orig is not None else str(error)
    lowered = message.lower()
    if "file is not a database" in lowered or "malformed" in lowered:
        return f"not a tactic-classifier store (SQLite says: {message})"
    if "unable to open" in lowered:
        return "cannot open the database file (check that its folder exists and is writable)"
    if "readonly" in lowered or "read-only" in lowered:
        return "the database is read-only (check the permissions of the file and its folder)"
    if "locked" in lowered or "busy" in lowered:
        return (f"the database stayed locked by another program for over {BUSY_TIMEOUT_S:.0f}"
                f" s; try again")
    return message


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _decision(values: object) -> Decision:
    data = {name: values[name] for name in _DECISION_FIELDS}  # type: ignore[index]
    data["decided_at"] = _when(data["decided_at"])
    return Decision(**data)


def _cancelled(trail: list[Decision]) -> set[int]:
    """Ids of the decisions an undo row cancelled."""
    return {d.undoes for d in trail if d.undoes is not None}


def _standing(trail: list[Decision]) -> dict[tuple[int, int], Decision]:
    """Per (run, row): the latest confirm/reassign/misaligned that no undo cancelled."""
    cancelled = _cancelled(trail)
    standing: dict[tuple[int, int], Decision] = {}
    for decision in sorted(trail, key=lambda d: d.id):
        if decision.action in STANDING_ACTIONS and decision.id not in cancelled:
            standing[(decision.run_id, decision.row)] = decision
    return standing


def _cells(series: pd.Series) -> list[object]:
    """A column's values made JSON-safe; the common str and int cells pass straight through."""
    return [v if type(v) is str or type(v) is int else _plain(v) for v in series.tolist()]


def _json_default(value: object) -> object:
    plain = _plain(value)
    return str(value) if plain is value else plain


def _result_rows(run_id: int, start: int, part: pd.DataFrame, columns: list[str],
                 candidates: Sequence[Sequence[object]] | None) -> list[dict]:
    n = len(part)
    cells = [_cells(part.iloc[:, position]) for position, column in enumerate(part.columns)
             if column in columns]
    inputs = [_dumps(list(values)) for values in zip(*cells, strict=True)] if cells else ["[]"] * n
    rows = [{"run_id": run_id, "row": start + offset, "input": inputs[offset],
             "candidates": None} for offset in range(n)]
    for column in RESULT_COLUMNS + LLM_COLUMNS:
        if column not in part.columns:
            values: list[object] = [None] * n
        elif column in ("score", "runner_up_score"):
            values = [None if v is None else float(v) for v in _cells(part[column])]
        else:
            values = [None if v is None else str(v) for v in _cells(part[column])]
        for record, value in zip(rows, values, strict=True):
            record[column] = value
    if candidates is not None:
        for record in rows:
            found = candidates[record["row"]]
            if found is not None:
                record["candidates"] = json.dumps(list(found), ensure_ascii=False,
                                                  default=_json_default)
    return rows


def _results_frame(columns: list[str], result_columns: list[str], rows: list) -> pd.DataFrame:
    """Rebuild a run's frame; one json.loads over all rows, as per-row calls dominate the cost."""
    numbers, inputs, candidates, *results = (list(c) for c in zip(*rows, strict=False)) if rows else (
        [[] for _ in range(3 + len(result_columns))])
    frame = pd.DataFrame(json.loads("[" + ",".join(inputs) + "]"), columns=columns)
    for column in columns:
        if frame[column].isna().all():
            frame[column] = frame[column].astype(object)
    for column, values in zip(result_columns, results, strict=True):
        dtype = "float64" if column in ("score", "runner_up_score") else None
        frame[column] = pd.Series([math.nan if v is None else v for v in values]
                                  if dtype else values, dtype=dtype)
    frame["candidates"] = pd.Series(
        json.loads("[" + ",".join(c or "null" for c in candidates) + "]"), dtype=object)
    if "row" not in frame.columns:
        frame.insert(0, "row", pd.Series(numbers, dtype="int64"))
    frame.index = pd.Index(numbers, dtype="int64")
    return frame
