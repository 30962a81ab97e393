"""A database password never shows: not in errors, logs, the command line's output, the store
or what it writes, whether the connection fails or works."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
import sqlalchemy as sa

from classifier.errors import StoreError
from classifier.store import Store

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
    ("postgresql://ann:hunter2-secret@[::1/tactics", "not a database URL"),
    ("postgresql+nosuchdriver://ann:hunter2-secret@127.0.0.1/tactics", "cannot use this"),
    ("mysql://ann:hunter2-secret@127.0.0.1/tactics", "cannot use this|not supported"),
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
