"""Who may decide: the allow-list, the claims an identity comes from, and the app with sign-in
configured (signed out: nothing shown; a decider's decision signed; a viewer's writes greyed
out), through AppTest. The real browser and identity provider are in test_e2e_signin.py."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from classifier.access import Reviewer, acting, may_decide
from classifier.errors import AccessError
from classifier.store import Store
from classifier.ui.auth import (
    WANTED_COOKIE,
    AuthSettings,
    auth_settings,
    reviewer_from_claims,
    wanted_page,
)

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 300
CLIENT_SECRET = "client-secret-never-shown-7f3a"
SECRETS = {
    "auth": {"redirect_uri": "http://127.0.0.1:8501/oauth2callback",
             "cookie_secret": "cookie-secret-never-shown", "client_id": "tactics",
             "client_secret": CLIENT_SECRET,
             "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"},
    "tactics": {"deciders": ["alice@example.com"]},
}
ALICE = {"is_logged_in": True, "email": "Alice@Example.com", "name": "Alice Example",
         "sub": "alice-sub", "iss": "http://127.0.0.1:9"}
BOB = {"is_logged_in": True, "email": "bob@example.com", "name": "Bob Viewer", "sub": "bob-sub",
       "iss": "http://127.0.0.1:9"}


# ------------------------------------------------------------------ pure rules

@pytest.mark.parametrize("identity, deciders, allowed", [
    ("alice@example.com", ["alice@example.com"], True),
    (" Alice@Example.COM ", ["alice@example.com"], True),  # case and spaces do not matter
    ("bob@example.com", ["alice@example.com"], False),
    ("bob@example.com", ["@example.com"], True),  # a whole domain
    ("bob@example.com.evil.test", ["@example.com"], False),
    ("bob@sub.example.com", ["@example.com"], False),  # exactly that domain, not below it
    ("alice@example.com", [], False),  # no allow-list: nobody decides
    ("", ["", "@"], False),  # no identity: never
    ("alice", ["alice"], True),  # a username without a domain (an `sub` or a UPN)
])
def test_the_allow_list(identity, deciders, allowed):
    assert may_decide(identity, deciders) is allowed


def test_settings_from_the_secrets_file():
    assert not auth_settings({}).configured
    assert not auth_settings({"tactics": {"deciders": ["a@b.c"]}}).configured
    one = auth_settings(SECRETS)
    assert one == AuthSettings(providers=(None,), deciders=("alice@example.com",))
    named = auth_settings({"auth": {"redirect_uri": "x", "cookie_secret": "y",
                                    "microsoft": {"client_id": "m"}, "okta": {"client_id": "o"}},
                           "tactics": {"deciders": "alice@example.com"}})
    assert named.providers == ("microsoft", "okta") and named.deciders == ("alice@example.com",)


@pytest.mark.parametrize("claims, name", [
    ({"email": "Alice@Example.com", "preferred_username": "x", "sub": "s"}, "alice@example.com"),
    ({"preferred_username": "alice@corp.example", "sub": "s"}, "alice@corp.example"),  # Entra
    ({"sub": "opaque-subject"}, "opaque-subject"),
    ({"email": "alice@example.com", "email_verified": True, "sub": "s"}, "alice@example.com"),
    # An address the provider has not verified is anybody's: never the decider's
    ({"email": "alice@example.com", "email_verified": False, "preferred_username": "mallory",
      "sub": "s"}, "mallory"),
    ({"email": "alice@example.com", "email_verified": False, "sub": "s"}, "s"),
    ({"email": "alice@example.com", "email_verified": "false", "sub": "s"}, "s"),
])
def test_the_identity_comes_from_the_providers_claims(claims, name):
    reviewer = reviewer_from_claims({**claims, "iss": "https://idp"}, ("alice@example.com",))
    assert reviewer.name == name
    assert reviewer.subject == "https://idp s" if claims.get("sub") == "s" else True
    assert reviewer.may_decide is (name == "alice@example.com")


@pytest.mark.parametrize("typed", ["Ana Müller", " Ana  Müller ", "Ana\nMüller", "Ana\tMüller",
                                   "Ana\x1bMüller", "Ana\x00Müller\x7f"])
def test_a_name_is_one_line_with_single_spaces(typed):
    # One person in the audit trail, however the name was typed or pasted.
    assert acting(typed).name == "Ana Müller"
    assert acting(Reviewer(typed, True)).name == "Ana Müller"


def test_a_viewer_is_refused_by_the_library():
    with pytest.raises(AccessError, match="bob may view, not decide"):
        Reviewer("bob", may_decide=False).require_decider()
    Reviewer("alice").require_decider()


@pytest.mark.parametrize("written, wanted", [
    ("%2Freview%3Frun%3D7", ("review", {"run": "7"})),  # as the sign-in page's browser writes it
    ("/app/report?reviewer=x&run=12", ("report", {"run": "12"})),  # under a base URL path
    ("/review?run=7%3Bdrop", ("review", {})),  # a run that is no run id: the page only
    ("/review/", ("review", {})),
    ("/home", None), ("/", None), ("https://evil.test/x", None), ("", None),
])
def test_the_page_wanted_before_sign_in_is_one_of_the_apps(written, wanted):
    """The browser writes the cookie: only a page of the app and a run id are taken from it."""
    pages = ("plan", "classify", "review", "report", "trends")
    assert wanted_page({WANTED_COOKIE: written}, pages, "run") == wanted
    assert wanted_page({}, pages, "run") is None


# ------------------------------------------------------------------ the app, signed in or not

@pytest.fixture
def db(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "tactics.db"
    monkeypatch.setenv("TACTICS_DB", str(path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return path


def app_as(user: dict | None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets.update(SECRETS)
    at.user = dict(user) if user else {"is_logged_in": False}
    at.run()
    if page is not None:
        at.switch_page(f"classifier/ui/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def everything_shown(at: AppTest) -> str:
    return "\n".join(str(element.value) for kind in ("title", "markdown", "text", "caption",
                                                     "info", "error", "warning", "metric")
                     for element in getattr(at, kind))


def test_signed_out_the_app_shows_only_the_sign_in_button(db):
    at = app_as(None)
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.text_input and not at.metric and not at.dataframe and not at.sidebar.button
    assert "Results of run" not in everything_shown(at)
    assert not db.exists()  # the store is not even opened before sign-in
    at = app_as(None, "review")  # asking for a page directly changes nothing
    assert [b.label for b in at.button] == ["Sign in"] and not db.exists()
    assert CLIENT_SECRET not in everything_shown(at)


@pytest.fixture
def secrets_files():
    """Name secrets files as --secrets.files does; Streamlit's default locations again after,
    and none of their secrets kept (st.secrets keeps what it read for the whole process: a
    later test's app, in the same worker, asked for a sign-in)."""
    from streamlit import config
    from streamlit.config_option import ConfigOption

    default = config.get_option("secrets.files")

    def name(*paths: Path) -> None:
        config.set_option("secrets.files", [str(path) for path in paths],
                          where_defined="command-line argument or environment variable")
        st.secrets._reset()

    yield name
    config.set_option("secrets.files", default, where_defined=ConfigOption.DEFAULT_DEFINITION)
    st.secrets._reset()


def _started() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_mistyped_secrets_file_stops_the_app_instead_of_running_it_without_sign_in(
        db, tmp_path, secrets_files):
    """Streamlit goes on without a secrets file it cannot find: the app had no sign-in, and on
    a team store anyone decided as anybody."""
    missing = tmp_path / "secrets.tml"
    secrets_files(missing)
    at = _started()
    assert [e.value for e in at.error] == [
        f"{missing}: no such secrets file (named with --secrets.files or "
        f"STREAMLIT_SECRETS_FILES); without it the app would have no sign-in, so it does not "
        f"start. Correct the path, or leave the option out for a local, single-user app."]
    assert not at.button and not at.sidebar.text_input and not at.text
    assert not db.exists()  # nothing of the store either


def test_a_secrets_file_that_cannot_be_read_stops_the_app(db, tmp_path, secrets_files):
    broken = tmp_path / "secrets.toml"
    broken.write_text('[auth]\nclient_id = "tactics\n', encoding="utf-8")  # unclosed string
    secrets_files(broken)
    at = _started()
    [error] = at.error
    assert error.value.startswith("The secrets cannot be read (") and str(broken) in error.value
    assert error.value.endswith("without them the app would have no sign-in, so it does not "
                                "start.")
    assert not at.button and not db.exists()


def test_a_secrets_file_named_on_the_command_line_turns_sign_in_on(db, tmp_path, secrets_files):
    named = tmp_path / "secrets.toml"
    named.write_text("".join(f"[{section}]\n" + "".join(f"{key} = {json.dumps(value)}\n"
                                                        for key, value in values.items())
                             for section, values in SECRETS.items()), encoding="utf-8")
    secrets_files(named)
    at = _started()
    assert not at.error and [b.label for b in at.button] == ["Sign in"]


def test_a_decider_decides_under_the_signed_in_identity(db):
    at = app_as(ALICE, "review")
    assert not at.sidebar.text_input  # no free-text reviewer box with sign-in
    sidebar = "\n".join(str(t.value) for t in at.sidebar.text)
    assert "Signed in as Alice Example (alice@example.com)" in sidebar
    assert [b.label for b in at.sidebar.button] == ["Sign out"]
    shown = at.text[0].value
    assert not any(b.disabled for b in at.button)  # a decider's buttons all work
    assert any(c.value.startswith("Keys:") for c in at.caption)
    [button] = [b for b in at.button if b.key.startswith("review_misaligned_")]  # the task's own
    button.click().run()
    assert not at.exception and not at.error
    with Store(db) as store:
        [decision] = store.decisions(store.latest_run().id).itertuples()
    assert (decision.text, decision.reviewer, decision.reviewer_subject) == (
        shown, "alice@example.com", "http://127.0.0.1:9 alice-sub")


def test_a_viewers_first_visit_to_an_empty_store_writes_nothing(db):
    # The sample plan and its 108 tasks stayed in the team's store, among its runs.
    at = app_as(BOB)
    assert any("Nothing is classified in this store yet" in i.value for i in at.info)
    assert "Results of run" not in everything_shown(at)
    with Store(db) as store:
        assert store.runs() == [] and store.plan_versions() == []


def test_an_unverified_email_signs_nobody_in_under_that_address(db):
    """A provider account may claim any address; with email_verified false the app made it a
    decider under Alice's name."""
    app_as(ALICE)  # the first visit classifies the sample tasks
    at = app_as({**ALICE, "email_verified": False})
    sidebar = "\n".join(str(t.value) for t in at.sidebar.text)
    assert "Signed in as Alice Example (alice-sub)" in sidebar
    assert "alice@example.com" not in sidebar
    assert any(i.value.replace("\\", "").startswith("Signed in as alice-sub, a viewer")
               for i in at.info)  # markdown-escaped on the page
    assert at.button(key="classify_paste").disabled


def test_a_viewer_may_look_and_download_but_finds_every_write_greyed_out(db):
    first = app_as(ALICE)  # the first visit classifies the sample tasks
    assert any(m.value.startswith("**Teach this plan.**") for m in first.markdown)
    assert not any(m.value.startswith("**Teach this plan.**")  # a viewer cannot teach
                   for m in app_as(BOB).markdown)
    at = app_as(BOB, "review")
    assert any("a viewer" in i.value for i in at.info)
    assert any("Viewer: you may look" in c.value for c in at.sidebar.caption)
    assert at.text  # the task is shown
    # Greyed out (a browser cannot press them); the store refuses such a write anyway
    # (test_store: a viewer is refused at the write).
    deciding = [b for b in at.button if b.key.startswith("review_")]
    # (each task's buttons carry the run and the task in their keys)
    assert {"review_misaligned", "review_skip", "review_undo"} <= {
        re.sub(r"_\d+_\d+$", "", b.key) for b in deciding}
    assert all(b.disabled for b in deciding)
    assert not any(c.value.startswith("Keys:") for c in at.caption)  # no keys to press
    with Store(db) as store:
        assert store.decisions().empty
    report = app_as(BOB, "report")
    assert not report.error and report.get("download_button")  # downloads are for viewers too
    plan = app_as(BOB, "plan")
    assert plan.button(key="plan_save").disabled and plan.text_area[0].disabled
    assert app_as(BOB).button(key="classify_paste").disabled
    assert not app_as(ALICE).button(key="classify_paste").disabled
    with Store(db) as store:
        assert len(store.runs()) == 1 and len(store.plan_versions()) == 1


def test_a_decision_from_another_app_instance_shows_on_the_next_redraw(postgres_db,
                                                                       monkeypatch):
    """Two app instances on one PostgreSQL store: this one (AppTest), and another process
    deciding through its own Store, as a second `streamlit run` on another laptop would."""
    monkeypatch.setenv("TACTICS_DB", postgres_db)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    at = app_as(ALICE, "review")
    shown = at.text[0].value
    with Store(postgres_db) as store:
        run = store.latest_run()
        row = int(store.run_results(run.id).query("task == @shown")["row"].iloc[0])
    script = ("import sys\nfrom classifier.store import Store\n"
              "with Store(sys.argv[1]) as s:\n"
              "    s.record_decision(int(sys.argv[2]), int(sys.argv[3]), 'misaligned', None,"
              " 'carol@example.com')\n")
    subprocess.run([sys.executable, "-c", script, postgres_db, str(run.id), str(row)],
                   cwd=ROOT, check=True, timeout=120)
    at.run()  # the next redraw
    assert at.text[0].value != shown  # the task decided elsewhere left this queue
    assert any(f"Last: serves no strategy by carol@example.com · task {row + 1}"
               in t.value for t in at.text)


def test_a_team_apps_pages_never_say_where_its_store_is(monkeypatch, caplog):
    """The team's PostgreSQL store out of reach at a decision: the page named its server (host,
    port, user, database) to every signed-in person, viewers too; now only the server's log
    does, and the CLI, whose user administers it."""
    from pg_server import DB_USER, new_database, start_postgres, stop_postgres
    from typer.testing import CliRunner

    from classifier.cli import app
    from classifier.store import safe_url

    server, runner = start_postgres()  # its own server: this test stops it
    try:
        url = new_database(server)
        monkeypatch.setenv("TACTICS_DB", url)
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        at = app_as(ALICE, "review")
    finally:
        stop_postgres(server.folder, runner)
    database = url.rsplit("/", 1)[1]
    full = f"{safe_url(url)}: connection failed: connection to server at \"127.0.0.1\", port"
    out_of_reach = ("the team's store: connection failed: connection to server at \"***\", "
                    "port *** failed: Connection refused")
    server_details = ("127.0.0.1", str(server.port), DB_USER, database, "postgresql")

    [button] = [b for b in at.button if b.key.startswith("review_misaligned_")]
    button.click().run()
    [error] = at.error  # the page's first read of the store fails before the decision is shown
    assert error.value.startswith(out_of_reach)
    assert not [detail for detail in server_details if detail in everything_shown(at)]
    assert full in caplog.text  # for whoever runs the app
    viewer = app_as(BOB, "review")  # a viewer's first look finds the store out of reach
    [error] = viewer.error
    assert error.value.startswith(out_of_reach)
    assert not [detail for detail in server_details if detail in everything_shown(viewer)]

    listing = CliRunner().invoke(app, ["runs", "--db", url])  # an admin at a shell
    assert listing.exit_code != 0 and full in listing.stderr
