"""The store's connection: a SQLite file (created when missing) or a SQLAlchemy URL; one
transaction per call; Alembic migrations on open; a SQLite file of another application is refused
before anything touches it. A password in a URL is never shown: `label` hides it; a store opened
with a display label (a team app's) names itself by that and hides where its server is too."""

from __future__ import annotations

import getpass
import json
import logging
import os
import re
import socket
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.util.exc import CommandError
from sqlalchemy import event
from sqlalchemy.engine import Connection

from ..errors import StoreError
from .schema import LEGACY_IDS, MIGRATIONS_TABLE, alembic_config, scripts

logger = logging.getLogger(__name__)
BUSY_TIMEOUT_S = 30.0
SQLITE_HEADER = b"SQLite format 3\x00"
# pg_advisory_xact_lock key (any 64-bit number unlikely to be another application's): every
# write transaction takes it, so PostgreSQL writers queue as SQLite's BEGIN IMMEDIATE makes
# them queue, and read-then-write code (plan versions, the cache) behaves the same on both.
WRITE_LOCK_KEY = 0x7AC71C5_0000_0001
DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}
BACKENDS = ("postgresql", "sqlite")  # the databases the migrations and queries are written for
# libpq options whose value is a secret: a password may come in the query string too
# (postgresql://tactics@host/db?password=...), and is hidden there as in the user part.
SECRET_OPTIONS = frozenset({"password", "sslpassword"})
HIDDEN = "***"
# libpq options (in a URL's query string) and environment variables that say where the server
# is and whose database it is: a store with a display label hides their values too.
SERVER_OPTIONS = frozenset({"host", "hostaddr", "port", "user", "dbname"})
SERVER_VARIABLES = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE")
# What the driver says of the server that no URL part names: the address a host name resolved
# to, the client's own address (pg_hba's refusal), and the default port.
SERVER_DETAILS = (
    (re.compile(r"(?<![\w.:])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\w)"), HIDDEN),
    (re.compile(r"\((?:[0-9A-Fa-f]*:){2,}[0-9A-Fa-f.:%\w]*\)"), f"({HIDDEN})"),
    (re.compile(r"\bport \d+"), f"port {HIDDEN}"),
)
# The text after a URL's user part as SQLAlchemy reads it (the name up to a colon, then the
# password up to the next @): an unescaped @ in the password leaves its rest in there.
AFTER_USER = re.compile(r"[^:/]*(?::[^@]*)?@(?P<after>.*)", re.DOTALL)
# PostgreSQL's refusal of a login without rights on a table (or its id's sequence).
DENIED = re.compile(r"permission denied for (?P<what>(?:table|sequence|relation) \S+)")


def default_db_path() -> Path:
    """The store's file: $TACTICS_DB if set, else ./tactics.db (read when called, not at import).

    For a database URL use `default_db_target`; a URL is not a path."""
    return Path(os.environ.get("TACTICS_DB") or "tactics.db")


def default_db_target() -> str | Path:
    """$TACTICS_DB as given when it is a URL (postgresql://...), else `default_db_path()`."""
    value = os.environ.get("TACTICS_DB") or ""
    return value if is_url(value) else default_db_path()


def is_url(target: object) -> bool:
    """Whether a --db / TACTICS_DB value names a database server rather than a file."""
    return isinstance(target, str) and "://" in target


def sqlite_file(target: str) -> Path | None:
    """The file a `sqlite:///PATH` URL names, options or not (`?timeout=30`, a `file:` URI);
    None for any other URL, an in-memory SQLite one included."""
    try:
        url = sa.engine.make_url(target)
    except (sa.exc.ArgumentError, ValueError):
        return None
    return _file_of(url) if url.get_backend_name() == "sqlite" else None


def _file_of(url: sa.engine.URL) -> Path | None:
    """The file a SQLite URL names, options or not (`?timeout=5`; with `uri=true`, a `file:`
    URI such as `file:crm.sqlite?mode=ro`); None for an in-memory database."""
    database = url.database or ""
    if str(url.query.get("uri", "")).lower() in ("true", "1", "yes", "on"):
        if url.query.get("mode") == "memory":
            return None
        if database.startswith("file:"):
            database = unquote(urlsplit(database).path)
    return None if database in ("", ":memory:") else Path(database)


# The options of a SQLite URL that go to Python's sqlite3, not into a `file:` URI.
_DRIVER_OPTIONS = ("uri", "timeout", "isolation_level", "detect_types", "check_same_thread",
                   "cached_statements")


def _refuse_uri_without_file(url: sa.engine.URL, label: str) -> None:
    """StoreError for `uri=true` with SQLite's own options on a name that is no `file:` URI:
    SQLite then opens (or creates, empty) a file named with them ('team.db?mode=ro')."""
    database = url.database or ""
    options = sorted(key for key in url.query if key not in _DRIVER_OPTIONS)
    if (str(url.query.get("uri", "")).lower() in ("true", "1", "yes", "on") and options
            and not database.startswith("file:")):
        named = database + "?" + "&".join(f"{key}={url.query[key]}" for key in options)
        raise StoreError(f"{label}: with uri=true SQLite reads the name as a URI only when it "
                         f"starts with file: (sqlite:///file:{database}?...&uri=true); as "
                         f"written it opens a file named {named!r}, not {database}")


def safe_url(target: str) -> str:
    """A database URL as it may be shown: every password (user part or query) replaced by ***."""
    if (broken := _broken_user_part(target)) is not None:
        return broken
    try:
        return shown_url(sa.engine.make_url(target))
    except (sa.exc.ArgumentError, ValueError):
        scheme = target.split("://", 1)[0]
        return f"{scheme}://{HIDDEN}"


def shown_url(url: sa.engine.URL) -> str:
    """The URL as it may be shown: its password, in the user part or the query string, ***."""
    secret = [key for key in url.query if key.lower() in SECRET_OPTIONS]
    text = url.difference_update_query(secret).render_as_string(hide_password=True)
    if not secret:
        return text
    # Added after rendering: SQLAlchemy would escape *** in a query value as %2A%2A%2A.
    hidden = "&".join(f"{key}={HIDDEN}" for key in sorted(secret))
    return f"{text}{'&' if url.query.keys() - set(secret) else '?'}{hidden}"


def secrets_of(url: sa.engine.URL) -> list[str]:
    """Every secret value a URL holds (its password, and those of its query string)."""
    values = [url.password] if url.password else []
    for key, value in url.query.items():
        if key.lower() in SECRET_OPTIONS:
            values += [value] if isinstance(value, str) else list(value)
    return [str(value) for value in values if value]


def server_names(url: sa.engine.URL) -> list[str]:
    """Where a URL's server is and whose database: its host, port, user and database name, as
    given or as libpq takes them from the environment (for a display label to hide)."""
    values: list[object] = [url.host, url.port, url.username, url.database]
    for key, value in url.query.items():
        if key.lower() in SERVER_OPTIONS:
            values += [value] if isinstance(value, str) else list(value)
    values += [os.environ.get(name) for name in SERVER_VARIABLES]
    if not url.username:
        try:  # libpq's user when none is named
            values.append(getpass.getuser())
        except (OSError, KeyError):
            pass
    return [str(value) for value in values if value]


def host_name() -> str:
    """This machine's name, recorded with a run being written (its process id means nothing
    on another machine that shares the server)."""
    return socket.gethostname() or "unknown"


def now() -> datetime:
    """The current time as stored: UTC, to the microsecond."""
    return datetime.now(UTC)


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
    if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        # SQLite writes beside a store (its write-ahead log) even to read it.
        raise StoreError(f"{path}: the store is read-only here (its file or its folder cannot "
                         f"be written, and SQLite writes beside it even to read); copy it to "
                         f"a folder you can write to, or ask for write access")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = [row[0] for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise StoreError(f"{path}: cannot read the store ({error})") from None
    if tables and not {"migrations", "alembic_version"} & set(tables):
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise StoreError(f"{path}: not a tactic-classifier store (it holds other tables: "
                         f"{shown}); it was left unchanged; give --db a new file name")


class Database:
    """Connections to one store; safe to share between threads and processes."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *,
                 shown_as: str | None = None):
        """Open (creating and migrating if needed); StoreError names the file or the server
        (never its password) if it is unusable.

        `shown_as`: how the store's messages name it to people who must not learn where it is
        (a team app's viewers): `label`, with the server's host, port, user and database name
        hidden from the driver's reasons as its password is; the full message is logged."""
        target = default_db_target() if path is None else path
        if is_url(target) and "?" not in str(target) and (
                file := sqlite_file(str(target))) is not None:
            # A store's file named as a URL is a file all the same: checked before anything
            # touches it (another application's database was given our tables). A URL with
            # options stays one (they are SQLite's), its file checked below.
            target = file
        self._lock: threading.RLock | None = None
        self.path: Path | None = None
        self._secrets: list[str] = []
        self._server: list[str] = []
        self._hide_server = shown_as is not None
        self._login: str | None = None  # a PostgreSQL URL's user, for the GRANT it may need
        self._schema: str | None = None  # where PostgreSQL put the store's tables
        # One line for whoever opened it: this open made the store beside others' tables.
        self.notice: str | None = None
        if is_url(target):
            url = _url(str(target))
            self.full_label = shown_url(url)
            self._secrets = secrets_of(url)
            self._server = server_names(url)
            self._login = url.username
            self.label = shown_as or self.full_label
            if url.get_backend_name() == "sqlite" and (file := _file_of(url)) is not None:
                # Options keep the URL as given (they are SQLite's), but its file is checked
                # as a path's is: another application's database was given our tables.
                check_sqlite_file(file)
                _refuse_uri_without_file(url, self.label)
            if url.get_backend_name() not in BACKENDS:
                # Said before SQLAlchemy looks for it: a typo (postgresq://) read "Can't load
                # plugin: sqlalchemy.dialects:postgresq", mysql:// "No module named 'MySQLdb'".
                raise StoreError(f"{self.label}: cannot use this database URL: "
                                 f"{url.get_backend_name()!r} is not a database the store "
                                 f"works on; write postgresql://USER@HOST/DATABASE, or "
                                 f"a file name for a SQLite store")
            try:
                self._engine = sa.create_engine(url, pool_pre_ping=True)
            except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as error:
                raise StoreError(f"{self.label}: cannot use this database URL "
                                 f"({type(error).__name__}: "
                                 f"{self._shown(str(error))})") from None
        elif str(target) == ":memory:":
            self.full_label = ":memory:"
            self.label = shown_as or self.full_label
            self._lock = threading.RLock()  # one shared connection: serialise its users
            self._engine = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool,
                                            connect_args={"check_same_thread": False})
        else:
            self.path = Path(target)
            self.full_label = str(self.path)
            self.label = shown_as or self.full_label
            self._prepare_file(self.path)
            check_sqlite_file(self.path)
            self._engine = sa.create_engine(
                sa.engine.URL.create("sqlite", database=str(self.path)),
                connect_args={"timeout": BUSY_TIMEOUT_S})
        self.dialect = self._engine.dialect.name
        if self.dialect == "sqlite":
            _sqlite_setup(self._engine)
        elif self.dialect != "postgresql":
            self._engine.dispose()
            raise StoreError(f"{self.label}: a {self.dialect} database is not supported; "
                             f"use a SQLite file or a postgresql:// URL")
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
        """One transaction; a write one queues behind other writers (SQLite's write lock at
        BEGIN IMMEDIATE, PostgreSQL's advisory lock), so read-then-write code never races."""
        with self._lock or nullcontext(), self._translate(), self._engine.connect() as conn:
            conn.execution_options(tactics_write=write)
            with conn.begin():
                if write and self.dialect == "postgresql":
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(WRITE_LOCK_KEY)))
                yield conn

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except sa.exc.DBAPIError as error:
            reason = _reason(error)
            raise StoreError(f"{self.label}: {self._shown(reason)}{self._grant(reason)}") from None

    def _grant(self, reason: str) -> str:
        """What a PostgreSQL login refused a table of the store (one an upgrade by its owner
        added, say) must be granted, and by whom, as a clause; "" for any other reason."""
        found = DENIED.search(reason)
        if self.dialect != "postgresql" or found is None:
            return ""
        schema = self._schema or "public"
        login = "LOGIN" if self._hide_server or not self._login else self._login
        return (f"; this login has no rights on the {found['what']} (the store's owner may "
                f"have upgraded the store since they were granted): ask its owner to run "
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO "
                f"{login}; GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {login}")

    def _shown(self, reason: str) -> str:
        """The driver's reason as this store's messages may show it: never a password; with a
        display label, nothing of where the server is either, and the full reason logged for
        whoever runs the app (the one who can act on a server out of reach)."""
        reason = _scrub(reason, self._secrets)
        if not self._hide_server:
            return reason
        logger.error("%s: %s", self.full_label, reason)
        # Addresses and ports first: a port or a name "1" hid one digit of "127.0.0.1", and
        # the rest of the address no longer read as one.
        hidden = reason
        for pattern, replacement in SERVER_DETAILS:
            hidden = pattern.sub(replacement, hidden)
        return _scrub_names(hidden, self._server)

    def _migrate(self) -> None:
        """Bring the store to the newest revision, all in one transaction: a new store is
        created, a store of the hand-rolled migrations 1-6 is adopted (stamped), a store of a
        newer tactic-classifier is refused."""
        sqlite = self.dialect == "sqlite"
        with self._lock or nullcontext(), self._translate(), self._engine.connect() as conn:
            if sqlite:
                # SQLite's table rebuilds (op.batch_alter_table) drop a table that others point
                # at, which fails with foreign keys on; the pragma is ignored inside a
                # transaction, so it is set before BEGIN (through the driver: SQLAlchemy would
                # begin first), and foreign_key_check runs before COMMIT.
                _driver(conn).execute("PRAGMA foreign_keys = OFF")
            try:
                conn.execution_options(tactics_write=True)
                with conn.begin():
                    if not sqlite:
                        # Two processes opening a new store at once: the second waits here,
                        # then finds the first one's revision and has nothing to do.
                        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(WRITE_LOCK_KEY)))
                        self._schema = conn.execute(sa.select(sa.func.current_schema())).scalar()
                        if self._schema is None:  # it read "no schema has been selected..."
                            raise StoreError(f"{self.label}: no schema of its search_path "
                                             f"exists in the database (a typo in ?options="
                                             f"-csearch_path=...?); create it first (CREATE "
                                             f"SCHEMA name) or name one that exists")
                    config = alembic_config()
                    config.attributes["connection"] = conn
                    self._adopt(conn, config)
                    before = MigrationContext.configure(conn).get_current_revision()
                    if before is None and not sqlite:
                        self.notice = self._beside(conn)
                    try:
                        command.upgrade(config, "head")
                    except CommandError as error:
                        raise StoreError(f"{self.label}: cannot upgrade the store "
                                         f"({error})") from None
                    except sa.exc.DBAPIError as error:
                        # Said as an upgrade, not as the bare SQL error ("permission denied
                        # for schema public LINE 2: CREATE TABLE ..."): the person must know
                        # the store is as it was and what it needs.
                        raise StoreError(self._not_upgraded(before, _reason(error))) from None
                    if sqlite:
                        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                        if broken:
                            raise StoreError(f"{self.label}: an upgrade would break foreign "
                                             f"keys ({broken[:3]}); nothing was changed")
            finally:
                if sqlite and not conn.closed and not conn.invalidated:
                    _driver(conn).execute("PRAGMA foreign_keys = ON")

    def _beside(self, conn: Connection) -> str | None:
        """What to say of a new store's tables made beside others in their schema (another
        application's, or a team's on purpose); None when the schema held none."""
        others = sorted(sa.inspect(conn).get_table_names())
        if not others:
            return None
        shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
        return (f"{self.full_label}: the store's tables were made beside {len(others)} other "
                f"table{'s' if len(others) != 1 else ''} in schema {self._schema} ({shown}); "
                f"to keep them apart, give the store a schema of its own (CREATE SCHEMA "
                f"tactics, then ?options=-csearch_path%3Dtactics in the URL)")

    def _not_upgraded(self, before: str | None, reason: str) -> str:
        """Why a store could not be created or upgraded, in one line: nothing of it changed."""
        reason = self._shown(reason.splitlines()[0] if reason.strip() else reason)
        if before is None:
            said = f"cannot create the store's tables ({reason}); nothing was written"
        else:
            said = (f"cannot upgrade the store from schema revision {before} to "
                    f"{scripts().get_current_head()} ({reason}); it was left as it was, and "
                    f"this version of tactic-classifier cannot use it until it is upgraded")
        if "permission denied" in reason or "must be owner" in reason:
            said += ("; creating and changing tables needs the database owner's rights: "
                     "open it once as its owner (any tactics command), or ask for them")
        return f"{self.label}: {said}"

    def _adopt(self, conn: Connection, config: Any) -> None:
        known = scripts()
        newest = int(known.get_current_head() or 0)
        current = MigrationContext.configure(conn).get_current_revision()
        tables = set(sa.inspect(conn).get_table_names())
        recorded: set[int] = set()
        if "migrations" in tables:
            recorded = set(conn.execute(sa.select(MIGRATIONS_TABLE.c.id)).scalars())
        if recorded and max(recorded) > newest:
            raise StoreError(f"{self.label}: made by a newer tactic-classifier (schema "
                             f"migration {max(recorded)}); upgrade tactic-classifier")
        if current is not None:
            try:
                known.get_revision(current)
            except CommandError:
                raise StoreError(f"{self.label}: made by a newer tactic-classifier (schema "
                                 f"revision {current}); upgrade tactic-classifier") from None
        elif recorded:
            if not recorded <= LEGACY_IDS:
                raise StoreError(f"{self.label}: schema migrations {sorted(recorded)} were "
                                 f"recorded without Alembic; this store cannot be upgraded")
            # Made before Alembic: migration N is revision 000N, so stamp and carry on.
            command.stamp(config, f"{max(recorded):04d}")

    def migrations(self) -> list[tuple[int, str]]:
        """The schema migrations applied to this store, in order."""
        with self._connect(write=False) as conn:
            rows = conn.execute(sa.select(MIGRATIONS_TABLE.c.id, MIGRATIONS_TABLE.c.name)
                                .order_by(MIGRATIONS_TABLE.c.id))
            return [(row.id, row.name) for row in rows]


def _broken_user_part(target: str) -> str | None:
    """For a URL whose password holds an unescaped @ (`tactics:p@ss@host`: host 'ss@host'),
    the URL as it may be shown, with none of its user part; None for any other URL."""
    scheme, _, rest = target.partition("://")
    found = AFTER_USER.fullmatch(rest)
    if found is None:
        return None
    after = found["after"]
    before_query, _, query = after.partition("?")
    # An @ in the host, port or database, or in a query "option" with no value (a ? in the
    # password: `p@s?s@host` makes "s@host" the query, which SQLAlchemy drops).
    if "@" not in before_query and not any("@" in part and "=" not in part
                                           for part in query.split("&")):
        return None
    # The host is after the last @ (before the query string, which may hold one of its own).
    host = (before_query if "@" in before_query else after).rsplit("@", 1)[1].partition("?")[0]
    return f"{DRIVERS.get(scheme, scheme)}://{HIDDEN}@{host}"


def _url(target: str) -> sa.engine.URL:
    """The URL, with psycopg (3) as the driver when none is named; a URL that cannot be parsed
    is refused without echoing it (it may hold a password)."""
    if (broken := _broken_user_part(target)) is not None:
        # Refused before the driver sees it: it would try the password's rest as a host name,
        # and say so (failed to resolve host 'ssw0rd@127.0.0.1').
        raise StoreError(f"{broken}: the URL's user part looks malformed; an @, # or / in the "
                         f"password must be URL-escaped (%40, %23, %2F)")
    try:
        url = sa.engine.make_url(target)
    except (sa.exc.ArgumentError, ValueError):
        raise StoreError(f"{safe_url(target)}: not a database URL{_unreadable(target)}; write "
                         f"it as postgresql://USER@HOST:PORT/DATABASE") from None
    if url.drivername in DRIVERS:
        url = url.set(drivername=DRIVERS[url.drivername])
    return url


def _unreadable(target: str) -> str:
    """What in a URL's server part SQLAlchemy could not read, as " (...)"; "" when not known.
    Only the part after the user's name and password is looked at: it is shown."""
    rest = target.partition("://")[2]
    found = AFTER_USER.fullmatch(rest)
    server = (found["after"] if found else rest).partition("/")[0].partition("?")[0]
    if server.startswith("[") and "]" not in server:
        return " (the [ of its IPv6 address is not closed)"
    # A typo in the port (host:54x2, host:port) read as "invalid literal for int()".
    host, colon, port = server.rpartition(":")
    if colon and not host.endswith(":") and not port.isdigit() and not server.endswith("]"):
        return (f" (its port {port!r} is not a number)" if port else
                " (no port after the : of its host; give one, or leave the : out)")
    return ""


def _driver(conn: Connection) -> Any:
    return conn.connection.driver_connection


def _scrub(text: str, secrets: list[str]) -> str:
    # Longest first: a password that holds another one is hidden whole.
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return text


def _scrub_names(text: str, names: list[str]) -> str:
    # Whole names only (a database "tactics" leaves "tactics_runs" alone), longest first.
    for name in sorted(set(names), key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", HIDDEN, text)
    return text


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
