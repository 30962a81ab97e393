"""Review page: the doubtful tasks one at a time, worst first, with one-click (and one-key) actions.

Every click is written to the store before the page redraws, so a closed tab loses nothing,
and two tabs on the same run each append their own decisions; a tab that decides a task the
other has just decided says so, and Undo brings the other's decision back.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from classifier import llm, second_opinion
from classifier.access import person
from classifier.errors import ClassifierError
from classifier.files.writer import csv_bytes
from classifier.model import work_text
from classifier.model.history import describe_earlier
from classifier.model.learned import Learned
from classifier.pipeline import plan_replaced, rerun
from classifier.report.summary import task_count
from classifier.review import (
    ACTION_WORDS,
    TEACH_IN_SIZE,
    deal,
    decision_trail,
    decision_trail_xlsx,
    describe_rescore,
    is_repeat,
    moved_tasks,
    pending,
    recent_decisions,
    repeat_window,
    replaces,
    strategies_kept,
    taught_on,
    teach_in_goal,
    teach_in_over,
    teach_in_round,
)
from classifier.store import Decision, Replaced
from classifier.ui import state, widgets

TEXT_SHOWN = 600  # characters of a long task shown before "Show all"

SHORTCUTS = {"confirm": "Y", "misaligned": "N", "skip": "S", "undo": "U", "ask": "K",
             "accept": "L"}
CONFIRM_BY_Y = "review_confirm_by_y"  # the hidden twin of "Confirm: serves no strategy"
# The run whose aligned tasks are being checked: not the button's own key, whose state
# Streamlit clears once the button is no longer drawn (the check stopped after two tasks).
SPOT_CHECK = "review_spot_check_run"
SHOWN = "review_shown"  # (run id, row, monotonic s): the task on screen and since when
MINE = "review_mine"  # (run id, row) of the last decision this tab recorded
MOVED = "review_moved"  # the tasks the re-score moved (moved_tasks), listed once
# Replacing a colleague's word takes a key of its own: Enter fired it wherever the focus was (a
# Streamlit shortcut), so Enter on the focused "Keep" button replaced; Y alone, a double tap of
# the key that made the question, would answer it unread.
REPLACE_KEY = "Shift+Y"
HELD = "review_held"  # a decision held back until its person says to replace a colleague's
ASKING = "review_asking"  # the LLM asked about a task (_Asked), in its own thread


def task_key(name: str, run_id: int, row: int) -> str:
    """The key of a button that acts on one task: the task's own, so that a press acts on the
    task on screen when it was made, however slow the redraw. A key pressed twice sends its
    second press for the task just decided, often after the server has drawn the next one:
    under one key for every task, that press ran the callback as the newest redraw had set it,
    deciding the next task, unread. Under the task's own key it runs the callback of its own
    task, which finds that task decided already and says so (`_decide`)."""
    return f"{name}_{run_id}_{row}"


def _decide(run_id: int, row: int, action: str, strategy_id: str | None,
            name: str | None = None, replacing: int | None = None) -> None:
    """Button callback: save the decision at once (before the page redraws); one that would
    replace a colleague's other answer is asked about first (`replacing`: the id of theirs,
    which the person has agreed to replace)."""
    # A press on the next task's own button within a moment of it appearing, as a key pressed
    # twice does where the redraw was quicker than the person: nobody read that task. (After a
    # slower redraw the second press is still the decided task's own: see task_key.)
    shown = st.session_state.get(SHOWN)
    if (shown is not None and shown[:2] == (run_id, row)
            and is_repeat(shown[2], time.monotonic(), repeat_window(os.environ))):
        st.session_state["review_note"] = (f"Not taken: a key within a moment of task {row + 1} "
                                           f"appearing (pressed twice?). Read it, then decide.")
        return
    db = state.store()
    who = state.who()
    try:
        if strategy_id is not None and strategy_id not in state.current_plan()[1].ids:
            # Deleted from the plan since the page was drawn: the decision would stand for no
            # later run (it was taken, and void at once).
            st.session_state["review_error"] = (
                f"Not recorded (task {row + 1}): the plan no longer has "
                f"“{widgets.md_escape(name or strategy_id)}” (deleted after this run was "
                f"classified); pick another strategy, or “serves no strategy”.")
            return
        # The queue shows only undecided tasks, so a standing decision here was made after this
        # page was drawn: by someone else (another reviewer or tab), or by this reviewer's own
        # key pressed twice before the page moved on, which is not a second decision.
        earlier = db.decision_on_task(run_id, row) if action != "skip" else None
        if earlier is not None and person(earlier.reviewer) == person(who):
            if st.session_state.get(MINE) == (run_id, row):
                st.session_state["review_note"] = (f"Task {row + 1} is decided already (a key "
                                                   f"pressed twice?); Undo (U) changes it.")
            else:  # this reviewer, in another tab or window: not a key pressed twice here
                st.session_state["review_warning"] = (
                    f"Task {row + 1} was decided meanwhile by you in another tab or window "
                    f"({_said(earlier)}, {earlier.decided_at:%H:%M} UTC); that decision "
                    f"stands. Undo (U) there changes it.")
            return
        chosen = None if action == "misaligned" else strategy_id
        if (earlier is not None and earlier.id != replacing
                and replaces(earlier, chosen, who)):
            # Replaced first and said after, a colleague's answer was gone before anyone read
            # it: the person sees theirs and says whether to replace it.
            Asking(run_id, row, action, strategy_id, name, earlier).hold()
            return
        # The store refuses a viewer: the check is at the write (greyed-out buttons are only
        # what the page shows).
        recorded = db.record_decision(run_id, row, action, strategy_id, who)
    except ClassifierError as error:
        # Whether the click counted is what the person needs to know (a store out of reach
        # showed the driver's message alone).
        st.session_state["review_error"] = f"Not recorded (task {row + 1}): {error}"
        return
    st.session_state[MINE] = (run_id, row)
    if earlier is not None and earlier.id == replacing:
        st.session_state["review_warning"] = (
            f"Replaced {widgets.md_escape(earlier.reviewer)}'s decision on task {row + 1} "
            f"({_said(earlier)}) with yours. Theirs stays in the audit trail, and Undo (U) "
            f"brings it back.")
    elif earlier is not None:
        st.session_state["review_warning"] = (
            f"Task {row + 1} was decided meanwhile by {widgets.md_escape(earlier.reviewer)} "
            f"({_said(earlier)}), as you decide it; yours is recorded too.")
    # The store says whether a picked strategy confirms the machine's (see record_decision).
    action = recorded.action
    done = {"confirm": "Confirmed", "reassign": f"Assigned to {name or strategy_id}",
            "misaligned": "Marked as serving no strategy", "skip": "Skipped"}[action]
    if action == "confirm" and name:
        done = f"Confirmed {name}"
    st.session_state["review_note"] = f"{done}: task {row + 1}, {_quoted(recorded.text)}."


@dataclass(frozen=True)
class Asking:
    """A decision held back: it would replace `theirs`, a colleague's other answer on the task."""

    run_id: int
    row: int
    action: str
    strategy_id: str | None
    name: str | None
    theirs: Decision

    @classmethod
    def pending(cls) -> Asking | None:
        """The decision held back in this session, if any. Kept as a dict: this page's module
        runs anew at every redraw, and an instance of the last redraw's class is not one of
        this redraw's."""
        held = st.session_state.get(HELD)
        return cls(**held) if isinstance(held, dict) else None

    def hold(self) -> None:
        st.session_state[HELD] = asdict(self) | {"theirs": self.theirs}


def _keep_theirs(asking: Asking) -> None:
    """Button callback: the colleague's decision stands; nothing is recorded."""
    st.session_state.pop(HELD, None)
    st.session_state["review_note"] = (
        f"Kept {widgets.md_escape(asking.theirs.reviewer)}'s decision on task "
        f"{asking.row + 1} ({_said(asking.theirs)}); nothing recorded.")


def _replace_theirs(asking: Asking) -> None:
    """Button callback: record the held-back decision over the colleague's, as agreed."""
    st.session_state.pop(HELD, None)
    _decide(asking.run_id, asking.row, asking.action, asking.strategy_id, asking.name,
            replacing=asking.theirs.id)


def _ask_before_replacing(run_id: int, plan) -> bool:
    """The question a held-back decision asks (who decided the task, what, when; replace or
    keep), drawn instead of the next task; False when none is pending on this run."""
    asking = Asking.pending()
    if asking is None or asking.run_id != run_id:
        st.session_state.pop(HELD, None)  # another run is shown: its question is moot
        return False
    theirs, who = asking.theirs, widgets.md_escape(asking.theirs.reviewer)
    mine = ("serves no strategy" if asking.action == "misaligned"
            else plan.names.get(asking.strategy_id, asking.strategy_id))
    said = ("serves no strategy" if theirs.strategy_id is None
            else plan.names.get(theirs.strategy_id, theirs.strategy_id))
    with st.container(border=True):
        st.warning(f"Task {asking.row + 1} was decided by {who} on "
                   f"{theirs.decided_at:%Y-%m-%d at %H:%M} UTC: {widgets.md_escape(said)}. You "
                   f"chose: {widgets.md_escape(mine)}. Replace their decision with yours?",
                   icon=":material/group:")
        st.text(work_text.readable(theirs.text))  # the task: user text, never Markdown
        buttons = st.container(horizontal=True, gap="small")
        buttons.button(f"Replace {who}'s decision", key="review_replace", type="primary",
                       shortcut=REPLACE_KEY, on_click=_replace_theirs, args=(asking,),
                       help="Theirs stays in the audit trail; Undo (U) brings it back.")
        buttons.button(f"Keep {who}'s decision", key="review_keep", shortcut="Escape",
                       on_click=_keep_theirs, args=(asking,))
    st.caption("Keys: **Shift+Y** replace theirs · **Escape** keep theirs")
    return True


def _said(decision: Decision) -> str:
    """A decision's answer, short and as the buttons say it: "serves no strategy",
    "reassign → retail"."""
    return (ACTION_WORDS.get(decision.action, decision.action)
            + (f" → {decision.strategy_id}" if decision.strategy_id else ""))


def _reassign(run_id: int, row: int, picker_key: str, names: dict[str, str]) -> None:
    """List callback: assign the strategy picked in the selectbox (read now, not at render)."""
    chosen = st.session_state.get(picker_key)
    # Empty again: the task back after an undo offers the list afresh, any pick deciding.
    st.session_state[picker_key] = None
    if chosen:
        _decide(run_id, row, "reassign", chosen, names.get(chosen))


def _undo(run_id: int) -> None:
    try:
        undone = state.store().undo_last_decision(run_id, state.who())
    except ClassifierError as error:
        st.session_state["review_error"] = f"Nothing undone: {error}"
        return
    if undone is None:
        st.session_state["review_note"] = "Nothing of yours to undo in this run."
    elif isinstance(undone, Replaced):
        mine, theirs = undone.mine, undone.by
        st.session_state["review_warning"] = (
            f"Nothing undone: your last decision, on task {mine.row + 1} {_quoted(mine.text)} "
            f"({_said(mine)}), was replaced since by {widgets.md_escape(theirs.reviewer)}'s "
            f"({_said(theirs)}, {theirs.decided_at:%H:%M} UTC), which stands.")
    else:
        st.session_state["review_note"] = (f"Undid your last decision on task {undone.row + 1}, "
                                           f"{_quoted(undone.text)}.")


def _quoted(task: str, limit: int = 70) -> str:
    """A task's text for a toast: which task it was, at a glance (markdown-escaped)."""
    text = " ".join(work_text.readable(task).split())
    short = text if len(text) <= limit else text[:limit - 1].rstrip() + "…"
    return f"“{widgets.md_escape(short)}”"


def _queue(results: pd.DataFrame, run, decided: set[int], learned: Learned,
           aligned: bool = False) -> tuple[pd.DataFrame, int]:
    """Undecided doubtful tasks (or, with `aligned`, aligned ones), worst first, skipped ones
    last; and the whole queue's size."""
    # Skips are in the store, so a new session keeps this reviewer's skipped tasks at the end.
    skipped = state.store().skipped_rows(run.id, state.who())
    return deal(results, run.thresholds, learned, sorted(decided), sorted(skipped),
                aligned=aligned)


def _candidates(task: pd.Series) -> list[dict]:
    value = task.get("candidates")
    return list(value) if isinstance(value, list | tuple) else []


def _task_view(task: pd.Series, run) -> None:
    with st.container(border=True):
        st.caption("Task")
        # A rich-text field exported as HTML is shown as the text it holds.
        text = work_text.readable(str(task[run.text_column]))
        # User text: shown as text, never as Markdown/HTML; a long one is cut, so the buttons
        # stay in view.
        st.text(text if len(text) <= TEXT_SHOWN else text[:TEXT_SHOWN].rstrip() + " …")
        if len(text) > TEXT_SHOWN:
            with st.expander(f"Show all {len(text):,} characters"):
                st.text(text)
        others = [c for c in run.columns if c != run.text_column and c in task.index]
        if others:
            st.dataframe(pd.DataFrame([task[others].astype(str).to_dict()]), hide_index=True)
        st.caption(f"Machine said **{task['status']}** · {widgets.md_escape(task['queue_reason'])}")


def _candidate_bars(candidates: list[dict]) -> None:
    frame = pd.DataFrame({
        "key": [str(i) for i in range(1, len(candidates) + 1)],
        "strategy": [c["strategy"] for c in candidates],
        "score": [float(c["score"]) for c in candidates],
        "matched on": [c.get("evidence", "") for c in candidates],
    })
    st.dataframe(frame, hide_index=True, width="stretch", column_config={
        "key": st.column_config.TextColumn("key", width="small"),
        "score": st.column_config.ProgressColumn("score", min_value=0.0, max_value=1.0,
                                                 format="%.2f", help=widgets.SCORE_HELP),
    })


def _actions(run, task: pd.Series, candidates: list[dict], plan, kept: list[str],
             locked: bool) -> None:
    """The task's buttons; `kept`: the strategies of the run's plan its current version has,
    the only ones offered."""
    row = int(task["row"])
    # None kept: another plan replaced the run's (the manager's own after the sample), whose
    # strategies were not deleted one by one.
    replaced = not kept
    gone = ("This run's plan was replaced: re-run with the current plan to review against it."
            if replaced else
            "The plan no longer has this strategy: it was deleted after this run was classified.")

    def key(name: str) -> str:
        return task_key(name, run.id, row)

    names = plan.names
    misaligned = task["status"] == "misaligned"
    if misaligned:
        # The machine's verdict is "serves no strategy": one button (N) confirms it; there is
        # no second one that would do the same on screen. Y, which confirms the machine on
        # every other task, does it here too: a button takes one key, so a second one with Y
        # is kept out of sight (a hidden button's key still works). The style comes first, so
        # the twin is hidden as it is drawn, and its name is not the visible button's.
        twin = key(CONFIRM_BY_Y)
        st.html(f"<style>.st-key-{twin} {{display: none;}}</style>")
        st.button("Agree with the machine", key=twin, shortcut=SHORTCUTS["confirm"],
                  disabled=locked, on_click=_decide, args=(run.id, row, "misaligned", None))
    # One row that wraps, each button as wide as its words: fixed columns cut them short in a
    # window 900 px wide with the sidebar open ("Confirm: serv… N", then "Skip fo… S").
    row_of_actions = st.container(horizontal=True, gap="small")
    if misaligned:
        row_of_actions.button("Confirm: serves no strategy", key=key("review_misaligned"),
                              shortcut=SHORTCUTS["misaligned"], type="primary",
                              disabled=locked, on_click=_decide,
                              args=(run.id, row, "misaligned", None),
                              help="The machine is right: this task serves none of the "
                              "strategies.")
    else:
        held = task["strategy_id"] in kept
        row_of_actions.button(f"Confirm: {widgets.md_escape(task['strategy'])}",
                              key=key("review_confirm"), shortcut=SHORTCUTS["confirm"],
                              type="primary", disabled=locked or not held, on_click=_decide,
                              args=(run.id, row, "confirm", task["strategy_id"],
                                    task["strategy"]),
                              help="The machine is right." if held else gone)
        row_of_actions.button("Serves no strategy", key=key("review_misaligned"),
                              shortcut=SHORTCUTS["misaligned"], disabled=locked,
                              on_click=_decide, args=(run.id, row, "misaligned", None))
    row_of_actions.button("Skip for now", key=key("review_skip"), shortcut=SHORTCUTS["skip"],
                          disabled=locked, on_click=_decide, args=(run.id, row, "skip", None),
                          help="The task comes back later.")
    row_of_actions.button("Undo last", key="review_undo", shortcut=SHORTCUTS["undo"],
                          disabled=locked, on_click=_undo, args=(run.id,))

    if not replaced:
        st.write("Or pick the strategy it serves:")
    picks = st.container(horizontal=True, gap="small")
    for number, candidate in enumerate(candidates, start=1):
        picks.button(
            f"{widgets.md_escape(candidate['strategy'])}", key=key(f"review_pick_{number}"),
            shortcut=str(number),
            disabled=locked or candidate["strategy_id"] not in kept, on_click=_decide,
            args=(run.id, row, "reassign", candidate["strategy_id"], candidate["strategy"]),
            # A name longer than the row is cut short on the button; hovering shows it whole.
            help=widgets.md_escape(candidate["strategy"])
            + ("" if candidate["strategy_id"] in kept else f". {gone}"))
    if replaced:
        # No strategy of the plan in use to pick: the list was empty and the note said
        # "deleted from the plan".
        st.caption(f"Run #{run.id}'s plan was replaced: re-run with the current plan to review "
                   f"against it. Its strategies are shown, greyed out, as the machine matched "
                   f"them.")
        widgets.rerun_button(run, "Re-run with the current plan", "review_rerun_replaced")
        return
    ids = kept
    with picks:
        # Picking in the list decides, as a candidate's button does: a separate button (and
        # key) after the pick found the focus still in the list, where a key is typed, not
        # pressed; U undoes a wrong pick.
        picker = key("review_reassign")
        st.selectbox("Reassign to", ids, index=None, key=picker,
                     placeholder="Another strategy…", format_func=lambda sid: names.get(sid, sid),
                     label_visibility="collapsed", disabled=locked, on_change=_reassign, width=240,
                     args=(run.id, row, picker, names))
    if deleted := [names[sid] for sid in plan.ids if sid not in kept]:
        st.caption("Not offered, deleted from the plan after this run was classified: "
                   + ", ".join(f"“{widgets.md_escape(name)}”" for name in deleted) + ".")


@dataclass
class _Asked:
    """The LLM being asked about one task, in a thread of its own (`second_opinion.Asking`)."""

    run_id: int
    row: int
    asking: second_opinion.Asking


def _ask_llm(run_id: int, row: int) -> None:
    """Button callback: start asking the LLM about one task; the page stays usable meanwhile
    (an endpoint that never replied held it for three timeouts), and its answer is kept with
    the run."""
    held = _asked()
    if held is not None:
        st.session_state["review_note"] = (f"Still asking the LLM about task {held.row + 1}; "
                                           f"“Stop asking” ends it.")
        return
    try:
        settings = llm.llm_settings()
    except ClassifierError as error:
        st.session_state["review_error"] = str(error)
        return
    st.session_state[ASKING] = _Asked(run_id, row, second_opinion.Asking(
        state.store(), run_id, settings, state.who(), [row]))


def _asked() -> _Asked | None:
    """The asking still going on; one that has ended is said (`review_*` notes) and dropped."""
    held = st.session_state.get(ASKING)
    if held is None:
        return None
    if not held.asking.wait(0):
        return held
    del st.session_state[ASKING]
    try:
        used = held.asking.result()
    except ClassifierError as error:
        st.session_state["review_error"] = str(error)
        return None
    if used.failed:  # nothing is kept: without a word the button would just come back
        st.session_state["review_warning"] = (f"No answer from the LLM ({used.requests} "
                                              f"requests): {used.failure}. Ask again later.")
    elif used.gave_up:
        st.session_state["review_warning"] = f"No answer from the LLM: {used.gave_up}."
    return None


def _stop_asking() -> None:
    """Button callback: stop asking; the task keeps the machine's answer, to ask again."""
    held = st.session_state.pop(ASKING, None)
    if held is None:
        return
    held.asking.stop()
    st.session_state["review_note"] = (f"Stopped asking the LLM about task {held.row + 1}; "
                                       f"K asks again.")


def _asking_line(held: _Asked, run_id: int, task_row: int | None
                 ) -> tuple[DeltaGenerator, str]:
    """Where the page says it is asking, with a button that stops it: the line, redrawn
    while the answer is awaited (`_await`), and what it says."""
    about = (("this task" if held.row == task_row else f"task {held.row + 1}")
             if held.run_id == run_id else f"task {held.row + 1} of run #{held.run_id}")
    said = f"Asking the LLM about {about}…"
    with st.container(border=True):
        st.caption("Second opinion (LLM)")
        line = st.empty()
        # With its seconds at once: drawn bare, then counted, the line read "… 40 s" only
        # after a quarter second of every redraw.
        line.text(f"{said} {time.monotonic() - held.asking.started:.0f} s")
        st.button("Stop asking", key="review_llm_stop", icon=":material/stop_circle:",
                  on_click=_stop_asking,
                  help="The task keeps the machine's answer, and can be asked again.")
    return line, said


def _await(held: _Asked, line: DeltaGenerator, said: str) -> None:
    """Wait for the answer, the page usable: each redraw of the line is where a click or a
    key stops this run of the page (Streamlit's fast reruns), the asking going on."""
    while not held.asking.wait(0.25):
        line.text(f"{said} {time.monotonic() - held.asking.started:.0f} s")
    st.rerun()  # the next run shows the answer, or says why there is none (`_asked`)


def _opinion(run, task: pd.Series, plan, settings: llm.LLMSettings | None
             ) -> tuple[str, str] | None:
    """The LLM's answer kept with the run; else one the store's answers already hold for the
    same question (asked in an earlier run, before a re-score), which costs nothing to show."""
    opinion = second_opinion.said(task)
    if opinion is None and settings is not None:
        opinion = second_opinion.from_cache(state.store(), plan, settings, task,
                                            run.text_column)
    return opinion


def _second_opinion_slot(run, task: pd.Series, plan, kept: list[str],
                         opinion: tuple[str, str] | None, configured: bool, locked: bool,
                         wrong: str = "") -> None:
    """The LLM's answer (`_opinion`) and a button (L) that accepts it; else a button that
    asks, when an endpoint is `configured`, or what is `wrong` with its settings."""
    row = int(task["row"])
    ask, accept = task_key("review_llm_ask", run.id, row), task_key("review_llm_accept", run.id, row)
    if opinion is None:
        if wrong:  # set up, but not usable: said where the button would be, not folded away
            st.warning(f"No “Ask the LLM” button: {wrong}", icon=":material/forum:")
            return
        with st.expander("Second opinion (LLM)", expanded=False):
            if not configured:
                st.caption(f"{state.LLM_HOW} to ask an LLM about doubtful tasks.")
                return
            st.button("Ask the LLM", key=ask, disabled=locked, on_click=_ask_llm,
                      shortcut=SHORTCUTS["ask"], args=(run.id, row))
            _llm_use()
        return
    names = plan.names
    with st.container(border=True):
        same = second_opinion.agrees(opinion, task)
        st.caption("Second opinion (LLM)" + {True: " · agrees with the machine",
                                             False: " · differs from the machine",
                                             None: ""}[same])
        st.text(second_opinion.describe(opinion, names))  # LLM output: text, never Markdown
        strategy_id = opinion[0]
        if strategy_id == llm.NONE_ID:
            st.button("Accept: serves no strategy", key=accept, on_click=_decide,
                      shortcut=SHORTCUTS["accept"], disabled=locked,
                      args=(run.id, row, "misaligned", None))
        elif strategy_id in kept:  # not a strategy deleted from the plan since (see _actions)
            st.button(f"Accept: {widgets.md_escape(names[strategy_id])}", key=accept,
                      shortcut=SHORTCUTS["accept"], disabled=locked, on_click=_decide,
                      args=(run.id, row, "reassign", strategy_id, names[strategy_id]))
        _llm_use()


def _llm_use() -> None:
    used = state.store().usage_total(llm.CACHE_KIND)
    st.caption(f"LLM use in this store so far: {used['calls']} requests, "
               f"{used['tokens_in']} prompt + {used['tokens_out']} completion tokens.")


def _recent(run_id: int, plan) -> None:
    trail = state.store().decisions(run_id)
    if trail.empty:
        return
    st.subheader("Recent decisions")
    last = trail.iloc[-1]
    names = plan.names
    # A skip chooses nothing: it names no target.
    chosen = last.get("strategy_id")
    target = ("" if last["action"] in ("skip", "undo", "misaligned")
              else f" → {names.get(chosen, chosen) if chosen else 'no strategy'}")
    said = ACTION_WORDS.get(last["action"], last["action"])  # as the buttons say it
    # Plain text: the task is user data.
    st.text(f"Last: {said}{target} by {last['reviewer']} · task {last['row'] + 1}: "
            f"{work_text.readable(str(last['text']))}")
    st.dataframe(recent_decisions(trail, names), hide_index=True, width="stretch")
    # The whole trail, overridden and undone decisions included: the page's messages send
    # people to it ("theirs stays in the audit trail"), and the table shows ten.
    # Read at the click: a colleague's undo since this page was drawn is in it.
    left, right = st.columns(2)
    left.download_button(f"Every decision of run #{run_id} (CSV)",
                         lambda: csv_bytes(decision_trail(state.store().decisions(run_id),
                                                          names)),
                         f"run-{run_id}-decisions.csv", mime="text/csv", key="review_trail",
                         width="stretch")
    # Its times are times there, which Excel sorts and filters by, and it opens the same in any
    # country (the CSV's commas made one column where the decimal mark is a comma).
    right.download_button(
        f"Every decision of run #{run_id} (XLSX)",
        lambda: decision_trail_xlsx(state.store().decisions(run_id), names),
        f"run-{run_id}-decisions.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="review_trail_xlsx", width="stretch")


def _rescore(run_id: int) -> None:
    """Button callback: classify the run's tasks again with what was taught; say what moved."""
    try:
        state.who().require_decider("re-score the run")  # a new run in the shared store
    except ClassifierError as error:
        st.session_state["review_error"] = str(error)
        return
    db = state.store()
    run = db.run(run_id)
    version, plan = state.current_plan()
    before = db.results_with_decisions(run.id)
    classifier = state.classifier(plan)
    new_id = rerun(db, classifier, version, run)
    after = db.results_with_decisions(new_id)
    st.session_state[state.TEACH_IN_DONE] = True
    learned = describe_earlier(classifier.earlier_use)
    st.session_state["review_success"] = (f"Re-scored as run #{new_id} with what you taught. "
                                          + describe_rescore(before, after)
                                          + (f" {learned}." if learned else ""))
    st.session_state[MOVED] = moved_tasks(before, after, run.text_column, plan.names)
    state.use_run(new_id)


def _moved() -> None:
    """Under a re-score's message, which tasks it moved: "4 tasks now point to another
    strategy" alone left the manager no way to find (and check) them."""
    moved = st.session_state.pop(MOVED, None)
    if moved is None or moved.empty:
        return
    with st.expander(f"The {task_count(len(moved))} the re-score moved"):
        st.dataframe(widgets.for_display(moved), hide_index=True, width="stretch")


def _later() -> None:
    st.session_state[state.TEACH_IN_DONE] = True


def _choose_teach_in(plan_version: int, choice: str) -> None:
    """Button callback: skip the round, or take it up again, in every later session too."""
    try:
        state.store().choose_teach_in(plan_version, state.who(), choice, state.PLAN_NAME)
    except ClassifierError as error:
        st.session_state["review_error"] = str(error)


def _teach_in(run, results: pd.DataFrame, decided: set[int], learned: Learned,
              decided_at: pd.Series) -> pd.DataFrame | None:
    """A new plan's first round: about 20 tasks covering every strategy and the borderline.
    The tasks left to show, or None once the round is over (or was skipped); `decided_at`: when
    each of the plan's decisions was taken."""
    if st.session_state.get(state.TEACH_IN_DONE):
        return None
    if plan_replaced(state.store(), run):
        # As on the Classify page: the round taught a plan nobody uses any more, with none of
        # its strategies offered ("0 of 20 taught" under the notice that says so).
        return None
    # Over for good once a run knows the round's decisions (not only in the session that
    # re-scored: a manager who comes back goes to the queue), whichever run is shown: an older
    # run picked in the sidebar offered its re-score again, a second copy of its list.
    newest = state.store().latest_run(state.PLAN_NAME)
    made = max(run.created_at, newest.created_at) if newest is not None else run.created_at
    if teach_in_over(decided_at, made):
        return None
    skipped_round = state.store().teach_in_skipped(run.plan_version, state.who(), state.PLAN_NAME)
    round_ = teach_in_round(results, sorted(decided), run.thresholds, learned, decided_at,
                            run.created_at, skipped=skipped_round)
    if round_ is None:
        if not skipped_round:  # a short list, taught and re-scored: it goes on with new tasks
            return None
        st.button("Back to the teach-in", key="teach_resume", on_click=_choose_teach_in,
                  args=(run.plan_version, "resume"),
                  help="The round of about twenty tasks that teaches a new plan fastest; you "
                  "skipped it.")
        return None
    taught = min(learned.decisions, TEACH_IN_SIZE)
    goal = teach_in_goal(taught, len(round_))
    with st.container(border=True):
        about = ("some twenty tasks, picked" if goal == TEACH_IN_SIZE
                 else "every task of this short list, dealt")
        st.markdown(f"**Teach it.** Decide on {about} to cover every strategy and the "
                    f"borderline cases; then the tool re-scores this run with what you taught "
                    f"it.")
        st.progress(min(taught / goal, 1.0), text=f"{taught} of {goal} taught")
        if taught >= TEACH_IN_SIZE or round_.empty:
            if taught < TEACH_IN_SIZE:  # a short list: the round ran out of tasks first
                st.caption(f"Every task of run #{run.id} the round could deal is decided.")
            st.button(f"Re-score run #{run.id} with what you taught", key="teach_rescore",
                      type="primary", on_click=_rescore, args=(run.id,))
            st.button("Later", key="teach_later", on_click=_later)
            return round_.iloc[0:0]
        st.button("Skip the teach-in", key="teach_skip", on_click=_choose_teach_in,
                  args=(run.plan_version, "skip"),
                  help="Go straight to the review queue, now and next time.")
    skipped = state.store().skipped_rows(run.id, state.who())
    return pending(round_, [], sorted(skipped))


def _check_aligned(run_id: int) -> None:
    st.session_state[SPOT_CHECK] = run_id


def _nothing_left(run, results: pd.DataFrame, decided: set[int], learned: Learned,
                  locked: bool) -> None:
    """The queue is empty: say so, and offer the aligned tasks to whoever wants to teach more."""
    if st.session_state.get(SPOT_CHECK) == run.id:
        st.success("Every aligned task of this run is checked too.")
        return
    st.success("Nothing left to review in this run.")
    aligned, _ = _queue(results, run, decided, learned, aligned=True)
    if len(aligned) and not locked:
        st.button(f"Check the {len(aligned)} aligned tasks too", key="review_spot_check",
                  on_click=_check_aligned, args=(run.id,),
                  help="The machine's surest answers, the least sure of each strategy first: "
                  "each one you confirm or correct teaches the next run.")


def render() -> None:
    """The page."""
    st.title("Review")
    db = state.store()
    run = state.current_run_or_hint()
    if run is None:
        return
    widgets.stale_notice(key="rerun_stale_review")
    plan = db.plan(run.plan_version)
    # What the plan's current version still has: a strategy deleted since is not offered.
    newest_plan = db.latest_plan(run.plan_name)
    kept = strategies_kept(plan, newest_plan[1]) if newest_plan is not None else plan.ids
    held = _asked()  # before the notes: an asking that has ended says what it got there
    waiting: tuple[DeltaGenerator, str] | None = None
    for key, show in (("review_error", st.error), ("review_warning", st.warning),
                      ("review_success", st.success), ("review_note", st.toast)):
        if message := st.session_state.pop(key, None):
            show(message)
    _moved()
    if _ask_before_replacing(run.id, plan):
        _recent(run.id, plan)
        return
    results = db.results_with_decisions(run.id)
    decided = set(results.index[results["decision"].notna()])
    locked = state.viewing_only()  # app.py says why, at the top of every page
    # What teaches this run's plan (a new plan that replaced another starts its own teach-in),
    # read once per redraw: the round's progress and its "over" check count the same
    # decisions, and the Classify page's hint counts them too.
    taught = taught_on(db, run, state.PLAN_NAME)
    learned = Learned.from_frame(taught)
    # A viewer cannot teach: the queue is what they look at.
    teaching = (None if locked
                else _teach_in(run, results, decided, learned, taught["decided_at"]))
    if teaching is not None:
        left = len(teaching)
    else:
        checking = st.session_state.get(SPOT_CHECK) == run.id
        queue, total = _queue(results, run, decided, learned, aligned=checking)
        left = len(queue)
        text = (f"{left} aligned left to check of {total} · {total - left} checked" if checking
                else f"{left} left to review of {total} · {total - left} decided")
        if not checking and len(decided) > total - left:
            # Right after a teach-in of 20 the queue read "5 decided": the other decisions are on
            # tasks the re-scored run calls aligned, outside the queue.
            text += f" ({len(decided)} decided in this run, aligned tasks included)"
        st.progress((total - left) / total if total else 1.0, text=text)
    if not left:  # no task on screen, so no key legend either
        if teaching is None:
            _nothing_left(run, results, decided, learned, locked)
        st.button("Undo last", key="review_undo", shortcut=SHORTCUTS["undo"], on_click=_undo,
                  args=(run.id,), disabled=locked)
        if held is not None:
            waiting = _asking_line(held, run.id, None)
    else:
        task = (teaching if teaching is not None else queue).iloc[0]
        settings, wrong = state.llm_endpoint()  # once a redraw: the key legend and the slot
        opinion = _opinion(run, task, plan, settings)
        keys = ("**Y** or **N** confirm 'serves no strategy'" if task["status"] == "misaligned"
                else "**Y** confirm · **N** serves no strategy" if task["strategy_id"] in kept
                else "**N** serves no strategy")
        if not locked:  # a viewer's buttons are greyed out, keys included
            if opinion is None:
                llm_key = " · **K** ask the LLM" if settings is not None else ""
            else:
                llm_key = (" · **L** accept the LLM's answer"
                           if opinion[0] == llm.NONE_ID or opinion[0] in kept else "")
            # Keys 1-3 only where a strategy is offered: on a replaced plan's run none is.
            picks = (" · **1–3** pick a strategy (or pick another in the list)" if kept else "")
            st.caption(f"Keys: {keys}{picks} · **S** skip · **U** undo{llm_key}")
        candidates = _candidates(task)
        # When the task appeared: set before its buttons exist (a redraw cut short by the next
        # key has them already), and again once the page is whole (a key queued meanwhile
        # reaches the server just after).
        shown = (run.id, int(task["row"]))
        appeared = st.session_state.get(SHOWN, (None, None))[:2] != shown
        if appeared:
            st.session_state[SHOWN] = (*shown, time.monotonic())
        _task_view(task, run)
        _candidate_bars(candidates)
        _actions(run, task, candidates, plan, kept, locked)
        if held is None or (held.run_id, held.row) != shown:
            _second_opinion_slot(run, task, plan, kept, opinion, settings is not None, locked,
                                 wrong)
        if held is not None:  # in the slot's place when it is this task's
            waiting = _asking_line(held, run.id, shown[1])
    _recent(run.id, plan)
    if left and appeared:
        st.session_state[SHOWN] = (*shown, time.monotonic())
    if held is not None and waiting is not None:
        _await(held, *waiting)


if __name__ == "__main__":
    render()
