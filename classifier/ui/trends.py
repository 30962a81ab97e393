"""Trends page: how alignment moves over a plan's runs (or the weeks of a date column), charts
with the numbers beside them, strategies neglected for a while, and orphan work new this time."""

from __future__ import annotations

import streamlit as st

from classifier.cells import column_words
from classifier.report.charts import status_trend_chart, strategy_trend_chart
from classifier.report.html import trend_numbers
from classifier.report.trends import (
    date_trends,
    describe_periods,
    find_date_column,
    no_year_column,
    run_trends,
)
from classifier.ui import state, widgets


def render() -> None:
    """The page."""
    st.title("Trends")
    db = state.store()
    run = state.current_run_or_hint()
    if run is None:
        return
    results = db.results_with_decisions(run.id).drop(columns=["candidates", "row"],
                                                      errors="ignore")
    date_column = find_date_column(results, run.columns)
    choices = ["run"] + ([date_column] if date_column else [])
    yearless = no_year_column(results, run.columns) if date_column is None else None
    if yearless is not None:  # offered, its weeks were of year 1
        st.caption(widgets.md_escape(
            f"No weeks of {column_words(yearless[0])}: its dates name no year "
            f"({yearless[1]!r}); with the year written in them, its weeks are offered here."))
    by = st.radio("Periods", choices, horizontal=True, key="trends_by",
                  format_func=lambda c: "one per run" if c == "run"
                  else f"weeks of {column_words(c)} (run #{run.id})")
    if by == "run":
        trends = run_trends(db, run.plan_name, until=run.id)
    else:
        trends = date_trends(results, run.columns, run.text_column, db.plan(run.plan_version),
                             by)
    note = describe_periods(trends)
    if note:
        st.caption(note)
    if trends.empty:
        # Not "or re-run with an edited plan": the same tasks run again are one period.
        st.info("Trends need two periods: classify next week's tasks and they appear here."
                if by == "run" else
                f"All tasks of run #{run.id} fall in one week of {by}.")
        return
    st.plotly_chart(status_trend_chart(trends), key="chart_status_trend", width="stretch")
    # Under the chart, the page's width: beside it, its headers were cut ("Orpha…").
    st.caption("The figures")
    st.dataframe(widgets.for_display(trend_numbers(trends)), hide_index=True, width="stretch",
                 key="trend_numbers")
    st.plotly_chart(strategy_trend_chart(trends), key="chart_strategy_trend", width="stretch")
    first, second = st.columns(2)
    with first:
        st.subheader("Neglected two or more periods in a row")
        if trends.neglected.empty:
            st.write("None: every strategy got work in at least one of the last two periods.")
        else:
            st.dataframe(widgets.for_display(trends.neglected), hide_index=True,
                         width="stretch", key="trend_neglected")
    with second:
        st.subheader(f"Orphan work new since the last period ({len(trends.new_orphans):,})")
        if trends.new_orphans.empty:
            st.write("None.")
        else:
            shown = [c for c in ("task", "owner", "effort", "closest_strategy")
                     if c in trends.new_orphans.columns]
            st.dataframe(widgets.for_display(trends.new_orphans[shown]), hide_index=True,
                         width="stretch", key="trend_new_orphans", column_config={
                "closest_strategy": st.column_config.TextColumn("closest strategy")})


if __name__ == "__main__":
    render()
