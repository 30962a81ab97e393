"""Review without the app: `tactics queue` writes the Review page's queue to a spreadsheet,
`tactics decide` records a filled one, all or nothing, and the next run learns from it."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from classifier.access import Reviewer
from classifier.cli import app
from classifier.decisions_file import task_id, unrecorded
from classifier.model.learned import Learned
from classifier.plan import load_plan
from classifier.review import pending, review_queue, teach_in
from classifier.store import Store

ROOT = Path(__file__).resolve().parent.parent
PLAN = str(ROOT / "data" / "plan.yaml")
runner = CliRunner()


def _tactics(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def classified(tmp_path_factory) -> Path:
    """A store holding one run of the sample tasks (made once; tests copy it)."""
    folder = tmp_path_factory.mktemp("queue")
    db = folder / "tactics.db"
    done = _tactics("classify", str(ROOT / "data" / "tasks.csv"), "--plan", PLAN, "--out",
                    str(folder / "out.csv"), "--db", str(db), "-q")
    assert done.exit_code == 0, done.output
    return db


@pytest.fixture
def db(classified, tmp_path) -> Path:
    copy = tmp_path / "tactics.db"
    copy.write_bytes(classified.read_bytes())
    return copy


def _queue(db: Path, out: Path, *extra: str) -> pd.DataFrame:
    done = _tactics("queue", "--db", str(db), "--plan", PLAN, "--out", str(out), *extra)
    assert done.exit_code == 0, done.output
    if out.suffix == ".xlsx":
        return pd.read_excel(out, sheet_name="Queue", dtype=str, keep_default_na=False)
    return pd.read_csv(out, dtype=str, keep_default_na=False)


def _first_on_the_page(db: Path, monkeypatch) -> str:
    """The task the Review page shows first on this store."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("TACTICS_DB", str(db))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at = at.switch_page("classifier/ui/review.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at.text[0].value


def test_a_new_plans_queue_file_is_the_teach_in_round_the_review_page_deals(
        db, tmp_path, monkeypatch):
    table = _queue(db, tmp_path / "queue.csv", "--limit", "5")
    assert table["why"].str.startswith("teach-in round: ").all()
    assert table["task"].iloc[0] == _first_on_the_page(db, monkeypatch)
    # The rest as the page would deal them with no decision taken (the page deals again
    # after each one, seeing it; a file is dealt at once).
    with Store(db) as store:
        run = store.latest_run()
        round_ = teach_in(store.results_with_decisions(run.id), run.thresholds, Learned())
    assert table["task_id"].tolist() == [task_id(run.id, int(r)) for r in round_["row"][:5]]
    assert {"owner", "effort_hours", "due", "machine_status", "candidate_1", "candidate_1_score",
            "why", "decision"} <= set(table.columns)
    assert (table["decision"] == "").all()


def test_the_teach_in_round_covers_every_strategy_and_then_gives_way_to_the_queue(db, tmp_path):
    first = _queue(db, tmp_path / "round.csv")
    assert len(first) == 20 and "aligned" in set(first["machine_status"])
    plan_ids = {s.id for s in load_plan(PLAN).strategies}
    assert set(first["candidate_1"]) == plan_ids
    first["decision"] = first["candidate_1"]
    first.to_csv(tmp_path / "round.csv", index=False)
    done = _tactics("decide", str(tmp_path / "round.csv"), "--db", str(db), "--plan", PLAN,
                    "--reviewer", "ana")
    assert done.exit_code == 0, done.output
    after = _queue(db, tmp_path / "queue.csv")
    assert not after["why"].str.startswith("teach-in").any()
    assert set(after["machine_status"]) <= {"review", "misaligned"}
    assert not set(after["task_id"]) & set(first["task_id"])


def test_a_reviewer_who_skipped_the_teach_in_gets_the_queue(db, tmp_path):
    with Store(db) as store:
        store.choose_teach_in(store.latest_run().plan_version, Reviewer("ana"), "skip")
        run = store.latest_run()
        results = store.results_with_decisions(run.id)
        learned = Learned.from_frame(store.learned_examples())
    table = _queue(db, tmp_path / "queue.csv", "--limit", "10", "--reviewer", "ana")
    page = review_queue(results, run.thresholds, learned=learned).head(10)
    assert table["task_id"].tolist() == [task_id(run.id, int(r)) for r in page["row"]]
    assert not table["why"].str.startswith("teach-in").any()
    assert _queue(db, tmp_path / "other.csv", "--limit", "1", "--reviewer", "ben")[
        "why"].str.startswith("teach-in round: ").all()


def test_the_aligned_spot_check_is_a_queue_file_too(db, tmp_path):
    table = _queue(db, tmp_path / "check.csv", "--aligned", "--limit", "4")
    assert len(table) == 4 and (table["machine_status"] == "aligned").all()
    assert table["why"].str.contains("aligned with").all()
    table.loc[0, "decision"] = table.loc[0, "candidate_1"]
    table.to_csv(tmp_path / "check.csv", index=False)
    done = _tactics("decide", str(tmp_path / "check.csv"), "--db", str(db), "--plan", PLAN,
                    "--reviewer", "ana")
    assert "recorded 1 decision by ana: 1 confirmed" in done.stderr
    assert table.loc[0, "task_id"] not in set(_queue(db, tmp_path / "next.csv",
                                                     "--aligned")["task_id"])


def test_the_xlsx_queue_offers_the_strategy_ids_to_pick(db, tmp_path):
    out = tmp_path / "queue.xlsx"
    _queue(db, out, "--limit", "5")
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Queue", "Strategies"]
    ids = [row[0] for row in book["Strategies"].iter_rows(min_row=2, values_only=True)]
    assert ids[-1] == "none" and "recurring-revenue" in ids
    [validation] = book["Queue"].data_validations.dataValidation
    assert validation.type == "list" and "Strategies" in validation.formula1


def test_a_filled_file_through_a_spreadsheet_maps_back_to_its_tasks(db, tmp_path):
    table = _queue(db, tmp_path / "queue.csv", "--limit", "8")
    # the machine's own strategy for a task it did not call misaligned is a confirm
    kept = table.index[(table.index >= 2) & (table["machine_status"] != "misaligned")][0]
    left_empty = next(i for i in table.index if i not in (0, 1, kept))
    table = table.iloc[[0, 1, kept, left_empty]].reset_index(drop=True)
    table.loc[0, "decision"] = table.loc[0, "candidate_2"]
    table.loc[1, "decision"] = "None"
    table.loc[2, "decision"] = table.loc[2, "candidate_1"]
    # Sorted and filtered in a spreadsheet, task text neutralised against formulas.
    filled = table.iloc[[2, 0, 1, 3]].copy()
    filled["task"] = "'" + filled["task"]
    filled.to_csv(tmp_path / "filled.csv", index=False)

    done = _tactics("decide", str(tmp_path / "filled.csv"), "--db", str(db), "--plan", PLAN,
                    "--reviewer", "ana")

    assert done.exit_code == 0, done.output
    assert "recorded 3 decisions by ana: 1 confirmed, 1 reassigned, 1 serving no strategy; " \
           "1 row left empty" in done.stderr
    with Store(db) as store:
        trail = store.decisions()
    by_row = {f"run{r.run_id}-task{r.row + 1}": r for r in trail.itertuples()}
    assert by_row[table.loc[0, "task_id"]].strategy_id == table.loc[0, "candidate_2"]
    assert by_row[table.loc[0, "task_id"]].action == "reassign"
    assert by_row[table.loc[1, "task_id"]].action == "misaligned"
    assert by_row[table.loc[2, "task_id"]].action == "confirm"
    assert set(trail["reviewer"]) == {"ana"}
    again = _queue(db, tmp_path / "next.csv")
    assert not set(again["task_id"]) & set(table["task_id"][:3])  # decided: out of the queue


def test_a_semicolon_queue_has_decimal_commas_and_is_recorded_when_filled(db, tmp_path):
    """`--sep ';'` is for Excel whose decimal mark is a comma, which read the scores' "0.5321"
    as text: they are "0,5321" there (the ',' file keeps '.'); filled and saved as that Excel
    saves it (';', decimal commas), the file is recorded."""
    out = tmp_path / "queue.csv"
    done = _tactics("queue", "--db", str(db), "--plan", PLAN, "--out", str(out), "--limit", "3",
                    "--sep", ";")
    assert done.exit_code == 0, done.output
    header, *rows = csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig")), delimiter=";")
    scores = [row[header.index(f"candidate_{n}_score")] for row in rows for n in (1, 2, 3)]
    assert all(re.fullmatch(r"-?\d+,\d+", score) for score in scores), scores
    comma = _queue(db, tmp_path / "comma.csv", "--limit", "3")
    assert comma["candidate_1_score"].tolist() == [
        row[header.index("candidate_1_score")].replace(",", ".") for row in rows]

    for row in rows[:2]:
        row[header.index("decision")] = row[header.index("candidate_2")]
    filled = io.StringIO()
    csv.writer(filled, delimiter=";", lineterminator="\r\n").writerows([header, *rows])
    (tmp_path / "filled.csv").write_bytes(filled.getvalue().encode("utf-8-sig"))
    done = _tactics("decide", str(tmp_path / "filled.csv"), "--db", str(db), "--plan", PLAN,
                    "--reviewer", "ana")
    assert done.exit_code == 0, done.output
    assert "recorded 2 decisions by ana" in done.stderr and "1 row left empty" in done.stderr
    with Store(db) as store:
        trail = store.decisions()
    assert {(f"run{r.run_id}-task{r.row + 1}", r.strategy_id) for r in trail.itertuples()} == {
        (row[header.index("task_id")], row[header.index("candidate_2")]) for row in rows[:2]}


def test_a_decision_may_name_the_strategy_as_the_file_shows_it(db, tmp_path):
    # A spreadsheet user copies what they read: the strategy's name, or the words for `none`.
    table = _queue(db, tmp_path / "queue.csv", "--limit", "3")
    table["decision"] = ["  build a STRONG team ", "Serves no strategy", "strong-team"]
    table.to_csv(tmp_path / "filled.csv", index=False)

    done = _tactics("decide", str(tmp_path / "filled.csv"), "--db", str(db), "--plan", PLAN,
                    "--reviewer", "ana")

    assert done.exit_code == 0, done.output
    with Store(db) as store:
        trail = store.decisions().set_index("row")
    by_task = {f"run{r.run_id}-task{row + 1}": r for row, r in trail.iterrows()}
    first, second, third = (by_task[t] for t in table["task_id"])
    assert first.strategy_id == third.strategy_id == "strong-team"
    assert second.action == "misaligned" and second.strategy_id is None


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.assign(decision=["nonsense"] + [""] * (len(t) - 1)),
     "row 2: decision 'nonsense' is neither a strategy id of the plan"),
    (lambda t: t.assign(decision=[""] * (len(t) - 1) + ["Grow revenue"]),
     "row 5: decision 'Grow revenue' is neither a strategy id of the plan"),
    (lambda t: t.assign(task_id=["run1-task9999"] + t["task_id"].tolist()[1:],
                        decision=["none"] * len(t)), "row 2: task run1-task9999 is not in run #1"),
    (lambda t: t.assign(task_id=["run77-task1"] + t["task_id"].tolist()[1:],
                        decision=["none"] * len(t)), "row 2: task run77-task1 is not in a run"),
    (lambda t: t.assign(task_id=["run99999999999999999999-task1"] + t["task_id"].tolist()[1:],
                        decision=["none"] * len(t)), "row 2: task_id 'run99999999999999999999"),
    (lambda t: t.assign(task_id=["2026-03-02"] + t["task_id"].tolist()[1:],
                        decision=["none"] * len(t)), "row 2: task_id '2026-03-02' is not a task"),
    (lambda t: t.drop(columns="decision"), "no column 'decision'"),
    # The task column sorted on its own ("Continue with the current selection"): the ids
    # name other tasks than the rows show.
    (lambda t: t.assign(task=t["task"].tolist()[::-1]),
     "row 2: task_id run1-task"),
])
def test_a_bad_row_refuses_the_whole_file_and_records_nothing(db, tmp_path, change, message):
    table = _queue(db, tmp_path / "queue.csv", "--limit", "4")
    table["decision"] = "none"
    change(table).to_csv(tmp_path / "filled.csv", index=False)

    done = _tactics("decide", str(tmp_path / "filled.csv"), "--db", str(db), "--plan", PLAN,
                    "--reviewer", "ana")

    assert done.exit_code == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: ") and message in line
    with Store(db) as store:
        assert store.decisions().empty


@pytest.mark.parametrize(("reviewer", "message"), [
    ("ana\nbob", "'ana\\nbob' holds a control character ('\\n')"),  # split the summary line
    ("ana\tbob", "holds a control character ('\\t')"),
    ("ana\x1b[31m", "holds a control character ('\\x1b')"),
    ("  ", "give the name of the person who decided"),
])
def test_a_reviewer_name_that_is_blank_or_holds_control_characters_is_refused(
        db, tmp_path, reviewer, message):
    table = _queue(db, tmp_path / "queue.csv", "--limit", "2")
    table["decision"] = "none"
    table.to_csv(tmp_path / "filled.csv", index=False)

    done = _tactics("decide", str(tmp_path / "filled.csv"), "--db", str(db), "--plan", PLAN,
                    "--reviewer", reviewer)

    assert done.exit_code == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: --reviewer: ") and message in line
    with Store(db) as store:
        assert store.decisions().empty


def test_a_file_sent_twice_or_with_a_row_copied_is_recorded_once(db, tmp_path):
    table = _queue(db, tmp_path / "queue.csv", "--limit", "3")
    table["decision"] = "none"
    # one row copied in the spreadsheet, with the same answer
    pd.concat([table, table.head(1)]).to_csv(tmp_path / "filled.csv", index=False)
    decide = ("decide", str(tmp_path / "filled.csv"), "--db", str(db), "--plan", PLAN)

    first = _tactics(*decide, "--reviewer", "ana")
    again = _tactics(*decide, "--reviewer", "Ana")  # the same person, typed another way
    other = _tactics(*decide, "--reviewer", "ben")

    assert "recorded 3 decisions by ana" in first.stderr
    assert ("recorded 0 decisions by Ana: 0 confirmed, 0 reassigned, 0 serving no strategy; "
            "3 already recorded as Ana's decision; 0 rows left empty") in again.stderr
    assert again.exit_code == 0
    assert "recorded 3 decisions by ben" in other.stderr  # ben's word is his own
    with Store(db) as store:
        trail = store.decisions()
    assert sorted(trail["reviewer"]) == ["ana"] * 3 + ["ben"] * 3


def test_a_file_sent_again_never_undoes_a_later_decision(db, tmp_path):
    table = _queue(db, tmp_path / "queue.csv", "--limit", "2")
    table.assign(decision=["none", ""]).to_csv(tmp_path / "ana.csv", index=False)
    decide = ("decide", "--db", str(db), "--plan", PLAN)

    assert _tactics(decide[0], str(tmp_path / "ana.csv"), *decide[1:], "--reviewer",
                    "ana").exit_code == 0
    with Store(db) as store:  # ben, on the Review page, later
        store.record_decision(store.latest_run().id, _row(table["task_id"].iloc[0]),
                              "reassign", table["candidate_1"].iloc[0], "ben")
    again = _tactics(decide[0], str(tmp_path / "ana.csv"), *decide[1:], "--reviewer", "ana")

    assert again.exit_code == 0
    assert ("recorded 0 decisions by ana: 0 confirmed, 0 reassigned, 0 serving no strategy; "
            "1 already recorded as ana's decision (1 decided otherwise since, which stands)"
            ) in again.stderr
    with Store(db) as store:
        run = store.latest_run()
        [standing] = store.current_decisions(run.id).values()
    assert standing.reviewer == "ben"
    # ana's file is recorded, so a new queue may take its place.
    assert _tactics("queue", "--db", str(db), "--plan", PLAN, "--out",
                    str(tmp_path / "ana.csv")).exit_code == 0


def _row(task: str) -> int:
    return int(task.rsplit("task", 1)[1]) - 1


def test_a_file_written_before_somebody_decided_on_the_page_does_not_undo_them(db, tmp_path):
    """The weekly queue file, filled and sent after ana decided one of its tasks in the app:
    her decision stands, and the summary says so (it was replaced without a word)."""
    table = _queue(db, tmp_path / "queue.csv", "--limit", "2")
    first = _row(table["task_id"].iloc[0])
    with Store(db) as store:
        store.record_decision(store.latest_run().id, first, "misaligned", None, "Ana")
    table.assign(decision=[table["candidate_1"].iloc[0], "none"]).to_csv(
        tmp_path / "filled.csv", index=False)

    done = _tactics("decide", str(tmp_path / "filled.csv"), "--db", str(db), "--plan", PLAN,
                    "--reviewer", "cron")

    assert done.exit_code == 0, done.output
    assert ("recorded 1 decision by cron: 0 confirmed, 0 reassigned, 1 serving no strategy; 1 "
            "decided otherwise by somebody else since the file was written, which stands"
            ) in done.stderr
    with Store(db) as store:
        standing = store.current_decisions(store.latest_run().id)
    assert (standing[first].reviewer, standing[first].action) == ("Ana", "misaligned")
    # Nothing of the file is left unrecorded: a new queue may take its place.
    assert _tactics("queue", "--db", str(db), "--plan", PLAN, "--out",
                    str(tmp_path / "filled.csv")).exit_code == 0


def test_a_decision_on_a_blank_row_is_refused(tmp_path):
    tasks = tmp_path / "t.csv"
    tasks.write_text("task\nCall the customers\n\nPitch our widgets to a dealer\n")
    db = tmp_path / "tactics.db"
    assert _tactics("classify", str(tasks), "--plan", PLAN, "--out", str(tmp_path / "o.csv"),
                    "--db", str(db), "-q").exit_code == 0
    pd.DataFrame({"task_id": ["run1-task2"], "decision": ["none"]}).to_csv(
        tmp_path / "filled.csv", index=False)
    done = _tactics("decide", str(tmp_path / "filled.csv"), "--db", str(db), "--plan", PLAN,
                    "--reviewer", "ana")
    assert done.exit_code == 2
    [line] = done.stderr.strip().splitlines()
    assert "row 2" in line and "a blank row, not a task" in line
    with Store(db) as store:
        assert store.decisions().empty


def test_a_task_decided_differently_in_two_rows_names_both(db, tmp_path):
    table = _queue(db, tmp_path / "queue.csv", "--limit", "3")
    table["decision"] = ["none", "", ""]
    copied = table.head(1).assign(decision=table["candidate_1"].iloc[0])
    pd.concat([table, copied]).to_csv(tmp_path / "filled.csv", index=False)

    done = _tactics("decide", str(tmp_path / "filled.csv"), "--db", str(db), "--plan", PLAN,
                    "--reviewer", "ana")

    assert done.exit_code == 2
    assert done.stderr.strip() == (
        f"error: {tmp_path / 'filled.csv'}: row 5: task {table['task_id'].iloc[0]} is decided "
        f"differently in row 2; keep one")


def test_the_same_task_in_two_runs_decided_differently_is_refused(db, tmp_path):
    """A decision stands for its task's text: run 1's and run 2's row of one task, decided two
    ways in one file, would leave one answer silently lost."""
    table = _queue(db, tmp_path / "queue.csv", "--limit", "1")
    assert _tactics("classify", str(ROOT / "data" / "tasks.csv"), "--plan", PLAN, "--out",
                    str(tmp_path / "out.csv"), "--db", str(db), "-q").exit_code == 0
    again = table.assign(task_id=table["task_id"].str.replace("run1-", "run2-"),
                         decision=table["candidate_1"])
    pd.concat([table.assign(decision="none"), again]).to_csv(tmp_path / "filled.csv",
                                                            index=False)

    done = _tactics("decide", str(tmp_path / "filled.csv"), "--db", str(db), "--plan", PLAN,
                    "--reviewer", "ana")

    assert done.exit_code == 2
    [line] = done.stderr.strip().splitlines()
    assert f"row 3: task {again['task_id'].iloc[0]} is the same task as row 2 (" in line
    assert line.endswith("), decided differently; keep one answer")
    with Store(db) as store:
        assert store.decisions().empty


def test_a_strategy_renamed_in_the_plan_file_is_taken_by_its_new_name(db, tmp_path):
    renamed = tmp_path / "plan.yaml"
    renamed.write_text(Path(PLAN).read_text(encoding="utf-8").replace(
        "name: Build a strong team", "name: Grow a strong team"), encoding="utf-8")
    table = _queue(db, tmp_path / "queue.csv", "--limit", "1")
    table.assign(decision=["Grow a strong team"]).to_csv(tmp_path / "filled.csv", index=False)

    done = _tactics("decide", str(tmp_path / "filled.csv"), "--db", str(db), "--plan",
                    str(renamed), "--reviewer", "ana")

    assert done.exit_code == 0, done.output
    with Store(db) as store:
        assert store.decisions()["strategy_id"].tolist() == ["strong-team"]


def test_the_next_classify_learns_from_the_file(db, tmp_path):
    table = _queue(db, tmp_path / "queue.csv")
    misaligned = table[table["machine_status"] == "misaligned"].head(1)
    target = next(s for s in ("strong-team", "lower-costs")
                  if s != misaligned["candidate_1"].iloc[0])
    table["decision"] = ""
    table.loc[misaligned.index, "decision"] = target
    table.to_csv(tmp_path / "filled.csv", index=False)
    assert _tactics("decide", str(tmp_path / "filled.csv"), "--db", str(db), "--plan", PLAN,
                    "--reviewer", "ana").exit_code == 0
    task = misaligned["task"].iloc[0]
    (tmp_path / "one.txt").write_text(task + "\n", encoding="utf-8")
    done = _tactics("classify", str(tmp_path / "one.txt"), "--plan", PLAN, "--out",
                    str(tmp_path / "one.csv"), "--db", str(db), "-q")
    assert done.exit_code == 0, done.output
    assert pd.read_csv(tmp_path / "one.csv")["strategy_id"].iloc[0] == target


def test_pending_puts_skipped_last_and_drops_decided():
    queue = pd.DataFrame({"row": [5, 3, 8, 1]})
    assert pending(queue, decided=[3], skipped=[5])["row"].tolist() == [8, 1, 5]


@pytest.mark.parametrize("db", ["missing.db", "sqlite:///missing.db?timeout=30"])
@pytest.mark.parametrize("args", [
    ("queue", "--db", "DB", "--plan", PLAN, "--out", "q.csv"),
    ("decide", "f.csv", "--db", "DB", "--plan", PLAN, "--reviewer", "ana"),
    ("runs", "--db", "DB"),
])
def test_a_missing_store_is_named(tmp_path, monkeypatch, args, db):
    """A store's URL with options (`?timeout=30`) naming no file made a new empty store, and
    `tactics runs` said it had no run yet: a typo in the name read as an empty store."""
    monkeypatch.chdir(tmp_path)
    done = _tactics(*[db if arg == "DB" else arg for arg in args])
    assert done.exit_code == 2 and "missing.db" in done.stderr
    assert ": store file not found" in done.stderr
    assert not (tmp_path / "missing.db").exists()


def test_classify_with_the_store_carries_each_persons_decision_and_names_them(db, tmp_path):
    table = _queue(db, tmp_path / "queue.csv", "--limit", "2")
    table["decision"] = ["none", "strong-team"]
    table.to_csv(tmp_path / "filled.csv", index=False)
    assert _tactics("decide", str(tmp_path / "filled.csv"), "--db", str(db), "--plan", PLAN,
                    "--reviewer", "ana").exit_code == 0

    done = _tactics("classify", str(ROOT / "data" / "tasks.csv"), "--plan", PLAN, "--out",
                    str(tmp_path / "week2.csv"), "--db", str(db), "-q")
    assert done.exit_code == 0, done.output
    out = pd.read_csv(tmp_path / "week2.csv", dtype=str, keep_default_na=False)
    assert out.columns[-1] == "decided_by"
    by_task = out.set_index("task")
    first, second = table["task"].tolist()
    assert by_task.loc[first, ["strategy_id", "status", "decided_by"]].tolist() == [
        "", "misaligned", "ana"]
    assert by_task.loc[second, ["strategy_id", "status", "decided_by"]].tolist() == [
        "strong-team", "aligned", "ana"]
    assert (out["decided_by"] == "").sum() == len(out) - 2
    with Store(db) as store:  # the store keeps the machine's answer; the decision applies on read
        run = store.latest_run()
        stored = store.results_with_decisions(run.id).set_index("task")
    assert stored.loc[second, "final_strategy_id"] == "strong-team"
    assert stored.loc[second, "decided_by"] == "ana"

    plain = _tactics("classify", str(ROOT / "data" / "tasks.csv"), "--plan", PLAN, "--out",
                     str(tmp_path / "plain.csv"), "-q")
    assert plain.exit_code == 0 and "decided_by" not in pd.read_csv(tmp_path / "plain.csv")


def test_a_queue_file_of_a_run_set_aside_since_is_still_recorded(db, tmp_path):
    table = _queue(db, tmp_path / "queue.csv", "--limit", "2")
    table["decision"] = "none"
    table.to_csv(tmp_path / "filled.csv", index=False)
    with Store(db) as store:
        store.set_aside(1, "ana")  # nothing of a run set aside is lost, decisions included

    done = _tactics("decide", str(tmp_path / "filled.csv"), "--db", str(db), "--plan", PLAN,
                    "--reviewer", "ana")

    assert done.exit_code == 0, done.output
    assert "recorded 2 decisions by ana" in done.stderr
    with Store(db) as store:
        assert len(store.decisions(1)) == 2


def test_runs_lists_the_store_s_runs_newest_first(db, tmp_path):
    again = _tactics("classify", str(ROOT / "data" / "tasks.csv"), "--plan", PLAN, "--out",
                     str(tmp_path / "again.csv"), "--db", str(db), "-q")
    assert again.exit_code == 0, again.output

    done = _tactics("runs", "--db", str(db))

    assert done.exit_code == 0, done.output
    header, newest, oldest = done.stdout.splitlines()
    assert header.split() == ["run", "made", "(UTC)", "plan", "tasks", "aligned", "review",
                              "misaligned", "source"]
    assert newest.split()[0] == "#2" and oldest.split()[0] == "#1"
    with Store(db) as store:
        counts = store.run(1).status_counts
    assert oldest.split()[4:9] == ["108", str(counts["aligned"]), str(counts["review"]),
                                   str(counts["misaligned"]), "tasks.csv"]
    # classify's own line counts decisions in: three sets of figures for one run, unless said
    assert "the machine's own answers" in done.stderr
    other = _tactics("runs", "--db", str(db), "--plan-name", "other")
    assert other.exit_code == 0 and "no run of plan 'other'" in other.stderr
    with Store(db) as store:
        store.set_aside(1, "ana")
    after = _tactics("runs", "--db", str(db))
    assert [line.split()[0] for line in after.stdout.splitlines()[1:]] == ["#2"]
    assert "set aside (not listed; the app's Classify page brings them back): #1" in after.stderr


def test_the_llm_s_answers_kept_with_the_run_come_in_the_queue_file(db, tmp_path):
    plain = _queue(db, tmp_path / "plain.csv", "--limit", "3")
    assert "llm_strategy_id" not in plain.columns  # a run nobody asked the LLM about
    with Store(db) as store:
        run = store.latest_run()
        first = int(plain["task_id"].iloc[0].rsplit("task", 1)[1]) - 1
        store.keep_opinions(run.id, {first: ("none", "Office upkeep.")}, "maria")
    table = _queue(db, tmp_path / "queue.csv", "--limit", "3")
    assert list(table.columns[-3:]) == ["llm_strategy_id", "rationale", "decision"]
    assert table.loc[0, ["llm_strategy_id", "rationale"]].tolist() == ["none", "Office upkeep."]
    assert (table.loc[1:, "llm_strategy_id"] == "").all()
    table.loc[0, "decision"] = "none"
    table.to_csv(tmp_path / "queue.csv", index=False)
    done = _tactics("decide", str(tmp_path / "queue.csv"), "--db", str(db), "--plan", PLAN,
                    "--reviewer", "maria")
    assert done.exit_code == 0, done.output


def test_a_trackers_own_task_id_decision_and_why_do_not_break_the_round_trip(tmp_path):
    """An export with columns the queue file writes itself keeps them, renamed, and `decide`
    still maps every row to its task."""
    tasks = tmp_path / "export.csv"
    tasks.write_text("task_id,task,status,why,decision\n"
                     "1001,Hire a second-shift machinist,open,because,x\n"
                     "1002,Cut scrap on the stamping press,done,why not,y\n", encoding="utf-8")
    db = tmp_path / "tactics.db"
    done = _tactics("classify", str(tasks), "--plan", PLAN, "--out", str(tmp_path / "o.csv"),
                    "--db", str(db))
    assert done.exit_code == 0, done.output
    assert "kept 'task_id' as 'task_id (input)'" in done.stderr
    out = pd.read_csv(tmp_path / "o.csv", dtype=str)
    assert out["status (input)"].tolist() == ["open", "done"]
    assert set(out["status"]) <= {"aligned", "review", "misaligned"}
    queue = _queue(db, tmp_path / "queue.csv")
    assert queue["task_id"].str.startswith("run1-task").all()
    assert sorted(queue["task_id (input)"]) == ["1001", "1002"]
    queue.loc[0, "decision"] = "none"
    queue.to_csv(tmp_path / "filled.csv", index=False)
    done = _tactics("decide", str(tmp_path / "filled.csv"), "--db", str(db), "--plan", PLAN,
                    "--reviewer", "ana")
    assert done.exit_code == 0, done.output
    assert "recorded 1 decision by ana" in done.stderr


def _two_decision_columns(table: pd.DataFrame, folder: Path) -> Path:
    path = folder / "filled.csv"
    table = table.assign(decision="")
    table.insert(len(table.columns), "decision ", ["none"] + [""] * (len(table) - 1))
    table.to_csv(path, index=False)
    path.write_text(path.read_text(encoding="utf-8").replace(",decision \n", ",decision\n", 1),
                    encoding="utf-8")
    return path


def _formula_decision(table: pd.DataFrame, folder: Path) -> Path:
    path = folder / "filled.xlsx"
    table.assign(decision="").to_excel(path, sheet_name="Queue", index=False)
    book = openpyxl.load_workbook(path)
    sheet = book["Queue"]
    column = [cell.value for cell in sheet[1]].index("decision") + 1
    sheet.cell(row=3, column=column, value="=Strategies!A3")  # a program's, never computed
    book.save(path)
    return path


@pytest.mark.parametrize(("write", "message"), [
    (_two_decision_columns, "two columns named 'decision'; keep one (the one you filled)"),
    (_formula_decision, "row 3: the decision is a formula with no saved result "
                        "(=Strategies!A3); open and save the file in Excel"),
])
def test_decisions_that_cannot_be_read_refuse_the_file_and_are_never_written_over(
        db, tmp_path, write, message):
    """Read as empty, such a decision was counted as "left empty" and lost (and `queue --out`
    could write over it)."""
    path = write(_queue(db, tmp_path / "queue.csv", "--limit", "3"), tmp_path)

    done = _tactics("decide", str(path), "--db", str(db), "--plan", PLAN, "--reviewer", "ana")

    assert done.exit_code == 2
    last = done.stderr.strip().splitlines()[-1]  # after the reader's warning, if any
    assert last.startswith(f"error: {path}: ") and message in last
    with Store(db) as store:
        assert store.decisions().empty
    again = _tactics("queue", "--db", str(db), "--plan", PLAN, "--out", str(path))
    assert again.exit_code == 2 and "not recorded yet" in again.stderr


@pytest.mark.parametrize("command", [
    ("queue", "--db", "{db}"), ("report", "--db", "{db}"),
    ("classify", str(ROOT / "data" / "tasks.txt"), "-q"),
    ("classify", str(ROOT / "data" / "tasks.txt"), "--db", "{db}", "-q"),
])
def test_no_output_is_written_over_decisions_not_recorded_yet(db, tmp_path, command):
    out = tmp_path / "queue.csv"
    queue = _queue(db, out, "--limit", "3")
    queue.loc[0, "decision"] = "none"
    queue.to_csv(out, index=False)
    again = _tactics(*[part.format(db=db) for part in command], "--plan", PLAN, "--out", str(out))
    assert again.exit_code == 2
    [line] = again.stderr.strip().splitlines()
    assert f"{out}: holds 1 review decision not recorded yet" in line
    assert pd.read_csv(out, dtype=str, keep_default_na=False)["decision"].tolist()[0] == "none"
    with Store(db) as store:
        assert len(store.runs()) == 1  # nothing classified, nothing stored


def test_a_new_queue_may_replace_a_file_whose_decisions_are_recorded(db, tmp_path):
    out = tmp_path / "queue.csv"
    queue = _queue(db, out, "--limit", "3")
    queue.loc[0, "decision"] = "none"
    queue.to_csv(out, index=False)
    done = _tactics("decide", str(out), "--db", str(db), "--plan", PLAN, "--reviewer", "ana")
    assert done.exit_code == 0, done.output
    _queue(db, out)  # recorded: the next queue may take its place


def test_a_queue_workbook_is_read_from_its_queue_sheet_wherever_it_is(db, tmp_path):
    out = tmp_path / "queue.xlsx"
    _queue(db, out, "--limit", "3")
    book = openpyxl.load_workbook(out)
    book["Queue"].cell(row=2, column=book["Queue"].max_column).value = "none"
    notes = book.create_sheet("Notes", 0)  # a person's own sheet, put first
    notes.append(["Ask Maria about the press"])
    book.save(out)
    done = _tactics("decide", str(out), "--db", str(db), "--plan", PLAN, "--reviewer", "ana")
    assert done.exit_code == 0, done.output
    assert "recorded 1 decision by ana" in done.stderr


@pytest.mark.parametrize("extra", [(), ("--aligned",)])
def test_a_caught_up_queue_is_a_workbook_of_its_header(tmp_path, extra):
    tasks = tmp_path / "tasks.csv"
    tasks.write_text("task\nCall last quarter's one-time buyers about a service plan\n"
                     "Order toner for the printer\n")
    db = tmp_path / "tactics.db"
    assert _tactics("classify", str(tasks), "--plan", PLAN, "--out", str(tmp_path / "out.csv"),
                    "--db", str(db), "-q").exit_code == 0
    table = _queue(db, tmp_path / "all.csv")  # a new plan's round: both tasks
    table["decision"] = table["candidate_1"]
    table.to_csv(tmp_path / "all.csv", index=False)
    assert _tactics("decide", str(tmp_path / "all.csv"), "--db", str(db), "--plan", PLAN,
                    "--reviewer", "ana").exit_code == 0
    done = _tactics("queue", "--db", str(db), "--plan", PLAN, "--out",
                    str(tmp_path / "next.xlsx"), *extra)
    assert done.exit_code == 0, done.output
    assert "wrote 0 " in done.stderr
    table = pd.read_excel(tmp_path / "next.xlsx", sheet_name="Queue")
    assert table.empty and {"task_id", "decision"} <= set(table.columns)


def test_a_renamed_queue_sheet_behind_a_notes_sheet_is_found(db, tmp_path):
    out = tmp_path / "queue.xlsx"
    _queue(db, out, "--limit", "3")
    book = openpyxl.load_workbook(out)
    book["Queue"].cell(row=2, column=book["Queue"].max_column).value = "none"
    book["Queue"].title = "My review"
    notes = book.create_sheet("Notes", 0)
    notes.append(["Notes from Monday"])
    notes.append(["Ask Maria", "about the press"])
    book.save(out)
    done = _tactics("decide", str(out), "--db", str(db), "--plan", PLAN, "--reviewer", "ana")
    assert done.exit_code == 0, done.output
    assert "recorded 1 decision by ana" in done.stderr
    assert "--sheet" not in done.stderr  # `decide` has no such option to follow


def test_a_workbook_with_two_queue_sheets_or_none_is_refused_naming_its_sheets(db, tmp_path):
    out = tmp_path / "queue.xlsx"
    _queue(db, out, "--limit", "3")
    book = openpyxl.load_workbook(out)
    book["Queue"].title = "Mine"
    copy = book.copy_worksheet(book["Mine"])
    copy.title = "Yours"
    book.save(out)
    done = _tactics("decide", str(out), "--db", str(db), "--plan", PLAN, "--reviewer", "ana")
    assert done.exit_code == 2
    assert done.stderr.strip().endswith("sheets 'Mine', 'Yours' all hold task_id and decision "
                                        "columns; name the one you filled 'Queue'")
    del book["Yours"], book["Mine"]
    book.create_sheet("Notes").append(["Ask Maria about the press"])
    book.save(out)
    done = _tactics("decide", str(out), "--db", str(db), "--plan", PLAN, "--reviewer", "ana")
    assert done.exit_code == 2 and "--sheet" not in done.stderr  # decide has no such option
    assert "no sheet holds the task_id and decision columns" in done.stderr


def test_a_queue_saved_as_unicode_text_is_refused_saying_what_to_save(db, tmp_path):
    table = _queue(db, tmp_path / "queue.csv", "--limit", "2")
    table.loc[0, "decision"] = "none"
    saved = tmp_path / "queue.txt"  # Excel's "Unicode Text": UTF-16, tabs
    saved.write_bytes(table.to_csv(sep="\t", index=False).encode("utf-16"))
    done = _tactics("decide", str(saved), "--db", str(db), "--plan", PLAN, "--reviewer", "ana")
    assert done.exit_code == 2
    assert "a queue file is the .csv or .xlsx `tactics queue` wrote" in done.stderr


def test_a_task_too_long_for_an_excel_cell_is_said_to_be_cut_in_queue_and_report(tmp_path):
    long = "Draft the supplier handbook section " * 1_000  # 36,000 characters
    tasks = tmp_path / "t.csv"
    pd.DataFrame({"task": [long, "Call the customers"]}).to_csv(tasks, index=False)
    db = tmp_path / "tactics.db"
    done = _tactics("classify", str(tasks), "--plan", PLAN, "--out", str(tmp_path / "out.csv"),
                    "--db", str(db), "-q")
    assert done.exit_code == 0, done.output
    for command, out in (("queue", tmp_path / "queue.xlsx"), ("report", tmp_path / "week.xlsx")):
        done = _tactics(command, "--db", str(db), "--plan", PLAN, "--out", str(out))
        assert done.exit_code == 0, done.output
        assert "32,767 characters" in done.stderr and str(out) in done.stderr
        sheet = openpyxl.load_workbook(out).worksheets[0]
        texts = [cell.value for row in sheet.iter_rows() for cell in row
                 if isinstance(cell.value, str) and cell.value.startswith("Draft")]
        assert texts and all(len(text) == 32_767 and text.endswith("…") for text in texts)


def test_a_strategy_added_to_the_plan_after_the_run_is_explained(db, tmp_path):
    newer = tmp_path / "plan.yaml"
    newer.write_text(Path(PLAN).read_text(encoding="utf-8")
                     + "  - id: hiring\n    name: Hire the warehouse team\n", encoding="utf-8")
    table = _queue(db, tmp_path / "queue.csv", "--limit", "2")
    table.assign(decision=["none", "hiring"]).to_csv(tmp_path / "filled.csv", index=False)

    done = _tactics("decide", str(tmp_path / "filled.csv"), "--db", str(db), "--plan",
                    str(newer), "--reviewer", "ana")

    assert done.exit_code == 2
    [line] = done.stderr.strip().splitlines()
    assert "row 3: decision 'hiring' is a strategy of the plan file, but run #1" in line
    assert "classify again" in line
    with Store(db) as store:
        assert store.decisions().empty


def test_a_strategy_deleted_from_the_plan_since_the_run_is_refused(db, tmp_path):
    # As the Review page refuses it: a decision on it would be void at once.
    table = _queue(db, tmp_path / "queue.csv", "--limit", "2")
    with Store(db) as store:
        version, plan = store.latest_plan()
        kept = [s for s in plan.strategies if s.id != "brand-awareness"]
        store.save_plan(plan.model_copy(update={"strategies": kept}))
    table.assign(decision=["none", "brand-awareness"]).to_csv(tmp_path / "filled.csv",
                                                              index=False)

    done = _tactics("decide", str(tmp_path / "filled.csv"), "--db", str(db), "--plan", PLAN,
                    "--reviewer", "ana")

    assert done.exit_code == 2, done.output
    [line] = done.stderr.strip().splitlines()
    assert "row 3: decision 'brand-awareness': the plan no longer has that strategy" in line
    with Store(db) as store:
        assert store.decisions().empty


def test_a_plan_file_other_than_the_runs_is_said_to_differ(db, tmp_path):
    newer = tmp_path / "plan.yaml"
    newer.write_text(Path(PLAN).read_text(encoding="utf-8")
                     + "  - id: hiring\n    name: Hire the warehouse team\n", encoding="utf-8")
    table = _queue(db, tmp_path / "queue.csv", "--limit", "1")
    table.assign(decision=["none"]).to_csv(tmp_path / "filled.csv", index=False)
    for command in (("queue", "--out", str(tmp_path / "next.csv")),
                    ("report", "--out", str(tmp_path / "week.html")),
                    ("decide", str(tmp_path / "filled.csv"), "--reviewer", "ana")):
        done = _tactics(*command, "--db", str(db), "--plan", str(newer))
        assert done.exit_code == 0, done.output
        assert f"{newer}: differs from the plan run #1 was classified against" in done.stderr


def test_a_trackers_own_decision_column_is_no_queue_file(tmp_path):
    # A tracker's export with columns of those names holds no review decision of ours.
    export = tmp_path / "export.csv"
    export.write_text("task_id,decision\n1001,approved\n", encoding="utf-8")
    assert unrecorded(export, None, "default") == 0
    export.write_text("task_id,decision\nrun1-task3,none\n", encoding="utf-8")
    assert unrecorded(export, None, "default") == 1


def test_a_file_of_last_weeks_run_does_not_undo_a_decision_on_this_weeks(db, tmp_path):
    """Monday's queue file (run #1), a new run, Ben deciding the same task on its Review page,
    then Ana's file: Ben's decision on the newer run was replaced without a word."""
    table = _queue(db, tmp_path / "queue.csv", "--limit", "1")
    assert _tactics("classify", str(ROOT / "data" / "tasks.csv"), "--plan", PLAN, "--out",
                    str(tmp_path / "out.csv"), "--db", str(db), "-q").exit_code == 0
    with Store(db) as store:
        newer = store.latest_run().id
        store.record_decision(newer, _row(table["task_id"].iloc[0]), "misaligned", None, "ben")
    table.assign(decision=[table["candidate_1"].iloc[0]]).to_csv(tmp_path / "filled.csv",
                                                                 index=False)

    done = _tactics("decide", str(tmp_path / "filled.csv"), "--db", str(db), "--plan", PLAN,
                    "--reviewer", "ana")

    assert done.exit_code == 0, done.output
    assert "1 decided otherwise by somebody else since the file was written" in done.stderr
    with Store(db) as store:
        [standing] = store.standing_by_text().values()
    assert standing.reviewer == "ben"
    # Nothing of the file is left unrecorded: a new queue may take its place.
    assert _tactics("queue", "--db", str(db), "--plan", PLAN, "--out",
                    str(tmp_path / "filled.csv")).exit_code == 0


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_the_tools_own_queue_of_odd_texts_is_read_back_as_its_tasks(tmp_path, suffix):
    """Tasks that begin with their own apostrophe, hold Word's soft line break (which a workbook
    cannot hold), or are a number Excel rewrites: the untouched queue was refused as sorted."""
    db = tmp_path / "tactics.db"
    tasks = ["'Tis the season: renewal reminders to customers", "0012",
             "Call dealers\x0babout end-cap displays", "Pitch widgets to Riverside Hardware"]
    pd.DataFrame({"task": tasks}).to_csv(tmp_path / "tasks.csv", index=False)
    assert _tactics("classify", str(tmp_path / "tasks.csv"), "--plan", PLAN, "--out",
                    str(tmp_path / "out.csv"), "--db", str(db), "-q").exit_code == 0
    table = _queue(db, tmp_path / f"queue{suffix}")
    table["decision"] = "none"
    if suffix == ".csv":
        table["task"] = table["task"].replace({"0012": "12"})  # as Excel saves it
        table.to_csv(tmp_path / "filled.csv", index=False)
    else:
        table.to_excel(tmp_path / "filled.xlsx", index=False, sheet_name="Queue")

    done = _tactics("decide", str(tmp_path / f"filled{suffix}"), "--db", str(db), "--plan",
                    PLAN, "--reviewer", "ana")

    assert done.exit_code == 0, done.output
    assert f"recorded {len(tasks)} decisions by ana" in done.stderr


def test_a_colleague_s_decision_the_plan_no_longer_allows_is_replaced_and_said(tmp_path):
    """Ben's decision names a strategy deleted since: the next run deals the task again ("decide
    again"), but ana's answer in the file was refused as "decided otherwise by somebody else
    since the file was written, which stands", and the task stayed undecided."""
    from classifier.plan import dump_plan

    db, tasks = tmp_path / "tactics.db", tmp_path / "tasks.txt"
    tasks.write_text("Pitch our widgets to the Northgate hardware store\n"
                     "Order toner for the printer\n", encoding="utf-8")
    assert _tactics("classify", str(tasks), "--plan", PLAN, "--out", str(tmp_path / "1.csv"),
                    "--db", str(db), "-q").exit_code == 0
    plan = load_plan(PLAN)
    with Store(db) as store:
        gone = store.run_results(1)["strategy_id"].iloc[0]
        store.record_decision(1, 0, "reassign", gone, "Ben")
    smaller = tmp_path / "plan.yaml"
    smaller.write_text(dump_plan(plan.model_copy(update={"strategies": [
        s for s in plan.strategies if s.id != gone]}), "yaml"), encoding="utf-8")
    assert _tactics("classify", str(tasks), "--plan", str(smaller), "--out",
                    str(tmp_path / "2.csv"), "--db", str(db), "-q").exit_code == 0
    done = _tactics("queue", "--db", str(db), "--plan", str(smaller), "--out",
                    str(tmp_path / "queue.csv"))
    table = pd.read_csv(tmp_path / "queue.csv", dtype=str, keep_default_na=False)
    table = table[table["task_id"] == "run2-task1"].assign(decision="strong-team")
    table.to_csv(tmp_path / "filled.csv", index=False)

    done = _tactics("decide", str(tmp_path / "filled.csv"), "--db", str(db), "--plan",
                    str(smaller), "--reviewer", "ana")

    assert done.exit_code == 0, done.output
    assert ("recorded 1 decision by ana: 0 confirmed, 1 reassigned, 0 serving no strategy; 1 of "
            "them replaces a colleague's decision on a strategy the plan no longer has; 0 rows "
            "left empty") in done.stderr
    with Store(db) as store:
        decided = store.results_with_decisions(2).iloc[0]
    assert (decided["decided_by"], decided["final_strategy_id"]) == ("ana", "strong-team")


def test_a_decided_task_s_evidence_names_the_decision_not_its_own_text(tmp_path):
    """The next run matches a decided task to the example its decision taught, its own text:
    `evidence` repeated the task, in classify's output and the report alike."""
    from datetime import UTC

    db, tasks = tmp_path / "tactics.db", tmp_path / "tasks.txt"
    tasks.write_text("Pitch our widgets to the Northgate hardware store\n"
                     "Recalibrate torque station 3 on line B\n", encoding="utf-8")
    assert _tactics("classify", str(tasks), "--plan", PLAN, "--out", str(tmp_path / "1.csv"),
                    "--db", str(db), "-q").exit_code == 0
    with Store(db) as store:
        made = [store.record_decision(1, 0, "confirm", None, "Ana"),
                store.record_decision(1, 1, "reassign", "operational-excellence", "Ben")]
    said = [f"decided by {d.reviewer}, {d.decided_at.astimezone(UTC):%Y-%m-%d}" for d in made]

    assert _tactics("classify", str(tasks), "--plan", PLAN, "--out", str(tmp_path / "2.csv"),
                    "--db", str(db), "-q").exit_code == 0
    assert _tactics("report", "--db", str(db), "--plan", PLAN, "--out",
                    str(tmp_path / "report.csv")).exit_code == 0

    written = pd.read_csv(tmp_path / "2.csv", dtype=str, keep_default_na=False)
    assert written["evidence"].tolist() == said
    report = pd.read_csv(tmp_path / "report.csv", dtype=str, keep_default_na=False)
    assert report["evidence"].tolist() == said
