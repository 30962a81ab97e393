"""The review queue: which doubtful tasks come first, and the reason shown for each."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from classifier import review
from classifier.model.learned import Learned
from classifier.plan import Thresholds
from classifier.review import (
    deal,
    describe_rescore,
    learned_view,
    moved_tasks,
    recent_decisions,
    review_queue,
    spot_check,
    teach_in_due,
    teach_in_goal,
    teach_in_over,
    teach_in_rests,
)

THRESHOLDS = Thresholds(aligned=0.55, misaligned=0.40, margin=0.03)


def _results(rows: list[tuple[str, str, float, str, float, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["task", "strategy_id", "score", "runner_up_id",
                                       "runner_up_score", "status"])


RESULTS = _results([
    ("a1 weak", "a", 0.50, "b", 0.30, "review"),
    ("a2 far", "a", 0.21, "b", 0.10, "misaligned"),
    ("a3 sure", "a", 0.80, "b", 0.30, "aligned"),
    ("b1 close", "b", 0.48, "a", 0.46, "review"),
    ("b2 far", "b", 0.30, "c", 0.20, "misaligned"),
    ("c1 weak", "c", 0.45, "a", 0.30, "review"),
    ("blank", "", np.nan, "", np.nan, "empty"),
])


def test_queue_holds_only_doubtful_tasks_and_keeps_the_index():
    queue = review_queue(RESULTS, THRESHOLDS)
    assert set(queue["task"]) == {"a1 weak", "a2 far", "b1 close", "b2 far", "c1 weak"}
    assert list(queue["queue_rank"]) == [1, 2, 3, 4, 5]
    assert all(RESULTS.loc[i, "task"] == t for i, t in zip(queue.index, queue["task"], strict=False))


def test_every_strategy_gets_a_turn_before_any_gets_a_second():
    queue = review_queue(RESULTS, THRESHOLDS)
    first_round = list(queue["strategy_id"][:3])
    assert sorted(first_round) == ["a", "b", "c"]
    # Within a round, the task most likely to serve no strategy comes first.
    assert list(queue["score"][:3]) == sorted(queue["score"][:3])


def test_strategies_with_fewer_learned_examples_come_first():
    learned = Learned.from_labels(["x", "y", "z"], ["a", "a", "b"])
    queue = review_queue(RESULTS, THRESHOLDS, learned=learned)
    assert list(queue["strategy_id"][:3]) == ["c", "b", "a"]


@pytest.mark.parametrize("task,reason", [
    ("a2 far", "score 0.21: far from every strategy"),
    ("b1 close", "two strategies too close: 0.48 vs 0.46"),
    ("c1 weak", "score 0.45: weak match to c"),
    ("a3 sure", "score 0.80: aligned with a (a spot check)"),
])
def test_reasons_say_why(task, reason):
    queue = review_queue(RESULTS, THRESHOLDS, statuses=("review", "misaligned", "aligned"))
    assert queue.set_index("task").loc[task, "queue_reason"] == reason


def test_reasons_name_the_strategy_where_the_results_carry_its_name():
    named = RESULTS.assign(strategy=RESULTS["strategy_id"].map(
        {"a": "Grow recurring revenue", "b": "Win retail", "c": "Hire well"}))
    queue = review_queue(named, THRESHOLDS, statuses=("review", "aligned")).set_index("task")
    assert queue.loc["c1 weak", "queue_reason"] == "score 0.45: weak match to Hire well"
    assert queue.loc["a3 sure", "queue_reason"] == (
        "score 0.80: aligned with Grow recurring revenue (a spot check)")


def test_the_spot_check_deals_aligned_tasks_least_sure_first():
    more = pd.concat([RESULTS, _results([("a4 surer", "a", 0.90, "b", 0.20, "aligned"),
                                         ("b3 sure", "b", 0.70, "a", 0.60, "aligned")])],
                     ignore_index=True)
    check = spot_check(more, THRESHOLDS)
    assert (check["status"] == "aligned").all()
    # each strategy's least sure first, lowest score first within a round
    assert check["task"].tolist() == ["b3 sure", "a3 sure", "a4 surer"]


def test_decided_tasks_leave_the_queue():
    queue = review_queue(RESULTS, THRESHOLDS, exclude_texts=[" b1 close", "a2 far"],
                         text_column="task")
    assert set(queue["task"]) == {"a1 weak", "b2 far", "c1 weak"}


@pytest.mark.parametrize("statuses", [("aligned",), ("empty",)])
def test_other_statuses_on_request(statuses):
    queue = review_queue(RESULTS, THRESHOLDS, statuses=statuses)
    assert set(queue["status"]) == set(statuses)


def test_empty_queue_has_the_columns():
    queue = review_queue(RESULTS[RESULTS["status"] == "aligned"], THRESHOLDS)
    assert queue.empty
    assert {"queue_rank", "queue_reason"} <= set(queue.columns)


def test_queue_over_a_real_run(classifier):
    frame = pd.DataFrame({"task": ["Clean out the break room fridge",
                                   "Call last quarter's one-time buyers about a service plan",
                                   "Organize the company bowling night"]})
    results = classifier.classify_frame(frame, "task")
    queue = review_queue(results, classifier.thresholds)
    assert "Call last quarter's one-time buyers about a service plan" not in set(queue["task"])
    assert queue["queue_reason"].str.len().gt(0).all()


DECIDED = pd.date_range("2026-03-02 09:00", periods=25, freq="min", tz="UTC")


@pytest.mark.parametrize(("decisions", "run_made", "over"), [
    (19, "2026-03-02 12:00", False),  # the round is not finished
    (20, "2026-03-02 12:00", True),  # finished, and the run knows every decision
    (20, "2026-03-02 09:19", False),  # finished, but the run was made before the 20th
    (25, "2026-03-02 09:21", True),  # later decisions are the queue's, not the round's
    (0, "2026-03-02 12:00", False),
])
def test_the_teach_in_is_over_once_a_run_knows_its_twenty_decisions(decisions, run_made, over):
    made = pd.Timestamp(run_made, tz="UTC").to_pydatetime()
    shuffled = list(DECIDED[:decisions])[::-1]  # in whatever order the store returns them
    assert teach_in_over(shuffled, made) is over


@pytest.mark.parametrize(("decisions", "skipped", "due"), [
    (0, False, True), (19, False, True), (20, False, False), (0, True, False)])
def test_the_teach_in_is_due_until_twenty_decisions_or_a_skip(decisions, skipped, due):
    assert teach_in_due(list(DECIDED[:decisions]), skipped) is due


def _run(statuses: list[str], strategies: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame({"status": statuses, "final_status": statuses,
                         "final_strategy_id": pd.Series(strategies, dtype=object)})


@pytest.mark.parametrize(("after", "said"), [
    (_run(["aligned", "review", "misaligned"], ["a", "b", None]),
     "No task changed status or strategy."),
    (_run(["aligned", "aligned", "aligned"], ["a", "b", "a"]),
     "1 task moved from review to aligned; 1 task moved from misaligned to aligned. "
     "Aligned: 33% of tasks as first classified, 100% now, your decisions included."),
    (_run(["aligned", "review", "misaligned"], ["a", "a", None]),
     "No task changed status; 1 task now points to another strategy."),
    (_run(["review", "review", "misaligned"], ["b", "a", None]),
     "1 task moved from aligned to review; 1 more task now points to another strategy. "
     "Aligned: 33% of tasks as first classified, 0% now, your decisions included."),
])
def test_a_rescore_says_what_moved_in_words(after, said):
    before = _run(["aligned", "review", "misaligned"], ["a", "b", None])
    assert describe_rescore(before, after) == said


def test_a_rescore_lists_the_tasks_it_moved_with_their_answers_before_and_now():
    # "2 tasks now point to another strategy" left no way to find them.
    before = _run(["aligned", "review", "misaligned", "aligned"], ["a", "b", None, "a"])
    after = _run(["review", "review", "aligned", "aligned"], ["b", "a", "a", "a"])
    for frame in (before, after):
        frame["task"] = ["Call", "Pitch", "Tidy", "Renew"]
    moved = moved_tasks(before, after, "task", {"a": "Grow revenue", "b": "Win retail"})
    assert moved.to_dict("records") == [
        {"task": "Call", "before": "aligned: Grow revenue", "now": "review: Win retail"},
        {"task": "Pitch", "before": "review: Win retail", "now": "review: Grow revenue"},
        {"task": "Tidy", "before": "misaligned", "now": "aligned: Grow revenue"}]


def test_a_rescore_counts_the_first_answers_against_the_decisions_now():
    # Before the re-score the reviewer had confirmed two doubtful tasks: the machine first said
    # review for them; with the decisions they are aligned, in the old run and the new alike.
    before = _run(["aligned", "review", "review", "misaligned"], ["a", "b", "a", None])
    before["final_status"] = ["aligned", "aligned", "aligned", "misaligned"]
    after = before.copy()
    assert describe_rescore(before, after) == (
        "No task changed status or strategy. Aligned: 25% of tasks as first classified, 75% now, "
        "your decisions included.")


def test_a_rescore_gives_shares_of_the_tasks_leaving_blank_rows_out():
    before = _run(["aligned", "review", "empty"], ["a", "b", None])
    after = _run(["aligned", "aligned", "empty"], ["a", "b", None])
    assert describe_rescore(before, after).endswith(
        "Aligned: 50% of tasks as first classified, 100% now, your decisions included.")


def test_deal_leaves_decided_out_and_skipped_last_and_counts_the_whole_queue():
    results = pd.DataFrame({
        "row": [0, 1, 2, 3], "task": ["a", "b", "c", "d"],
        "status": ["review", "misaligned", "review", "aligned"],
        "score": [0.30, 0.10, 0.32, 0.60], "strategy_id": ["x", "y", "z", "x"],
        "runner_up_id": ["y", "x", "x", "y"], "runner_up_score": [0.29, 0.05, 0.20, 0.30]})
    dealt, size = deal(results, THRESHOLDS, decided=[1], skipped=[0])
    assert size == 3
    assert dealt["row"].tolist() == [2, 0]
    checked, size = deal(results, THRESHOLDS, aligned=True)
    assert (checked["row"].tolist(), size) == ([3], 1)


def test_recent_decisions_name_the_strategy_and_say_none_in_words():
    trail = pd.DataFrame({
        "decided_at": pd.to_datetime(["2026-03-02 09:00", "2026-03-02 09:01",
                                      "2026-03-02 09:02", "2026-03-02 09:03"], utc=True),
        "reviewer": ["ana"] * 4, "action": ["reassign", "misaligned", "skip", "undo"],
        "strategy_id": pd.Series(["team", None, None, None], dtype=object),
        "row": [4, 0, 2, 0], "text": ["Hire a welder", "Plan the party", "Tidy", "Plan the party"],
        "undone": [False, True, False, False]})

    recent = recent_decisions(trail, {"team": "Build a strong team"}, limit=3)

    assert recent["strategy"].tolist() == ["", "", "serves no strategy"]  # newest first
    assert recent["decision"].tolist() == ["undo", "skip", "serves no strategy"]  # as said
    assert recent["task #"].tolist() == [1, 3, 1]
    assert recent["when"].iloc[-1] == "2026-03-02 09:01"
    assert recent_decisions(trail, {"team": "Build a strong team"})["strategy"].iloc[-1] == (
        "Build a strong team")


def test_the_whole_trail_is_oldest_first_to_the_second_in_words():
    trail = pd.DataFrame({
        "decided_at": pd.to_datetime(["2026-03-02 09:00:05", "2026-03-02 09:00:41"], utc=True),
        "reviewer": ["ana", "ben"], "action": ["misaligned", "reassign"],
        "strategy_id": pd.Series([None, "team"], dtype=object),
        "row": [0, 0], "text": ["Plan the party", "Plan the party"], "undone": [True, False]})

    whole = review.decision_trail(trail, {"team": "Build a strong team"})

    assert whole["when (UTC)"].tolist() == ["2026-03-02 09:00:05", "2026-03-02 09:00:41"]
    assert whole["reviewer"].tolist() == ["ana", "ben"]  # who replaced whom, in order
    assert whole["decision"].tolist() == ["serves no strategy", "reassign"]
    assert whole["undone"].tolist() == ["undone", ""]


def test_the_whole_trail_as_a_workbook_has_times_excel_sorts_by():
    """The trail's only file was a CSV, commas only (one column in Excel with a decimal comma)
    and its times text; its workbook holds date-and-time cells (UTC, to the second)."""
    import datetime as dt
    import io

    import openpyxl

    trail = pd.DataFrame({
        "decided_at": pd.to_datetime(["2026-03-02 09:00:05.804", "2026-03-10 17:30:41.000"],
                                     utc=True),
        "reviewer": ["007", "=ben"], "action": ["misaligned", "reassign"],
        "strategy_id": pd.Series([None, "team"], dtype=object),
        "row": [0, 11], "text": ["Plan the party", "Plan the party"], "undone": [True, False]})

    book = openpyxl.load_workbook(io.BytesIO(
        review.decision_trail_xlsx(trail, {"team": "Build a strong team"})))

    [sheet] = book.worksheets
    rows = list(sheet.iter_rows())
    assert [cell.value for cell in rows[0]] == ["when (UTC)", "reviewer", "decision", "strategy",
                                               "task #", "task", "undone"]
    assert [[cell.value for cell in row] for row in rows[1:]] == [
        [dt.datetime(2026, 3, 2, 9, 0, 5), "007", "serves no strategy", "serves no strategy", 1,
         "Plan the party", "undone"],
        [dt.datetime(2026, 3, 10, 17, 30, 41), "=ben", "reassign", "Build a strong team", 12,
         "Plan the party", None]]
    assert all(row[0].is_date and row[0].number_format == "yyyy-mm-dd hh:mm:ss"
               for row in rows[1:])
    assert rows[2][1].data_type == "s"  # text, never a formula
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:G3"
    assert sheet.column_dimensions["A"].width >= 19  # the whole time shows


@pytest.mark.parametrize(("made", "undecided", "rests"), [
    ("2026-03-02 10:00", 0, True),   # re-scored after the last decision, nothing left
    ("2026-03-02 08:00", 0, False),  # the run does not know the decisions yet: re-score it
    ("2026-03-02 10:00", 4, False),  # tasks left to teach on this run
])
def test_a_short_rounds_teach_in_rests_once_its_run_knows_it_and_has_nothing_left(
        made, undecided, rests):
    decided_at = pd.to_datetime(["2026-03-02 09:00", "2026-03-02 09:05"], utc=True)
    assert teach_in_rests(decided_at, pd.Timestamp(made, tz="UTC"), undecided) is rests
    assert teach_in_rests([], pd.Timestamp(made, tz="UTC"), 0) is False


@pytest.mark.parametrize(("taught", "undecided", "goal"), [
    (0, 108, 20),  # a tracker's week: the round's twenty
    (0, 15, 15),  # a short list: what it holds, so the progress can end
    (12, 3, 15),  # part taught; three left to deal
    (15, 30, 20),  # taught on an earlier short list; the next run brings the rest
    (20, 0, 20),
    (0, 0, 1),
])
def test_the_round_asks_for_twenty_decisions_or_what_a_short_list_holds(taught, undecided,
                                                                         goal):
    assert teach_in_goal(taught, undecided) == goal


def test_what_was_learned_names_a_strategy_gone_from_the_plan():
    learned = pd.DataFrame({
        "text": ["Hire a welder", "Plan the party"], "strategy_id": ["old-team", None],
        "action": ["reassign", "misaligned"], "reviewer": ["ana", "bo"],
        "decided_at": pd.to_datetime(["2026-03-02 09:00", "2026-03-02 09:01"], utc=True),
        "removed": [False, True]}, index=[7, 9])
    view = learned_view(learned, {"team": "Build a strong team"})
    assert view["teaches"].tolist() == ["old-team (no longer in the plan)", "serves no strategy"]
    assert view["decision"].tolist() == ["reassign", "serves no strategy"]  # not "misaligned"
    assert view.index.tolist() == [7, 9] and view["hidden"].tolist() == [False, True]


def test_a_selection_picks_the_examples_as_drawn_not_as_read_again():
    # Drawn: decisions 4, 7, 9; rows 1 and 2 ticked; meanwhile decision 7 was undone, so the
    # list read at the click is 4, 9 (its row 1 is decision 9, and it has no row 2).
    shown = [(4, "Hire a welder"), (7, "Plan the party"), (9, "Call the dealers")]
    now = pd.DataFrame({"decision_id": [4, 9], "text": ["Hire a welder", "Call the dealers"]})
    assert review.picked_examples(shown, [1, 2], now) == ([9], ["Plan the party"])
    assert review.picked_examples(shown, [0, 5], now) == ([4], [])


def test_a_run_offers_only_the_strategies_its_plan_still_has():
    from classifier.plan import Plan, Strategy

    then = Plan(strategies=[Strategy(id="team", name="Build a strong team"),
                            Strategy(id="brand", name="Build the brand"),
                            Strategy(id="costs", name="Lower costs")])
    now = Plan(strategies=[Strategy(id="costs", name="Cut costs"),
                           Strategy(id="team", name="Build a strong team"),
                           Strategy(id="retail", name="Sell in stores")])
    assert review.strategies_kept(then, now) == ["team", "costs"]
    assert review.strategies_kept(then, then) == ["team", "brand", "costs"]


@pytest.mark.parametrize(("environ", "window"), [
    ({}, 0.4), ({"TACTICS_REVIEW_REPEAT_S": "0"}, 0.0), ({"TACTICS_REVIEW_REPEAT_S": "1.5"}, 1.5),
    ({"TACTICS_REVIEW_REPEAT_S": "soon"}, 0.4), ({"TACTICS_REVIEW_REPEAT_S": "-1"}, 0.4),
])
def test_the_repeat_window_comes_from_the_environment(environ, window):
    assert review.repeat_window(environ) == window


def test_a_decision_too_soon_after_the_last_is_a_repeat():
    assert review.is_repeat(10.0, 10.2, 0.4)
    assert not review.is_repeat(10.0, 10.5, 0.4)
    assert not review.is_repeat(None, 10.0, 0.4)
    assert not review.is_repeat(10.0, 10.1, 0.0)
