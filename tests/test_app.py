"""The review app through Streamlit's AppTest: each page with the real model and a SQLite file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from llm_server import answer, error, text
from streamlit.testing.v1 import AppTest

from classifier.access import Reviewer
from classifier.pipeline import is_stale
from classifier.plan import Plan, Strategy
from classifier.store import RunInfo, Store

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
# The first run loads the model and classifies the sample tasks; slow CI machines need room.
TIMEOUT = 300

XSS_TASKS = ["<img src=x onerror=alert(1)>", "[click](javascript:alert(1))",
             "**bold** <script>alert(2)</script>"]


@pytest.fixture
def db(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "tactics.db"
    monkeypatch.setenv("TACTICS_DB", str(path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return path


def fresh_app() -> AppTest:
    """A new browser session on the app (session state empty, the store on disk kept)."""
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run()


def open_page(at: AppTest, page: str) -> AppTest:
    return at.switch_page(f"classifier/ui/{page}.py").run()


def without_task(key: str) -> str:
    """A Review button's key without the task it belongs to: "review_skip_1_42" → "review_skip"."""
    return re.sub(r"_\d+_\d+$", "", key)


def task_button(at: AppTest, name: str):
    """The button `name` ("review_skip") of the task on the Review page (each task's own key)."""
    [button] = [b for b in at.button if b.key and without_task(b.key) == name
                and b.key != name]
    return button


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def paste(at: AppTest, lines: list[str]) -> AppTest:
    at.text_area(key="paste_text").set_value("\n".join(lines))
    return at.button(key="classify_paste").click().run()


def test_first_launch_classifies_the_sample_tasks(db):
    at = fresh_app()
    no_exception(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tasks"] == "108"
    assert {"Aligned", "In review", "Misaligned"} <= set(metrics)
    with Store(db) as store:
        runs = store.runs()
    assert len(runs) == 1 and runs[0].rows == 108
    # A second session on the same store does not classify the sample again.
    fresh_app()
    with Store(db) as store:
        assert len(store.runs()) == 1


def test_a_run_is_set_aside_after_a_yes_and_brought_back(db):
    at = paste(fresh_app(), ["Call customers whose service plan expires this month"])
    assert at.subheader[0].value == "Results of run #2"
    at.button(key="set_aside").click().run()
    assert any("Set run #2 aside?" in w.value for w in at.warning)
    at.button(key="set_aside_cancel").click().run()  # "Keep it": nothing changes
    with Store(db) as store:
        assert [r.id for r in store.runs()] == [2, 1]
    at.button(key="set_aside").click().run()
    at.button(key="set_aside_confirm").click().run()
    no_exception(at)
    assert any("Run #2 is set aside" in s.value for s in at.success)
    assert at.subheader[0].value == "Results of run #1"  # the pages go to the newest left
    [aside] = [e for e in at.expander if e.label == "Runs set aside (1)"]
    assert "set aside by" in aside.caption[0].value
    with Store(db) as store:
        assert [r.id for r in store.runs()] == [1]
    at.button(key="bring_back_2").click().run()
    no_exception(at)
    assert at.subheader[0].value == "Results of run #2"
    with Store(db) as store:
        assert [r.id for r in store.runs()] == [2, 1] and not store.set_aside_runs()


def test_the_sample_s_run_set_aside_is_not_made_again(db):
    at = fresh_app()
    at.button(key="set_aside").click().run()
    at.button(key="set_aside_confirm").click().run()
    no_exception(at)
    assert any("Paste some tasks above" in i.value for i in at.info)
    fresh_app()  # another session on the same store: the sample is not classified again
    with Store(db) as store:
        assert not store.runs() and len(store.set_aside_runs()) == 1


def test_pasting_tasks_gives_results(db):
    at = paste(fresh_app(), ["Call customers whose service plan expires this month", "",
                             "Post the job opening for a night-shift machinist",
                             "Reorganize the shared drive folder colors"])
    no_exception(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tasks"] == "3"  # the blank line is not a task...
    shares = [int(metrics[label].rstrip("%")) for label in ("Aligned", "In review", "Misaligned")]
    assert sum(shares) in (99, 100, 101)  # ...nor a share of the work (rounding aside)
    table = at.dataframe[0].value
    assert len(table) == 4  # ...but a row, by the rule files follow: a line, a row
    assert table["final_status"].iloc[1] == ["empty"]
    assert table["final_strategy"].iloc[0] == "Grow recurring revenue"
    assert table["final_strategy"].iloc[2] == "Build a strong team"
    with Store(db) as store:  # named among the runs by what it holds, as a file by its name
        assert store.latest_run().source == "pasted: Call customers whose service plan… and 2 more"
    assert any("Classified 4 rows" in s.value for s in at.success)


def test_pasted_placeholders_are_said_as_the_command_line_says_them(db):
    # "…" and an emoji alone became empty rows without a word, where the command line warns.
    at = paste(fresh_app(), ["Call customers whose service plan expires this month", "…",
                             "\U0001f680", "Post the job opening for a night-shift machinist"])
    no_exception(at)
    with Store(db) as store:
        run_id = store.latest_run().id
    assert [w.value for w in at.warning] == [
        f"Run #{run_id}: rows 2, 3 hold no letter or digit (a placeholder such as '-'): status "
        f"empty, as a blank row"]
    assert {m.label: m.value for m in at.metric}["Tasks"] == "2"
    with Store(db) as store:  # named by its tasks: "and 3 more" beside "2 tasks" was a miscount
        assert store.latest_run().source == ("pasted: Call customers whose service plan… "
                                             "and 1 more")


def test_a_pasted_lists_title_line_is_no_task_and_is_said(db):
    # "My team's tasks this week:" was classified as a task of the list it heads.
    at = paste(fresh_app(), ["My team's tasks this week:",
                             "- Call customers whose service plan expires this month",
                             "- Post the job opening for a night-shift machinist"])
    no_exception(at)
    with Store(db) as store:
        run = store.latest_run()
    assert [w.value for w in at.warning] == [
        f"Run #{run.id}: row 1 (\"My team's tasks this week:\") is read as the list's title, "
        f"not a task: status empty, as a blank row (without its closing ':' it is classified)"]
    assert {m.label: m.value for m in at.metric}["Tasks"] == "2"
    table = at.dataframe[0].value
    assert len(table) == 3 and table["final_status"].iloc[0] == ["empty"]  # kept, as a row
    assert table["task"].iloc[0] == "My team's tasks this week:"
    assert run.source == "pasted: Call customers whose service plan… and 1 more"


def test_rows_pasted_from_a_spreadsheet_keep_their_columns(db):
    at = paste(fresh_app(), ["Task\tOwner\tHours",
                             "Call customers whose service plan expires this month\tTom\t3",
                             "Post the job opening for a night-shift machinist\tAna\t2"])
    no_exception(at)
    assert {m.label: m.value for m in at.metric}["Tasks"] == "2"  # the header is not a task
    table = at.dataframe[0].value
    assert list(table["Owner"]) == ["Tom", "Ana"]
    assert table["final_strategy"].iloc[0] == "Grow recurring revenue"
    with Store(db) as store:
        run = store.latest_run()
        assert run.text_column == "Task" and run.source.startswith("pasted: Call customers")


def test_a_pasted_markdown_table_keeps_its_columns_and_is_said(db):
    # Copied from Notion or GitHub: each line was a task with its pipes, the header was
    # classified, and the |---| line was an empty row.
    at = paste(fresh_app(), ["| Task | Owner |", "| --- | --- |",
                             "| Call customers whose service plan expires this month | Tom |",
                             "| Post the job opening for a night-shift machinist | Ana |"])
    no_exception(at)
    assert {m.label: m.value for m in at.metric}["Tasks"] == "2"
    table = at.dataframe[0].value
    assert list(table["Owner"]) == ["Tom", "Ana"] and len(table) == 2
    assert table["final_strategy"].iloc[0] == "Grow recurring revenue"
    assert [w.value for w in at.warning] == [
        "pasted text: a Markdown table (cells apart by '|'): read as a table; line 1 names the "
        "columns, line 2 (|---|) is no row, and each line from 3 on is a task row"]


@pytest.mark.parametrize("status", ["aligned", "misaligned"])
def test_status_filter_keeps_only_that_status(db, status):
    at = fresh_app()
    at.multiselect(key="filter_status").set_value([status]).run()
    table = at.dataframe[0].value
    assert len(table) > 0
    assert all(chips == [status] for chips in table["final_status"])


def test_search_finds_tasks_by_text(db):
    at = fresh_app()
    at.text_input(key="filter_search").set_value("SERVICE PLAN").run()
    tasks = at.dataframe[0].value["task"]
    assert len(tasks) > 0
    assert all("service plan" in task.lower() for task in tasks)


def test_upload_classifies_a_csv_and_keeps_its_columns(db):
    at = fresh_app()
    content = b"title,owner,hours\nHire a second-shift machinist,Ann,4\nCall lapsed customers,Bo,2\n"
    at.file_uploader(key="upload_file").upload("week.csv", content, "text/csv")
    at.run()
    column = next(box for box in at.selectbox if box.label.startswith("Column"))
    assert column.value == "title"
    at.button(key="classify_upload").click().run()
    no_exception(at)
    table = at.dataframe[0].value
    assert list(table["owner"]) == ["Ann", "Bo"] and list(table["hours"]) == ["4", "2"]


def test_an_uploads_own_status_column_is_kept_and_said_to_be(db):
    at = fresh_app()
    content = b"task,status\nHire a second-shift machinist,open\nCall lapsed customers,done\n"
    at.file_uploader(key="upload_file").upload("week.csv", content, "text/csv")
    at.run()
    at.button(key="classify_upload").click().run()
    no_exception(at)
    assert any("Kept the file's own 'status' as 'status (input)'" in s.value for s in at.success)
    table = at.dataframe[0].value
    assert list(table["status (input)"]) == ["open", "done"]


def test_upload_says_how_it_was_read(db):
    at = fresh_app()
    content = "Q4 list of the sales team\ntitle,owner\nRéviser le café,Zoë\n".encode("cp1252")
    at.file_uploader(key="upload_file").upload("week.csv", content, "text/csv")
    at.run()
    no_exception(at)
    captions = [caption.value.replace("\\", "") for caption in at.caption]  # as shown
    assert "week.csv: not UTF-8; read as cp1252" in captions
    assert any("1 row above the header not read" in caption for caption in captions)
    column = next(box for box in at.selectbox if box.label.startswith("Column"))
    assert column.value == "title"


def test_upload_whose_names_do_not_say_asks_for_the_text_column(db):
    at = fresh_app()
    content = (b"What,Who,Where\nHire a second-shift machinist,Ann Lee,Main plant\n"
               b"Call lapsed customers,Bo Chan,Head office\n")
    at.file_uploader(key="upload_file").upload("week.csv", content, "text/csv")
    at.run()
    no_exception(at)
    assert not at.error
    column = next(box for box in at.selectbox if box.label.startswith("Column"))
    assert column.value is None and column.options == ["What", "Who", "Where"]
    assert any("choose it above" in info.value for info in at.info)
    assert at.button(key="classify_upload").disabled
    column.set_value("What").run()
    at.button(key="classify_upload").click().run()
    no_exception(at)
    table = at.dataframe[0].value
    assert list(table["What"]) == ["Hire a second-shift machinist", "Call lapsed customers"]
    assert list(table["Who"]) == ["Ann Lee", "Bo Chan"]
    # The answer beside the task; the file's other columns after it.
    assert list(table.columns)[:3] == ["row", "What", "final_status"]
    assert list(table.columns)[-2:] == ["Who", "Where"]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("big.csv", b"task\n" + b"x" * (21 * 2**20), "over the 20 MB limit"),
    ("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text table"),
    ("empty.csv", b"task\n", "no task rows"),
])
def test_bad_upload_gets_a_clear_message(db, name, content, message):
    at = fresh_app()
    at.file_uploader(key="upload_file").upload(name, content)
    at.run()
    no_exception(at)
    errors = [e.value for e in at.error]
    assert any(message in error and name in error for error in errors), errors


def test_review_decision_is_stored_and_survives_a_fresh_session(db):
    at = open_page(fresh_app(), "review")
    no_exception(at)
    first_task = at.text[0].value
    left_before = at.get("progress")[0].proto.text
    with Store(db) as store:
        results = store.run_results(store.latest_run().id)
    machine = results.loc[results["task"] == first_task, "strategy_id"].iloc[0]
    target = "strong-team" if machine != "strong-team" else "lower-costs"
    next(box for box in at.selectbox if box.label == "Reassign to").set_value(target).run()
    no_exception(at)
    assert at.text[0].value != first_task  # the next task is up

    later = open_page(fresh_app(), "review")
    no_exception(later)
    assert later.text[0].value != first_task
    assert later.get("progress")[0].proto.text != left_before
    trail = later.dataframe[-1].value  # newest first, the strategy by its name
    names = {"strong-team": "Build a strong team",
             "lower-costs": "Lower manufacturing and supply-chain costs"}
    assert trail["task"].iloc[0] == first_task and trail["strategy"].iloc[0] == names[target]
    # the whole trail, beyond the ten rows the table shows, is one click away
    trail_files = [b.label for b in later.get("download_button")
                   if b.label.startswith("Every decision of run #")]
    assert [label.rsplit(" ", 1)[1] for label in trail_files] == ["(CSV)", "(XLSX)"], trail_files
    with Store(db) as store:
        run = store.latest_run()
        standing = list(store.current_decisions(run.id).values())
    assert [(d.action, d.strategy_id, d.text) for d in standing] == [
        ("reassign", target, first_task)]


def test_picking_the_machines_strategy_is_a_confirm_unless_it_had_ruled_the_task_out(db):
    # The same rule as `tactics decide`: the machine said "misaligned" of a task, so naming its
    # nearest strategy corrects the machine (a reassign), where elsewhere it agrees (a confirm).
    at = open_page(fresh_app(), "review")
    with Store(db) as store:
        run = store.latest_run()
        results = store.run_results(run.id).set_index("task")
    seen: dict[str, str] = {}
    for _ in range(15):
        task = results.loc[at.text[0].value]
        next(box for box in at.selectbox if box.label == "Reassign to").set_value(
            task["strategy_id"]).run()
        no_exception(at)
        with Store(db) as store:
            decision = store.standing_decision(run.id, int(task["row"]))
        expected = "reassign" if task["status"] == "misaligned" else "confirm"
        assert decision is not None and decision.action == expected, task["status"]
        assert decision.strategy_id == task["strategy_id"]
        seen[task["status"]] = decision.action
        if "misaligned" in seen and "review" in seen:
            break
    assert seen == {"misaligned": "reassign", "review": "confirm"}


def _decided_meanwhile(db, reviewer: str, by_this_tab: bool = False):
    """The Review page's first task decided by `reviewer` after the page was drawn (`by_this
    _tab`: as this tab's own last decision), then N pressed on it: the page, the run, the row."""
    at = open_page(fresh_app(), "review")
    shown = at.text[0].value
    with Store(db) as store:
        run = store.latest_run()
        results = store.run_results(run.id)
        row = int(results.loc[results["task"] == shown, "row"].iloc[0])
        store.record_decision(run.id, row, "misaligned", None, reviewer)
    if by_this_tab:
        at.session_state["review_mine"] = (run.id, row)
    task_button(at, "review_misaligned").click().run()
    no_exception(at)
    return at, run, row


def test_deciding_a_task_another_tab_just_decided_the_same_way_records_both(db):
    at, run, row = _decided_meanwhile(db, "Ben in another tab")
    [warning] = at.warning
    assert (f"Task {row + 1} was decided meanwhile by Ben in another tab (serves no strategy), "
            f"as you decide it; yours is recorded too." in warning.value)
    with Store(db) as store:
        trail = store.decisions(run.id)
        standing = store.current_decisions(run.id)[row]
    assert trail["reviewer"].tolist() == ["Ben in another tab", "manager"]
    assert standing.reviewer == "manager"


def _colleague_decides_the_task_on_screen(db, at: AppTest) -> tuple[int, int, str]:
    """Ben says the Review page's task serves no strategy, after the page was drawn: the run,
    the row, and the name of the task's first candidate (what the page's 1 picks)."""
    row = int(task_button(at, "review_skip").key.rsplit("_", 1)[1])
    with Store(db) as store:
        run = store.latest_run()
        found = store.run_results(run.id).iloc[row]
        store.record_decision(run.id, row, "misaligned", None, "Ben")
    return run.id, row, found["candidates"][0]["strategy"]


def test_a_colleague_s_other_decision_is_replaced_only_when_the_reviewer_says_so(db):
    # It was replaced at the click, and the page said so after: Ben's answer was gone unread.
    at = open_page(fresh_app(), "review")
    run, row, picked = _colleague_decides_the_task_on_screen(db, at)
    task_button(at, "review_pick_1").click().run()
    no_exception(at)
    [asked] = [w.value.replace("\\", "") for w in at.warning]
    assert re.fullmatch(rf"Task {row + 1} was decided by Ben on \d{{4}}-\d\d-\d\d at "
                        rf"\d\d:\d\d UTC: serves no strategy\. You chose: {re.escape(picked)}\. "
                        rf"Replace their decision with yours\?", asked), asked
    assert not [b for b in at.button if (b.key or "").startswith("review_skip")]  # no next task
    with Store(db) as store:
        assert store.decisions(run)["reviewer"].tolist() == ["Ben"]
    at.button(key="review_keep").click().run()  # Escape
    no_exception(at)
    assert any(f"Kept Ben's decision on task {row + 1}" in t.value for t in at.toast)
    with Store(db) as store:
        assert store.decisions(run)["reviewer"].tolist() == ["Ben"]
        assert store.current_decisions(run)[row].reviewer == "Ben"

    run, row, picked = _colleague_decides_the_task_on_screen(db, at)  # the next task
    task_button(at, "review_pick_1").click().run()
    at.button(key="review_replace").click().run()  # Shift+Y
    no_exception(at)
    assert any(w.value.startswith(f"Replaced Ben's decision on task {row + 1} (serves no "
                                  f"strategy) with yours") for w in at.warning)
    with Store(db) as store:
        trail = store.decisions(run)
        assert trail["reviewer"].tolist()[-2:] == ["Ben", "manager"]  # both in the trail
        assert store.current_decisions(run)[row].reviewer == "manager"
    at.button(key="review_undo").click().run()  # Undo brings Ben's back
    with Store(db) as store:
        assert store.current_decisions(run)[row].reviewer == "Ben"


def test_a_colleague_s_decision_on_the_same_task_in_another_row_is_asked_about_too(db):
    # A decision stands for its task's text: Ben's on the list's other copy of the task was
    # replaced unsaid (the page looked at the row on screen only).
    at = paste(fresh_app(), ["Pitch our widgets to Northgate", "Pitch our widgets to Northgate"])
    at = open_page(at, "review")  # the teach-in round deals both
    row = int(task_button(at, "review_skip").key.rsplit("_", 1)[1])
    with Store(db) as store:
        store.record_decision(2, 1 - row, "misaligned", None, "Ben")
    task_button(at, "review_pick_1").click().run()
    no_exception(at)
    assert any(w.value.startswith(f"Task {row + 1} was decided by Ben on ") for w in at.warning)
    with Store(db) as store:
        assert store.decisions(2)["reviewer"].tolist() == ["Ben"]


def test_a_strategy_deleted_from_the_plan_since_the_run_is_refused_then_not_offered(db):
    # The run's plan still had it: the page offered and took it, a decision void at once (the
    # next run said "which the plan no longer has: decide again" of a decision made after).
    at = open_page(fresh_app(), "review")
    with Store(db) as store:  # a colleague deletes the task's first candidate meanwhile
        run = store.latest_run()
        results = store.run_results(run.id)
        first = results.loc[results["task"] == at.text[0].value, "candidates"].iloc[0][0]
        _, plan = store.latest_plan()
        store.save_plan(plan.model_copy(update={"strategies": [
            s for s in plan.strategies if s.id != first["strategy_id"]]}))
    task_button(at, "review_pick_1").click().run()
    no_exception(at)
    [error] = at.error
    assert error.value.startswith("Not recorded (task ")
    assert f"the plan no longer has “{first['strategy']}”" in error.value.replace("\\", "")
    with Store(db) as store:
        assert store.decisions(run.id).empty
    # Drawn again: greyed out (its key with it), not in the list, and said why in one line.
    assert task_button(at, "review_pick_1").disabled
    [listed] = [box for box in at.selectbox if box.label == "Reassign to"]
    assert len(listed.options) == 6 and first["strategy"] not in listed.options
    assert any(c.value.replace("\\", "").startswith(
        f"Not offered, deleted from the plan after this run was classified: "
        f"“{first['strategy']}”") for c in at.caption)


def test_a_key_pressed_twice_on_one_task_is_one_decision(db):
    # The second press reaches the server before the page has moved on: it carries the task
    # just decided, by the same reviewer; it is neither recorded nor taken for another tab.
    at, run, row = _decided_meanwhile(db, "manager", by_this_tab=True)
    assert not at.warning
    assert any(f"Task {row + 1} is decided already" in toast.value for toast in at.toast)
    with Store(db) as store:
        assert len(store.decisions(run.id)) == 1


def test_a_press_from_the_page_before_it_moved_on_acts_on_its_own_task(db):
    # A key pressed twice on a machine slow to redraw: the second press comes from the page as
    # it was (the first task's buttons), after the server has drawn the next task. It acted
    # on the next task, which nobody had seen (each task's buttons had the same key).
    at = open_page(fresh_app(), "review")
    first = at.text[0].value
    pressed = task_button(at, "review_misaligned")  # of the page showing the first task
    [listed] = [s for s in at.selectbox if (s.key or "").startswith("review_reassign_")]
    pressed.click().run()
    shown = at.text[0].value
    assert shown != first
    # Again, from that page: its own widgets' state, as the browser sends it (the test's copy
    # of the page reads its list's pick from the session, where the gone task's is forgotten).
    listed.set_value(None)
    pressed.click().run()
    no_exception(at)
    assert any("is decided already (a key pressed twice?)" in toast.value for toast in at.toast)
    with Store(db) as store:
        run_id = store.latest_run().id
        assert [d.text for d in store.current_decisions(run_id).values()] == [first]
    assert at.text[0].value == shown  # the next task waits, undecided


def test_a_task_this_reviewer_decided_in_another_window_is_said_so(db):
    # Two windows of one reviewer: the second's click is no key pressed twice.
    at, run, row = _decided_meanwhile(db, "Manager")
    [warning] = at.warning
    assert (f"Task {row + 1} was decided meanwhile by you in another tab or window (serves no strategy, "
            in warning.value)
    with Store(db) as store:
        assert len(store.decisions(run.id)) == 1


def test_a_decision_within_a_moment_of_its_task_appearing_is_not_taken(db, monkeypatch):
    # A key pressed twice: the second press hits the next task, which nobody had time to read.
    monkeypatch.setenv("TACTICS_REVIEW_REPEAT_S", "600")
    at = open_page(fresh_app(), "review")
    first = at.text[0].value
    task_button(at, "review_misaligned").click().run()
    no_exception(at)
    assert at.text[0].value == first
    assert any("Not taken: a key within a moment of task" in toast.value for toast in at.toast)
    with Store(db) as store:
        assert store.current_decisions(store.latest_run().id) == {}


def test_review_undo_brings_the_task_back(db):
    at = open_page(fresh_app(), "review")
    first_task = at.text[0].value
    task_button(at, "review_misaligned").click().run()
    assert at.text[0].value != first_task
    # The toast names the task decided, not only its number.
    assert any(first_task in toast.value and "serving no strategy" in toast.value
               for toast in at.toast)
    at.button(key="review_undo").click().run()
    no_exception(at)
    assert at.text[0].value == first_task
    assert any(first_task in toast.value and toast.value.startswith("Undid")
               for toast in at.toast)
    with Store(db) as store:
        assert store.current_decisions(store.latest_run().id) == {}


def test_undo_of_a_decision_a_colleague_replaced_since_says_so_and_records_nothing(db):
    # It appended an undo that changed nothing, said "Undid your last decision", and kept the
    # colleague's own Undo from bringing the reviewer's decision back.
    at = open_page(fresh_app(), "review")
    task_button(at, "review_misaligned").click().run()
    with Store(db) as store:
        run = store.latest_run()
        [mine] = store.current_decisions(run.id).values()
        store.record_decision(run.id, mine.row, "reassign", "strong-team", "ben")
    at.button(key="review_undo").click().run()
    no_exception(at)
    [warning] = at.warning
    assert warning.value.startswith(f"Nothing undone: your last decision, on task {mine.row + 1}")
    assert "(serves no strategy), was replaced since by ben's (" in warning.value
    assert not any(toast.value.startswith("Undid") for toast in at.toast)
    with Store(db) as store:
        assert store.decisions(run.id)["action"].tolist() == ["misaligned", "reassign"]
        assert store.standing_decision(run.id, mine.row).reviewer == "ben"


def test_skip_moves_the_task_to_the_end_without_deciding_it(db):
    at = open_page(fresh_app(), "review")
    first_task = at.text[0].value
    task_button(at, "review_skip").click().run()
    assert at.text[0].value != first_task
    with Store(db) as store:
        assert store.current_decisions(store.latest_run().id) == {}
    # Skips are kept in the store: a new session still shows the skipped task last.
    later = open_page(fresh_app(), "review")
    assert later.text[0].value not in (first_task, "")


def test_review_actions_have_keyboard_shortcuts(db):
    at = open_page(fresh_app(), "review")
    shortcuts = {without_task(b.key): b.proto.shortcut for b in at.button if b.proto.shortcut}
    assert shortcuts["review_misaligned"].upper() == "N"
    assert shortcuts["review_skip"] and shortcuts["review_undo"]
    assert shortcuts["review_pick_1"] == "1"
    assert len(set(shortcuts.values())) == len(shortcuts)


def _first_task_status(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Machine said")).split("**")[1]


def test_a_misaligned_task_has_one_button_that_confirms_it(db):
    at = open_page(fresh_app(), "review")
    for _ in range(30):  # skip until a task the machine called misaligned
        if _first_task_status(at) == "misaligned":
            break
        task_button(at, "review_skip").click().run()
    assert _first_task_status(at) == "misaligned"
    keys = [without_task(b.key) for b in at.button]
    assert "review_confirm" not in keys
    confirm = task_button(at, "review_misaligned")
    assert confirm.label == "Confirm: serves no strategy" and confirm.proto.shortcut.upper() == "N"
    # Y confirms the machine here too, through a twin kept out of sight (the browser test
    # presses the key).
    twin = task_button(at, "review_confirm_by_y")
    assert twin.label == "Agree with the machine" and twin.proto.shortcut.upper() == "Y"
    assert any(f".st-key-{twin.key} {{display: none;}}" in h.proto.body
               for h in at.get("html"))
    assert any("**Y** or **N** confirm 'serves no strategy'" in c.value for c in at.caption)
    with Store(db) as store:
        run_id = store.latest_run().id
    twin.click().run()  # what Y presses
    with Store(db) as store:
        [(row, decision)] = store.current_decisions(run_id).items()
    assert decision.action == "misaligned"
    at.button(key="review_undo").click().run()
    task_button(at, "review_pick_1").click().run()  # the person says it serves its closest
    no_exception(at)
    with Store(db) as store:
        last = store.decisions().iloc[-1]
    assert last["action"] == "reassign"
    assert any(t.value.startswith("Assigned to ") for t in at.toast)


def _past_the_teach_in(db) -> tuple[RunInfo, pd.DataFrame]:
    """The sample's run and its results, its teach-in skipped (the Review page's queue next)."""
    open_page(fresh_app(), "review").button(key="teach_skip").click().run()
    with Store(db) as store:
        run = store.latest_run()
        return run, store.run_results(run.id)


def test_once_the_queue_is_empty_the_aligned_tasks_can_be_checked_too(db):
    run, results = _past_the_teach_in(db)
    with Store(db) as store:
        doubtful = results[results["status"].isin(["review", "misaligned"])]
        for row in doubtful["row"]:
            store.record_decision(run.id, int(row), "misaligned", None, "ana")
        aligned = int((results["status"] == "aligned").sum())
    at = open_page(fresh_app(), "review")
    assert [m.value for m in at.success] == ["Nothing left to review in this run."]
    check = at.button(key="review_spot_check")
    assert check.label == f"Check the {aligned} aligned tasks too"
    check.click().run()
    no_exception(at)
    assert at.get("progress")[0].proto.text.startswith(f"{aligned} aligned left to check of")
    assert _first_task_status(at) == "aligned"
    task_button(at, "review_confirm").click().run()
    assert at.get("progress")[0].proto.text.startswith(f"{aligned - 1} aligned left to check")
    with Store(db) as store:
        assert store.decisions().iloc[-1]["action"] == "confirm"
    for done in (2, 3):  # the check goes on (it stopped after the second task)
        task_button(at, "review_confirm").click().run()
        assert at.get("progress")[0].proto.text.startswith(
            f"{aligned - done} aligned left to check"), at.get("progress")[0].proto.text


def test_the_queue_counts_decisions_on_aligned_tasks_too(db):
    # After a teach-in the queue read "5 decided": the round's other decisions were on tasks
    # the re-scored run calls aligned, which are outside the queue.
    run, results = _past_the_teach_in(db)
    with Store(db) as store:
        for row in results.loc[results["status"] == "aligned", "row"].head(3):
            store.record_decision(run.id, int(row), "confirm", None, "ana")
    text = open_page(fresh_app(), "review").get("progress")[0].proto.text
    assert text.endswith("· 0 decided (3 decided in this run, aligned tasks included)"), text


def test_a_new_plan_starts_with_a_teach_in_then_rescores_and_says_what_moved(db):
    at = open_page(fresh_app(), "review")
    assert any("Teach it." in m.value for m in at.markdown)
    assert at.get("progress")[0].proto.text.startswith("0 of 20 taught")
    with Store(db) as store:
        run = store.latest_run()
        results = store.run_results(run.id)
        for row in results["row"].head(19):
            store.record_decision(run.id, int(row), "misaligned", None, "ana")
    at = open_page(fresh_app(), "review")
    assert at.get("progress")[0].proto.text.startswith("19 of 20 taught")
    legend = next(c.value for c in at.caption if c.value.startswith("Keys:"))
    # Every key the legend names has a button behind it (a removed one was still offered).
    from classifier.ui.review import SHORTCUTS

    named = set(re.findall(r"\*\*([A-Z])\*\*", legend))
    assert named and named <= set(SHORTCUTS.values()), legend
    task_button(at, "review_misaligned").click().run()
    assert at.get("progress")[0].proto.text.startswith("20 of 20 taught")
    assert not any(c.value.startswith("Keys:") for c in at.caption)  # no task on screen
    at.button(key="teach_rescore").click().run()
    no_exception(at)
    [message] = [m.value for m in at.success]
    assert message.startswith(f"Re-scored as run #{run.id + 1} with what you taught.")
    assert "moved from" in message or "No task changed status" in message
    # The re-score also learned from the run itself (the store's earlier run), and says so:
    # from its 91 tasks, less those the round said serve no strategy.
    assert message.endswith(f"Learned the team's wording from 74 tasks of earlier run #{run.id} "
                            f"(71 leaned clearly to one strategy).")
    # Which tasks moved, under the message, to check them.
    [moved] = [e for e in at.expander if e.label.endswith("the re-score moved")]
    listed = int(re.match(r"The (\d+) tasks? the re-score moved", moved.label).group(1))
    said = [int(n) for n in re.findall(r"(\d+)(?: more)? tasks? (?:moved|now point)", message)]
    assert listed == sum(said)  # each moved task counted once (one counted twice was 21 of 20)
    assert not any("Teach it." in m.value for m in at.markdown)
    # Coming back later (a new session): the round is behind this plan, the queue is next.
    assert not any(m.value.startswith("**Teach this plan.**") for m in fresh_app().markdown)
    again = open_page(fresh_app(), "review")
    assert not any("Teach it." in m.value for m in again.markdown)
    assert "left to review of" in again.get("progress")[0].proto.text
    assert any(c.value.startswith("Keys:") for c in again.caption)
    # The run the round was taught on, picked again (a bookmark): its queue, not the round's
    # re-score offer, which made a second copy of its list.
    earlier = AppTest.from_file(APP, default_timeout=TIMEOUT)
    earlier.query_params["run"] = str(run.id)
    earlier = open_page(earlier.run(), "review")
    no_exception(earlier)
    assert not [b for b in earlier.button if b.key == "teach_rescore"]
    assert not any("Teach it." in m.value for m in earlier.markdown)
    assert "left to review of" in earlier.get("progress")[0].proto.text


def test_a_short_list_ends_the_teach_in_when_its_tasks_run_out(db):
    at = open_page(paste(fresh_app(), ["Call customers whose service plan expires this month",
                                       "Post the job opening for a night-shift machinist",
                                       "Reorganize the shared drive folder colors"]), "review")
    # The round asks for what the list holds, so its progress can reach its end.
    assert at.get("progress")[0].proto.text.startswith("0 of 3 taught")
    assert any("every task of this short list" in m.value for m in at.markdown)
    assert any("(0 of 3 so far)" in m.value for m in open_page(at, "classify").markdown)
    at = open_page(at, "review")
    for _ in range(3):
        task_button(at, "review_misaligned").click().run()
    no_exception(at)
    assert at.get("progress")[0].proto.text.startswith("3 of 3 taught")
    # In the words of the button pressed, not the store's action name ("misaligned")
    assert any(t.value.startswith("Last: serves no strategy by ") for t in at.text)
    assert any("the round could deal is decided" in c.value for c in at.caption)
    assert at.button(key="teach_rescore").label.startswith("Re-score run #2")
    at.button(key="teach_rescore").click().run()
    no_exception(at)
    # Another day: the re-scored run knows the three decisions and has nothing left to teach,
    # so neither page offers the round again (it goes on when a run brings new tasks).
    later = open_page(fresh_app(), "review")
    assert not any("Teach it." in m.value for m in later.markdown)
    assert not [b for b in later.button if b.key == "teach_resume"]
    assert not any(m.value.startswith("**Teach this plan.**") for m in fresh_app().markdown)
    # A colleague decides a task of another run since: no news to the re-scored run, whose
    # round stays over (it offered "Re-score run #3" again).
    with Store(db) as store:
        store.record_decision(1, 0, "misaligned", None, "ben")
    later = open_page(fresh_app(), "review")
    no_exception(later)
    assert not [b for b in later.button if b.key == "teach_rescore"]
    assert not any("Teach it." in m.value for m in later.markdown)


def test_a_plan_that_replaces_another_gets_a_teach_in_of_its_own(db):
    fresh_app()  # the sample plan, its tasks classified
    with Store(db) as store:
        run = store.latest_run()
        rows = [int(r) for r in store.run_results(run.id)["row"].head(22)]
        for row in rows[:20]:  # twenty tasks confirmed: the sample plan is taught
            store.record_decision(run.id, row, "confirm", None, "ana")
        for row in rows[20:]:  # two say "serves no strategy" (of the sample, not of any plan)
            store.record_decision(run.id, row, "misaligned", None, "ana")
        store.choose_teach_in(run.plan_version, Reviewer("manager"), "skip")  # the sample's round
        # The manager's own plan, in other words, replaces the sample.
        store.save_plan(Plan(vision="A library every resident uses", strategies=[
            Strategy(id="young-readers", name="Grow young readers"),
            Strategy(id="digital-access", name="Close the digital gap")]))
    at = fresh_app()
    # The sample's run is another plan's: no round is offered on it for the library's plan.
    assert not any(m.value.startswith("**Teach this plan.**") for m in at.markdown)
    at = paste(at, ["Run the Saturday story time", "Lend laptops to residents"])
    # Nothing the sample was taught counts for the library's round (the Classify page's hint).
    assert any("(0 of 2 so far)" in m.value for m in at.markdown)
    at = open_page(at, "review")
    no_exception(at)
    assert at.get("progress")[0].proto.text.startswith("0 of 2 taught")


def test_after_a_plan_edit_classify_and_review_count_the_same_teach_in(db):
    """A strategy dropped after nine decisions, one of them for it: the Classify page said
    "8 of 20 so far" (the plan as edited) while Review said "9 of 20 taught" (the run's)."""
    fresh_app()
    with Store(db) as store:
        run = store.latest_run()
        for row in range(8):
            store.record_decision(run.id, row, "misaligned", None, "ana")
        store.record_decision(run.id, 8, "reassign", "brand-awareness", "ana")
        plan = store.latest_plan()[1]
        store.save_plan(plan.model_copy(update={"strategies": plan.strategies[:-1]}))
    at = fresh_app()
    no_exception(at)
    assert any("(9 of 20 so far)" in m.value for m in at.markdown), [m.value for m in at.markdown]
    at = open_page(at, "review")
    assert at.get("progress")[0].proto.text.startswith("9 of 20 taught")


def test_the_teach_in_hint_says_what_a_round_can_cover(db):
    at = fresh_app()
    assert any("picked to cover every strategy" in m.value for m in at.markdown)
    at = paste(at, ["Run the Saturday story time", "Call the customers", "Fix the roof"])
    no_exception(at)
    hint = next(m.value for m in at.markdown if m.value.startswith("**Teach this plan.**"))
    assert "Deciding about 3 tasks, picked to cover 3 of the 7 strategies" in hint


def test_the_teach_in_can_be_skipped_for_good_and_taken_up_again(db):
    # A plan nobody has taught: the Classify page points to the teach-in.
    assert any(m.value.startswith("**Teach this plan.**") for m in fresh_app().markdown)
    at = open_page(fresh_app(), "review")
    at.button(key="teach_skip").click().run()
    assert not any("Teach it." in m.value for m in at.markdown)
    assert "left to review of" in at.get("progress")[0].proto.text
    # The skip is the reviewer's choice in the store: tomorrow's session opens on the queue.
    again = open_page(fresh_app(), "review")
    no_exception(again)
    assert not any("Teach it." in m.value for m in again.markdown)
    assert "left to review of" in again.get("progress")[0].proto.text
    assert not any(m.value.startswith("**Teach this plan.**") for m in fresh_app().markdown)
    again.button(key="teach_resume").click().run()
    assert any("Teach it." in m.value for m in again.markdown)
    assert again.get("progress")[0].proto.text.startswith("0 of 20 taught")


def test_task_text_is_shown_literally_never_as_markup(db):
    at = paste(fresh_app(), XSS_TASKS)
    assert list(at.dataframe[0].value["task"]) == XSS_TASKS
    at = open_page(at, "review")
    no_exception(at)
    markdown = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    for task in XSS_TASKS:
        assert task not in markdown
    shown = [t.value for t in at.text]
    assert shown[0] in XSS_TASKS


def test_the_plan_page_shows_how_each_strategy_is_read(db):
    at = open_page(fresh_app(), "plan")
    no_exception(at)
    [expander] = [e for e in at.expander if e.label == "How the tool reads your strategies"]
    reading = expander.dataframe[0].value.set_index("strategy")
    assert reading.loc["Deliver on time with top quality", "phrases"] == (
        "Ship every order complete · with widgets that pass inspection the first time.")
    assert reading.loc["Build brand awareness in the Tri-City area", "phrases"] == ""


def test_plan_edit_marks_results_stale_and_rerun_fixes_it(db):
    at = open_page(fresh_app(), "plan")
    no_exception(at)
    editor = at.data_editor[0]
    assert list(editor.value["id"])[:2] == ["recurring-revenue", "retail-channel"]
    at.session_state[editor.key] = {"edited_rows": {1: {"description": "Sell through stores"}},
                                    "added_rows": [], "deleted_rows": []}
    at.button(key="plan_save").click().run()
    no_exception(at)
    assert any("stale" in w.value for w in at.warning)
    with Store(db) as store:
        run = store.latest_run()
        assert is_stale(store, run)
        assert store.latest_plan()[1].strategy("retail-channel").description == (
            "Sell through stores")

    at.button(key="rerun_stale_plan").click().run()
    no_exception(at)
    assert not any("stale" in w.value for w in at.warning)
    with Store(db) as store:
        newest = store.latest_run()
        assert newest.id != run.id and newest.rows == run.rows and not is_stale(store, newest)


def test_edits_in_one_tab_survive_a_save_in_another_and_save_over_it_when_asked(db):
    """Two tabs on the Plan page: B saves while A holds unsaved edits. A's edits were swept
    away by B's version and A's Save said "Plan saved." over nothing of A's."""
    tab_a = open_page(fresh_app(), "plan")
    tab_b = open_page(fresh_app(), "plan")
    tab_a.text_area(key=tab_a.text_area[0].key).set_value("Tab A's vision").run()
    tab_b.text_area(key=tab_b.text_area[0].key).set_value("Tab B's vision")
    tab_b.button(key="plan_save").click().run()

    # A's Save is its first redraw since B's save: nothing is saved over B's before A is told.
    tab_a.button(key="plan_save").click().run()
    no_exception(tab_a)
    assert any("Not saved" in e.value for e in tab_a.error)
    assert any("saved elsewhere" in w.value for w in tab_a.warning)
    assert tab_a.text_area[0].value == "Tab A's vision"  # kept
    with Store(db) as store:
        assert store.latest_plan()[1].vision == "Tab B's vision"
    tab_a.button(key="plan_save").click().run()  # told, A saves over it
    with Store(db) as store:
        assert store.latest_plan()[1].vision == "Tab A's vision"

    # A tab without edits simply shows the newest version, with no warning.
    tab_b.run()
    assert tab_b.text_area[0].value == "Tab A's vision" and not any(
        "saved elsewhere" in w.value for w in tab_b.warning)


def test_edits_not_saved_yet_are_back_after_a_visit_to_another_page(db):
    """Streamlit drops a page's fields once another page is shown: a manager who looked at the
    Review page halfway through editing the plan found every edit gone."""
    at = open_page(fresh_app(), "plan")
    at.text_area(key=at.text_area[0].key).set_value("Widgets for the whole state").run()
    at.session_state[at.data_editor[0].key] = {
        "edited_rows": {}, "deleted_rows": [],
        "added_rows": [{"name": "Open a second workshop"}]}
    at.run()

    at = open_page(open_page(at, "review"), "plan")  # away and back
    no_exception(at)
    assert any("edits not saved yet are back" in i.value for i in at.info)
    assert at.text_area[0].value == "Widgets for the whole state"
    assert "Open a second workshop" in at.data_editor[0].value["name"].tolist()
    at.button(key="plan_save").click().run()
    no_exception(at)
    with Store(db) as store:
        plan = store.latest_plan()[1]
    assert plan.vision == "Widgets for the whole state"
    assert "Open a second workshop" in [s.name for s in plan.strategies]
    assert not any("are back" in i.value for i in at.info)

    # Kept edits can be dropped too.
    at.text_area(key=at.text_area[0].key).set_value("A vision not meant").run()
    at = open_page(open_page(at, "report"), "plan")
    at.button(key="plan_discard").click().run()
    assert at.text_area[0].value == "Widgets for the whole state"
    with Store(db) as store:
        assert store.latest_plan()[1].vision == "Widgets for the whole state"


def test_a_row_added_with_a_name_only_is_saved_with_an_id_made_from_it(db):
    at = open_page(fresh_app(), "plan")
    key = at.data_editor[0].key
    at.session_state[key] = {"edited_rows": {}, "deleted_rows": [], "added_rows": [
        {"name": "Open a second workshop", "description": "A new site in the north"},
        {"name": "Delight our customers"}]}
    at.button(key="plan_save").click().run()
    no_exception(at)
    assert not at.error
    with Store(db) as store:
        plan = store.latest_plan()[1]
    assert plan.ids[-2:] == ["open-a-second-workshop", "delight-our-customers"]
    assert plan.strategy("open-a-second-workshop").description == "A new site in the north"
    # Cells left empty stay empty (the editor gives them as missing values, not "").
    delight = plan.strategy("delight-our-customers")
    assert (delight.description, delight.examples) == ("", [])
    assert list(at.data_editor[0].value["id"])[-1] == "delight-our-customers"


def test_a_plan_that_replaces_the_sample_points_to_classifying_its_own_tasks(db):
    at = open_page(fresh_app(), "plan")  # the sample's run, then the manager's own plan
    with Store(db) as store:
        store.save_plan(Plan(vision="", strategies=[
            Strategy(id="first-contact", name="Resolve customer issues on first contact")]))
    at = open_page(at, "plan")
    no_exception(at)
    # Not "stale" with a re-run first: the sample's tasks are not this plan's work.
    assert not any("stale" in w.value for w in at.warning)
    assert any("was classified against another plan" in i.value for i in at.info)
    assert at.button(key="rerun_stale_plan").label == "Run the tasks of run #1 against this plan"
    at = open_page(at, "classify")
    assert any("was classified against another plan" in i.value for i in at.info)


def test_a_replaced_plan_s_run_opens_no_teach_in_on_the_review_page(db):
    """The manager's own plan replaces the sample: the sample's run, still the one shown, opened
    a round "0 of 20 taught" whose every strategy was greyed out, and its keys said "1–3 pick a
    strategy" (the Classify page offers no round on such a run)."""
    at = fresh_app()
    with Store(db) as store:
        store.save_plan(Plan(vision="Parks everyone is proud to use", strategies=[
            Strategy(id="safe-playgrounds", name="Safe playgrounds"),
            Strategy(id="clean-parks", name="Clean parks")]))
    at = open_page(at, "review")
    no_exception(at)
    assert any("was classified against another plan" in i.value for i in at.info)
    assert not any("Teach it." in m.value for m in at.markdown)
    assert not [b for b in at.button if b.key in ("teach_skip", "teach_rescore")]
    [keys] = [c.value for c in at.caption if c.value.startswith("Keys:")]
    assert "serves no strategy" in keys and "pick a strategy" not in keys


def test_a_replaced_plan_s_run_offers_no_re_run_to_learn_its_own_tasks(db):
    """The Report page of the sample's run, once the manager's own plan replaced the sample,
    said "A re-run would learn the team's wording from this run's own 91 tasks" with a button:
    that re-run classifies with the new plan, which never reads another plan's runs."""
    at = fresh_app()
    at = open_page(at, "report")
    assert [b for b in at.button if b.key == "rerun_learn"]  # the sample plan would learn
    with Store(db) as store:
        store.save_plan(Plan(vision="Parks everyone is proud to use", strategies=[
            Strategy(id="safe-playgrounds", name="Safe playgrounds"),
            Strategy(id="clean-parks", name="Clean parks")]))
    at = open_page(at, "report")
    no_exception(at)
    assert any("was classified against another plan" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "rerun_learn"]
    assert not any("A re-run would" in c.value for c in at.caption)


def test_learned_examples_read_in_the_plan_s_words(db):
    fresh_app()
    with Store(db) as store:
        run = store.latest_run()
        store.record_decision(run.id, 0, "reassign", "strong-team", "ana")
        store.record_decision(run.id, 1, "misaligned", None, "ana")
    at = open_page(fresh_app(), "plan")
    no_exception(at)
    table = at.dataframe(key="learned_table").value
    assert list(table.columns) == ["task", "teaches", "decision", "reviewer", "when", "hidden"]
    assert table["teaches"].tolist() == ["Build a strong team", "serves no strategy"]
    assert table["when"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d").all()


def test_hiding_selected_examples_hides_those_shown_when_a_colleague_changed_the_list(db):
    # Rows ticked, then a colleague's undo drops one of them from the list read again at the
    # click: the rows moved up under the ticks (another example was hidden, or a traceback).
    fresh_app()
    with Store(db) as store:
        run = store.latest_run()
        for row, who in ((0, "ana"), (1, "ben"), (2, "ana")):
            store.record_decision(run.id, row, "misaligned", None, who)
        texts = store.learned_examples()["text"].tolist()
    at = open_page(fresh_app(), "plan")
    at.session_state["learned_table"] = {"selection": {"rows": [1, 2], "columns": []}}
    at.run()
    with Store(db) as store:
        store.undo_last_decision(run.id, "ben")  # rows 1 and 2 of the table: now row 1 only
    at.button(key="learned_hide").click().run()
    no_exception(at)
    with Store(db) as store:
        hidden = store.learned_examples().query("removed")["text"].tolist()
    assert hidden == [texts[2]]
    [warning] = at.warning
    assert warning.value.startswith(f"“{texts[1][:20]}")
    assert "that example changed meanwhile (decided again or undone); nothing hidden for it" in (
        warning.value)


def test_deleting_a_strategy_asks_for_confirmation(db):
    at = open_page(fresh_app(), "plan")
    key = at.data_editor[0].key
    at.session_state[key] = {"edited_rows": {}, "added_rows": [], "deleted_rows": [0]}
    at.button(key="plan_save").click().run()
    with Store(db) as store:
        assert "recurring-revenue" in store.latest_plan()[1].ids  # not yet
    assert any("Delete these strategies" in w.value for w in at.warning)
    at.button(key="plan_delete_confirm").click().run()
    no_exception(at)
    with Store(db) as store:
        assert "recurring-revenue" not in store.latest_plan()[1].ids


def test_deleting_a_strategy_says_how_many_decisions_stop_counting(db):
    """The prompt said tasks would be matched again, not that the people's decisions about
    the strategy stop counting (two of a finished teach-in's twenty, in a bug hunt)."""
    fresh_app()
    with Store(db) as store:
        run = store.latest_run()
        store.record_decision(run.id, 0, "reassign", "recurring-revenue", "ana")
        store.record_decision(run.id, 1, "reassign", "recurring-revenue", "ben")
        store.record_decision(run.id, 2, "reassign", "retail-channel", "ana")
    at = open_page(fresh_app(), "plan")
    at.session_state[at.data_editor[0].key] = {"edited_rows": {}, "added_rows": [],
                                               "deleted_rows": [0, 6]}
    at.button(key="plan_save").click().run()
    no_exception(at)
    [warning] = [w.value for w in at.warning if "Delete these strategies" in w.value]
    lines = warning.replace("\\", "").splitlines()
    assert lines[-2:] == ["- Grow recurring revenue: 2 decisions by people will no longer count",
                          "- Build brand awareness in the Tri-City area"]


def test_an_id_cell_cleared_keeps_the_strategy_and_its_decisions(db):
    """The id column's help says an empty id is made from the name: clearing it asked "Delete
    these strategies?" for a strategy still in the table, and its decisions were set aside
    after the re-run ("which the plan no longer has: decide again")."""
    fresh_app()
    with Store(db) as store:
        run = store.latest_run()
        store.record_decision(run.id, 0, "reassign", "lower-costs", "ana")
    at = open_page(fresh_app(), "plan")
    at.session_state[at.data_editor[0].key] = {
        "edited_rows": {5: {"id": None, "description": "Spend less on parts"}},
        "added_rows": [], "deleted_rows": []}
    at.button(key="plan_save").click().run()
    no_exception(at)
    assert not any("Delete these strategies" in w.value for w in at.warning)
    assert [s.value for s in at.success] == ["Plan saved."]
    assert list(at.data_editor[0].value["id"])[5] == "lower-costs"
    at.button(key="rerun_stale_plan").click().run()
    no_exception(at)
    with Store(db) as store:
        rerun = store.results_with_decisions(store.latest_run().id)
    assert rerun.loc[0, ["final_strategy_id", "decided_by"]].tolist() == ["lower-costs", "ana"]
    assert rerun["decision_note"].isna().all()


def test_a_strategy_deleted_and_imported_again_gets_its_decisions_back(db):
    """Deleted on the Plan page, then imported again from a table by its name: it got a new
    id, and the decisions about it stayed orphaned ("no longer in the plan")."""
    fresh_app()
    with Store(db) as store:
        run = store.latest_run()
        store.record_decision(run.id, 0, "reassign", "strong-team", "ana")
        before = store.latest_plan()[1]
    at = open_page(fresh_app(), "plan")
    at.session_state[at.data_editor[0].key] = {"edited_rows": {}, "added_rows": [],
                                               "deleted_rows": [4]}
    at.button(key="plan_save").click().run()
    at.button(key="plan_delete_confirm").click().run()
    with Store(db) as store:
        assert "strong-team" not in store.latest_plan()[1].ids
    table = pd.DataFrame({"name": [s.name for s in before.strategies],
                          "description": [s.description for s in before.strategies]})
    at.file_uploader(key="plan_upload").upload("plan.csv", table.to_csv(index=False).encode())
    at.run()
    at.button(key="plan_import").click().run()
    no_exception(at)
    assert not any("Delete these strategies" in w.value for w in at.warning)
    [saved] = [s.value for s in at.success]
    assert "'Build a strong team' gets back the id 'strong-team'" in saved.replace("\\", "")
    with Store(db) as store:
        assert store.latest_plan()[1].ids == before.ids


def test_a_strategy_typed_back_in_the_editor_is_said_to_count_again(db):
    """A strategy of the manager's own (its id made from its name) deleted, then typed back in
    a new row: it got its id and its decisions back, but the page said only "Plan saved."."""
    at = open_page(fresh_app(), "plan")

    def edit(change: dict) -> None:
        at.session_state[at.data_editor[0].key] = {"edited_rows": {}, "added_rows": [],
                                                   "deleted_rows": [], **change}
        at.button(key="plan_save").click().run()

    edit({"added_rows": [{"name": "Open a second workshop", "description": "In the north"}]})
    edit({"deleted_rows": [7]})
    at.button(key="plan_delete_confirm").click().run()
    edit({"added_rows": [{"name": "Open a second workshop", "description": "A new site"}]})
    no_exception(at)
    [saved] = [s.value for s in at.success]
    assert ("'Open a second workshop' gets back the id 'open-a-second-workshop' it had before, "
            "so the decisions about it count again") in saved.replace("\\", "")
    with Store(db) as store:
        assert "open-a-second-workshop" in store.latest_plan()[1].ids


@pytest.mark.parametrize(("edit", "message"), [
    ({"edited_rows": {1: {"id": "recurring-revenue"}}},
     "plan table: rows 1 and 2: the same id 'recurring-revenue'"),
    ({"edited_rows": {0: {"name": ""}}}, "plan table: row 1: name is empty"),
    # A name a review could not tell apart from another strategy, or from "serves none".
    ({"edited_rows": {6: {"name": "build a strong team"}}},
     "plan table: row 7 'build a strong team': the same name as row 5"),
    ({"added_rows": [{"name": "Serves no strategy"}]},
     "plan table: row 8: name 'Serves no strategy' is what decisions write"),
    # A new row with a description and no name: named, never dropped with "Plan saved."
    ({"added_rows": [{"description": "Win back lapsed dealers"}]},
     "plan table: row 8: name is empty"),
])
def test_invalid_plan_edit_is_refused_with_the_field_named(db, edit, message):
    at = open_page(fresh_app(), "plan")
    key = at.data_editor[0].key
    at.session_state[key] = {"edited_rows": {}, "added_rows": [], "deleted_rows": [], **edit}
    at.button(key="plan_save").click().run()
    no_exception(at)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    with Store(db) as store:
        assert len(store.plan_versions()) == 1


def test_a_strategies_table_imported_keeps_ids_vision_and_cut_offs_and_asks_before_dropping(db):
    """A table (no ids, no vision) of the sample's strategies, one description reworded and
    one strategy left out: the same names keep their ids (decisions keep counting), the vision
    and cut-offs stay, and the strategy left out is asked about, as in the editor."""
    import pandas as pd

    at = open_page(fresh_app(), "plan")
    with Store(db) as store:
        before = store.latest_plan()[1]
    kept = before.strategies[:-1]
    table = pd.DataFrame({"name": [s.name for s in kept],
                          "description": [s.description for s in kept]})
    table.loc[0, "description"] = "Turn one-off buyers into customers who renew every year"
    at.file_uploader(key="plan_upload").upload("plan.csv", table.to_csv(index=False).encode())
    at.run()
    at.button(key="plan_import").click().run()
    no_exception(at)
    warning = next(w.value for w in at.warning if "Delete these strategies" in w.value)
    warning = warning.replace("\\", "")  # markdown escapes
    assert before.strategies[-1].name in warning and kept[0].name not in warning
    at.button(key="plan_delete_confirm").click().run()
    no_exception(at)

    with Store(db) as store:
        after = store.latest_plan()[1]
    assert after.ids == [s.id for s in kept]  # "recurring-revenue", not one made from its name
    assert after.strategies[0].description.endswith("renew every year")
    assert (after.vision, after.thresholds) == (before.vision, before.thresholds)
    assert [s.value for s in at.success] == ["Plan saved."]  # no note for a name unchanged


def test_report_page_shows_charts_gaps_and_downloads(db):
    at = open_page(fresh_app(), "report")
    no_exception(at)
    assert len(at.get("plotly_chart")) == 3
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Results CSV", "Results XLSX", "Report (HTML)"]
    assert any("Orphan work" in s.value for s in at.subheader)


def test_report_page_says_which_cells_the_xlsx_download_cuts_as_the_command_does(db, tmp_path):
    # `tactics report --out X.xlsx` warns of a cell cut to Excel's 32,767 characters; the
    # page's download of the same file said nothing.
    from typer.testing import CliRunner

    from classifier.cli import app
    from classifier.model.decision import DEFAULT_THRESHOLDS

    fresh_app()
    with Store(db) as store:
        version, _ = store.latest_plan("default")
        tasks = ["Call the customers about renewals " + "and more " * 4_000,
                 "Repaint the break room"]
        run_id = store.create_run(version, pd.DataFrame({
            "task": tasks, "strategy_id": [""] * 2, "strategy": [""] * 2, "score": [0.1] * 2,
            "status": ["misaligned"] * 2, "runner_up_id": [""] * 2,
            "runner_up_score": [0.0] * 2, "evidence": [""] * 2}), "task", "long.csv", "m",
            DEFAULT_THRESHOLDS)
    out = tmp_path / "report.xlsx"
    done = CliRunner().invoke(app, ["report", "--db", str(db), "--plan",
                                    str(ROOT / "data" / "plan.yaml"), "--out", str(out)])
    [said] = [line.removeprefix("warning: ") for line in done.stderr.splitlines()
              if line.startswith("warning: ")]
    assert said.startswith(f"{out}: 2 cells held more than Excel's 32,767 characters")

    at = open_page(fresh_app(), "report")
    no_exception(at)
    assert [w.value.replace("\\", "") for w in at.warning] == [
        said.replace(str(out), f"tactics-run-{run_id}.xlsx")]
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["run"] = "1"  # the sample: no cell too long, no such line
    at = open_page(at.run(), "report")
    no_exception(at)
    assert run_shown(at) == 1 and not at.warning


def test_report_page_builds_the_cut_workbook_once_until_a_decision_changes_it(db, monkeypatch):
    """With a cell past Excel's limit the page built the whole workbook again on every redraw
    (a click anywhere) to say which cells its download cuts; now once per state of the run."""
    import openpyxl
    import streamlit as st

    from classifier.model.decision import DEFAULT_THRESHOLDS

    built: list[int] = []

    class Counted(openpyxl.Workbook):  # the real workbook, counted where one is built to write
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if kwargs.get("write_only"):
                built.append(1)

    fresh_app()
    st.cache_data.clear()
    with Store(db) as store:
        version, _ = store.latest_plan("default")
        run_id = store.create_run(version, pd.DataFrame({
            "task": ["Plan the renewals drive " + "with every detail " * 2_000,
                     "Sweep the yard"], "strategy_id": [""] * 2, "strategy": [""] * 2,
            "score": [0.1] * 2, "status": ["misaligned"] * 2, "runner_up_id": [""] * 2,
            "runner_up_score": [0.0] * 2, "evidence": [""] * 2}), "task", "long.csv", "m",
            DEFAULT_THRESHOLDS)
    monkeypatch.setattr(openpyxl, "Workbook", Counted)

    at = open_page(fresh_app(), "report")
    no_exception(at)
    [line] = [w.value for w in at.warning]
    assert "held more than Excel's 32,767 characters" in line and len(built) == 1
    at.radio(key="report_csv_sep").set_value(";").run()  # a redraw
    at.run()
    no_exception(at)
    assert [w.value for w in at.warning] == [line] and len(built) == 1
    with Store(db) as store:
        store.record_decision(run_id, 1, "misaligned", None, "ana")
    at.run()
    no_exception(at)
    assert [w.value for w in at.warning] == [line] and len(built) == 2


def test_report_page_counts_one_orphan_as_one_task(db):
    at = open_page(paste(fresh_app(), ["Reorganize the shared drive folder colors",
                                       "Call customers whose service plan expires this month"]),
                   "report")
    no_exception(at)
    assert "Orphan work (1 task serving no strategy)" in [s.value for s in at.subheader]


def test_report_says_what_a_run_learned_from_earlier_runs_and_what_a_rerun_would_add(db):
    def captions(at: AppTest) -> str:
        return " ".join(c.value for c in at.caption).replace("\\", "")  # markdown escapes

    at = open_page(fresh_app(), "report")
    assert "Learned" not in captions(at)  # the sample run is the plan's first
    # (its own tasks, as the machine reads them: no earlier run to learn from)
    assert "would learn the team's wording from this run's own 91 tasks" in captions(at)
    at = paste(open_page(at, "classify"), ["Call customers whose service plan expires"])
    assert any("as run #2. Learned the team's wording from 91 tasks of earlier run #1"
               in s.value for s in at.success)
    at = open_page(at, "report")
    no_exception(at)
    assert "Learned the team's wording from 91 tasks of earlier run #1" in captions(at)
    assert "would also learn the team's wording from 1 more task " in captions(at)
    # Re-run: the new run learns from run #2's task too, and has nothing more to learn.
    at = at.button(key="rerun_learn").click().run()
    no_exception(at)
    assert "Run #3" in captions(at) and "earlier runs #1, #2" in captions(at)
    assert "would also learn" not in captions(at)


DRAFTED = ["Audit energy use on the paint line", "Renegotiate the steel supply contract",
           "Switch the warehouse lights to LED", "Cut scrap on the lathe cell by a tenth",
           "Consolidate freight to two carriers"]


@pytest.fixture
def llm_env(db, scripted_llm, monkeypatch):
    """The app pointed at the scripted LLM: drafts for draft prompts, "none" for opinions."""
    monkeypatch.setenv("TACTICS_LLM_BASE_URL", scripted_llm.base_url)
    monkeypatch.setenv("TACTICS_LLM_MODEL", "test-model")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    def reply(request):
        if '"examples"' in request.messages[0]["content"]:
            return text(json.dumps({"examples": DRAFTED}))
        return answer("none", "Office chores serve no strategy.")

    scripted_llm.responder = reply
    return scripted_llm


def drafted_list(at: AppTest) -> list[str]:
    return [t.value for t in at.text if t.value in DRAFTED]


def misaligned_tasks(db: Path) -> set[str]:
    with Store(db) as store:
        results = store.run_results(store.latest_run().id)
    return set(results.loc[results["status"] == "misaligned", "task"])


def test_llm_second_opinion_can_be_accepted(llm_env, db):
    at = open_page(fresh_app(), "review")
    task = at.text[0].value
    assert any("**K** ask the LLM" in c.value for c in at.caption)
    task_button(at, "review_llm_ask").click().run()
    no_exception(at)
    said = "Serves no strategy. Office chores serve no strategy."
    assert said in [t.value for t in at.text]
    machine = "misaligned" if task in misaligned_tasks(db) else "other"
    verdict = "agrees with" if machine == "misaligned" else "differs from"
    assert f"Second opinion (LLM) · {verdict} the machine" in [c.value for c in at.caption]
    assert task in llm_env.requests[0].user_text
    assert any("1 requests, 50 prompt + 10 completion tokens" in c.value for c in at.caption)
    # The answer is kept with the run: another session shows it without asking again.
    again = open_page(fresh_app(), "review")
    assert again.text[0].value == task and said in [t.value for t in again.text]
    assert len(llm_env.requests) == 1
    assert any("**L** accept the LLM's answer" in c.value for c in at.caption)
    task_button(at, "review_llm_accept").click().run()
    no_exception(at)
    with Store(db) as store:
        standing = list(store.current_decisions(store.latest_run().id).values())
    assert [(d.action, d.text) for d in standing] == [("misaligned", task)]


def test_the_llm_is_asked_about_a_run_s_doubtful_tasks_at_once(llm_env, db):
    at = paste(fresh_app(), ["Water the office plants", "Reorganise the stationery cupboard",
                             "Call last quarter's one-time buyers about a service plan"])
    with Store(db) as store:
        results = store.results_with_decisions(store.latest_run().id)
    doubtful = results.loc[results["status"] != "aligned", "task"].tolist()
    assert len(doubtful) == 2
    ask = at.button(key="classify_ask_llm")
    assert ask.label == "Ask the LLM about 2 doubtful tasks"
    ask.click().run()
    no_exception(at)
    assert any(s.value.startswith("Asked the LLM about 2 tasks: 2 answered (0 from cache)")
               for s in at.success)
    assert not [b for b in at.button if b.key == "classify_ask_llm"]  # nothing left to ask
    table = at.dataframe[0].value
    said = dict(zip(table["task"], table["second_opinion"], strict=True))
    assert [said[task] for task in doubtful] == ["Serves no strategy. Office chores serve no "
                                                 "strategy."] * 2
    # The Review page shows the kept answers and asks nothing more; L accepts.
    review = open_page(at, "review")
    no_exception(review)
    assert "Serves no strategy. Office chores serve no strategy." in [t.value for t in review.text]
    assert len(llm_env.requests) == 2


def test_a_refusing_llm_is_one_line_on_the_classify_page_and_nothing_is_kept(llm_env, db):
    at = paste(fresh_app(), ["Water the office plants", "Reorganise the stationery cupboard"])
    # Every request: an answer got before the refusal would be kept with the run.
    llm_env.responder = lambda request: error(401)
    at.button(key="classify_ask_llm").click().run()
    no_exception(at)
    assert [e.value for e in at.error] == [
        f"the LLM at {llm_env.base_url} refused the request (HTTP 401); set the key in "
        f"$OPENAI_API_KEY"]
    assert at.button(key="classify_ask_llm").label == "Ask the LLM about 2 doubtful tasks"
    with Store(db) as store:
        results = store.results_with_decisions(store.latest_run().id)
    assert "llm_strategy_id" not in results


def test_a_failing_llm_is_a_warning_with_its_reason_and_the_requests_sent(llm_env, db):
    at = paste(fresh_app(), ["Water the office plants", "Reorganise the stationery cupboard"])
    llm_env.responder = lambda request: error(500, retry_after=0.01)
    at.button(key="classify_ask_llm").click().run()
    no_exception(at)
    assert not at.success
    # Two questions, each tried three times (the client's two retries): it stops at five
    # failures in a row, the sixth request sent or not (the two questions race).
    # A request cut off at the give-up is counted as sent, whether or not it reached the
    # server's thread (see test_llm): the server's count may be one short of the line's.
    [warning] = [w.value for w in at.warning]
    sent = int(re.search(r"; (\d+) requests", warning)[1])
    assert sent in (5, 6) and 0 <= sent - len(llm_env.requests) <= 1
    assert [warning] == [
        f"Asked the LLM about 2 tasks: 0 answered (0 from cache), 2 no answer; {sent} requests, "
        "0 prompt + 0 completion tokens. It stopped: the LLM at "
        f"{llm_env.base_url} failed 5 requests in a row (HTTP 500: scripted)."]
    assert at.button(key="classify_ask_llm").label == "Ask the LLM about 2 doubtful tasks"


def test_a_failed_question_on_the_review_page_says_why(llm_env, db):
    at = open_page(fresh_app(), "review")
    llm_env.responder = lambda request: error(503, retry_after=0.01)
    task_button(at, "review_llm_ask").click().run()
    no_exception(at)
    assert [w.value for w in at.warning] == [
        "No answer from the LLM (3 requests): HTTP 503 from the endpoint after 3 attempts: "
        "scripted. "
        "Ask again later."]
    assert task_button(at, "review_llm_ask")  # still there, to try again


@pytest.mark.parametrize(("settings", "why"), [
    ({"TACTICS_LLM_BASE_URL": "localhost:11434/v1", "TACTICS_LLM_MODEL": "llama3.1"},
     "LLM settings: base_url: 'localhost:11434/v1' is not an http(s) URL such as "
     "http://localhost:11434/v1"),
    ({"TACTICS_LLM_BASE_URL": "http://localhost:11434/v1"},
     "LLM settings: model is missing; set --llm-model or TACTICS_LLM_MODEL"),
], ids=["url-without-http", "no-model"])
def test_wrong_llm_settings_are_said_where_the_button_would_be(db, monkeypatch, settings, why):
    monkeypatch.delenv("TACTICS_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("TACTICS_LLM_MODEL", raising=False)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    at = paste(fresh_app(), ["Water the office plants", "Reorganise the stationery cupboard"])
    no_exception(at)
    said = f"No “Ask the LLM” button: {why}"
    assert [w.value for w in at.warning] == [said]
    at = open_page(at, "review")
    no_exception(at)
    assert said in [w.value for w in at.warning]
    at = open_page(at, "plan")
    no_exception(at)
    assert why in [w.value for w in at.warning]


def test_drafted_example_accepted_is_saved_in_the_plan(llm_env, db):
    at = open_page(fresh_app(), "plan")
    with Store(db) as store:
        _, before = store.latest_plan()
    fewest = min(before.strategies, key=lambda s: len(s.examples))
    picker = at.selectbox(key="draft_strategy")
    assert picker.value == fewest.id
    at.button(key="draft_ask").click().run()
    no_exception(at)
    assert drafted_list(at) == DRAFTED
    assert fewest.name in llm_env.requests[0].user_text

    at.button(key="draft_accept_1").click().run()
    no_exception(at)
    assert drafted_list(at) == [d for d in DRAFTED if d != DRAFTED[1]]
    with Store(db) as store:
        _, after = store.latest_plan()
        assert is_stale(store, store.latest_run())
        assert store.usage_total("llm")["calls"] == 1
    assert after.strategy(fewest.id).examples == [*fewest.examples, DRAFTED[1]]
    assert any("stale" in w.value for w in at.warning)
    assert list(at.data_editor[0].value["examples"])[before.ids.index(fewest.id)].endswith(
        DRAFTED[1])


def test_drafts_for_every_strategy_short_of_examples_are_ticked_and_added_at_once(llm_env,
                                                                                    db):
    with Store(db) as store:
        store.save_plan(Plan(vision="A library every resident uses", strategies=[
            Strategy(id="young-readers", name="Grow young readers"),
            Strategy(id="digital-access", name="Close the digital gap",
                     examples=["Lend laptops to residents"]),
            Strategy(id="events", name="Fill the events hall", examples=["a", "b", "c"])]))

    def reply(request):
        name = request.user_text.split("Strategy: ", 1)[1].split("\n", 1)[0]
        return text(json.dumps({"examples": [f"{name}, step {n}" for n in range(1, 6)]}))

    llm_env.responder = reply
    at = open_page(fresh_app(), "plan")
    draft = at.button(key="draft_all")
    assert draft.label == "Draft 5 examples for each of the 2 strategies with fewer than 3"
    draft.click().run()
    no_exception(at)
    table = at.data_editor(key="draft_all_table").value
    assert table["example"].tolist() == [f"Grow young readers, step {n}" for n in range(1, 6)] + [
        f"Close the digital gap, step {n}" for n in range(1, 6)]
    assert len(llm_env.requests) == 2  # one question a strategy; "events" has enough
    # Untick one, reword another, then add them in one version of the plan.
    at.session_state["draft_all_table"] = {
        "edited_rows": {1: {"add": False}, 5: {"example": "Run a laptop clinic"}},
        "added_rows": [], "deleted_rows": []}
    at.run()
    add = at.button(key="draft_all_add")
    assert add.label == "Add the 9 ticked examples to the plan"
    add.click().run()
    no_exception(at)
    assert any("Added 9 examples to 2 strategies." == s.value for s in at.success)
    with Store(db) as store:
        versions = store.plan_versions()
        _, plan = store.latest_plan()
    assert len(versions) == 2  # one new version, not one per example
    assert plan.strategy("young-readers").examples == [
        f"Grow young readers, step {n}" for n in (1, 3, 4, 5)]
    assert plan.strategy("digital-access").examples == [
        "Lend laptops to residents", "Run a laptop clinic",
        *(f"Close the digital gap, step {n}" for n in range(2, 6))]
    assert not [b for b in at.button if b.key == "draft_all_add"]  # the drafts are gone


def test_drafting_from_a_failing_llm_is_one_line_and_leaves_nothing_behind(llm_env, db):
    with Store(db) as store:
        store.save_plan(Plan(vision="A library every resident uses", strategies=[
            Strategy(id="young-readers", name="Grow young readers"),
            Strategy(id="digital-access", name="Close the digital gap")]))
    llm_env.responder = lambda request: error(500, retry_after=0.01)
    at = open_page(fresh_app(), "plan")
    at.button(key="draft_all").click().run()
    no_exception(at)
    # The bar of the drafting that failed was left on the page, stopped part-way.
    assert [e.value for e in at.error] == [
        "no examples drafted for 'young-readers': HTTP 500 from the endpoint after 3 attempts: "
        "scripted"]
    assert not at.get("progress")
    assert at.button(key="draft_all")  # to try again


def test_discarded_draft_is_not_added(llm_env, db):
    at = open_page(fresh_app(), "plan")
    at.button(key="draft_ask").click().run()
    at.button(key="draft_discard_0").click().run()
    no_exception(at)
    assert drafted_list(at) == DRAFTED[1:]
    with Store(db) as store:
        assert len(store.plan_versions()) == 1
        assert all(DRAFTED[0] not in s.examples for s in store.latest_plan()[1].strategies)


def test_drafting_error_is_one_line_without_a_traceback(llm_env, db):
    llm_env.script(error(401))
    at = open_page(fresh_app(), "plan")
    at.button(key="draft_ask").click().run()
    no_exception(at)
    refused = f"the LLM at {llm_env.base_url} refused the request (HTTP 401)"
    assert [e.value for e in at.error] == [f"{refused}; set the key in $OPENAI_API_KEY"]
    assert drafted_list(at) == []


def test_without_an_llm_the_plan_page_says_how_to_configure_one(db, monkeypatch):
    monkeypatch.delenv("TACTICS_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("TACTICS_LLM_MODEL", raising=False)
    at = open_page(fresh_app(), "plan")
    no_exception(at)
    assert not at.error
    assert any("TACTICS_LLM_BASE_URL" in c.value for c in at.caption)
    assert not [b for b in at.button if b.key == "draft_ask"]


def _workbook(sheets: dict[str, list[list[object]]]) -> bytes:
    import io

    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_workbook_with_two_sheets_asks_which_one(db):
    data = _workbook({"Notes": [["note"], ["not tasks"]],
                      "This week": [["task", "owner"], ["Call the Henderson account", "Ana"],
                                    ["Reorganize the shared drive", "Bo"]]})
    at = fresh_app()
    at.file_uploader(key="upload_file").set_value(("week.xlsx", data, "application/vnd.ms-excel"))
    at.run()
    [picker] = [s for s in at.selectbox if s.label.startswith("Sheet")]
    assert picker.options == ["Notes", "This week"] and picker.label == "Sheet (2 in this workbook)"
    picker.set_value("This week").run()
    at.button(key="classify_upload").click().run()
    no_exception(at)
    assert any("Classified 2 rows" in s.value for s in at.success)
    with Store(db) as store:
        assert store.latest_run().source == "week.xlsx (This week)"


def test_headline_says_effort_shares_in_words_without_arrows(db):
    at = fresh_app()
    metrics = {m.label: m for m in at.metric}
    assert all(not m.proto.delta for m in metrics.values())  # a delta arrow reads as growth
    captions = [c.value for c in at.caption]
    assert any(c.endswith("of effort hours") for c in captions)
    assert not any("effort_hours" in c for c in captions)


def test_a_very_long_task_is_cut_so_the_buttons_stay_in_view(db):
    long_task = "Call the customer about the renewal " * 150
    at = paste(fresh_app(), [long_task])
    at = open_page(at, "review")
    at.button(key="teach_skip").click().run()
    shown = at.text[0].value
    assert len(shown) < 700 and shown.endswith("…")
    assert any(e.label.startswith("Show all 5,400 characters") for e in at.expander)


def test_tables_show_blanks_not_none(db):
    at = fresh_app()
    table = at.dataframe[0].value
    assert "decided_by" not in table.columns or not table["decided_by"].isna().any()
    at = open_page(at, "report")
    for frame in at.dataframe:
        assert not frame.value.isna().any().any(), frame.value


def test_a_workbooks_number_column_with_blanks_is_one_type_for_the_table():
    import pandas as pd
    import pyarrow as pa

    from classifier.ui.widgets import for_display

    frame = pd.DataFrame({"ID": [101, None, 103], "mixed": ["a", 2, None],
                          "task": ["Call", None, "Pitch"]}, dtype=object)
    shown = for_display(frame)
    pa.Table.from_pandas(shown)  # what st.dataframe does; a mix of int and "" is refused
    assert shown["ID"].tolist() == ["101", "", "103"]
    assert shown["mixed"].tolist() == ["a", "2", ""]
    assert shown["task"].tolist() == ["Call", "", "Pitch"]


def test_a_runs_whole_hours_beside_fractions_are_numbers_in_the_table(tmp_path):
    """A run keeps a workbook's 1 beside 2.5 as stored (the report's CSV wrote "1.0"); the
    app's tables still sort them as numbers, not as the text "10" before "2.5"."""
    import pyarrow as pa

    from classifier.model.decision import DEFAULT_THRESHOLDS
    from classifier.ui.widgets import for_display

    with Store(tmp_path / "hours.db") as store:
        version = store.save_plan(Plan(vision="v", strategies=[Strategy(id="a", name="A")]))
        run_id = store.create_run(version, pd.DataFrame({
            "task": ["Call", "Pitch", "Plan"], "hours": pd.Series([1, 2.5, 10], dtype=object),
            "strategy_id": ["a"] * 3, "strategy": ["A"] * 3, "score": [0.5] * 3,
            "status": ["aligned"] * 3, "runner_up_id": [""] * 3, "runner_up_score": [0.1] * 3,
            "evidence": [""] * 3}), "task", "w.xlsx", "m", DEFAULT_THRESHOLDS)
        stored = store.run_results(run_id)
    assert stored["hours"].tolist() == [1, 2.5, 10]
    shown = for_display(stored[["task", "hours"]])
    pa.Table.from_pandas(shown)
    assert shown.sort_values("hours")["hours"].tolist() == [1, 2.5, 10]


def test_the_root_address_with_a_reviewer_opens_classify_as_them(db):
    # `/?reviewer=ana`, the address bar copied after a reload: the switch to Classify cleared
    # the address, which Streamlit refuses for a parameter bound to a widget (no page at all).
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["reviewer"] = "ana"
    at.run()
    no_exception(at)
    assert [title.value for title in at.title] == ["Classify"]
    assert at.text_input(key="reviewer").value == "ana"
    assert at.query_params["reviewer"] == "ana"


def test_the_picked_run_is_kept_in_the_address_so_a_reload_shows_it(db):
    at = paste(fresh_app(), ["Call the customers about renewals", "Pitch our widgets"])
    no_exception(at)
    next(box for box in at.selectbox if box.label == "Run").set_value(1).run()
    assert at.query_params["run"] == "1"
    # A reload: a new session on the same address.
    again = AppTest.from_file(APP, default_timeout=TIMEOUT)
    again.query_params["run"] = "1"
    again = open_page(again.run(), "review")
    no_exception(again)
    assert next(box for box in again.selectbox if box.label == "Run").value == 1
    assert again.query_params["run"] == "1"  # put back after the page switch
    for odd in ("99", "x", "99999999999999999999"):  # a stale or edited address: the newest
        other = AppTest.from_file(APP, default_timeout=TIMEOUT)
        other.query_params["run"] = odd
        other.run()
        no_exception(other)
        assert next(box for box in other.selectbox if box.label == "Run").value == 2


@pytest.mark.parametrize("odd, said", [
    ("99", "There is no run #99 in this store"),
    ("x", "There is no run 'x' (not a run number) in this store"),
    ("99999999999999999999", "There is no run #99999999999999999999 in this store"),
])
def test_an_address_naming_no_run_says_so_and_shows_the_newest(db, odd, said):
    # It showed the newest run without a word, as if it were the run asked for.
    paste(fresh_app(), ["Call the customers about renewals"])
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["run"] = odd
    at.run()
    no_exception(at)
    assert next(box for box in at.selectbox if box.label == "Run").value == 2
    assert [w.value.replace("\\", "") for w in at.sidebar.warning] == [
        f"{said}: the newest run is shown."]
    at = open_page(at, "review")  # said once, not on every page
    assert not at.sidebar.warning


def _every_run_set_aside_and_asked_for(db, run: str) -> AppTest:
    """The app on `?run=RUN`, its store's one run (the sample's) set aside by ana."""
    fresh_app()
    with Store(db) as store:
        store.set_aside(1, "ana")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["run"] = run
    at.run()
    return at


def test_an_address_naming_no_run_of_a_store_with_none_to_show_says_so(db):
    # Every run set aside: "the newest run is shown" where no run was.
    at = _every_run_set_aside_and_asked_for(db, "5")
    no_exception(at)
    assert [w.value.replace("\\", "") for w in at.sidebar.warning] == [
        "There is no run #5 in this store, and no other run to show."]
    assert not [box for box in at.selectbox if box.label == "Run"]


def run_shown(at: AppTest) -> int:
    return next(box for box in at.selectbox if box.label == "Run").value


def test_the_review_page_stays_on_its_run_when_a_colleague_adds_one_and_undo_undoes(db):
    # Nothing picked: the page followed the newest run at every redraw, so a colleague's
    # classify between two clicks moved it to another run, unsaid, and Undo then found
    # "Nothing of yours to undo in this run" about the decision just made.
    at = open_page(fresh_app(), "review")
    first = at.text[0].value
    assert run_shown(at) == 1 and at.query_params["run"] == "1"
    paste(fresh_app(), ["Call customers whose service plan expires this month"])  # run #2
    task_button(at, "review_misaligned").click().run()
    no_exception(at)
    assert run_shown(at) == 1
    [notice] = [i.value for i in at.sidebar.info if "was added since" in i.value]
    assert notice.startswith("Run #2 was added since (")
    at.button(key="review_undo").click().run()
    assert any(toast.value.startswith("Undid your last decision") for toast in at.toast)
    assert at.text[0].value == first
    with Store(db) as store:
        assert store.current_decisions(1) == {}
    at.sidebar.button(key="run_open_newer").click().run()
    no_exception(at)
    assert run_shown(at) == 2 and at.query_params["run"] == "2"
    assert not any("was added since" in i.value for i in at.sidebar.info)
    # The reviewer's own classify still shows the run it makes.
    at = paste(open_page(at, "classify"), ["Pitch our widgets to the hardware stores"])
    assert run_shown(at) == 3 and at.subheader[0].value == "Results of run #3"
    assert not any("was added since" in i.value for i in at.sidebar.info)


def test_a_run_set_aside_by_a_colleague_is_said_when_the_page_leaves_it(db):
    at = paste(fresh_app(), ["Call customers whose service plan expires this month"])
    assert run_shown(at) == 2
    with Store(db) as store:
        store.set_aside(2, "ana")
    at.run()
    no_exception(at)
    assert run_shown(at) == 1
    assert any(i.value.startswith("Run #2 was set aside by ana") for i in at.sidebar.info)


def test_no_teach_in_hint_on_a_run_with_nothing_left_to_deal(db):
    at = paste(fresh_app(), ["Call the customers about renewals", "Pitch our widgets"])
    with Store(db) as store:
        run = store.latest_run()
        for row in range(2):
            store.record_decision(run.id, row, "misaligned", None, "ana")
    at = fresh_app()
    no_exception(at)
    assert not any("Teach this plan" in m.value for m in at.markdown)


def test_the_reviewer_name_is_read_from_the_address(db):
    # The browser writes the typed name into the address; a reload reads it back.
    fresh_app()
    again = AppTest.from_file(APP, default_timeout=TIMEOUT)
    again.query_params["reviewer"] = "Ana Müller"
    again = open_page(again.run(), "review")
    assert again.sidebar.text_input(key="reviewer").value == "Ana Müller"


def test_a_score_a_hair_under_zero_is_shown_as_zero_not_minus_zero():
    import pandas as pd

    from classifier.ui.widgets import for_display

    shown = for_display(pd.DataFrame({"task": ["a", "b"], "score": [-0.003, 0.4567]}))
    assert shown["score"].tolist() == [0.0, 0.46] and str(shown["score"].iloc[0]) == "0.0"


def test_the_browser_tab_icon_is_drawn_without_the_network():
    # Streamlit fetches a ":material/...:" tab icon from fonts.gstatic.com; an emoji it draws.
    from streamlit.string_util import is_emoji

    from classifier.ui import widgets

    assert is_emoji(widgets.TAB_ICON)
    assert "page_icon=widgets.TAB_ICON" in Path(APP).read_text(encoding="utf-8")


def test_an_address_naming_a_run_set_aside_with_none_left_to_show_says_so(db):
    # Every run set aside: `?run=1` of one said nothing, and the Review page told a manager
    # with runs in the store that nothing was classified yet.
    at = _every_run_set_aside_and_asked_for(db, "1")
    no_exception(at)
    assert [i.value for i in at.sidebar.info] == [
        "Run #1 was set aside by ana, and no other run is left to show: “Runs set aside” on the "
        "Classify page brings it back."]
    at = open_page(at, "review")
    assert [i.value for i in at.main.info] == [
        "Every run of this plan is set aside: “Runs set aside” on the Classify page brings one "
        "back, or paste or upload tasks there."]


def test_the_sample_plan_says_it_is_one_and_a_blank_plan_starts_from_nothing(db):
    """A new manager's Plan page showed the sample's strategies as if they were theirs, and
    the only way to a plan of their own was to select every row and press Delete."""
    at = open_page(fresh_app(), "plan")
    no_exception(at)
    assert any("This is the **sample plan**" in i.value for i in at.info)
    at.button(key="plan_blank").click().run()
    no_exception(at)
    assert at.data_editor[0].value.empty and at.text_area[0].value == ""
    assert any(i.value.startswith("A blank plan:") for i in at.info)
    assert not any("sample plan" in i.value for i in at.info)
    # Saved empty, it is refused: a plan needs a strategy. Nothing is saved.
    at.button(key="plan_save").click().run()
    assert any("the plan has no strategies; add at least one row" in e.value for e in at.error)
    with Store(db) as store:
        assert len(store.plan_versions()) == 1
    at.text_area(key=at.text_area[0].key).set_value("A library every resident uses")
    at.session_state[at.data_editor[0].key] = {"edited_rows": {}, "deleted_rows": [],
                                               "added_rows": [{"name": "Grow young readers"}]}
    at.button(key="plan_save").click().run()
    at.button(key="plan_delete_confirm").click().run()  # the sample's strategies, as any
    no_exception(at)
    with Store(db) as store:
        plan = store.latest_plan()[1]
    assert (plan.vision, plan.ids) == ("A library every resident uses", ["grow-young-readers"])
    assert not any("sample plan" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "plan_blank"]


def test_the_sample_typed_over_with_the_manager_s_strategies_is_no_longer_called_the_sample(db):
    """The notice says "type your strategies over these": done and saved (the rows keep the
    sample's ids), the page went on calling it the sample plan, a widget maker's."""
    at = open_page(fresh_app(), "plan")
    assert any("This is the **sample plan**" in i.value for i in at.info)
    with Store(db) as store:
        sample = store.latest_plan()[1]
        own = [strategy.model_copy(update={"name": f"Library goal {n}", "description": ""})
               for n, strategy in enumerate(sample.strategies, start=1)]
        store.save_plan(sample.model_copy(update={"vision": "A library every resident uses",
                                                  "strategies": own}))
    at = open_page(at, "plan")
    no_exception(at)
    assert not any("sample plan" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "plan_blank"]


def test_the_plan_page_says_which_texts_the_model_reads_only_the_start_of(db):
    """A 9,400-character description got no word: the model reads 256 word pieces of it."""
    at = open_page(fresh_app(), "plan")
    assert not any("word pieces" in w.value for w in at.warning)  # the sample is read whole
    long = " ".join(f"in region {n} we renew every service contract before it lapses or we "
                    f"call each buyer" for n in range(110))
    with Store(db) as store:
        store.save_plan(Plan(vision="", strategies=[
            Strategy(id="renew", name="Renew every contract", description=long),
            Strategy(id="retail", name="Win retail")]))
    at = open_page(at, "plan")
    no_exception(at)
    [warning] = [w.value for w in at.warning if "word pieces" in w.value]
    assert "strategy 'Renew every contract': its description is read only up to" in (
        warning.replace("\\", ""))
    assert "Win retail" not in warning


def test_a_run_of_a_plan_left_offers_the_current_plan_s_newest_run(db):
    """The manager's own plan, its tasks classified, then the sample imported back: the pages
    stay on the own plan's run, and the notice offered no way to the sample's run."""
    at = fresh_app()  # run #1, the sample's
    with Store(db) as store:
        store.save_plan(Plan(vision="Parks everyone is proud to use", strategies=[
            Strategy(id="safe-playgrounds", name="Safe playgrounds"),
            Strategy(id="clean-parks", name="Clean parks")]))
    at = paste(at, ["Fix the swing at Elm park", "Pick up litter by the pond"])  # run #2
    at = open_page(at, "plan")
    at.file_uploader(key="plan_upload").upload(
        "plan.yaml", (ROOT / "data" / "plan.yaml").read_bytes())
    at.run()
    at.button(key="plan_import").click().run()
    at.button(key="plan_delete_confirm").click().run()
    at = open_page(at, "review")
    no_exception(at)
    [notice] = [i.value for i in at.info if "was classified against another plan" in i.value]
    assert notice.startswith("Run #2 ") and "Run #1 (sample: tasks.csv" in notice.replace("\\", "")
    open_own = at.button(key="rerun_stale_review_open_own")
    assert open_own.label == "Open run #1, the current plan's newest"
    open_own.click().run()
    no_exception(at)
    assert not any("was classified against another plan" in i.value for i in at.info)
    assert at.query_params["run"] == "1"


def test_a_replaced_plan_s_run_says_so_under_its_buttons_and_offers_the_re_run(db):
    """On the sample's run after the manager's own plan replaced it, the list "Another
    strategy…" was empty and the note said the strategies were "deleted from the plan"."""
    at = fresh_app()
    with Store(db) as store:
        store.save_plan(Plan(vision="Parks everyone is proud to use", strategies=[
            Strategy(id="safe-playgrounds", name="Safe playgrounds"),
            Strategy(id="clean-parks", name="Clean parks")]))
    at = open_page(at, "review")
    no_exception(at)
    assert any(c.value.startswith("Run #1's plan was replaced: re-run with the current plan to "
                                  "review against it.") for c in at.caption)
    assert not any("deleted" in c.value for c in at.caption)
    assert not [s for s in at.selectbox if s.placeholder == "Another strategy…"]
    assert not any("Or pick the strategy" in m.value for m in at.markdown)
    at.button(key="review_rerun_replaced").click().run()
    no_exception(at)
    assert not any("was classified against another plan" in i.value for i in at.info)
    with Store(db) as store:
        newest = store.latest_run()
        assert newest.id == 2 and set(store.plan(newest.plan_version).ids) == {
            "safe-playgrounds", "clean-parks"}
