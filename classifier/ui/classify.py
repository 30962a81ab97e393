"""Classify page: paste or upload tasks, classify them into a run, and browse the results."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from classifier import second_opinion
from classifier.cells import column_words
from classifier.errors import ClassifierError
from classifier.files.readers import paste_frame, paste_label, task_texts
from classifier.files.uploads import MAX_UPLOAD_BYTES, read_upload, upload_columns, upload_sheets
from classifier.model.history import describe_earlier
from classifier.pipeline import classify_into_store, plan_replaced
from classifier.report.summary import (
    Summary,
    effort_note,
    find_owner_column,
    task_count,
    whole_percents,
)
from classifier.report.summary import summary as summarize
from classifier.results import input_renames, said_renames
from classifier.review import taught_on, teach_in_due, teach_in_goal, teach_in_rests
from classifier.ui import state, widgets

UPLOAD_TYPES = ["csv", "tsv", "xlsx", "txt", "jsonl"]
ASKING = "classify_asking"  # the LLM asked about a run's doubtful tasks, in its own thread
STATUS_HEADLINE = [("aligned", "Aligned"), ("review", "In review"), ("misaligned", "Misaligned")]


def _classify(frame: pd.DataFrame, text_column: str, source: str,
              read: list[str] | None = None) -> None:
    """Classify a table into a new run with a progress bar, then show it (`read`: how the
    table was read, said before the run's own warnings)."""
    state.who().require_decider("classify tasks")  # a new run in the shared store is a write
    version, plan = state.current_plan()
    clf = state.classifier(plan)
    advance, bar = widgets.progress_bar(len(frame))
    warnings: list[str] = list(read or [])  # as the command line warns: placeholders left empty
    run_id = classify_into_store(state.store(), clf, version, frame, text_column, source,
                                 progress=advance, warn=warnings.append)
    bar.empty()
    state.use_run(run_id)
    learned = describe_earlier(clf.earlier_use)
    kept = said_renames(input_renames(frame.columns))
    st.session_state["classify_note"] = (
        f"Classified {len(frame):,} rows as run #{run_id}."
        + (f" {learned}." if learned else "")
        + (f" Kept the file's own {kept}: the tool writes its own columns of those names."
           if kept else ""))
    if warnings:
        st.session_state["classify_warning"] = " ".join(warnings)
    st.rerun()


def _paste_tab() -> None:
    text = st.text_area("Tasks, one per line", key="paste_text", height=160,
                        placeholder="Call the 12 customers whose service plans expire this month",
                        help="A list's bullets and numbers are left out, and its title "
                             "line ('This week:') is no task. Rows copied from a "
                             "spreadsheet keep their columns (owner, hours...); copy the "
                             "header row with them to name the columns. A Markdown table "
                             "(Notion, Linear, GitHub) is read as a table.")
    if st.button("Classify pasted tasks", key="classify_paste", type="primary",
                 disabled=state.viewing_only()):
        try:
            # The rule files follow: a line, a row; copied rows keep their columns.
            read: list[str] = []
            frame, text_column = paste_frame(text, warn=read.append)
            # Named by its first task: a list's title is none.
            _classify(frame, text_column, paste_label(task_texts(frame, text_column)), read)
        except ClassifierError as error:
            st.error(str(error))


def _upload_tab() -> None:
    upload = st.file_uploader("A task list (CSV, TSV, XLSX, TXT or JSONL)", type=UPLOAD_TYPES,
                              key="upload_file",
                              help=f"Up to {MAX_UPLOAD_BYTES // 2**20} MB. Other columns "
                                   "(owner, effort, due...) are kept.")
    if upload is None:
        return
    data = upload.getvalue()
    try:
        sheets = upload_sheets(upload.name, data)
        sheet = None
        if len(sheets) > 1:
            sheet = st.selectbox(f"Sheet ({len(sheets)} in this workbook)", sheets,
                                 key=f"upload_sheet_{upload.file_id}")
        columns, detected, notes = upload_columns(upload.name, data, sheet=sheet)
    except ClassifierError as error:
        st.error(str(error))
        return
    for note in notes:  # as the command line warns: an encoding guessed, a title not read
        st.caption(widgets.md_escape(note))
    left, right = st.columns(2)
    column = left.selectbox("Column holding the task text", columns,
                            index=None if detected is None else columns.index(detected),
                            placeholder="Choose the column that says what each task is",
                            key=f"upload_column_{upload.file_id}_{sheet}")
    more = right.multiselect("Also read (optional)", [c for c in columns if c != column],
                             key=f"upload_more_{upload.file_id}_{sheet}",
                             help="A tracker's description beside its summary: each task is "
                                  "read as the first column's text, then these, each on a line.")
    if column is None:
        st.info("The column names do not say which one holds the task text: choose it above.",
                icon=":material/table_view:")
    if st.button("Classify file", key="classify_upload", type="primary",
                 disabled=state.viewing_only() or column is None) and column is not None:
        try:
            frame, text_column = read_upload(upload.name, data, text_column=[column, *more],
                                             sheet=sheet)
            label = upload.name if sheet is None else f"{upload.name} ({sheet})"
            _classify(frame, text_column, label)
        except ClassifierError as error:
            st.error(str(error))


def _headline(summary: Summary) -> None:
    cols = st.columns(len(STATUS_HEADLINE) + 1)
    blank = summary.blank
    cols[0].metric("Tasks", f"{summary.tasks:,}",
                   help=f"{blank:,} blank rows are not counted" if blank else None)
    if blank:
        # Not "+ 2": a caption is Markdown, where a leading "+ " makes a bullet.
        cols[0].caption(f"and {blank:,} blank row{'s' if blank != 1 else ''}")
    unit = column_words(summary.effort_column) if summary.effort_column else ""
    shares = whole_percents(summary.shares_of_work())
    effort_shares = whole_percents(summary.shares_of_work(by_effort=True))
    for col, (status, label) in zip(cols[1:], STATUS_HEADLINE, strict=True):
        col.metric(label, shares[status], border=False,
                   help=f"{task_count(summary.counts[status])}, as a share of the "
                        f"{task_count(summary.tasks)}")
        if summary.effort_column is not None:
            # Plain words under the figure: a metric's delta arrow would read as growth.
            col.caption(f"{effort_shares[status]} of {unit}")


def _filters(table: pd.DataFrame, owner_column: str | None, plan) -> pd.DataFrame:
    cols = st.columns([2, 3, 2, 3])
    statuses = cols[0].multiselect("Status", widgets.STATUS_ORDER, key="filter_status")
    names = [s.name for s in plan.strategies]
    strategies = cols[1].multiselect("Strategy", names, key="filter_strategy")
    owners = []
    if owner_column is not None:
        options = sorted({str(v) for v in table[owner_column] if str(v).strip()})
        owners = cols[2].multiselect("Owner", options, key="filter_owner")
    search = cols[3].text_input("Search tasks", key="filter_search")
    keep = pd.Series(True, index=table.index)
    if statuses:
        keep &= table["final_status"].isin(statuses)
    if strategies:
        keep &= table["final_strategy"].isin(strategies)
    if owners:
        keep &= table[owner_column].astype(str).isin(owners)
    if search.strip():
        keep &= table["_text"].str.contains(search.strip(), case=False, regex=False)
    return table[keep]


def _teach_in_hint(run, summary: Summary) -> None:
    """A plan nobody has taught yet: the teach-in is the fastest way to better answers."""
    if state.viewing_only() or st.session_state.get(state.TEACH_IN_DONE):
        return
    db = state.store()
    if plan_replaced(db, run):  # a round on it would teach a plan nobody uses any more
        return
    plan = db.plan(run.plan_version)
    # As the Review page counts this run's round, against the plan it was classified with:
    # after a plan edit the two pages said "8 of 20 so far" and "9 of 20 taught".
    taught = taught_on(db, run, state.PLAN_NAME)["decided_at"]
    if not teach_in_due(taught, db.teach_in_skipped(run.plan_version, state.who(),
                                                    state.PLAN_NAME)):
        return
    undecided = summary.tasks - summary.decided
    if teach_in_rests(taught, run.created_at, undecided):
        return
    goal = teach_in_goal(len(taught), undecided)
    if len(taught) >= goal:  # this run has nothing left for a round to deal
        return
    strategies = len(plan.strategies)
    cover = ("every strategy" if goal >= strategies else
             f"{goal} of the {strategies} strategies")  # a short list cannot show them all
    with st.container(border=True):
        st.markdown(f"**Teach this plan.** A new plan's answers are cautious: doubt goes to "
                    f"review. Deciding about {goal} tasks, picked to cover {cover}, "
                    f"teaches it fastest ({min(len(taught), goal)} of {goal} so far).")
        st.page_link("classifier/ui/review.py", label="Start the teach-in",
                     icon=":material/school:")


def _second_opinions(run, results: pd.DataFrame) -> None:
    """With an LLM endpoint set, one button asks it about every doubtful task nobody decided
    (once each: answers are kept with the run, and the same question is never paid twice)."""
    if state.viewing_only():
        return
    rows = second_opinion.unasked(results)
    if not rows:
        return
    settings, wrong = state.llm_endpoint()
    if settings is None:
        if wrong:  # set up, but not usable: say why rather than hide the button
            st.warning(f"No “Ask the LLM” button: {wrong}", icon=":material/forum:")
        return
    doubtful = "doubtful task" if len(rows) == 1 else "doubtful tasks"
    if not st.button(f"Ask the LLM about {len(rows):,} {doubtful}", key="classify_ask_llm",
                     icon=":material/forum:",
                     help=f"A second opinion with a reason from {settings.model}, for the tasks "
                          f"in review or misaligned that nobody has decided; shown on the "
                          f"Review page, where L accepts it."):
        return
    advance, bar = widgets.progress_bar(len(rows), label="Asking the LLM")
    stop = st.empty()
    # A click starts the page again (Streamlit's fast reruns: a new run at once, beside this
    # one, told to stop at its next redraw); the new run stops the asking and says what it
    # got (`_asking_left`), the answers got being kept. Streamlit's own Stop ends it too.
    stop.button("Stop asking", key="classify_stop_llm", icon=":material/stop_circle:",
                help="Keep the answers got so far; the other tasks keep the machine's answer "
                     "and can be asked again.")
    asking = second_opinion.Asking(state.store(), run.id, settings, state.who(), rows)
    st.session_state[ASKING] = asking
    finished = False
    try:
        shown = 0
        while not asking.wait(0.25):
            # A redraw each time, even with nothing new: it is where Streamlit stops a run.
            advance(asking.done - shown)
            shown = asking.done
        finished = True
    finally:
        if not finished:
            asking.stop(wait=False)
    if st.session_state.get(ASKING) is asking:
        del st.session_state[ASKING]
    stop.empty()
    bar.empty()
    _say_asked(asking)
    st.rerun()


def _say_asked(asking: second_opinion.Asking) -> None:
    """What an asking of the LLM got, for the page's notes: a warning when it stopped short."""
    try:
        used = asking.result()
    except ClassifierError as error:
        st.session_state["classify_error"] = str(error)
        return
    line = used.line()
    note = line[:1].upper() + line[1:] + "."
    # A failing endpoint is a warning with its reason, never a green box.
    if used.stopped:
        st.session_state["classify_warning"] = second_opinion.stopped_line(used)
    elif used.gave_up:
        st.session_state["classify_warning"] = f"{note} It stopped: {used.gave_up}."
    elif used.failed:
        st.session_state["classify_warning"] = (f"{note} Last failure: {used.failure}; the "
                                                f"tasks without an answer can be asked again.")
    else:
        st.session_state["classify_note"] = note


def _asking_left() -> None:
    """An asking of the LLM that an earlier run of the page left (a click stopped that run):
    stopped here, its answers kept, and said."""
    asking = st.session_state.pop(ASKING, None)
    if asking is not None:
        asking.stop()
        _say_asked(asking)


def _results(run) -> None:
    db = state.store()
    plan = db.plan(run.plan_version)
    results = db.results_with_decisions(run.id)
    plain = results.drop(columns=["candidates"], errors="ignore")
    summary = summarize(plain.drop(columns=["row"]), plan, text_column=run.text_column)
    st.subheader(f"Results of run #{run.id}")
    st.caption(widgets.md_escape(f"{run.source} · {task_count(run.tasks)} · plan version "
                                 f"{run.plan_version}"))
    _headline(summary)
    if note := effort_note(plain[run.columns], summary.effort_column):
        st.caption(widgets.md_escape(note))
    _teach_in_hint(run, summary)
    _second_opinions(run, results)
    owner_column = find_owner_column(plain[run.columns])
    table = plain.assign(_text=plain[run.text_column].astype(str))
    shown = _filters(table, owner_column, plan)
    # The answer beside the task, the file's other columns after it: a tracker's export of
    # 33 columns put every answer past the last of them.
    columns = (["row", run.text_column, "final_status", "final_strategy", "score", "closest",
                "decided_by"] + [c for c in run.columns if c != run.text_column])
    # "strategy" is what the task serves (none when misaligned); "closest" what the machine
    # found nearest, so a misaligned row never reads as assigned.
    shown = shown.assign(closest=shown["strategy"])
    if "llm_strategy_id" in shown:
        shown = shown.assign(second_opinion=second_opinion.column(shown, plan.names))
        if shown["second_opinion"].notna().any():
            columns.insert(columns.index("decided_by") + 1, "second_opinion")
    view = widgets.status_chips(widgets.for_display(shown[columns].assign(row=shown["row"] + 1)),
                                "final_status")
    st.caption(f"{len(view):,} of {len(table):,} rows shown")
    st.dataframe(view, hide_index=True, width="stretch", key="results_table", column_config={
        "row": st.column_config.NumberColumn("#", width="small"),
        "final_status": widgets.status_chip_config("status"),
        "final_strategy": st.column_config.TextColumn("strategy"),
        "score": st.column_config.ProgressColumn("score", min_value=0.0, max_value=1.0,
                                                 format="%.2f", width="small",
                                                 help=widgets.SCORE_HELP),
        "closest": st.column_config.TextColumn("closest strategy"),
        "decided_by": st.column_config.TextColumn("decided by"),
        "second_opinion": st.column_config.TextColumn("second opinion (LLM)"),
    })


def _ask_set_aside(run_id: int) -> None:
    st.session_state["set_aside_asked"] = run_id


def _set_aside(run_id: int | None) -> None:
    """The person's answer to "set this run aside?": a run id to set aside, or None (keep)."""
    st.session_state.pop("set_aside_asked", None)
    if run_id is None:
        return
    try:
        state.store().set_aside(run_id, state.who())
    except ClassifierError as error:
        st.session_state["classify_error"] = str(error)
        return
    st.session_state.pop("run_id", None)
    st.query_params.pop(state.RUN_PARAM, None)  # the pages go to the newest left, unsaid
    st.session_state["classify_note"] = (f"Run #{run_id} is set aside; it can be brought back "
                                         f"below, under “Runs set aside”.")


def _bring_back(run_id: int) -> None:
    try:
        state.store().bring_back(run_id, state.who())
    except ClassifierError as error:
        st.session_state["classify_error"] = str(error)
        return
    state.use_run(run_id)
    st.session_state["classify_note"] = f"Run #{run_id} is back among the runs."


def _set_aside_button(run) -> None:
    """Set the shown run aside (a wrong upload, the sample's), after a yes."""
    locked = state.viewing_only()
    if st.session_state.get("set_aside_asked") == run.id:
        st.warning(f"Set run #{run.id} aside? It leaves the run list, the trends and what later "
                   f"runs learn from; nothing of it is deleted, and the decisions taken on its "
                   f"tasks stand and keep teaching.", icon=":material/inventory_2:")
        yes, no = st.columns(2)
        yes.button(f"Set run #{run.id} aside", key="set_aside_confirm", type="primary",
                   on_click=_set_aside, args=(run.id,), disabled=locked)
        no.button("Keep it", key="set_aside_cancel", on_click=_set_aside, args=(None,))
        return
    st.button(f"Set run #{run.id} aside", key="set_aside", on_click=_ask_set_aside,
              args=(run.id,), disabled=locked, icon=":material/inventory_2:",
              help="For a file uploaded by mistake, or the sample's run once you have your "
                   "own: out of the run list and the trends, nothing deleted.")


def _runs_set_aside() -> None:
    """The plan's runs set aside, each with a button that brings it back."""
    aside = state.store().set_aside_runs(state.PLAN_NAME)
    if not aside:
        return
    with st.expander(f"Runs set aside ({len(aside)})"):
        for gone in aside:
            left, right = st.columns([3, 1])
            when = f" {gone.set_aside_at:%b %d %H:%M}" if gone.set_aside_at else ""
            left.caption(widgets.md_escape(f"#{gone.id} · {gone.source} · {task_count(gone.tasks)}"
                                           f" · set aside by {gone.set_aside_by}{when}"))
            right.button(f"Bring back #{gone.id}", key=f"bring_back_{gone.id}",
                         on_click=_bring_back, args=(gone.id,), disabled=state.viewing_only())


def render() -> None:
    """The page."""
    st.title("Classify")
    # Notes go in a place that is always there: an element more or less above the tabs would
    # make them new ones, and an upload's result would open on the paste tab.
    notes = st.container()
    _asking_left()
    if message := st.session_state.pop("classify_note", None):
        notes.success(message)
    if message := st.session_state.pop("classify_warning", None):
        notes.warning(message)
    if message := st.session_state.pop("classify_error", None):
        notes.error(message)
    paste, upload = st.tabs(["Paste tasks", "Upload a file"], key="classify_source")
    with paste:
        _paste_tab()
    with upload:
        _upload_tab()
    widgets.stale_notice(key="rerun_stale_classify", link_to_classify=False)
    run = state.current_run()
    if run is None:
        st.info("Paste some tasks above to classify them.")
        _runs_set_aside()
        return
    try:
        _results(run)
        _set_aside_button(run)
        _runs_set_aside()
    except ClassifierError as error:
        st.error(str(error))


if __name__ == "__main__":
    render()
