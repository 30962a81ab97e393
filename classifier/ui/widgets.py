"""Small views more than one page shows: the run picker, the stale-results notice, status chips,
a progress bar for the classifier, and Markdown escaping for user text in labels."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from classifier.cells import cell_text, is_blank
from classifier.errors import ClassifierError
from classifier.pipeline import newest_run_of_current_plan, plan_change, rerun
from classifier.results import STATUS_ORDER
from classifier.store import RunInfo
from classifier.ui import state

STATUS_COLOURS = ["#1a7f37", "#bf8700", "#cf222e", "#8c959f"]
# The browser tab's icon: an emoji, which Streamlit draws as an inline SVG. A ":material/...:"
# icon there is fetched from fonts.gstatic.com (the pages' own icons are bundled), a request
# out of an app that works offline, which fails where there is no network.
TAB_ICON = "🎯"
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$])")


def for_display(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as a person should see it: no column that is empty throughout, and blanks for
    missing text (st.dataframe shows a grey "None")."""
    frame = frame.loc[:, [c for c in frame.columns if not frame[c].isna().all()]].copy()
    for column in frame.columns:
        if str(column).endswith("score") and pd.api.types.is_float_dtype(frame[column]):
            # Shown to two decimals: -0.003 would read "-0.00".
            frame[column] = frame[column].round(2) + 0.0
            continue
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            values = frame[column].astype(object)
            filled = values[values.notna()]
            if filled.map(lambda v: isinstance(v, str)).all():
                frame[column] = values.where(values.notna(), "")
            elif len(filled) == len(values) and filled.map(
                    lambda v: isinstance(v, int | float) and not isinstance(v, bool)).all():
                # A workbook's whole numbers beside fractions, as a run keeps them (1, 2.5):
                # numbers, which the table sorts as numbers ("10" came before "2.5" as text).
                frame[column] = pd.to_numeric(values)
            else:
                # A workbook's column of numbers with blank cells, or numbers mixed with text:
                # one type per column, as a table can show it (Arrow refuses a mix).
                frame[column] = [("" if is_blank(v) else v if isinstance(v, str) else cell_text(v))
                                 for v in values]
    return frame


def md_escape(text: object) -> str:
    """User text made inert for places that render Markdown (button and widget labels)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def status_chips(frame: pd.DataFrame, column: str = "status") -> pd.DataFrame:
    """A copy whose status column holds one-item lists, which st.dataframe shows as chips."""
    frame = frame.copy()
    frame[column] = [[str(value)] if str(value) else [] for value in frame[column].fillna("")]
    return frame


def status_chip_config(label: str = "status") -> Any:
    """Column config that colours the status chips (green, amber, red, grey)."""
    return st.column_config.MultiselectColumn(label, options=STATUS_ORDER, color=STATUS_COLOURS,
                                              width="medium")


# Scores are cosines plus a share of shared words, less the generic-work penalty: they can fall
# below zero (empty bar) and, for a task that repeats a statement word for word, pass 1 (full).
SCORE_HELP = ("How near the task lies to the strategy in meaning (cosine similarity), plus a "
              "little for the strategy's own words it repeats; 1 or more: the same thing. "
              "Below 0: the task lies nearer to generic work your plan does not claim than to "
              "anything in the plan.")


def progress_bar(total: int, label: str = "Classifying") -> tuple[Callable[[int], None], Any]:
    """A Streamlit progress bar and the callback the classifier reports done rows to."""
    bar = st.progress(0.0, text=f"{label}… 0 of {total}")
    done = [0]

    def advance(rows: int) -> None:
        done[0] += int(rows)
        bar.progress(min(done[0] / max(total, 1), 1.0), text=f"{label}… {done[0]} of {total}")

    return advance, bar


def run_picker() -> None:
    """Sidebar: which run the pages show (the newest unless another is picked)."""
    db = state.store()
    runs = db.runs()
    current = state.current_run()
    if (asked := st.session_state.pop(state.RUN_UNKNOWN, None)) is not None:
        st.sidebar.warning(md_escape(state.unknown_run_line(asked, current is not None)),
                           icon=":material/search_off:")
    if gone := st.session_state.pop(state.RUN_GONE, None):
        st.sidebar.info(state.set_aside_run_line(gone[0], md_escape(gone[1]),
                                                 newest_shown=current is not None),
                        icon=":material/inventory_2:")
    if not runs or current is None:
        return
    ids = [run.id for run in runs]
    labels = {run.id: state.run_label(run) for run in runs}
    if current.id not in labels:
        ids.insert(0, current.id)
        labels[current.id] = state.run_label(current)
    state.keep_run_in_address()
    picked = st.sidebar.selectbox("Run", ids, index=ids.index(current.id),
                                  format_func=lambda run_id: labels[run_id],
                                  help="Each classification is kept as a run, with its decisions.")
    st.sidebar.caption(md_escape(current.source))
    if picked != current.id:
        state.use_run(picked)
        st.rerun()
    newer = state.newer_run(current)
    if newer is not None:
        # The pages stay on their run (see state.current_run): a newer one is said, not shown.
        st.sidebar.info(f"Run #{newer.id} was added since ({md_escape(newer.source)}, "
                        f"{newer.created_at:%b %d %H:%M} UTC).", icon=":material/fiber_new:")
        st.sidebar.button(f"Open run #{newer.id}", key="run_open_newer", on_click=state.use_run,
                          args=(newer.id,))


def stale_notice(key: str = "rerun_stale", link_to_classify: bool = True) -> None:
    """If the plan changed after the current run, say so and offer to classify again; if it was
    replaced by another plan, point to classifying that plan's tasks."""
    db = state.store()
    run = state.current_run()
    if run is None or (change := plan_change(db, run)) is None:
        return
    if change == "replaced":
        # The pages stay on the run they showed (state.current_run), also after an import: a
        # run of the current plan, where there is one, is one click away.
        own = newest_run_of_current_plan(db, run.plan_name)
        st.info(f"Run #{run.id} ({md_escape(run.source)}) was classified against another plan: "
                f"the current one keeps none of its strategies. "
                + (f"Run #{own.id} ({md_escape(own.source)}, {own.created_at:%b %d %H:%M} UTC) "
                   f"is the current plan's newest. " if own is not None else "")
                + f"Classify this plan's tasks (paste or upload them on the Classify page, "
                f"where run #{run.id} can be set aside), or run these tasks against it.",
                icon=":material/swap_horiz:")
        if own is not None:
            st.button(f"Open run #{own.id}, the current plan's newest", key=f"{key}_open_own",
                      type="primary", on_click=state.use_run, args=(own.id,))
        if link_to_classify:
            st.page_link("classifier/ui/classify.py", label="Classify this plan's tasks",
                         icon=":material/playlist_add_check:")
        rerun_button(run, f"Run the tasks of run #{run.id} against this plan", key,
                     primary=False)
        return
    st.warning(f"The plan changed after run #{run.id}: its results are stale.", icon="⚠️")
    rerun_button(run, "Re-run with the current plan", key)


def rerun_button(run: RunInfo, label: str, key: str, primary: bool = True) -> None:
    """A button that classifies the run's tasks again (current plan, decisions and earlier
    runs) as a new run, and shows it."""
    if st.button(label, key=key, type="primary" if primary else "secondary",
                 disabled=state.viewing_only()):
        try:
            state.who().require_decider("classify tasks")
        except ClassifierError as error:
            st.error(str(error))
            return
        version, plan = state.current_plan()
        advance, bar = progress_bar(run.rows)
        new_id = rerun(state.store(), state.classifier(plan), version, run, progress=advance)
        bar.empty()
        state.use_run(new_id)
        st.rerun()
