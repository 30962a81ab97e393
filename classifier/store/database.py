"""The store's connection: a SQLite file (created when missing) or a SQLAlchemy URL; one
transaction per call; migrations on open; a SQLite file of another application is refused
before anything touches it."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection

from ..errors import StoreError
from .schema import MIGRATIONS, MIGRATIONS_TABLE

BUSY_TIMEOUT_S = 30.0
SQLITE_HEADER = b"SQLite format 3\x00"


def default_db_path() -> Path:
    """The store's file: $TACTICS_DB if set, else ./tactics.db (read when called, not at import)."""
    return Path(os.environ.get("TACTICS_DB") or "tactics.db")


def now() -> str:
    """The current time as stored: ISO 8601 in UTC, to the microsecond."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def when(text: str) -> datetime:
    """A stored time as a datetime."""
    return datetime.fromisoformat(text)


def dumps(value: object) -> str:
    """JSON text as stored (no NaN)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def check_sqlite_file(path: Path) -> None:
    """Refuse, without changing it, a file that is not a tactic-classifier store: not SQLite,
    or a SQLite database of another application (it has tables and none of ours)."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise StoreError(f"{path}: not a tactic-classifier store (not a SQLite database); "
                         f"give --db a new file name to create a store")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = [row[0] for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise StoreError(f"{path}: cannot read the store ({error})") from None
    if tables and "migrations" not in tables:
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise StoreError(f"{path}: not a tactic-classifier store (it holds other tables: "
                         f"{shown}); it was left unchanged; give --db a new file name")


class Database:
    """Connections to one store; safe to share between threads and processes."""

    def __init__(self, path: str | os.PathLike[str] | None = None):
        """Open (creating and migrating if needed); StoreError names the file if it is unusable."""
        target = default_db_path() if path is None else path
        self._lock: threading.RLock | None = None
        self.path: Path | None = None
        if isinstance(target, str) and "://" in target:
            url = sa.engine.make_url(target)
            self.label = url.render_as_string(hide_password=True)
            self._engine = sa.create_engine(url)
        elif str(target) == ":memory:":
            self.label = ":memory:"
            self._lock = threading.RLock()  # one shared connection: serialise its users
            self._engine = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool,
                                            connect_args={"check_same_thread": False})
        else:
            self.path = Path(target)
            self.label = str(self.path)
            self._prepare_file(self.path)
            check_sqlite_file(self.path)
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
        return f"{type(self).__name__}({self.label!r})"

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
            MIGRATIONS_TABLE.create(conn, checkfirst=True)
            applied = set(conn.execute(sa.select(MIGRATIONS_TABLE.c.id)).scalars())
            known = {number for number, _, _ in MIGRATIONS}
            if applied - known:
                raise StoreError(f"{self.label}: made by a newer tactic-classifier (schema "
                                 f"migration {max(applied)}); upgrade tactic-classifier")
            for number, name, migrate in MIGRATIONS:
                if number not in applied:
                    migrate(conn)
                    conn.execute(sa.insert(MIGRATIONS_TABLE).values(
                        id=number, name=name, applied_at=now()))

    def migrations(self) -> list[tuple[int, str]]:
        """The schema migrations applied to this store, in order."""
        with self._connect(write=False) as conn:
            rows = conn.execute(sa.select(MIGRATIONS_TABLE.c.id, MIGRATIONS_TABLE.c.name)
                                .order_by(MIGRATIONS_TABLE.c.id))
            return [(row.id, row.name) for row in rows]


def _sqlite_setup(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
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
