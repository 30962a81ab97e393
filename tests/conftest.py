"""Shared fixtures: the real model, loaded once per session, and the sample plan."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

# Tests never touch the network; the bundled model loads from site-packages.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Tests decide as fast as a script clicks: the Review page's guard against a key pressed twice
# (a decision within 0.4 s of the last) is off, except in the test of that guard.
os.environ["TACTICS_REVIEW_REPEAT_S"] = "0"

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"

# The longest files first (each about a minute or more on 2 cores: a Ray cluster, browsers,
# child processes): `make test` hands whole files to two processes in this order, so the short
# files fill the gaps instead of one long file running alone at the end.
LONGEST_FIRST = ("test_distributed.py", "test_e2e.py", "test_same_answer.py",
                 "test_e2e_signin.py", "test_batch.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order inside a file stays as written


@pytest.fixture(scope="session")
def embedder():
    from classifier.model.embedding import get_embedder

    return get_embedder()


@pytest.fixture(scope="session")
def sample_plan():
    from classifier.plan import load_plan

    return load_plan(DATA / "plan.yaml")


@pytest.fixture(scope="session")
def classifier(sample_plan, embedder):
    from classifier.model.engine import Classifier

    return Classifier(sample_plan, embedder)


@pytest.fixture
def scripted_llm():
    """A real OpenAI-compatible chat server on 127.0.0.1 answering from a per-test script."""
    from llm_server import ScriptedLLM

    server = ScriptedLLM()
    yield server
    server.close()


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server for the whole run (skipped locally, a failure in CI, without
    one): started on a free 127.0.0.1 port in a temporary folder, stopped at the end."""
    from pg_server import start_postgres, stop_postgres

    server, runner = start_postgres()
    try:
        yield server
    finally:
        stop_postgres(server.folder, runner)


@pytest.fixture
def postgres_db(postgres_server) -> str:
    """A new, empty database on the session's server: its URL, password included."""
    from pg_server import new_database

    return new_database(postgres_server)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request, tmp_path) -> str:
    """Where a test's store lives, once per back end: a new SQLite file's path, or the URL of a
    new database on the session's PostgreSQL server. A test that asks for it runs on both."""
    if request.param == "sqlite":
        return str(tmp_path / "tactics.db")
    return request.getfixturevalue("postgres_db")


def ctrl_c_as_in_a_terminal() -> None:
    """For a child process that the test interrupts: Ctrl-C as a terminal delivers it, even when
    the tests themselves run in the background of a shell (which starts them with SIGINT ignored,
    and an ignored signal stays ignored across exec)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
