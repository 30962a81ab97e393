"""What every page shares: the store, the model and classifiers (cached once per process),
who is reviewing (signed in, or named in the sidebar), the current run, and the sample run made
on first launch."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

import streamlit as st

from classifier.access import Reviewer, acting
from classifier.errors import LLMError, StoreError
from classifier.files.readers import read_tasks
from classifier.llm import LLMSettings, llm_settings
from classifier.model.embedding import Embedder, get_embedder
from classifier.model.engine import Classifier
from classifier.model.history import Earlier
from classifier.model.learned import Learned
from classifier.model.learning import build_classifier
from classifier.pipeline import classify_into_store
from classifier.plan import Plan, dump_plan, load_plan
from classifier.report.summary import task_count
from classifier.store import RunInfo, Store, default_db_target
from classifier.ui import auth

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_PLAN = ROOT / "data" / "plan.yaml"
SAMPLE_TASKS = ROOT / "data" / "tasks.csv"
PLAN_NAME = "default"
RUN_PARAM = "run"  # the address parameter naming the run the pages show
# How a team app's pages name the store: its server's address and database are the admin's to
# know (they are in the server's log), not every signed-in viewer's.
TEAM_STORE = "the team's store"
LLM_HOW = ("Set TACTICS_LLM_BASE_URL and TACTICS_LLM_MODEL (and the key in OPENAI_API_KEY, or in "
           "the variable TACTICS_LLM_KEY_ENV names, if the endpoint needs one)")
# Set once the teach-in is behind this browser session (re-scored, or put off with "Later").
TEACH_IN_DONE = f"teach_done_{PLAN_NAME}"
# The plan's newest run id when the run shown was picked (or pinned): a later one is news.
NEWEST_KNOWN = "run_newest_known"
RUN_GONE = "run_gone"  # (id, by) of the run shown, set aside by someone: said once
RUN_UNKNOWN = "run_unknown"  # the address's run that is none of the store's: said once

_first_launch = threading.Lock()


@st.cache_resource(show_spinner=False)
def _store(target: str, shown_as: str | None) -> Store:
    opened = Store(target, shown_as=shown_as)
    if opened.notice:  # for whoever runs the app: the pages' viewers cannot act on it
        logging.getLogger(__name__).warning(opened.notice)
    return opened


def store() -> Store:
    """The store at $TACTICS_DB (a file, default ./tactics.db, or a postgresql:// URL), opened
    once per process and target; with sign-in, its messages name it as the team's store."""
    target = default_db_target()
    return _store(target if isinstance(target, str) else str(target.resolve()),
                  TEAM_STORE if auth.settings().configured else None)


def llm_endpoint() -> tuple[LLMSettings | None, str]:
    """The LLM endpoint the environment sets up, or None and why not: "" when none is set up,
    else the one line saying what is wrong with the settings given."""
    try:
        return llm_settings(), ""
    except LLMError as error:
        given = any(os.environ.get(name, "").strip()
                    for name in ("TACTICS_LLM_BASE_URL", "TACTICS_LLM_MODEL"))
        return None, str(error) if given else ""


@st.cache_resource(show_spinner="Loading the language model…")
def embedder() -> Embedder:
    """The bundled embedding model, loaded once per process."""
    return get_embedder()


@st.cache_resource(show_spinner="Indexing the strategies…", max_entries=8)
def _classifier(plan_text: str, learned_key: str, earlier_runs: tuple[int, ...], _plan: Plan,
                _learned: Learned, _earlier: Earlier) -> Classifier:
    return build_classifier(_plan, embedder(), _learned, vectors=store(), earlier=_earlier)


def classifier(plan: Plan) -> Classifier:
    """A classifier for this plan, the decisions learned so far and the plan's earlier runs
    (rebuilt when any of them changes)."""
    db = store()
    frame = db.learned_examples(PLAN_NAME, plan)
    learned_key = hashlib.sha256(
        frame.to_csv(index=False).encode("utf-8")).hexdigest() if len(frame) else ""
    earlier = db.earlier_tasks(PLAN_NAME, plan)
    return _classifier(dump_plan(plan, "json"), learned_key, earlier.runs, plan,
                       Learned.from_frame(frame), earlier)


def _default_reviewer() -> str:
    return os.environ.get("USER") or "manager"


def reviewer() -> Reviewer:
    """Who is reviewing, shown in the sidebar: the signed-in person (with sign-in configured),
    else the name typed in the sidebar's box (default $USER or "manager"), kept in the address."""
    signed_in = auth.signed_in_reviewer()
    if signed_in is not None:
        auth.sidebar(signed_in)
        return signed_in
    auth.local_only_warning()
    # The default is the widget's own, not set into session state first: a page switched before
    # the first run finished showed an empty box (while decisions still went to the default).
    # Kept in the page's address (?reviewer=Ana): a reload keeps the name typed. An emptied box
    # shows, greyed, the name decisions then go to.
    st.sidebar.text_input("Reviewer", value=_default_reviewer(), key="reviewer",
                          placeholder=_default_reviewer(), bind="query-params",
                          help="Saved with every decision you make.")
    # Enter (or Escape) in the box hands the keys back to the page: the cursor stayed in it, and
    # the Review page's next Y or N was typed into the name. The script is the app's own text.
    st.sidebar.html("<script>for (const box of document.querySelectorAll('.st-key-reviewer input')) {"
            " if (!box.dataset.leaves) { box.dataset.leaves = '1';"
            " box.addEventListener('keydown', (e) => {"
            " if (e.key === 'Enter' || e.key === 'Escape') { setTimeout(() => box.blur(), 0); }"
            " }); } }</script>", unsafe_allow_javascript=True)
    return who()


def who() -> Reviewer:
    """Who is acting now (safe to call from widget callbacks): the signed-in person, whose
    allow-list standing the store checks at every write; else the name last entered."""
    signed_in = auth.signed_in_reviewer()
    if signed_in is not None:
        return signed_in
    return acting(str(st.session_state.get("reviewer") or "").strip() or _default_reviewer())


def viewing_only() -> bool:
    """True for a signed-in viewer: the pages grey out what would write (the store still refuses
    such a write, whatever a page shows)."""
    return not who().may_decide


def reviewer_name() -> str:
    """The reviewer's name (safe to call from widget callbacks)."""
    return who().name


def current_plan() -> tuple[int, Plan]:
    """The latest plan version; the sample plan from data/ on first launch."""
    db = store()
    latest = db.latest_plan(PLAN_NAME)
    if latest is None:
        version = db.save_plan(load_plan(SAMPLE_PLAN), PLAN_NAME)
        return version, db.plan(version)
    return latest


def is_sample(plan: Plan) -> bool:
    """Whether the plan is still the sample's (data/plan.yaml): its strategies under their
    names (descriptions maybe edited), and no other."""
    # Names too: strategies typed over the sample's rows, as its notice says to, keep its ids.
    return plan.names == load_plan(SAMPLE_PLAN).names


def _has_runs(db: Store) -> bool:
    # Runs set aside count: a manager who set the sample's aside does not get it again.
    return db.latest_run(PLAN_NAME) is not None or bool(db.set_aside_runs(PLAN_NAME))


def ensure_first_run() -> None:
    """On an empty store, classify the sample tasks against the sample plan so a new user
    sees results at once (a decider only: a viewer is told the store is empty)."""
    db = store()
    if _has_runs(db):
        return
    if viewing_only():
        # A viewer writes nothing, the sample neither: a team's store stays the team's.
        if db.latest_plan(PLAN_NAME) is None:
            st.info("Nothing is classified in this store yet: a decider's first visit (or "
                    "`tactics classify --db`) starts it.")
            st.stop()
        return
    with _first_launch:  # two tabs opening at once make one sample run, not two
        if _has_runs(db):
            return
        version, plan = current_plan()
        frame, column = read_tasks(SAMPLE_TASKS)
        with st.spinner("Classifying the sample tasks in data/tasks.csv…"):
            classify_into_store(db, classifier(plan), version, frame, column,
                                f"sample: {SAMPLE_TASKS.name}")


def current_run() -> RunInfo | None:
    """The run the pages show: the one picked in the sidebar (kept in the page's address, so
    a reload shows it again), else the newest, which then stays shown until another is picked."""
    db = store()
    chosen = st.session_state.get("run_id")
    asked = str(st.query_params.get(RUN_PARAM, ""))
    from_address = chosen is None and asked != ""
    if from_address:
        # A stale bookmark or an edited address shows the newest run, but says so: it looked
        # like the run asked for.
        if asked.isdigit() and len(asked) <= 18:  # an id a store can hold
            chosen = st.session_state["run_id"] = int(asked)
            _know_newest(db)
        else:
            st.session_state[RUN_UNKNOWN] = asked
    if chosen is not None:
        try:
            run = db.run(int(chosen))
            if run.set_aside_at is None:
                return run
            st.session_state[RUN_GONE] = (run.id, run.set_aside_by)
        except StoreError:  # a run id from another database: fall back to the newest
            if from_address:
                st.session_state[RUN_UNKNOWN] = asked
        st.session_state.pop("run_id", None)  # ...or one set aside since it was picked
        st.query_params.pop(RUN_PARAM, None)
    latest = db.latest_run(PLAN_NAME)
    if latest is not None:
        # Pinned once shown: the newest of each redraw was a colleague's re-score or a weekly
        # classify, between two clicks, and Undo then looked for the decision in that run.
        use_run(latest.id, latest)
    return latest


def newer_run(shown: RunInfo) -> RunInfo | None:
    """The plan's newest run, when it was added after this session's pages began to show
    `shown` (a colleague's re-score, a scheduled classify); else None."""
    latest = store().latest_run(PLAN_NAME)
    known = st.session_state.get(NEWEST_KNOWN, shown.id)
    return latest if latest is not None and latest.id > max(known, shown.id) else None


def _know_newest(db: Store, newest: RunInfo | None = None) -> None:
    """Remember the plan's newest run as this session knows it when it picks the run shown:
    only a run added after that is newer news (`newer_run`)."""
    newest = newest or db.latest_run(PLAN_NAME)
    st.session_state[NEWEST_KNOWN] = newest.id if newest is not None else 0


def keep_run_in_address() -> None:
    """The picked run in the page's address (?run=7): a page switch clears the address's
    parameters, so every page puts it back; a reload or a shared link then shows that run."""
    chosen = st.session_state.get("run_id")
    if chosen is not None and st.query_params.get(RUN_PARAM) != str(chosen):
        st.query_params[RUN_PARAM] = str(chosen)


def current_run_or_hint() -> RunInfo | None:
    """The current run; with none yet, a one-line hint that sends the user to Classify."""
    run = current_run()
    if run is None:
        st.info("Every run of this plan is set aside: “Runs set aside” on the Classify page "
                "brings one back, or paste or upload tasks there."
                if store().set_aside_runs(PLAN_NAME)
                else "No tasks classified yet: paste or upload some on the Classify page.")
    return run


def use_run(run_id: int, newest: RunInfo | None = None) -> None:
    """Make this run the one every page shows (`newest`: the plan's newest run, if read)."""
    st.session_state["run_id"] = int(run_id)
    st.query_params[RUN_PARAM] = str(int(run_id))
    _know_newest(store(), newest)


def unknown_run_line(asked: str, newest_shown: bool = True) -> str:
    """What the pages say of an address's `?run=` that names no run of the store (`asked`),
    with the newest run shown instead, or none where the store has none to show."""
    shown = asked if len(asked) <= 40 else asked[:39] + "…"
    named = f"run #{shown}" if shown.isdigit() else f"run {shown!r} (not a run number)"
    if not newest_shown:  # every run set aside, or none made yet: "the newest" was none
        return f"There is no {named} in this store, and no other run to show."
    return f"There is no {named} in this store: the newest run is shown."


def set_aside_run_line(run_id: int, by: str, newest_shown: bool = True) -> str:
    """What the pages say of the run they were showing (or the address named) when someone has
    set it aside: the newest run shown instead, or none where every run is set aside."""
    if not newest_shown:
        return (f"Run #{run_id} was set aside by {by}, and no other run is left to show: “Runs "
                f"set aside” on the Classify page brings it back.")
    return f"Run #{run_id} was set aside by {by}: the newest run is shown."


def run_label(run: RunInfo) -> str:
    """A short, plain description of a run for pickers."""
    # Short enough for the sidebar; where the tasks came from is shown under the picker.
    return f"#{run.id} · {run.created_at:%b %d %H:%M} · {task_count(run.tasks)}"
