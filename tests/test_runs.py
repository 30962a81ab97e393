"""Runs in the store: classify into a run, stale after a plan edit, re-run, download frame."""

from __future__ import annotations

import pandas as pd
import pytest

from classifier.errors import TasksError
from classifier.pipeline import classify_into_store, input_frame, is_stale, plan_replaced, rerun
from classifier.report.run_report import run_report
from classifier.report.sheets import results_table
from classifier.store import Store

TASKS = pd.DataFrame({
    "task": ["Call customers whose service plan expires this month", "",
             "Reorganize shared drive folder colors"],
    "owner": ["Ann", "Bo", "Cy"],
}, dtype=object)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "tactics.db") as opened:
        yield opened


@pytest.fixture
def run(store, sample_plan, classifier):
    version = store.save_plan(sample_plan)
    run_id = classify_into_store(store, classifier, version, TASKS, "task", "pasted")
    return store.run(run_id)


def test_a_run_keeps_input_columns_and_top_candidates(store, run):
    results = store.run_results(run.id)
    assert results["owner"].tolist() == ["Ann", "Bo", "Cy"]
    assert results["status"].tolist()[1] == "empty"
    first = results["candidates"].iloc[0]
    assert len(first) == 3 and first[0]["strategy_id"] == "recurring-revenue"
    assert first[0]["score"] >= first[1]["score"] >= first[2]["score"]
    assert results["candidates"].iloc[1] == []
    assert input_frame(store, run).to_dict("list") == TASKS.to_dict("list")


def test_a_placeholder_task_is_stored_empty_and_kept_out_of_review(store, sample_plan,
                                                                    classifier):
    # Planner's "-" in a Task Name cell went to review, and took a place in the teach-in.
    from classifier.review import deal

    tasks = pd.DataFrame({"task": ["Order toner", "-", "—"]}, dtype=object)
    run_id = classify_into_store(store, classifier, store.save_plan(sample_plan), tasks, "task",
                                 "pasted")
    results = store.run_results(run_id)
    assert results["status"].tolist()[1:] == ["empty", "empty"]
    assert results["strategy_id"].tolist()[1:] == ["", ""]
    queue, _ = deal(results, aligned=False)
    assert not set(queue["task"]) & {"-", "—"}


def test_missing_text_column_is_named(store, sample_plan, classifier):
    with pytest.raises(TasksError, match="no column 'title'"):
        classify_into_store(store, classifier, store.save_plan(sample_plan), TASKS, "title", "x")


@pytest.mark.parametrize(("change", "stale"), [
    (lambda plan: plan.model_copy(update={"vision": "Another vision"}), False),
    (lambda plan: plan.model_copy(update={"strategies": plan.strategies[1:]}), True),
    (lambda plan: plan.model_copy(update={"strategies": [
        plan.strategies[0].model_copy(update={"description": "Renewals only"}),
        *plan.strategies[1:]]}), True),
])
def test_only_strategy_edits_make_a_run_stale(store, run, sample_plan, change, stale):
    assert not is_stale(store, run)
    store.save_plan(change(sample_plan))
    assert is_stale(store, run) is stale


def test_a_plan_that_keeps_no_strategy_of_the_run_replaced_it(store, run, sample_plan):
    from classifier.plan import Plan, Strategy

    store.save_plan(sample_plan.model_copy(update={"strategies": sample_plan.strategies[1:]}))
    assert is_stale(store, run) and not plan_replaced(store, run)  # an edit: some kept
    store.save_plan(Plan(vision="", strategies=[Strategy(id="first-contact",
                                                         name="Resolve issues on first contact")]))
    assert is_stale(store, run) and plan_replaced(store, run)


def test_rerun_classifies_the_same_tasks_with_the_new_plan(store, run, sample_plan, embedder):
    from classifier.model.engine import Classifier

    smaller = sample_plan.model_copy(update={"strategies": sample_plan.strategies[1:]})
    version = store.save_plan(smaller)
    new_id = rerun(store, Classifier(smaller, embedder), version, run)
    again = store.run(new_id)
    assert not is_stale(store, again) and again.plan_version == version
    results = store.run_results(new_id)
    assert results["owner"].tolist() == ["Ann", "Bo", "Cy"]
    assert "recurring-revenue" not in set(results["strategy_id"].dropna())


def test_download_frame_applies_decisions_and_names_who_decided(store, run):
    store.record_decision(run.id, 2, "reassign", "strong-team", "ann")
    frame = results_table(store.results_with_decisions(run.id), run.columns)
    assert list(frame.columns[:2]) == ["task", "owner"]
    decided = frame.iloc[2]
    assert (decided["strategy_id"], decided["strategy"], decided["status"]) == (
        "strong-team", "Build a strong team", "aligned")
    assert (decided["decision"], decided["decided_by"]) == ("reassign", "ann")
    assert decided["machine_strategy_id"] != "strong-team"
    # Not among the task's top candidates: no score or evidence of its own, and the runner-up is
    # the machine's best (before, the machine's figures: a negative "aligned" score).
    assert pd.isna(decided["score"]) and pd.isna(decided["evidence"])
    assert decided["runner_up_id"] == decided["machine_strategy_id"]
    untouched = frame.iloc[0]
    assert untouched["decided_by"] == "" and untouched["strategy_id"] == "recurring-revenue"


def test_a_strategy_a_person_chose_carries_its_own_figures(store, run):
    """The machine's second choice, chosen by a person: its score and evidence, and the
    machine's first as runner-up (before: the machine's figures, naming the chosen strategy
    as its own runner-up)."""
    first, second = store.run_results(run.id)["candidates"].iloc[0][:2]
    store.record_decision(run.id, 0, "reassign", second["strategy_id"], "ann")

    row = results_table(store.results_with_decisions(run.id), run.columns).iloc[0]

    assert (row["strategy_id"], row["score"], row["evidence"]) == (
        second["strategy_id"], second["score"], second["evidence"])
    assert (row["runner_up_id"], row["runner_up_score"]) == (first["strategy_id"], first["score"])
    assert run_report(store, run).summary.table["score"].iloc[0] == second["score"]


def test_a_run_set_aside_leaves_the_lists_but_nothing_of_it_is_lost(store, run, sample_plan,
                                                                    classifier):
    from classifier.access import Reviewer
    from classifier.errors import AccessError
    from classifier.report.trends import run_trends

    store.record_decision(run.id, 2, "reassign", "strong-team", "ann")
    week2 = TASKS.iloc[::-1].reset_index(drop=True)  # other work than week 1's: a period
    second = store.run(classify_into_store(store, classifier, run.plan_version, week2, "task",
                                           "week 2"))
    learned_before = store.learned_examples()
    with pytest.raises(AccessError):
        store.set_aside(second.id, Reviewer("viewer", may_decide=False))

    assert len(run_trends(store).periods) == 2
    store.set_aside(second.id, Reviewer("ann", may_decide=True))

    assert [r.id for r in store.runs()] == [run.id]
    assert store.latest_run().id == run.id
    assert len(run_trends(store).periods) == 1
    assert store.earlier_tasks(plan=sample_plan).runs == (run.id,)
    aside = store.set_aside_runs()
    assert [r.id for r in aside] == [second.id] and aside[0].set_aside_by == "ann"
    # Nothing of it is lost: read whole by id, what a run learned from it rebuilt, decisions.
    assert len(store.run_results(second.id)) == len(TASKS)
    assert store.earlier_tasks(runs=[second.id]).runs == (second.id,)
    pd.testing.assert_frame_equal(store.learned_examples(), learned_before)

    store.bring_back(second.id, "ann")
    assert [r.id for r in store.runs()] == [second.id, run.id] and not store.set_aside_runs()
    assert store.run(second.id).set_aside_by is None


def test_a_standing_decision_is_written_with_the_chosen_strategys_figures(classifier):
    """What classify --db (and Ray) write for a task a person reassigned: the chosen
    strategy's score and evidence, the machine's best as runner-up."""
    from datetime import UTC, datetime

    from classifier.model.engine import join_results
    from classifier.standing import with_decisions
    from classifier.store import Decision

    texts = ["Call customers whose service plan expires this month"]
    batch = classifier.classify_batch(texts)
    first, second = classifier.candidates(batch)[0][:2]
    frame = join_results(pd.DataFrame({"task": texts}), classifier.result_columns(batch))
    decision = Decision(1, 1, 0, "reassign", second.strategy_id, "ann", datetime.now(UTC),
                        first.strategy_id, "aligned", first.score, texts[0])

    row = with_decisions(frame, [decision], classifier, batch).iloc[0]

    assert row[["strategy_id", "strategy", "status", "decided_by"]].tolist() == [
        second.strategy_id, second.strategy, "aligned", "ann"]
    assert (row["score"], row["evidence"]) == (second.score, second.evidence)
    assert (row["runner_up_id"], row["runner_up_score"]) == (first.strategy_id, first.score)


def test_an_uploaded_boards_group_titles_and_repeated_headers_are_no_tasks(store, sample_plan,
                                                                           classifier):
    # The app's upload: a Monday.com board's groups each start with a title and the header.
    from classifier.files.uploads import read_upload

    board = (b"Widget Launch board,,\nThis week,,\nName,Person,Hours\n"
             b"Build a prototype of the compact widget,Aisha,5\n,,\nNext week,,\n"
             b"Name,Person,Hours\nWrite the launch plan for the heavy-duty widget,Aisha,3\n")
    frame, column = read_upload("board.csv", board, text_column=["Name"])
    run_id = classify_into_store(store, classifier, store.save_plan(sample_plan), frame,
                                 column, "board.csv")
    results = store.run_results(run_id)
    assert results["Name"].tolist() == ["Build a prototype of the compact widget", "",
                                        "Next week", "Name",
                                        "Write the launch plan for the heavy-duty widget"]
    assert [status == "empty" for status in results["status"]] == [False, True, True, True,
                                                                   False]
    again = store.run(rerun(store, classifier, store.run(run_id).plan_version, store.run(run_id)))
    assert store.run_results(again.id)["status"].tolist() == results["status"].tolist()


def test_placeholders_left_empty_are_said_by_their_row_in_the_run(store, sample_plan, classifier):
    # The app's paste and upload said nothing of them, where the command line warns.
    frame = pd.DataFrame({"task": ["Call customers whose service plan expires", "…", "",
                                   "\U0001f680", "-"], "owner": ["Ann", "Bo", "Cy", "Di", "Ed"]},
                         dtype=object)
    warnings: list[str] = []
    run_id = classify_into_store(store, classifier, store.save_plan(sample_plan), frame, "task",
                                 "pasted", warn=warnings.append)
    assert store.run_results(run_id)["status"].tolist()[1:] == ["empty"] * 4
    assert warnings == [f"Run #{run_id}: rows 2, 4, 5 hold no letter or digit (a placeholder "
                        f"such as '-'): status empty, as a blank row"]


def test_a_re_scored_runs_workbook_keeps_the_uploads_dates_as_dates(store, sample_plan,
                                                                     classifier):
    """An upload's date cells are dates in its report workbook; re-scored (Review page), the
    new run's were text again."""
    import datetime as dt
    import io

    import openpyxl

    frame = TASKS.assign(due=[dt.datetime(2026, 3, 2), None, dt.datetime(2026, 3, 4, 8, 15)])
    version = store.save_plan(sample_plan)
    first = store.run(classify_into_store(store, classifier, version, frame, "task", "w.xlsx"))
    again = store.run(rerun(store, classifier, version, first))
    for run in (first, again):
        sheet = openpyxl.load_workbook(io.BytesIO(run_report(store, run).xlsx()))["Results"]
        header = [cell.value for cell in sheet[1]]
        due = [row[header.index("due")] for row in sheet.iter_rows(min_row=2)]
        assert [cell.value for cell in due] == [dt.datetime(2026, 3, 2), None,
                                                dt.datetime(2026, 3, 4, 8, 15)], run.id
        assert due[0].is_date and due[2].is_date
