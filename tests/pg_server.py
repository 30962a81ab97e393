"""A throw-away PostgreSQL server for tests: initdb in a temporary folder, a free 127.0.0.1 port.

`postgres_server` (session-scoped, in conftest.py) starts it once for the whole run, with a
random password, then stops it and removes the folder; `new_database` makes an empty database.

* As root: PostgreSQL refuses to run as root, so initdb / pg_ctl run as the `postgres` OS user
  (subprocess's user=/group=, i.e. a setuid/setgid in the child), and the folder is chowned to it.
* As anyone else: they run as that user.
* Binaries or the `postgres` user missing: skip with a reason, or fail when $CI is set.

Binaries: $PG_BIN if set, else `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest
import sqlalchemy as sa

DB_NAME = "tactics"
DB_USER = "tactics"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> NoReturn:
    """Skip locally; in CI a missing server is a broken CI, not a reason to skip."""
    if _in_ci():
        pytest.fail(f"PostgreSQL tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"no PostgreSQL to test against: {reason} "
                f"(apt-get install postgresql, or set PG_BIN to its bin folder)")


def _find_bindir() -> Path | None:
    candidates: list[str] = []
    if os.environ.get("PG_BIN"):
        candidates.append(os.environ["PG_BIN"])
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            candidates.append(subprocess.run([pg_config, "--bindir"], capture_output=True,
                                             text=True, check=True).stdout.strip())
        except (OSError, subprocess.CalledProcessError):
            pass

    def version(path: str) -> float:
        try:
            return float(Path(path).parent.name)
        except ValueError:
            return 0.0

    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    for folder in candidates:
        if all(os.access(Path(folder, tool), os.X_OK) for tool in ("initdb", "pg_ctl")):
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    url: sa.URL
    port: int
    folder: Path
    startup_s: float


@dataclass
class _Runner:
    """Runs PostgreSQL's tools as the right OS user."""

    bindir: Path
    as_user: pwd.struct_passwd | None  # None: as ourselves

    def run(self, tool: str, *args: str, timeout: float = 60, check: bool = True
            ) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, Any] = {}
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = env["LANG"] = "C.UTF-8"
        if self.as_user is not None:
            kwargs = dict(user=self.as_user.pw_uid, group=self.as_user.pw_gid, extra_groups=[])
            env["HOME"] = self.as_user.pw_dir
            env["USER"] = env["LOGNAME"] = self.as_user.pw_name
        return subprocess.run([str(self.bindir / tool), *args], capture_output=True, text=True,
                              timeout=timeout, check=check, env=env, cwd="/", **kwargs)


def start_postgres() -> tuple[PostgresServer, _Runner]:
    bindir = _find_bindir()
    if bindir is None:
        _unavailable("initdb/pg_ctl not found")
    as_user = None
    if os.geteuid() == 0:
        try:
            as_user = pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("running as root and there is no `postgres` OS user to run the "
                         "server as (PostgreSQL refuses to run as root)")
    runner = _Runner(bindir, as_user)

    t0 = time.perf_counter()
    # Not pytest's tmp_path (0700 root-only when run as root), and as root not $TMPDIR either
    # (it may sit under /root): /tmp, which the postgres user can traverse.
    folder = Path(tempfile.mkdtemp(prefix="tactics-pg-", dir="/tmp" if as_user else None))
    try:
        if as_user is not None:
            os.chown(folder, as_user.pw_uid, as_user.pw_gid)
        data, sock, pwfile = folder / "data", folder / "sock", folder / "pw"
        sock.mkdir()
        password = secrets.token_urlsafe(18)
        pwfile.write_text(password + "\n")
        if as_user is not None:
            for path in (sock, pwfile):
                os.chown(path, as_user.pw_uid, as_user.pw_gid)
        pwfile.chmod(0o600)
        # A temp folder whose parents the postgres user cannot traverse fails here, clearly.
        init = runner.run("initdb", "-D", str(data), "-U", DB_USER, f"--pwfile={pwfile}",
                          "--auth-local=trust", "--auth-host=scram-sha-256",
                          "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", check=False)
        pwfile.unlink()
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
        for _attempt in range(5):
            port = _free_port()  # a race with other programs is possible: retry
            options = (f"-p {port} -c listen_addresses=127.0.0.1 -k {sock} "
                       "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                       "-c shared_buffers=32MB -c max_connections=50")
            started = runner.run("pg_ctl", "-D", str(data), "-l", str(folder / "server.log"),
                                 "-w", "-t", "60", "-o", options, "start", check=False,
                                 timeout=90)
            if started.returncode == 0:
                break
        else:
            log = (folder / "server.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"pg_ctl start failed:\n{started.stdout}\n{started.stderr}\n{log}")
        runner.run("createdb", "-h", str(sock), "-p", str(port), "-U", DB_USER, DB_NAME)
        url = sa.URL.create("postgresql+psycopg", username=DB_USER, password=password,
                            host="127.0.0.1", port=port, database=DB_NAME)
        return PostgresServer(url, port, folder, time.perf_counter() - t0), runner
    except BaseException:
        stop_postgres(folder, runner)
        raise


def stop_postgres(folder: Path, runner: _Runner) -> None:
    data = folder / "data"
    if (data / "postmaster.pid").exists():
        runner.run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "-t", "30", "stop",
                   check=False)
    shutil.rmtree(folder, ignore_errors=True)


def new_database(server: PostgresServer) -> str:
    """A new, empty database on the server; its URL as text, password included (for Store)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server.url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return server.url.set(database=name).render_as_string(hide_password=False)
