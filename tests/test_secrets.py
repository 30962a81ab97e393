"""A database password never shows: not in errors, logs, the command line's output, the store
or what it writes, whether the connection fails or works."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import traceback
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from classifier.errors import StoreError
from classifier.store import Store, safe_url

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
# Odd characters, escaped in a URL: the check looks for the password and for its pieces.
WRONG = "S3cr3t-p@ss w0rd%'\""
PIECES = [WRONG, "S3cr3t", "p@ss", "w0rd"]


def _texts(error: BaseException) -> list[str]:
    return [str(error), repr(error), "".join(traceback.format_exception(error))]


def _leaks(text: str, secrets: list[str]) -> list[str]:
    return [secret for secret in secrets if secret in text]


def test_a_wrong_password_is_not_in_the_error_or_the_logs(postgres_db, caplog):
    url = sa.make_url(postgres_db).set(password=WRONG).render_as_string(hide_password=False)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StoreError, match="password authentication failed") as refused:
        Store(url)
    assert refused.value.__suppress_context__  # the driver's error (it holds the password) hidden
    for text in [*_texts(refused.value), caplog.text]:
        assert _leaks(text, PIECES) == []
    assert "tactics:***@127.0.0.1" in str(refused.value)


@pytest.mark.parametrize("url, message", [
    ("postgresql://ann:hunter2-secret@[::1/tactics",
     r"not a database URL \(the \[ of its IPv6 address is not closed\)"),
    # A typo in the port was "not a database URL", not saying what in it
    ("postgresql://ann:hunter2-secret@db.example.com:54e2/tactics",
     r"^postgresql://\*\*\*: not a database URL \(its port '54e2' is not a number\); write "
     r"it as postgresql://USER@HOST:PORT/DATABASE$"),
    ("postgresql+nosuchdriver://ann:hunter2-secret@127.0.0.1/tactics", "cannot use this"),
    ("mysql://ann:hunter2-secret@127.0.0.1/tactics",
     "cannot use this database URL: 'mysql' is not a database the store works on"),
    # A typo in the scheme: named as typed, not as SQLAlchemy's missing plugin.
    ("postgresq://ann:hunter2-secret@127.0.0.1/tactics",
     r"^postgresq://ann:\*\*\*@127.0.0.1/tactics: cannot use this database URL: 'postgresq' "
     r"is not a database the store works on; write postgresql://USER@HOST/DATABASE"),
])
def test_a_bad_url_is_refused_without_echoing_it(url, message):
    with pytest.raises(StoreError, match=message) as refused:
        Store(url)
    for text in _texts(refused.value):
        assert "hunter2-secret" not in text


def _dump(target: str) -> str:
    """Every value in every table of a store, as text."""
    engine = sa.create_engine(target)
    try:
        with engine.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
            return "\n".join(str(row) for table in tables
                             for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')))
    finally:
        engine.dispose()


def test_the_command_line_never_prints_or_stores_the_password(postgres_db, tmp_path):
    password = sa.make_url(postgres_db).password
    assert password
    wrong = sa.make_url(postgres_db).set(password=WRONG).render_as_string(hide_password=False)
    out = tmp_path / "out" / "results.csv"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}

    def classify(db: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "classifier", "classify",
                               str(DATA / "tasks.csv"), "--plan", str(DATA / "plan.yaml"),
                               "--out", str(out), "--db", db],
                              cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=600, check=False)

    failed = classify(wrong)
    assert failed.returncode == 2, failed.stderr
    assert "password authentication failed" in failed.stderr
    assert _leaks(failed.stdout + failed.stderr, PIECES) == []
    assert not out.exists()

    worked = classify(postgres_db)
    assert worked.returncode == 0, worked.stderr
    assert "saved as run #1 in postgresql+psycopg://tactics:***@" in worked.stderr
    everything = worked.stdout + worked.stderr + out.read_text(encoding="utf-8") + \
        _dump(postgres_db)
    assert password not in everything
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path


def _password_in_query(postgres_db: str, query: str) -> str:
    """The test database's URL as a team writes it, no password in its user part, `query` after."""
    url = sa.make_url(postgres_db)
    return f"postgresql://{url.username}@{url.host}:{url.port}/{url.database}?{query}"


def test_a_password_given_as_a_query_option_is_never_printed(postgres_db, tmp_path):
    """libpq takes `?password=` too: it was printed whole in every line naming the store."""
    from typer.testing import CliRunner

    from classifier.cli import app

    password = sa.make_url(postgres_db).password
    assert password
    url = _password_in_query(postgres_db, f"password={quote(password, safe='')}")
    listed = CliRunner().invoke(app, ["runs", "--db", url])
    assert listed.exit_code == 0, listed.output
    assert "no run of plan 'default' in postgresql+psycopg://tactics@127.0.0.1:" in listed.stderr
    assert "?password=*** yet" in listed.stderr
    # An output holding decisions not recorded yet: the refusal says which --db to record them in.
    queue = tmp_path / "queue.csv"
    queue.write_text("task_id,decision\nrun1-task1,none\n", encoding="utf-8")
    refused = CliRunner().invoke(app, ["classify", str(DATA / "tasks.txt"), "--plan",
                                       str(DATA / "plan.yaml"), "--out", str(queue), "--db", url])
    assert refused.exit_code == 2, refused.output
    assert "--db postgresql://tactics@127.0.0.1:" in refused.stderr
    assert "?password=*** --plan" in refused.stderr
    for done in (listed, refused):
        assert password not in done.output


def test_a_wrong_password_and_a_key_password_in_the_query_are_never_printed(postgres_db):
    url = _password_in_query(postgres_db,
                             f"sslpassword=key-S3cr3t&password={quote(WRONG, safe='')}")
    with pytest.raises(StoreError, match="password authentication failed") as refused:
        Store(url)
    for text in _texts(refused.value):
        assert _leaks(text, [*PIECES, "key-S3cr3t"]) == []
    assert "?password=***&sslpassword=***: " in str(refused.value)


@pytest.mark.parametrize("url, shown", [
    ("postgresql://tactics@db.example.com/tactics?password=S3cr3t&sslmode=require",
     "postgresql://tactics@db.example.com/tactics?sslmode=require&password=***"),
    ("postgresql://tactics:S3cr3t@db.example.com/tactics?sslpassword=S3cr3t-key",
     "postgresql://tactics:***@db.example.com/tactics?sslpassword=***"),
])
def test_a_url_is_shown_with_every_password_hidden(url, shown):
    assert safe_url(url) == shown


@pytest.mark.parametrize("user_part, host", [
    ("tactics:p@ssw0rdLEAK", "127.0.0.1:54381/tactics"),
    ("tactics:p@ssw0rd#LEAK", "127.0.0.1:54381/tactics"),
    ("tactics:p@ssw0rd?LEAK", "127.0.0.1:54381/tactics"),  # the rest read as a query string
    ("tactics:p@ssw0rd/LEAK", "127.0.0.1:54381/tactics"),  # ... or as the database
    ("tactics:p@ssw0rd:LEAK", "127.0.0.1:54381/tactics"),  # ... or as the port
])
def test_a_password_with_an_unescaped_at_sign_is_refused_showing_none_of_it(user_part, host):
    """The driver tried the password's rest as the host: 'failed to resolve host
    'ssw0rdLEAK@127.0.0.1'', after a label showing 'tactics:***@ssw0rdLEAK@...'."""
    from typer.testing import CliRunner

    from classifier.cli import app

    done = CliRunner().invoke(app, ["runs", "--db", f"postgresql://{user_part}@{host}"])
    assert done.exit_code == 2
    assert done.stderr.splitlines() == [
        f"error: postgresql+psycopg://***@{host}: the URL's user part looks malformed; an @, # "
        f"or / in the password must be URL-escaped (%40, %23, %2F)"]
    assert _leaks(done.output, ["ssw0rd", "LEAK", "tactics:p", "p@ss"]) == []


@pytest.mark.parametrize("url, shown", [
    # An @ in the user name (Azure's user@server) or escaped in the password is no mistake.
    ("postgresql://tactics@server:S3cr3t@db.example.com/tactics",
     "postgresql://tactics%40server:***@db.example.com/tactics"),
    ("postgresql://tactics:p%40ss@db.example.com/tactics",
     "postgresql://tactics:***@db.example.com/tactics"),
])
def test_an_at_sign_where_a_url_allows_it_is_read_as_written(url, shown):
    assert safe_url(url) == shown
