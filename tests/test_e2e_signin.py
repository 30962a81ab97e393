"""Sign-in end to end: two `streamlit run app.py` instances sharing one PostgreSQL store, a real
OpenID Connect provider process (oidc-provider-mock) on 127.0.0.1 standing in for the company's,
and Debian's chromium. Alice (a decider) signs in on one instance and decides; Bob (signed in,
not on the allow-list) sees her decision on the other instance, is refused when he decides, and
signs out. Neither the client secret nor the database password shows anywhere.

Set TACTICS_SCREENS=/some/folder to keep screenshots.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_e2e import (
    CHROMIUM,
    CHROMIUM_ARGS,
    WAIT_MS,
    _free_port,
    _idle,
    _screenshot,
    _wait_for_text,
    _wait_healthy,
)

from classifier.store import Store

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CLIENT_SECRET = "oidc-client-secret-never-shown-5b1e"
USERS = [{"sub": "alice", "email": "alice@example.com", "name": "Alice Example"},
         {"sub": "bob", "email": "bob@example.com", "name": "Bob Viewer"}]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        message = "Debian chromium missing: apt-get install -y chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _start(command: list[str], log: Path, **kwargs: object) -> subprocess.Popen:
    with log.open("w") as handle:
        return subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, **kwargs)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(20)


def _secrets(folder: Path, app_port: int, oidc_port: int) -> Path:
    """The app's settings file, as a team writes it (README, "For a team")."""
    path = folder / f"secrets-{app_port}.toml"
    path.write_text(f"""\
[auth]
redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"
cookie_secret = "{os.urandom(24).hex()}"
client_id = "tactic-classifier"
client_secret = "{CLIENT_SECRET}"
server_metadata_url = "http://127.0.0.1:{oidc_port}/.well-known/openid-configuration"

[tactics]
deciders = ["alice@example.com"]
""")
    return path


@contextmanager
def _provider(folder: Path) -> Iterator[int]:
    """oidc-provider-mock on a free 127.0.0.1 port, knowing Alice and Bob; yields its port."""
    port = _free_port()
    command = [str(BIN / "oidc-provider-mock"), "--host", "127.0.0.1", "--port", str(port)]
    for user in USERS:
        command += ["--user-claims", json.dumps(user)]
    process = _start(command, folder / "oidc.log", cwd=folder)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", process, path="/.well-known/openid-configuration")
        yield port
    finally:
        _stop(process)


@contextmanager
def _app(folder: Path, db: str, oidc_port: int) -> Iterator[str]:
    """One app instance with sign-in configured, on a free port; yields its URL."""
    port = _free_port()
    secrets = _secrets(folder, port, oidc_port)
    streamlit = shutil.which("streamlit", path=str(BIN)) or "streamlit"
    env = {**os.environ, "TACTICS_DB": db, "HF_HUB_OFFLINE": "1", "HOME": str(folder)}
    process = _start([streamlit, "run", "app.py", "--server.port", str(port),
                      "--server.address", "127.0.0.1", "--server.headless", "true",
                      "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
                      "--secrets.files", str(secrets)],
                     folder / f"streamlit-{port}.log", cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        _stop(process)


@contextmanager
def _browser() -> Iterator[object]:
    """Chromium; each `new_context()` is a separate person (own cookies)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _person(browser: object) -> object:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(WAIT_MS)
    return page


def _sign_in(page, app: str, sub: str, address: str = "/review") -> None:
    from playwright.sync_api import expect

    page.goto(f"{app}{address}")
    sign_in = page.get_by_role("button", name="Sign in")
    sign_in.wait_for()
    # nothing of the app before sign-in: no pages, no tasks, no reviewer box
    expect(page.get_by_role("link", name="Review")).to_have_count(0)
    expect(page.get_by_text("left to review of")).to_have_count(0)
    expect(page.get_by_label("Reviewer")).to_have_count(0)
    _screenshot(page, f"signin-0-{sub}-signed-out")
    sign_in.click()
    # the provider's page: one button per known user (its `sub`)
    page.get_by_role("button", name=sub, exact=True).click()
    page.wait_for_url(f"{app}/**")


def _sign_out(page, app: str) -> None:
    page.get_by_role("button", name="Sign out").click()
    # st.logout goes to the provider's end-session page, which sends the browser back.
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{app}/**")
    page.get_by_role("button", name="Sign in").wait_for()


def _everything(db: str) -> str:
    engine = sa.create_engine(db)
    try:
        with engine.connect() as conn:
            return "\n".join(str(row) for table in sa.inspect(conn).get_table_names()
                             for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')))
    finally:
        engine.dispose()


def test_sign_in_decide_refuse_a_viewer_and_sign_out(tmp_path, postgres_db):
    _need_chromium()
    password = sa.make_url(postgres_db).password
    with ExitStack() as stack:
        oidc_port = stack.enter_context(_provider(tmp_path))
        first = stack.enter_context(_app(tmp_path, postgres_db, oidc_port))
        second = stack.enter_context(_app(tmp_path, postgres_db, oidc_port))
        browser = stack.enter_context(_browser())

        alice = _person(browser)
        _sign_in(alice, first, "alice")
        alice.get_by_text("Signed in as Alice Example (alice@example.com)").wait_for()
        # The page she opened, not Classify (the sign-in callback lands on the root), with the
        # sample classified at once.
        alice.wait_for_url(f"{first}/review**")
        alice.get_by_role("heading", name="Review").wait_for()
        alice.get_by_role("button", name="Skip the teach-in").click()  # straight to the queue
        alice.get_by_text("left to review of").wait_for()
        _idle(alice)
        task = alice.locator("[data-testid='stMain'] [data-testid='stText']").first \
            .inner_text().strip()
        alice.get_by_role("button", name=re.compile("serves no strategy", re.IGNORECASE)).click()
        alice.get_by_text("Last: serves no strategy by alice@example.com").wait_for()
        _screenshot(alice, "signin-1-alice-decided")
        with Store(postgres_db) as store:
            trail = store.decisions()
        assert [(r.text, r.reviewer, r.reviewer_subject) for r in trail.itertuples()] == [
            (task, "alice@example.com", f"http://127.0.0.1:{oidc_port} alice")]
        # A newer run than the one Bob's link names below (the landing pinned the newest).
        alice.get_by_role("link", name="Classify").click()
        alice.get_by_role("textbox", name="Tasks, one per line").fill("Pitch our widgets")
        alice.get_by_role("button", name="Classify pasted tasks").click()
        alice.get_by_text("Classified 1 rows as run #2").wait_for()
        _idle(alice)
        _sign_out(alice, first)
        alice.goto(f"{first}/review")
        alice.get_by_role("button", name="Sign in").wait_for()
        assert alice.get_by_text("left to review of").count() == 0

        bob = _person(browser)  # on the other instance, from a link to a report of run 1
        _sign_in(bob, second, "bob", "/report?run=1")
        bob.get_by_text("Signed in as Bob Viewer (bob@example.com)").wait_for()
        bob.wait_for_url(f"{second}/report?run=1")
        bob.get_by_role("heading", name="Report").wait_for()
        _idle(bob)
        bob.get_by_text(re.compile(r"^Run #1 · ")).wait_for()
        assert bob.url == f"{second}/report?run=1"
        # used once: the root leads to Classify again
        assert not [c for c in bob.context.cookies() if c["name"] == "tactics_after_sign_in"]
        bob.get_by_text("Viewer: you may look and download reports, not decide.").wait_for()
        bob.get_by_role("link", name="Review").click()
        # Alice's decision, made on the other instance, is here
        _wait_for_text(bob, "Last: serves no strategy by alice@example.com", "Review")
        _idle(bob)
        # A viewer's decision buttons are greyed out (the store would refuse the write too).
        button = bob.get_by_role("button", name=re.compile("serves no strategy", re.IGNORECASE))
        assert button.is_disabled()
        _screenshot(bob, "signin-2-bob-greyed-out")
        with Store(postgres_db) as store:
            assert store.decisions()["reviewer"].tolist() == ["alice@example.com"]
        html = bob.content() + alice.content()
        _sign_out(bob, second)

    assert CLIENT_SECRET not in html and password not in html
    logs = [path for path in tmp_path.glob("*.log")]
    assert len(logs) == 3
    for log in logs:
        text = log.read_text(errors="replace")
        assert CLIENT_SECRET not in text and password not in text, log.name
    assert CLIENT_SECRET not in _everything(postgres_db)
    assert password not in _everything(postgres_db)
    assert re.search("alice@example.com", _everything(postgres_db))
