"""The Classifier with the real model: results per task, blank rows, and file runs."""

from __future__ import annotations

import pandas as pd
import pytest

from classifier.model.engine import Classifier
from classifier.pipeline import classify_file
from classifier.plan import Thresholds, plan_from_dict
from classifier.results import RESULT_COLUMNS, Status, TaskResult

TASKS = [
    "Call the 12 customers whose service plans expire this month",
    "Pitch our widget line to the buyer at Northgate Home Center",
    "Post the job opening for a night-shift welder",
]


def test_clear_tasks_find_their_strategy(classifier):
    results = classifier.classify(TASKS)
    assert [r.strategy_id for r in results] == ["recurring-revenue", "retail-channel",
                                                "strong-team"]
    for result in results:
        assert isinstance(result, TaskResult)
        assert result.status in {s.value for s in Status} - {Status.EMPTY.value}
        assert result.runner_up_id not in (None, result.strategy_id)
        assert result.score >= result.runner_up_score
        assert result.evidence in classifier.texts
        assert [c.score for c in result.candidates] == sorted(
            (c.score for c in result.candidates), reverse=True)


@pytest.mark.parametrize("blank", ["", "   ", "\t", "\n", None,
                                   # A tracker's placeholder for no task: no letter, no digit.
                                   "-", "—", ".", "...", "?", "*", "#", " - ", "–/–"])
def test_blank_task_is_empty_with_no_strategy(classifier, blank):
    results = classifier.classify([TASKS[0], blank, TASKS[1]])
    assert [r.status == Status.EMPTY.value for r in results] == [False, True, False]
    empty = results[1]
    assert (empty.strategy_id, empty.score, empty.runner_up_id, empty.evidence) == (
        None, None, None, None)


def test_only_a_cell_with_no_letter_and_no_digit_is_a_placeholder(classifier):
    texts = ["-", "5 * 3", "...", "C#", "#", "#42 fix login", "n/a", "?!x", "٣", "—"]
    results = classifier.classify(texts)
    assert [text for text, r in zip(texts, results, strict=True)
            if r.status == Status.EMPTY.value] == ["-", "...", "#", "—"]


def test_a_placeholder_row_of_a_labeled_file_is_not_scored(classifier):
    from classifier.model.evaluation import score_labeled

    scored = score_labeled(classifier, [TASKS[0], "-", TASKS[2]],
                           ["recurring-revenue", "strong-team", "strong-team"])
    assert scored.gold == ["recurring-revenue", "strong-team"]


def test_no_tasks_gives_no_results(classifier):
    assert classifier.classify([]) == []


def test_same_text_same_result_in_any_batch(classifier):
    alone = classifier.classify([TASKS[2]])[0]
    among = classifier.classify(TASKS + [""])[2]
    assert (alone.strategy_id, alone.score) == (among.strategy_id, among.score)


def test_classify_frame_keeps_columns_and_order(classifier):
    frame = pd.DataFrame({"owner": ["Ann", "Bo", "Cy", "Di"], "task": TASKS + [" "],
                          "hours": ["007", "1e5", "NA", ""]}, dtype=object)
    out = classifier.classify_frame(frame, "task")
    assert list(out.columns) == ["owner", "task", "hours"] + RESULT_COLUMNS
    assert out[["owner", "task", "hours"]].equals(frame)
    assert out["status"].iloc[3] == "empty"
    assert out["strategy_id"].iloc[3] == ""


def test_rerun_replaces_old_result_columns(classifier):
    frame = pd.DataFrame({"task": TASKS}, dtype=object)
    once = classifier.classify_frame(frame, "task")
    twice = classifier.classify_frame(once, "task")
    assert list(twice.columns) == list(once.columns)
    assert twice["strategy_id"].tolist() == once["strategy_id"].tolist()


def test_one_strategy_plan_has_no_runner_up(embedder):
    plan = plan_from_dict({"strategies": [{"id": "only", "name": "Grow recurring revenue"}]})
    result = Classifier(plan, embedder).classify(["Call customers about renewals"])[0]
    assert result.strategy_id == "only"
    assert result.runner_up_id is None


def test_thresholds_decide_the_status(sample_plan, embedder):
    everything = Thresholds(aligned=-1.0, misaligned=-1.0, margin=0.0)
    nothing = Thresholds(aligned=1.0, misaligned=1.0, margin=0.0)
    assert {r.status for r in Classifier(sample_plan, embedder, everything).classify(TASKS)} == {
        "aligned"}
    assert {r.status for r in Classifier(sample_plan, embedder, nothing).classify(TASKS)} == {
        "misaligned"}


def test_classify_file_one_row_per_input_row_in_order(classifier, tmp_path):
    tasks = tmp_path / "tasks.csv"
    rows = [f"{text},{n:03d}" for n, text in enumerate(TASKS * 5)]
    rows.insert(3, ",blank")
    tasks.write_text("task,code\n" + "\n".join(rows) + "\n")
    out = tmp_path / "new" / "out.csv"
    summary = classify_file(classifier, tasks, out, chunk_rows=4)
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert summary.rows == len(written) == 16
    assert list(written.columns) == ["task", "code"] + RESULT_COLUMNS
    assert written["code"].tolist()[:4] == ["000", "001", "002", "blank"]
    assert written["status"].tolist().count("empty") == summary.status_counts["empty"] == 1
    assert not list(out.parent.glob(".*partial"))


def test_a_task_about_one_phrase_of_a_description_shows_that_phrase_as_evidence(embedder):
    plan = plan_from_dict({"strategies": [
        {"id": "food", "name": "Zero hunger",
         "description": "End hunger, achieve food security and promote sustainable agriculture"},
        {"id": "water", "name": "Clean water",
         "description": "Safe drinking water for every village, sanitation in every school"},
    ]})
    [result] = Classifier(plan, embedder).classify(["Train farmers in sustainable agriculture"])
    assert (result.strategy_id, result.evidence) == ("food", "promote sustainable agriculture")


def test_a_strategy_described_as_a_list_is_met_through_any_of_its_items(embedder):
    # CLINC150's domains, described as their intents: "lost my phone" is "find phone" of
    # utility, which the whole list (or the name) does not make clear.
    plan = plan_from_dict({"strategies": [
        {"id": "utility", "name": "utility", "description": "weather, alarm, date, find phone, "
         "share location, timer, make call, calculator, definition, measurement conversion, "
         "flip coin, spelling, time, roll dice, text"},
        {"id": "banking", "name": "banking", "description": "freeze account, routing, pin "
         "change, bill due, pay bill, account blocked, interest rate, min payment, bill "
         "balance, transfer, order checks, balance, spending history, transactions, report "
         "fraud"},
        {"id": "work", "name": "work", "description": "pto request status, next holiday, "
         "insurance change, insurance, meeting schedule, payday, taxes, income, rollover 401k, "
         "pto balance, pto request, w2, schedule meeting, direct deposit, pto used"}]})
    tasks = ["i have lost my phone", "what does idiosyncratic mean", "tell me what time it is"]
    found = [r.strategy_id for r in Classifier(plan, embedder).classify(tasks)]
    assert found == ["utility"] * 3
