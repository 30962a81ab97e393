"""Plan page: the vision and strategies as an editable table, YAML import/export, and the
examples learned from review decisions."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from classifier import llm
from classifier.errors import ClassifierError, PlanError
from classifier.plan import (
    Plan,
    cut_texts,
    dump_plan,
    keep_earlier_ids,
    load_plan,
    with_what_a_table_lacks,
)
from classifier.plan_table import (
    blank_table,
    plan_from_table,
    plan_table,
    reading_table,
    with_example,
    with_examples,
)
from classifier.review import learned_view, picked_examples
from classifier.standing import dropped_with_decisions
from classifier.ui import state, widgets

PLAN_TYPES = ["yaml", "yml", "json", "csv", "xlsx"]
DRAFT_COUNT = 5
FEW_EXAMPLES = 3  # strategies with fewer examples than this are flagged in the draft picker
DRAFTS_KEY = "plan_drafts"
DRAFTS_ALL = "plan_drafts_all"  # drafts for every strategy short of examples, to tick
DRAFTING = "plan_drafting"  # (for every strategy short of examples?, llm.Drafting) under way
EDITING = "plan_editing"  # the plan version this tab's editor holds edits of
# Unsaved edits, kept while the person visits another page: Streamlit drops a page's fields
# once it is not shown. {"version", "vision", "table": as last edited; "shown", "shown_vision":
# what the fields were rebuilt from on return (fixed while they are shown); "key": their round}
DRAFT = "plan_draft"
# The newest version this tab has warned of as saved elsewhere: Save replaces it only once
# the person has seen that warning (a Save click can be the first redraw after that save).
WARNED = "plan_warned_of"
# The learned table as last drawn, (decision id, task) per row: a selection's rows are its rows.
LEARNED_SHOWN = "learned_shown"
LEARNED_WARNING = "learned_warning"


def _save(plan: Plan, notes: list[str] | None = None) -> bool:
    """Save a new plan version, saying so with `notes` (ids kept through a rename); False (the
    reason shown on the page) when refused."""
    try:
        st.session_state[EDITING] = state.store().save_plan(plan, state.PLAN_NAME,
                                                            by=state.who())
    except ClassifierError as error:
        st.session_state["plan_error"] = str(error)
        return False
    st.session_state.pop(DRAFT, None)
    st.session_state["plan_note"] = "Plan saved." + "".join(
        f" {note[:1].upper()}{note[1:]}." for note in notes or [])
    return True


def _save_or_ask(new: Plan, old: Plan, notes: list[str] | None = None) -> None:
    """Save, or first ask about the strategies the new plan drops (their decisions stop
    counting), whether it comes from the editor or an import."""
    removed = dropped_with_decisions(
        old, new, state.store().standing_by_text(state.PLAN_NAME, plan=old))
    if removed:
        st.session_state["plan_pending"] = (new, removed, notes or [])
    else:
        _save(new, notes)


def _has_edits(version: int) -> bool:
    """Whether this session holds unsaved edits of plan `version`."""
    draft = st.session_state.get(DRAFT)
    return draft is not None and draft["version"] == version


def _discard() -> None:
    st.session_state.pop(DRAFT, None)


def _edited_version(version: int, plan: Plan) -> tuple[int, Plan, bool]:
    """The plan version the editor shows: the latest, unless this tab holds edits of an
    earlier one that was saved over elsewhere (another tab, a colleague) since; then that one,
    its edits kept, and a warning says what Save will do. Last: whether Save may save (not
    before the person has seen that warning)."""
    editing = st.session_state.get(EDITING, version)
    if editing != version:
        try:
            earlier = state.store().plan(editing)
        except ClassifierError:
            earlier = None
        if earlier is not None and _has_edits(editing):
            st.warning(f"The plan was saved elsewhere (another tab, or a colleague) after you "
                       f"began editing it here; it is now version {version}. Your edits below "
                       f"are kept: **Save plan** replaces that version with what you see "
                       f"here, or load it and drop them.")
            st.button(f"Load version {version} (drop my edits)", key="plan_load_latest",
                      on_click=st.session_state.__setitem__, args=(EDITING, version))
            seen = st.session_state.get(WARNED) == version
            st.session_state[WARNED] = version
            return editing, earlier, seen
    st.session_state[EDITING] = version
    return version, plan, True


def _editor(version: int, plan: Plan, may_save: bool = True) -> None:
    locked = state.viewing_only()  # a viewer reads the plan; nothing to edit
    draft = st.session_state.get(DRAFT)
    if draft is not None and (draft["version"] != version or locked):
        draft = None
    round_ = draft["key"] if draft is not None else 0
    if draft is not None and f"plan_editor_{version}_{round_}" not in st.session_state:
        # Back on the page: the edits were kept, its fields were not. Rebuilt from them, under
        # new keys (an editor's edits apply to the table it was drawn from).
        round_ += 1
        draft.update(key=round_, shown=draft["table"], shown_vision=draft["vision"])
    restored = draft is not None and "shown" in draft
    if restored and draft is not None and draft.get("blank"):
        st.info("A blank plan: write your vision, then a row per strategy (a name and a line "
                "of description are enough) and **Save plan**. Nothing is saved before: the "
                "plan in use stays until then.", icon=":material/edit_note:")
        st.button("Back to the plan in use", key="plan_discard", on_click=_discard)
    elif restored:
        st.info("Your edits not saved yet are back: **Save plan** keeps them.")
        st.button("Discard my edits", key="plan_discard", on_click=_discard)
    table = draft["shown"] if draft is not None and restored else plan_table(plan)
    vision = st.text_area("Vision", draft["shown_vision"] if draft is not None and restored
                          else plan.vision, key=f"plan_vision_{version}_{round_}", height=68,
                          disabled=locked)
    st.caption("One row per strategy: a name and a line of description are enough (the id is "
               "made from the name). Examples are tasks known to serve it, separated by `|`. "
               "Add a row at the bottom; select rows and press Delete to remove them.")
    edited = st.data_editor(
        table, key=f"plan_editor_{version}_{round_}", num_rows="fixed" if locked else "dynamic",
        hide_index=True, width="stretch", disabled=locked, column_config={
            "id": st.column_config.TextColumn(
                "id", width="medium", help="Stable label used in outputs and decision files; "
                "left empty, the strategy keeps the id it had under its name (or had before it "
                "was deleted), else one is made from the name when you save"),
            # Not `required`: the editor would keep a row without a name from the server, and
            # "Plan saved." would be said over it; the save names the row instead.
            "name": st.column_config.TextColumn("name"),
            "description": st.column_config.TextColumn("description", width="large"),
            "examples": st.column_config.TextColumn("examples", width="large"),
        })
    changes = st.session_state.get(f"plan_editor_{version}_{round_}")
    if not locked and (restored or vision != plan.vision or (
            isinstance(changes, dict) and any(changes.get(part) for part in
                                              ("edited_rows", "added_rows", "deleted_rows")))):
        st.session_state[DRAFT] = {**(draft or {}), "version": version, "vision": vision,
                                   "table": edited.copy(), "key": round_}
    else:
        st.session_state.pop(DRAFT, None)
    if st.button("Save plan", key="plan_save", type="primary", disabled=locked):
        try:
            new = plan_from_table(vision, edited, plan)
        except PlanError as error:
            st.error(str(error))
            return
        # An id cell left empty keeps the strategy's id, as an import does: else its
        # decisions stopped counting for a strategy still in the table.
        new, notes = keep_earlier_ids(new, plan, state.store().past_strategies(state.PLAN_NAME))
        if may_save:
            _save_or_ask(new, plan, notes)
        else:
            st.session_state["plan_error"] = (
                "Not saved: the plan was saved elsewhere meanwhile (see below). Save plan "
                "again to replace that version with yours, or load it.")
        st.rerun()
    pending = st.session_state.get("plan_pending")
    if pending:
        new, removed, notes = pending
        # A person's decisions are what a manager least wants to lose unawares: said per
        # strategy, with how many.
        st.warning("Delete these strategies? Tasks matched to them will be matched again when "
                   "you re-run:\n\n" + "\n".join(
                       f"- {widgets.md_escape(name)}" + (
                           f": {count} decision{'s' if count != 1 else ''} by people will no "
                           f"longer count" if count else "") for name, count in removed))
        yes, no = st.columns(2)
        if yes.button("Delete and save", key="plan_delete_confirm", type="primary"):
            del st.session_state["plan_pending"]
            _save(new, notes)
            st.rerun()
        if no.button("Keep them", key="plan_delete_cancel"):
            del st.session_state["plan_pending"]
            st.rerun()


def _start_blank(version: int) -> None:
    """Button callback: the editor begins from an empty table and vision, saved only by Save
    plan (a plan needs a strategy); deleting every row of the sample was the only way."""
    draft = st.session_state.get(DRAFT)
    round_ = draft["key"] + 1 if draft is not None and draft["version"] == version else 1
    st.session_state[DRAFT] = {"version": version, "vision": "", "table": blank_table(),
                               "key": round_, "shown": blank_table(), "shown_vision": "",
                               "blank": True}


def _sample_notice(version: int, plan: Plan) -> None:
    """On the sample plan, say that it is one and how to put the manager's own in its place."""
    draft = st.session_state.get(DRAFT)
    if not state.is_sample(plan) or (draft is not None and draft.get("blank")):
        return
    st.info("This is the **sample plan**, a widget maker's (data/plan.yaml), there so you can "
            "try the tool at once. Replace it with yours: type your strategies over these, "
            "import your plan below (YAML, JSON, CSV or XLSX), or start a blank plan.",
            icon=":material/lightbulb:")
    st.button("Start a blank plan", key="plan_blank", on_click=_start_blank, args=(version,),
              disabled=state.viewing_only(), icon=":material/note_add:")


@st.cache_data(show_spinner=False, max_entries=8)
def _cut_lines(plan_json: str, _plan: Plan) -> list[str]:
    """The plan's texts the model reads only the start of, once per plan version's text."""
    embedder = state.embedder()
    return cut_texts(_plan, embedder.characters_read, embedder.max_tokens)


def _import_export(plan: Plan) -> None:
    left, right = st.columns(2)
    with left:
        upload = st.file_uploader("Import a plan (YAML, JSON, or a strategies table: CSV or XLSX)",
                                  type=PLAN_TYPES, key="plan_upload",
                                  help="A table: a row per strategy with a name, a description "
                                       "and, if you have them, an id and examples.")
        if upload is not None and st.button("Use this plan", key="plan_import",
                                            disabled=state.viewing_only()):
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / Path(upload.name).name
                path.write_bytes(upload.getvalue())
                try:
                    imported = load_plan(path)
                except ClassifierError as error:
                    st.error(str(error).replace(str(path), upload.name))
                    return
            imported, notes = keep_earlier_ids(imported, plan,
                                               state.store().past_strategies(state.PLAN_NAME))
            # As when the table is edited on this page: the vision and cut-offs stay.
            imported = with_what_a_table_lacks(imported, path, plan)
            _save_or_ask(imported, plan, notes)
            st.rerun()
    with right:
        st.download_button("Export the plan (YAML)", dump_plan(plan), "plan.yaml",
                           mime="application/x-yaml", key="plan_export", on_click="ignore",
                           icon=":material/download:")


def _learned() -> None:
    db = state.store()
    _, plan = state.current_plan()
    learned = db.learned_examples(state.PLAN_NAME, plan)
    # The table the person looks at is the one drawn last: its selection's rows are rows of it.
    shown = st.session_state.get(LEARNED_SHOWN, [])
    st.session_state[LEARNED_SHOWN] = list(zip(learned["decision_id"].astype(int).tolist(),
                                               learned["text"].astype(str).tolist(), strict=True))
    st.subheader("Learned examples")
    if message := st.session_state.pop(LEARNED_WARNING, None):
        st.warning(message)
    if learned.empty:
        st.caption("Review decisions become examples here and sharpen the next run.")
        return
    st.caption("Every confirmed or reassigned task teaches its strategy; tasks marked as serving "
               "no strategy teach what is not part of the plan. Select rows to hide or restore.")
    picked = st.dataframe(learned_view(learned, plan.names), hide_index=True, width="stretch",
                          key="learned_table", on_select="rerun", selection_mode="multi-row")
    rows = picked.selection.rows if picked is not None else []
    if rows:
        who = state.who()
        hide, restore = st.columns(2)
        try:
            if hide.button(f"Hide {len(rows)} selected", key="learned_hide",
                           disabled=not who.may_decide):
                _flag_picked(shown, rows, "hide")
                st.rerun()
            if restore.button(f"Restore {len(rows)} selected", key="learned_restore",
                              disabled=not who.may_decide):
                _flag_picked(shown, rows, "restore")
                st.rerun()
        except ClassifierError as error:
            st.error(str(error))


def _flag_picked(shown: list[tuple[int, str]], rows: list[int], action: str) -> None:
    """Hide or restore the examples picked in the table as drawn; say which changed since."""
    db = state.store()
    _, plan = state.current_plan()
    ids, changed = picked_examples(shown, rows, db.learned_examples(state.PLAN_NAME, plan))
    flag = db.remove_learned_example if action == "hide" else db.restore_learned_example
    for decision_id in ids:
        flag(decision_id, state.who())
    if changed:
        done = "hidden" if action == "hide" else "restored"
        tasks = ", ".join(f"“{widgets.md_escape(_short(text))}”" for text in changed)
        st.session_state[LEARNED_WARNING] = (
            f"{tasks}: {'that example' if len(changed) == 1 else 'those examples'} changed "
            f"meanwhile (decided again or undone); nothing {done} for "
            f"{'it' if len(changed) == 1 else 'them'}.")


def _short(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1].rstrip() + "…"


def _drop_draft(example: str) -> None:
    drafts = st.session_state.get(DRAFTS_KEY)
    if drafts and example in drafts["examples"]:
        drafts["examples"].remove(example)


def _accept_draft(strategy_id: str, example: str) -> None:
    """Button callback: add the drafted example to the latest plan and save a new version."""
    _, plan = state.current_plan()
    try:
        new = with_example(plan, strategy_id, example)
    except PlanError as error:
        st.session_state["plan_error"] = str(error)
        return
    if _save(new):
        _drop_draft(example)
        st.session_state["plan_note"] = ("Example added to "
                                          f"{widgets.md_escape(plan.strategy(strategy_id).name)}.")


def _start_drafting(settings: llm.LLMSettings, plan: Plan, strategy_ids: list[str],
                    every: bool) -> None:
    """Draft examples in a thread of its own: the page stays free to be left, or to stop it
    (an endpoint that never replied held the page until its timeouts ran out)."""
    try:
        state.who().require_decider("draft examples")  # spends the team's LLM tokens
    except ClassifierError as error:
        st.error(str(error))
        return
    st.session_state[DRAFTING] = (every, llm.Drafting(settings, plan, strategy_ids,
                                                      n=DRAFT_COUNT, cache=state.store()))
    st.rerun()  # the expander shows it under way


def _drafting_ended(plan: Plan) -> None:
    """Drafts that have come (or why none did), taken into the page once the drafting ends."""
    under_way = st.session_state.get(DRAFTING)
    if under_way is None or not under_way[1].wait(0):
        return
    del st.session_state[DRAFTING]
    every, drafting = under_way
    try:
        drafted = drafting.result()
    except llm.DraftStopped:
        st.session_state["plan_note"] = "Stopped drafting examples; nothing was added."
        return
    except ClassifierError as error:
        st.session_state["plan_error"] = str(error)
        return
    if not every:
        [(strategy_id, examples)] = drafted.items()
        st.session_state[DRAFTS_KEY] = {"strategy_id": strategy_id, "examples": examples}
        return
    names = plan.names
    rows = [(sid, example) for sid, examples in drafted.items() for example in examples
            if sid in names]  # a strategy deleted meanwhile gets none
    st.session_state.pop("draft_all_table", None)  # the last drafts' ticks are not these
    st.session_state[DRAFTS_ALL] = pd.DataFrame({
        "add": [True] * len(rows), "strategy": [names[sid] for sid, _ in rows],
        "example": [example for _, example in rows], "strategy_id": [sid for sid, _ in rows]})


def _stop_drafting() -> None:
    under_way = st.session_state.get(DRAFTING)
    if under_way is not None:
        under_way[1].stop()  # said by _drafting_ended


def _drafting_line(drafting: llm.Drafting, plan: Plan) -> tuple[DeltaGenerator, str]:
    """What is being drafted, with a button that stops it: the line, redrawn while the
    drafts are awaited (`_await_drafts`), and what it says."""
    names = plan.names
    ids = drafting.strategy_ids
    said = (f"Drafting examples for {names.get(ids[0], ids[0])}…" if len(ids) == 1 else
            f"Drafting examples for {len(ids)} strategies…")
    line = st.empty()
    line.text(_drafted_so_far(drafting, said))  # counted at once, as `_await_drafts` redraws it
    st.button("Stop drafting", key="draft_stop", icon=":material/stop_circle:",
              on_click=_stop_drafting, help="Nothing is added; drafting again asks again.")
    return line, said


def _drafted_so_far(drafting: llm.Drafting, said: str) -> str:
    """The drafting line: what, how many strategies done (of several), and for how long."""
    total = len(drafting.strategy_ids)
    done = f" {drafting.done} of {total} done," if total > 1 else ""
    return f"{said}{done} {time.monotonic() - drafting.started:.0f} s"


def _await_drafts(drafting: llm.Drafting, line: DeltaGenerator, said: str) -> None:
    """Wait for the drafts, the page usable: each redraw of the line is where a click stops
    this run of the page (Streamlit's fast reruns), the drafting going on."""
    while not drafting.wait(0.25):
        line.text(_drafted_so_far(drafting, said))
    st.rerun()  # the next run shows the drafts, or says why there are none


def _ticked_drafts(plan: Plan) -> None:
    """The drafts for every strategy, to untick or reword, then added in one plan version."""
    table = st.session_state.get(DRAFTS_ALL)
    if table is None:
        return
    st.caption("Untick the ones your team would not really do; an example can be reworded in "
               "its cell. They are added in one new version of the plan.")
    edited = st.data_editor(
        table, key="draft_all_table", hide_index=True, width="stretch",
        column_order=["add", "strategy", "example"], disabled=["strategy"],
        column_config={"add": st.column_config.CheckboxColumn("add", width="small"),
                       "example": st.column_config.TextColumn("example", width="large")})
    ticked = edited[edited["add"].astype(bool)]
    add, drop = st.columns(2)
    if add.button(f"Add the {len(ticked)} ticked examples to the plan", key="draft_all_add",
                  type="primary", disabled=ticked.empty or state.viewing_only()):
        added: dict[str, list[str]] = {}
        for strategy_id, example in zip(ticked["strategy_id"], ticked["example"], strict=True):
            added.setdefault(str(strategy_id), []).append(str(example))
        try:
            new, count = with_examples(plan, added)
        except PlanError as error:
            st.error(str(error))
            return
        if count and not _save(new):
            st.rerun()  # refused: the page says why, the drafts stay
        st.session_state.pop(DRAFTS_ALL, None)
        st.session_state["plan_note"] = (f"Added {count} example{'s' if count != 1 else ''} to "
                                         f"{len(added)} strateg{'ies' if len(added) != 1 else 'y'}.")
        st.rerun()
    drop.button("Discard these drafts", key="draft_all_discard",
                on_click=lambda: st.session_state.pop(DRAFTS_ALL, None))


def _drafts(plan: Plan) -> tuple[llm.Drafting, DeltaGenerator, str] | None:
    """Ask the LLM for tactics that would serve a strategy; each is accepted or discarded.
    A drafting under way, with its line, for the page to await once it is drawn."""
    drafts = st.session_state.get(DRAFTS_KEY)
    under_way = st.session_state.get(DRAFTING)
    drafting = (bool(drafts and drafts["examples"]) or DRAFTS_ALL in st.session_state
                or under_way is not None)
    with st.expander("Draft examples with an LLM", expanded=drafting):
        if under_way is not None:
            return (under_way[1], *_drafting_line(under_way[1], plan))
        settings, wrong = state.llm_endpoint()
        if settings is None:
            if wrong:
                st.warning(wrong)
            else:
                st.caption(f"{state.LLM_HOW} to draft examples with an LLM.")
            return None
        counts = {s.id: len(s.examples) for s in plan.strategies}
        names = plan.names
        fewest = min(plan.ids, key=counts.__getitem__)
        few = [strategy_id for strategy_id in plan.ids if counts[strategy_id] < FEW_EXAMPLES]
        if few and st.button(
                f"Draft {DRAFT_COUNT} examples for each of the {len(few)} strateg"
                f"{'ies' if len(few) != 1 else 'y'} with fewer than {FEW_EXAMPLES}",
                key="draft_all", type="primary", disabled=state.viewing_only(),
                help="A new plan's answers are cautious: examples you have checked are what "
                     "teaches it most. Nothing is added until you say so."):
            _start_drafting(settings, plan, few, every=True)
        _ticked_drafts(plan)
        st.divider()

        def label(strategy_id: str) -> str:
            flag = " · few examples" if counts[strategy_id] < FEW_EXAMPLES else ""
            return f"{names[strategy_id]} ({counts[strategy_id]} examples{flag})"

        strategy_id = st.selectbox("Strategy", plan.ids, index=plan.ids.index(fewest),
                                   format_func=label, key="draft_strategy",
                                   help="The one with the fewest examples is picked first.")
        if st.button(f"Draft {DRAFT_COUNT} examples", key="draft_ask",
                     disabled=state.viewing_only()):
            _start_drafting(settings, plan, [strategy_id], every=False)
        if drafts and drafts["strategy_id"] == strategy_id and drafts["examples"]:
            st.caption(f"Drafted for {widgets.md_escape(names[strategy_id])}: accept the ones "
                       f"your team would really do.")
            for number, example in enumerate(drafts["examples"]):
                text, accept, discard = st.columns([8, 1, 1], vertical_alignment="center")
                text.text(example)  # LLM output: shown as text, never as Markdown/HTML
                accept.button("Accept", key=f"draft_accept_{number}", type="primary",
                              on_click=_accept_draft, args=(strategy_id, example))
                discard.button("Discard", key=f"draft_discard_{number}",
                               on_click=_drop_draft, args=(example,))
        used = state.store().usage_total(llm.CACHE_KIND)
        st.caption(f"LLM use in this store so far: {used['calls']} requests, "
                   f"{used['tokens_in']} prompt + {used['tokens_out']} completion tokens "
                   f"(answers are cached, so asking again is free).")
    return None


def render() -> None:
    """The page."""
    st.title("Plan")
    version, plan = state.current_plan()
    _drafting_ended(plan)  # before the notes: a drafting that failed says so there
    if message := st.session_state.pop("plan_note", None):
        st.success(message)
    if message := st.session_state.pop("plan_error", None):
        st.error(message)
    widgets.stale_notice(key="rerun_stale_plan")
    _sample_notice(version, plan)
    _editor(*_edited_version(version, plan))
    if cut := _cut_lines(dump_plan(plan, "json"), plan):
        st.warning("The model reads only the start of a text (its first "
                   f"{state.embedder().max_tokens} word pieces); in this plan:\n\n"
                   + "\n".join(f"- {widgets.md_escape(line)}" for line in cut),
                   icon=":material/content_cut:")
    with st.expander("How the tool reads your strategies"):
        st.caption("A task is matched on each strategy's statement (name: description), its "
                   "name, each phrase of a description that names several things (each item "
                   "of a list, however short), and its examples. A task about one phrase finds "
                   "its strategy, and the phrase shows as what it matched on.")
        st.dataframe(reading_table(plan), hide_index=True, width="stretch", column_config={
            "phrases": st.column_config.TextColumn("phrases read on their own", width="large"),
        })
    st.divider()
    _import_export(plan)
    st.divider()
    _learned()
    if (waiting := _drafts(plan)) is not None:
        _await_drafts(*waiting)


if __name__ == "__main__":
    render()
