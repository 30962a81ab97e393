"""Report page: line of sight from vision to tasks, effort per strategy, gaps, and downloads."""

from __future__ import annotations

import streamlit as st

from classifier.errors import ClassifierError
from classifier.files.writer import CSV_SEPARATORS
from classifier.model.history import Earlier, describe_earlier, rerun_note
from classifier.report import charts
from classifier.report.run_report import (
    may_cut_cells,
    results_digest,
    run_report,
    xlsx_cut_line,
)
from classifier.report.summary import effort_note, task_count
from classifier.report.summary import summary as summarize
from classifier.store import RunInfo
from classifier.ui import state, widgets

SEPARATOR_WORDS = {",": "Comma",
                   ";": "Semicolon (Excel with a decimal comma, as in most of Europe)"}


def _downloads(run, results) -> None:
    """Files are built when clicked (from the store at that moment), not on every redraw; they
    are the files `tactics report` writes, with the line it says of cells the .xlsx cuts."""
    db = state.store()

    def made():
        return run_report(db, run)

    stem = f"tactics-run-{run.id}"
    cols = st.columns(3)
    # Shown below the buttons but drawn before them: the CSV is made at the click, in a thread
    # that cannot read the page's state.
    separator = st.radio("CSV separator", CSV_SEPARATORS, format_func=SEPARATOR_WORDS.get,
                         horizontal=True, key="report_csv_sep")
    cols[0].download_button("Results CSV", lambda: made().csv(separator), f"{stem}.csv",
                            mime="text/csv", key="download_csv", width="stretch",
                            icon=":material/download:", on_click="ignore")
    cols[1].download_button(
        "Results XLSX", lambda: made().xlsx(), f"{stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="download_xlsx", width="stretch", icon=":material/download:", on_click="ignore")
    cols[2].download_button(
        "Report (HTML)", lambda: made().html(), f"{stem}-report.html", mime="text/html",
        key="download_html", width="stretch", icon=":material/download:", on_click="ignore")
    st.caption("Downloads apply every review decision and name who decided. A weekly job can "
               "write the same files: `tactics report --db STORE --plan PLAN --out FILE` "
               "(`--sep ';'` for a semicolon CSV).")
    # The command says it of the .xlsx it writes; the page's download said nothing.
    if may_cut_cells(results) and (cut := _cut_line(db, run, db.label, run.id,
                                                    results_digest(results), f"{stem}.xlsx")):
        st.warning(widgets.md_escape(cut), icon=":material/content_cut:")


@st.cache_data(show_spinner=False, max_entries=16)
def _cut_line(_db, _run, label: str, run_id: int, digest: str, name: str) -> str | None:
    """The .xlsx download's line of cut cells, once per run and state of its results (its
    decisions, the LLM's answers): each redraw built the whole workbook again."""
    return xlsx_cut_line(_db, _run, name)


def _earlier_runs(run: RunInfo) -> None:
    """What the run learned from the plan's earlier runs, and whether a re-run would learn more."""
    db = state.store()
    used = db.earlier_tasks(runs=run.earlier.runs) if run.earlier else Earlier()
    # A re-run classifies with the current plan, which reads its own runs: after another plan
    # replaced the run's, the note offered to learn from tasks that re-run would never read.
    _, current = state.current_plan()
    more = rerun_note(used, db.earlier_tasks(run.plan_name, current), len(current.strategies),
                      run.id)
    learned = describe_earlier(run.earlier)
    if learned:
        st.caption(widgets.md_escape(f"{learned}."))
    if more:
        st.caption(widgets.md_escape(more))
        widgets.rerun_button(run, "Re-run to learn from them", "rerun_learn", primary=False)


def render() -> None:
    """The page."""
    st.title("Report")
    db = state.store()
    run = state.current_run_or_hint()
    if run is None:
        return
    widgets.stale_notice(key="rerun_stale_report")
    plan = db.plan(run.plan_version)
    # Candidates stay: a strategy a person chose shows its own score among them.
    plain = db.results_with_decisions(run.id).drop(columns=["row"], errors="ignore")
    try:
        summary = summarize(plain, plan, text_column=run.text_column)
    except ClassifierError as error:
        st.error(str(error))
        return
    st.caption(widgets.md_escape(f"Run #{run.id} · {run.source} · {task_count(summary.tasks)} · "
                                 f"{summary.decided:,} decided by a person"))
    if note := effort_note(plain[run.columns], summary.effort_column):
        st.caption(widgets.md_escape(note))
    _earlier_runs(run)
    _downloads(run, plain)

    st.plotly_chart(charts.line_of_sight_chart(summary, plan), key="chart_line_of_sight",
                    width="stretch")
    left, right = st.columns([3, 2])
    left.plotly_chart(charts.effort_chart(summary), key="chart_effort", width="stretch")
    right.plotly_chart(charts.status_chart(summary), key="chart_status", width="stretch")

    st.subheader("Neglected strategies")
    if summary.neglected.empty:
        st.write("None: every strategy gets a fair share of the work.")
    else:
        st.dataframe(widgets.for_display(summary.neglected), hide_index=True, width="stretch",
                     column_config={
            "share": st.column_config.NumberColumn("share", format="percent")})
    st.subheader(f"Orphan work ({task_count(len(summary.orphans))} serving no strategy)")
    st.dataframe(widgets.for_display(summary.orphans), hide_index=True, width="stretch",
                 column_config={
        "row": st.column_config.NumberColumn("#", width="small"),
        "closest_strategy": st.column_config.TextColumn("closest strategy"),
        "score": st.column_config.NumberColumn("score", format="%.2f")})


if __name__ == "__main__":
    render()
