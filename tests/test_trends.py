"""Trends over a plan's runs and `tactics report` for all three formats, with hostile task text."""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from classifier.cli import app
from classifier.errors import OutputError
from classifier.model.decision import DEFAULT_THRESHOLDS
from classifier.plan import plan_from_dict
from classifier.report.html import trend_numbers
from classifier.report.run_report import refuse_foreign, run_report, write_report
from classifier.report.trends import (
    date_trends,
    describe_periods,
    find_date_column,
    no_year_column,
    run_trends,
)
from classifier.store import Store

ROOT = Path(__file__).resolve().parent.parent
PLAN_FILE = ROOT / "data" / "plan.yaml"
PLAN = plan_from_dict({"vision": "Best widgets", "strategies": [
    {"id": "revenue", "name": "Grow recurring revenue"},
    {"id": "retail", "name": "Win the retail channel"},
    {"id": "team", "name": "Build a strong team"}]})
HOSTILE = ['=HYPERLINK("http://x","y")', "<img src=x onerror=alert(1)>", "@SUM(A1:A9)",
           "+1 555 0100", "-2+3"]


def week(tasks: list[tuple[str, str, str, float]], due: str = "2026-03-02") -> pd.DataFrame:
    """A classified week: (task, status, strategy_id, hours) rows in the contract's shape."""
    return pd.DataFrame({
        "task": [t[0] for t in tasks], "effort_hours": [t[3] for t in tasks],
        "due": [due] * len(tasks),
        "strategy_id": [t[2] for t in tasks], "strategy": [t[2] for t in tasks],
        "score": [0.6] * len(tasks), "status": [t[1] for t in tasks],
        "runner_up_id": ["team"] * len(tasks), "runner_up_score": [0.1] * len(tasks),
        "evidence": ["e"] * len(tasks)})


WEEK1 = [("Call lapsed customers", "aligned", "revenue", 8.0),
         ("Pitch Riverside Hardware", "aligned", "retail", 4.0),
         ("Repaint the break room", "misaligned", "revenue", 4.0)]
WEEK2 = [("Call lapsed customers", "aligned", "revenue", 6.0),
         ("Repaint the break room", "misaligned", "revenue", 2.0),
         ("Alphabetize the bookshelf", "misaligned", "revenue", 2.0),
         ("Pitch Riverside Hardware", "review", "retail", 2.0)]


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "tactics.db") as db:
        version = db.save_plan(PLAN)
        for number, tasks in enumerate((WEEK1, WEEK2), start=1):
            db.create_run(version, week(tasks), "task", f"week {number}", "m", DEFAULT_THRESHOLDS)
        yield db


def test_trends_follow_the_runs_with_decisions_applied(store):
    first, second = (run.id for run in reversed(store.runs()))
    store.record_decision(second, 3, "confirm", None, "ana")  # the review task: aligned now

    trends = run_trends(store)

    assert trends.periods["tasks"].tolist() == [3, 4]
    assert trends.periods["aligned_effort"].round(3).tolist() == [0.75, 0.667]
    assert trends.periods["misaligned_effort"].round(3).tolist() == [0.25, 0.333]
    assert trends.periods["new_orphans"].tolist() == [0, 1]
    assert trends.new_orphans["task"].tolist() == ["Alphabetize the bookshelf"]
    # "team" got nothing in either run: neglected two runs in a row.
    assert trends.neglected[["strategy_id", "periods"]].values.tolist() == [["team", 2]]
    shares = trends.by_strategy.set_index(["period", "strategy_id"])["share"]
    assert shares.xs("revenue", level=1).round(3).tolist() == [0.5, 0.5]


def test_runs_without_effort_beside_runs_with_it_trend_in_shares_of_tasks(store):
    version = store.latest_run().plan_version
    # A list pasted in the app: no hours (week 1's tasks in another order: other work).
    pasted = week(WEEK1[::-1]).drop(columns=["effort_hours"])
    store.create_run(version, pasted, "task", "pasted", "m", DEFAULT_THRESHOLDS)

    trends = run_trends(store)

    assert not trends.shares_of_effort and trends.effort_column is None
    assert trends.share_column("aligned") == "aligned"
    assert trends.periods["aligned"].round(3).tolist() == [0.667, 0.25, 0.667]
    shares = trends.by_strategy.set_index(["period", "strategy_id"])["share"]
    # One task of three, of four, of three: not hours in two periods and tasks in one.
    assert shares.xs("revenue", level=1).round(3).tolist() == [0.333, 0.25, 0.333]


def test_a_blank_row_is_not_work_in_the_trend(store):
    version = store.latest_run().plan_version
    store.create_run(version, week(WEEK1 + [("", "empty", "", 4.0)]), "task", "w3", "m",
                     DEFAULT_THRESHOLDS)

    last = run_trends(store).periods.iloc[-1]

    assert last["tasks"] == 3  # as the Classify page counts them
    assert (last["aligned_effort"], last["misaligned_effort"]) == pytest.approx((0.75, 0.25))
    assert last[["aligned", "review", "misaligned"]].sum() == pytest.approx(1.0)


def test_runs_of_a_plan_that_was_replaced_outright_are_not_in_the_trend(store):
    other = plan_from_dict({"vision": "Fast invoicing", "strategies": [
        {"id": "mobile", "name": "Launch the mobile app"},
        {"id": "referrals", "name": "Grow through referrals"}]})
    version = store.save_plan(other)
    for number in (1, 2):
        store.create_run(version, week([(f"Ship beta {number}", "aligned", "mobile", 1.0)]),
                         "task", f"app week {number}", "m", DEFAULT_THRESHOLDS)

    trends = run_trends(store)

    assert trends.periods["tasks"].tolist() == [1, 1]
    assert set(trends.by_strategy["strategy_id"]) == {"mobile", "referrals"}
    # Keeping one strategy is a change of plan, not a new one: its runs stay in.
    kept = plan_from_dict({"vision": "Best widgets", "strategies": [
        {"id": "revenue", "name": "Grow recurring revenue"},
        {"id": "mobile", "name": "Launch the mobile app"}]})
    again = store.create_run(store.save_plan(kept), week(WEEK1), "task", "w", "m",
                             DEFAULT_THRESHOLDS)
    # (Week 1's tasks again: one period with week 1, the new run's figures in its place.)
    periods = run_trends(store).periods
    assert periods["tasks"].tolist() == [3, 4, 1, 1]
    assert periods["period"].iloc[0].startswith(f"#{again} ")


def test_the_same_tasks_again_are_one_period(store):
    """A re-score after the teach-in (or a list classified twice, or re-run after a plan edit)
    is not a week in which the team improved: the latest run stands for it (a re-run with an
    edited plan was a period of its own: four weeks read five)."""
    version = store.latest_run().plan_version
    rescored = [(task, "aligned", strategy, hours) for task, _, strategy, hours in WEEK2]
    again = store.create_run(version, week(rescored), "task", "week 2", "m", DEFAULT_THRESHOLDS)

    trends = run_trends(store)

    assert trends.periods["period"].str.split().str[0].tolist() == ["#1", f"#{again}"]
    assert trends.periods["aligned"].tolist() == [pytest.approx(2 / 3), 1.0]
    assert trends.repeats == [(2, again)]
    assert describe_periods(trends) == (
        "Runs of the same tasks (a re-score, a list classified twice, a re-run with the plan "
        "as edited since) count once, with the latest run's figures, in the place and under "
        f"the date of the first, when the tasks came in: run #2 by #{again}.")
    assert "run #2 by #3" in run_report(store, store.run(again)).html()  # the report says so
    assert run_trends(store, until=2).repeats == []  # run #2's own report: its own period
    edited = PLAN.model_copy(update={"strategies": PLAN.strategies[:2]})
    rerun = store.create_run(store.save_plan(edited), week(WEEK2), "task", "w", "m",
                             DEFAULT_THRESHOLDS)
    assert run_trends(store).periods["period"].str.split().str[0].tolist() == ["#1",
                                                                              f"#{rerun}"]


def test_an_older_list_re_scored_later_keeps_its_place_with_its_latest_figures(store):
    """List A (#1), list B (#2), B again (#3), then A re-scored (#4): A is still the first week,
    with #4's figures, and B's orphans are new against A's, not A's against B's (the re-scored
    A came last, "#3 → #4", and listed week one's tasks as new orphan work)."""
    version = store.latest_run().plan_version
    store.create_run(version, week(WEEK2), "task", "week 2 again", "m", DEFAULT_THRESHOLDS)
    rescored = [("Call lapsed customers", "aligned", "revenue", 8.0),
                ("Pitch Riverside Hardware", "misaligned", "retail", 4.0),
                ("Repaint the break room", "misaligned", "revenue", 4.0)]
    store.create_run(version, week(rescored), "task", "week 1", "m", DEFAULT_THRESHOLDS)
    first = store.run(1).created_at

    trends = run_trends(store)

    assert trends.periods["period"].tolist() == [f"#4 {first:%b %d}",
                                                 f"#3 {store.run(2).created_at:%b %d}"]
    assert trends.periods["date"].tolist() == [pd.Timestamp(first),
                                               pd.Timestamp(store.run(2).created_at)]
    assert trends.periods["aligned"].round(3).tolist() == [0.333, 0.25]  # 1 of 3, 1 of 4
    assert trends.periods["orphans"].tolist() == [2, 2]
    assert trends.periods["new_orphans"].tolist() == [0, 1]
    assert trends.new_orphans["task"].tolist() == ["Alphabetize the bookshelf"]
    assert trends.repeats == [(1, 4), (2, 3)]
    assert describe_periods(trends).endswith(
        "in the place and under the date of the first, when the tasks came in: run #2 by #3; "
        "run #1 by #4.")
    # The figures under the chart, on the page and in the report on run #4, in that order.
    numbers = trend_numbers(run_report(store, store.run(4)).trends)
    assert numbers["Period"].str.split().str[0].tolist() == ["#4", "#3"]
    assert numbers["New orphans"].tolist() == [0, 1]


def test_runs_past_the_periods_shown_are_said_to_be_left_out(store):
    # Sixteen runs showed as the latest twelve, from #5 on, without a word.
    version = store.latest_run().plan_version
    for number in range(3):
        store.create_run(version, week([(f"Call dealer {number}", "aligned", "retail", 1.0)]),
                         "task", f"w{number}", "m", DEFAULT_THRESHOLDS)

    trends = run_trends(store, limit=3)

    assert len(trends.periods) == 3 and trends.left_out == 2
    assert describe_periods(trends) == ("The latest 3 periods are shown; 2 earlier runs are not.")
    assert run_trends(store).left_out == 0


def test_a_report_on_a_run_set_aside_says_its_trends_end_before_it(store):
    # Its trends ended at the run before it, as if that were the latest, with no word.
    version = store.latest_run().plan_version
    run_id = store.create_run(version, week(WEEK1[:2]), "task", "week 3", "m",
                              DEFAULT_THRESHOLDS)
    store.set_aside(run_id, "ana")

    made = run_report(store, store.run(run_id))

    assert len(made.trends.periods) == 2
    said = (f"Run #{run_id} was set aside by ana: the trends leave it out and end with the "
            f"runs before it.")
    assert describe_periods(made.trends) == said
    assert f'<p class="note">{said}</p>' in made.html()
    assert describe_periods(run_report(store, store.run(run_id - 1)).trends) is None


def test_a_strategy_renamed_along_the_way_is_one_series_under_its_latest_name(store):
    from classifier.report.charts import strategy_trend_chart

    renamed = PLAN.model_copy(update={"strategies": [
        PLAN.strategies[0].model_copy(update={"name": "Grow revenue that recurs"}),
        *PLAN.strategies[1:]]})
    store.create_run(store.save_plan(renamed), week(WEEK1[::-1]), "task", "w3", "m",
                     DEFAULT_THRESHOLDS)

    trends = run_trends(store)

    revenue = trends.by_strategy[trends.by_strategy["strategy_id"] == "revenue"]
    assert revenue["strategy"].tolist() == ["Grow revenue that recurs"] * 3
    legend = [trace.name for trace in strategy_trend_chart(trends).data]
    assert legend.count("Grow revenue that recurs") == 1
    assert "Grow recurring revenue" not in legend


def test_a_strategy_keeps_its_colour_in_every_trend_chart_and_in_the_report(store):
    """Colours followed each view's ranking: 'Grow recurring revenue' was blue over all runs and
    'Win the retail channel' blue over the last two, where it had the most work."""
    from classifier.report.charts import line_of_sight_chart, strategy_trend_chart

    version = store.latest_run().plan_version
    retail = [("Pitch Riverside Hardware", "aligned", "retail", 9.0),
              ("Call the Oakway dealer", "aligned", "retail", 3.0),
              ("Call lapsed customers", "aligned", "revenue", 1.0)]
    for number in (3, 4):
        store.create_run(version, week(retail[: number - 1] + retail[2:]), "task",
                         f"week {number}", "m", DEFAULT_THRESHOLDS)

    def colours(trends) -> dict[str, str]:
        return {trace.name: trace.marker.color for trace in strategy_trend_chart(trends).data}

    every, last_two = colours(run_trends(store)), colours(run_trends(store, limit=2))
    assert every == last_two
    assert len(set(every.values())) == 3  # three strategies, three colours
    latest = run_report(store, store.latest_run())
    sunburst = line_of_sight_chart(latest.summary, store.plan(version)).data[0]
    branches = {label.replace("<br>", " "): colour for label, colour, parent in zip(
        sunburst.labels, sunburst.marker.colors, sunburst.parents, strict=True)
        if parent == "vision"}
    for name in ("Grow recurring revenue", "Win the retail channel"):
        assert branches[name] == every[name]


def test_a_label_under_a_point_at_the_bottom_has_room_and_is_not_cut_off(store):
    """No task in review in either run: review's "0%" went under the axis, cut off (at 1400 and
    1000 px alike: the chart's height is fixed), as did the lower of two "7%" labels."""
    from classifier.report.charts import status_trend_chart

    figure = status_trend_chart(run_trends(store))

    low, high = figure.layout.yaxis.range
    review = next(trace for trace in figure.data if trace.name == "Review")
    assert (review.text[0], review.textposition[0]) == ("0%", "bottom center")
    for trace in figure.data:
        for value, side in zip(trace.y, trace.textposition, strict=True):
            # A label's height and gap: about a tenth of the chart's 0% to 100%.
            room = value - low if side.startswith("bottom") else high - value
            assert room >= 0.12, (trace.name, value, side)
    assert {trace.cliponaxis for trace in figure.data} == {False}  # drawn where there is room
    assert list(figure.layout.yaxis.tickvals) == [0, 0.2, 0.4, 0.6, 0.8, 1]  # no "-20%"


def test_orphan_work_written_again_with_a_full_stop_is_not_new(store):
    version = store.latest_run().plan_version
    store.create_run(version, week([("repaint the break room.", "misaligned", "revenue", 1.0),
                                    ("Call lapsed customers", "aligned", "revenue", 1.0)]),
                     "task", "w3", "m", DEFAULT_THRESHOLDS)

    trends = run_trends(store)

    assert trends.new_orphans.empty and trends.periods["new_orphans"].tolist()[-1] == 0


def test_the_reports_files_say_why_a_decided_task_is_back_in_review(tmp_path):
    """A person's strategy that left the plan: the task is back in review, which the Review page
    says; the report's files read "review" beside the machine's "aligned" and no decision."""
    with Store(tmp_path / "left.db") as db:
        first = db.create_run(db.save_plan(PLAN), week(WEEK1), "task", "w1", "m",
                              DEFAULT_THRESHOLDS)
        db.record_decision(first, 0, "reassign", "team", "ana")
        smaller = PLAN.model_copy(update={"strategies": PLAN.strategies[:2]})
        second = db.create_run(db.save_plan(smaller), week(WEEK1), "task", "w2", "m",
                               DEFAULT_THRESHOLDS)
        made = run_report(db, db.run(second))
    row = made.results.iloc[0]
    assert (row["status"], row["machine_status"], row["decided_by"]) == ("review", "aligned", "")
    assert row["decision_note"].startswith("ana had decided it serves “Build a strong team”")
    written = pd.read_csv(io.BytesIO(made.csv()), dtype=str, keep_default_na=False)
    assert written["decision_note"].tolist() == [row["decision_note"], "", ""]
    sheet = openpyxl.load_workbook(io.BytesIO(made.xlsx()))["Results"]
    header = [cell.value for cell in sheet[1]]
    assert sheet.cell(2, header.index("decision_note") + 1).value == row["decision_note"]


def test_when_a_person_decided_reads_as_a_time_in_both_files(store):
    """The CSV wrote '2026-11-30 23:27:53.804205+00:00', which Excel keeps as text (no sorting
    or filtering by date), where the workbook holds the time 2026-11-30 23:27:53 (UTC)."""
    run = store.latest_run()
    store.record_decision(run.id, 0, "confirm", None, "ana")
    made = run_report(store, run)
    written = pd.read_csv(io.BytesIO(made.csv()), dtype=str, keep_default_na=False)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", written["decided_at"][0])
    sheet = openpyxl.load_workbook(io.BytesIO(made.xlsx()))["Results"]
    header = [cell.value for cell in sheet[1]]
    assert f"{sheet.cell(2, header.index('decided_at') + 1).value}" == written["decided_at"][0]


def test_a_time_decided_on_a_few_tasks_has_room_in_the_workbook(store):
    """The column's width was judged on its blank cells too: one decision among four tasks got
    a column too narrow for its time, which Excel shows as "########"."""
    run = store.latest_run()
    store.record_decision(run.id, 0, "confirm", None, "ana")
    sheet = openpyxl.load_workbook(io.BytesIO(run_report(store, run).xlsx()))["Results"]
    header = [cell.value for cell in sheet[1]]
    letter = openpyxl.utils.get_column_letter(header.index("decided_at") + 1)
    assert sheet.column_dimensions[letter].width >= len("2026-11-30 23:27:53")


def test_the_trends_sheet_dates_each_period_with_a_date_excel_sorts(store):
    """The periods were named "#1 Mar 05" alone: no year, and text that sorts "#10" before
    "#2"; each now has its start as a date and time (when its tasks came in, UTC)."""
    made = run_report(store, store.latest_run())
    sheet = openpyxl.load_workbook(io.BytesIO(made.xlsx()))["Trends"]
    header = [cell.value for cell in sheet[1]]
    assert header[0] == "Period" and header[-1] == "Period start (UTC)"
    starts = [row[-1] for row in sheet.iter_rows(min_row=2)]
    runs = sorted(store.runs(), key=lambda run: run.id)
    assert [cell.value for cell in starts] == [
        run.created_at.astimezone(dt.UTC).replace(tzinfo=None, second=0, microsecond=0)
        for run in runs]
    assert all(cell.is_date and cell.number_format == "yyyy-mm-dd hh:mm" for cell in starts)


def test_the_summary_sheet_names_its_run_and_its_columns_in_words(store):
    """A forwarded workbook did not say which run it covers, and read "Total effort_hours"
    where the HTML report says "effort hours"."""
    run = store.latest_run()
    store.record_decision(run.id, 1, "misaligned", None, "ana")
    sheet = openpyxl.load_workbook(io.BytesIO(run_report(store, run).xlsx()))["Summary"]
    rows = {row[0].value: row[1:] for row in sheet.iter_rows() if row[0].value is not None}
    assert [rows[label][0].value for label in ("Run", "Tasks from", "Plan")] == [
        f"#{run.id}", "week 2", f"default (version {run.plan_version})"]
    classified = rows["Classified (UTC)"][0]
    assert classified.is_date and classified.number_format == "yyyy-mm-dd hh:mm"
    assert classified.value == run.created_at.astimezone(dt.UTC).replace(
        tzinfo=None, second=0, microsecond=0)
    assert rows["Total effort hours"][0].value == 12
    headers = [cell.value for cell in rows["Status"] if cell.value is not None]
    assert headers == ["Tasks", "Share of tasks", "Effort hours", "Share of effort"]
    [orphans] = [cells for label, cells in rows.items() if label.startswith("Orphan work")]
    assert "Effort hours" in [cell.value for cell in orphans]
    assert not [cell.coordinate for row in sheet.iter_rows() for cell in row
                if isinstance(cell.value, str) and "effort_hours" in cell.value]


def test_a_single_run_has_no_trend_yet(tmp_path):
    with Store(tmp_path / "one.db") as db:
        db.create_run(db.save_plan(PLAN), week(WEEK1), "task", "w", "m", DEFAULT_THRESHOLDS)
        assert run_trends(db).empty


def test_a_run_of_blank_rows_only_is_no_period_of_work(store):
    """A file of blank rows (an empty export, the wrong column) was a period of 0% aligned, 0%
    review and 0% misaligned, shares adding up to nothing, and every strategy neglected in it."""
    blank = week(WEEK1).assign(task="", status="empty", strategy_id="", strategy="")
    store.create_run(store.runs()[0].plan_version, blank, "task", "blank", "m",
                     DEFAULT_THRESHOLDS)
    trends = run_trends(store)
    assert trends.periods["tasks"].tolist() == [3, 4]
    assert trends.neglected[["strategy_id", "periods"]].values.tolist() == [["team", 2]]


def test_trends_by_the_weeks_of_a_date_column():
    frame = pd.concat([week(WEEK1, "2026-03-02"), week(WEEK2, "2026-03-10")], ignore_index=True)
    assert find_date_column(frame, list(frame.columns)) == "due"
    trends = date_trends(frame, list(frame.columns), "task", PLAN, "due")
    assert trends.periods["period"].tolist() == ["week of Mar 02", "week of Mar 09"]
    assert trends.periods["tasks"].tolist() == [3, 4]


def test_a_periods_percents_add_up_to_100_as_the_donut_and_cards_do():
    """A third of the work each: the donut and the cards read 34% / 33% / 33% (they add up to
    100), the trend chart and its figures 33% / 33% / 33% for the same run."""
    from classifier.report.charts import status_trend_chart

    thirds = [("Call lapsed customers", "aligned", "revenue", 1.0),
              ("Pitch Riverside Hardware", "review", "retail", 1.0),
              ("Repaint the break room", "misaligned", "revenue", 1.0)]
    frame = pd.concat([week(thirds, "2026-03-02"), week(thirds, "2026-03-09")],
                      ignore_index=True)
    trends = date_trends(frame, list(frame.columns), "task", PLAN, "due")
    assert trend_numbers(trends).iloc[0, 2:5].tolist() == ["34%", "33%", "33%"]
    assert [trace.text[0] for trace in status_trend_chart(trends).data] == ["34%", "33%", "33%"]


def test_weeks_of_blank_rows_take_no_period_and_are_not_counted_as_weeks_not_shown():
    """Weeks of blank rows only are no period: they took one of the latest places (one week
    of work shown of two) and "3 earlier weeks are not shown" counted two of them."""
    blank = [("", "empty", "", 0.0)]
    frame = pd.concat([week(blank * 2, "2026-02-02"), week(WEEK1, "2026-02-09"),
                       week(blank, "2026-02-16"), week(WEEK2, "2026-02-23"),
                       week(blank, "2026-03-02")], ignore_index=True)
    trends = date_trends(frame, list(frame.columns), "task", PLAN, "due", limit=2)
    assert trends.periods["period"].tolist() == ["week of Feb 09", "week of Feb 23"]
    assert trends.left_out == 0 and describe_periods(trends) is None
    trends = date_trends(frame, list(frame.columns), "task", PLAN, "due", limit=1)
    assert trends.periods["period"].tolist() == ["week of Feb 23"]
    assert trends.left_out == 1 and describe_periods(trends).endswith("1 earlier week is not.")


@pytest.mark.parametrize("name", ["Created Date", "Target Date", "Completed At", "closed_at"])
def test_a_trackers_date_column_is_found_by_its_name(name):
    """Azure Boards' and Planner's "Created Date" (Asana's "Completed At", ...) offered no
    weeks on the Trends page: only due, created and a few more were known."""
    frame = week(WEEK1, "2026-03-02").rename(columns={"due": name})
    assert find_date_column(frame, list(frame.columns)) == name


def test_weeks_a_year_apart_are_two_periods_on_the_charts():
    """A backlog's dates over more than a year: 'week of Mar 02' of 2025 and of 2026 were one
    label, which the charts draw as one place on their axis."""
    frame = pd.concat([week(WEEK1, "2025-03-05"), week(WEEK2, "2026-03-04")], ignore_index=True)
    trends = date_trends(frame, list(frame.columns), "task", PLAN, "due")
    assert trends.periods["period"].tolist() == ["week of Mar 03, 2025", "week of Mar 02, 2026"]


def test_weeks_of_a_date_column_written_day_first_read_one_way():
    """A European export writes 02/03/2026 for 2 March: read cell by cell, 02/03 and 09/03 were
    3 February and 3 September while 13/03 was 13 March, three weeks months apart."""
    frame = pd.concat([week(WEEK1, "02/03/2026"), week(WEEK2, "09/03/2026"),
                       week(WEEK1[:1], "13/03/2026")], ignore_index=True)
    assert find_date_column(frame, list(frame.columns)) == "due"
    trends = date_trends(frame, list(frame.columns), "task", PLAN, "due")
    assert trends.periods["period"].tolist() == ["week of Mar 02", "week of Mar 09"]
    assert trends.periods["tasks"].tolist() == [3, 5]


@pytest.mark.parametrize("times", [["09:00", "14:30", "16:45"], ["9am", "2:30 PM", "4 pm"],
                                   ["09:00:00", "14:30:00", "16:45:00"]])
def test_a_column_of_times_of_day_is_no_date_column(times):
    """A tracker's "Due" of times only (a day's meetings) read as today's date: the Trends page
    offered its weeks and put all the work in this week (or in year 1, for "9am")."""
    frame = week(WEEK1).assign(due=times)
    assert find_date_column(frame, list(frame.columns)) is None
    # A date with its time is still a date, today's included.
    today = pd.Timestamp.now().strftime("%Y-%m-%d")
    frame = week(WEEK1).assign(due=[f"{today} {time}" for time in times])
    assert find_date_column(frame, list(frame.columns)) == "due"


@pytest.mark.parametrize("days", [["1 Dec", "3 Dec", "Dec 9"], ["December 1", "Dec 3", "9 Dec"]])
def test_a_column_of_days_with_no_year_is_no_date_column_and_is_said(days):
    """A tracker's "Due" of days with no year ("1 Dec") read as year 1: the Trends page offered
    its weeks, and put the work in a week of December, year 1."""
    frame = week(WEEK1).assign(due=days)
    assert find_date_column(frame, list(frame.columns)) is None
    assert no_year_column(frame, list(frame.columns)) == ("due", days[0])
    dated = week(WEEK1)
    assert no_year_column(dated, list(dated.columns)) is None


def test_tasks_whose_date_has_no_year_are_in_no_week_and_are_said():
    """Among dated tasks, a day with no year made a week of its own, in year 1."""
    frame = pd.concat([week(WEEK1, "2026-03-02"), week(WEEK2, "2026-03-10"),
                       week(WEEK1, "2026-03-17"), week(WEEK1[:1], "1 Dec"),
                       week(WEEK1[:1], "")], ignore_index=True)
    assert find_date_column(frame, list(frame.columns)) == "due"
    trends = date_trends(frame, list(frame.columns), "task", PLAN, "due")
    assert trends.periods["period"].tolist() == ["week of Mar 02", "week of Mar 09",
                                                 "week of Mar 16"]
    assert describe_periods(trends) == ("2 tasks are in no week: their due is empty or no date "
                                        "with a year ('1 Dec' names no year).")
    frame = pd.concat([week(WEEK1, "2026-03-02"), week(WEEK2, "2026-03-10"),
                       week(WEEK1[:1], "TBD")], ignore_index=True)
    trends = date_trends(frame, list(frame.columns), "task", PLAN, "due")
    assert describe_periods(trends) == "1 task is in no week: its due is no date ('TBD')."


def test_weeks_of_timestamps_across_a_clock_change_by_the_date_written():
    """A tracker's timestamps carry their offset, which changes with summer time: the Trends
    page failed on 'Mixed timezones detected'; and a week is the one of the date as written,
    not of the same moment in UTC (Monday 00:30 at +02:00 is Sunday in UTC)."""
    frame = pd.concat([week(WEEK1, "2026-03-27T09:00:00+01:00"),
                       week(WEEK2, "2026-03-30T00:30:00+02:00")], ignore_index=True)
    assert find_date_column(frame, list(frame.columns)) == "due"
    trends = date_trends(frame, list(frame.columns), "task", PLAN, "due")
    assert trends.periods["period"].tolist() == ["week of Mar 23", "week of Mar 30"]
    assert trends.periods["tasks"].tolist() == [3, 4]


# ---------------------------------------------------------------- tactics report


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    tasks = folder / "tasks.csv"
    pd.DataFrame({"task": HOSTILE + ["Call customers whose service plan expires this month"],
                  "owner": ["=cmd|' /C calc'!A0"] + ["Ana"] * len(HOSTILE),
                  "effort_hours": range(1, len(HOSTILE) + 2)}).to_csv(tasks, index=False)
    db = folder / "tactics.db"
    for week_tasks in (tasks, folder / "week2.csv"):  # two weeks, so the report has trends
        done = CliRunner().invoke(app, ["classify", str(week_tasks), "--plan", str(PLAN_FILE),
                                        "--out", str(folder / "out.csv"), "--db", str(db), "-q"])
        assert done.exit_code == 0, done.output
        pd.read_csv(tasks).iloc[::-1].to_csv(folder / "week2.csv", index=False)
    return db


def _report(db: Path, out: Path, *extra: str):
    return CliRunner().invoke(app, ["report", "--db", str(db), "--plan", str(PLAN_FILE),
                                    "--out", str(out), *extra])


def test_report_html_is_self_contained_and_escapes_task_text(hostile_store, tmp_path):
    out = tmp_path / "monday.html"
    done = _report(hostile_store, out)
    assert done.exit_code == 0, done.output
    page = out.read_text(encoding="utf-8")
    assert re.search(r"<script[^>]*\bsrc=", page) is None
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Trends" in page and page.count("Plotly.newPlot") == 5
    assert "run #2" in page


def test_report_xlsx_has_no_live_formula_on_any_sheet(hostile_store, tmp_path):
    out = tmp_path / "monday.xlsx"
    assert _report(hostile_store, out).exit_code == 0
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Results", "Summary", "Trends"]
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    texts = {cell.value for cell in cells if isinstance(cell.value, str)}
    assert set(HOSTILE[:1]) <= texts and "=cmd|' /C calc'!A0" in texts
    # Shares say what they are shares of, and are numbers a pivot table can use.
    header, first = list(book["Trends"].iter_rows(max_row=2))
    assert [c.value for c in header][2:5] == ["Aligned (% of effort hours)",
                                             "Review (% of effort hours)",
                                             "Misaligned (% of effort hours)"]
    assert all(isinstance(c.value, int | float) and c.number_format == "0.0%" for c in first[2:5])
    assert sum(c.value for c in first[2:5]) == pytest.approx(1.0)


def test_report_csv_is_neutralised_and_names_the_run(hostile_store, tmp_path):
    out = tmp_path / "monday.csv"
    done = _report(hostile_store, out, "--run", "1")
    assert done.exit_code == 0 and "run #1" in done.stderr
    back = pd.read_csv(io.BytesIO(out.read_bytes()), encoding="utf-8-sig", dtype=str,
                       keep_default_na=False)
    assert back["task"].iloc[0] == "'" + HOSTILE[0]
    assert back["owner"].iloc[0].startswith("'=")


def test_report_and_queue_csv_for_excel_with_a_decimal_comma(hostile_store, tmp_path):
    """European Excel opens a `,` file as one column: `--sep ';'` writes the same table with
    `;` between its cells and a decimal comma in its scores (the default stays `,` and '.');
    only a .csv output takes it."""
    for command, extra in (("report", ()), ("queue", ("--limit", "3"))):
        tables = {}
        for sep in (",", ";"):
            out = tmp_path / f"{command}-{'comma' if sep == ',' else 'semicolon'}.csv"
            args = [command, "--db", str(hostile_store), "--plan", str(PLAN_FILE), "--out",
                    str(out), *extra] + (["--sep", sep] if sep == ";" else [])
            done = CliRunner().invoke(app, args)
            assert done.exit_code == 0, done.output
            text = out.read_bytes().decode("utf-8-sig")
            assert text.splitlines()[0].startswith("task;" if sep == ";" and command == "report"
                                                   else "task_id;" if sep == ";" else "task")
            tables[sep] = pd.read_csv(io.StringIO(text), sep=sep, dtype=str,
                                      keep_default_na=False)
        assert len(tables[","].columns) > 5
        # The same table, its scores with the decimal comma such an Excel reads as numbers.
        scores = [column for column in tables[";"].columns if column.endswith("score")]
        assert scores and tables[";"][scores].map(lambda v: "." not in v and "," in v).all(
            axis=None)
        pd.testing.assert_frame_equal(tables[","], tables[";"].assign(
            **{column: tables[";"][column].str.replace(",", ".") for column in scores}))
    for out, sep, said in ((tmp_path / "r.xlsx", ";", "--sep is for a .csv output"),
                           (tmp_path / "r.csv", "|", "--sep '|': use ',' or ';'")):
        done = _report(hostile_store, out, "--sep", sep)
        assert done.exit_code == 2 and said in done.stderr and not out.exists()


@pytest.mark.parametrize(("args", "message"), [
    (("--run", "99"), "no run with id 99"),
    (("--plan-name", "other"), "no run of plan 'other' yet"),
])
def test_report_refusals_name_what_is_wrong(hostile_store, tmp_path, args, message):
    done = _report(hostile_store, tmp_path / "r.html", *args)
    assert done.exit_code == 2 and message in done.stderr
    assert not (tmp_path / "r.html").exists()


def test_report_refuses_an_unknown_type(hostile_store, tmp_path):
    done = _report(hostile_store, tmp_path / "r.pdf")
    assert done.exit_code == 2 and "unsupported output type .pdf" in done.stderr


@pytest.mark.parametrize("name", ["this-week.csv", "this-week.xlsx"])
def test_report_never_writes_over_a_task_list(hostile_store, tmp_path, name):
    """`--out` naming last week's export by mistake wrote the report over it: the tasks were
    gone (a report is written over the last one, as a weekly job does, or over a results file:
    files this tool wrote)."""
    tasks = tmp_path / name
    frame = pd.DataFrame({"task": ["Call the customers"], "owner": ["Ana"], "status": ["Open"]})
    frame.to_csv(tasks, index=False) if name.endswith(".csv") else frame.to_excel(tasks,
                                                                                   index=False)
    before = tasks.read_bytes()
    done = _report(hostile_store, tasks)
    assert done.exit_code == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"error: {tasks}: ") and "not a file this tool wrote" in line
    assert tasks.read_bytes() == before
    again = tmp_path / f"monday{tasks.suffix}"
    assert _report(hostile_store, again).exit_code == 0
    assert _report(hostile_store, again).exit_code == 0


_OPENED: list[str] | None = None  # while a test listens: every path a file was opened at


def _heard(event: str, args: tuple) -> None:
    if event == "open" and _OPENED is not None and isinstance(args[0], (str, Path)):
        _OPENED.append(str(args[0]))


sys.addaudithook(_heard)  # Python's own audit events (a hook stays for the process)


@pytest.mark.parametrize("name", ["monday.csv", "monday.xlsx"])
def test_last_weeks_report_is_read_once_to_be_sure_it_may_be_written_over(hostile_store,
                                                                          tmp_path, name):
    """`tactics report` checked an existing output twice (the command early, then the writer
    again): last week's report was read once more than needed to be sure it is one."""
    global _OPENED
    out = tmp_path / name
    assert _report(hostile_store, out).exit_code == 0
    _OPENED = []
    try:
        done = _report(hostile_store, out)  # the next Monday
        reads = [path for path in _OPENED if Path(path) == out]
    finally:
        _OPENED = None
    assert done.exit_code == 0, done.output
    # Two reads (is it a report? does it hold decisions not recorded yet?), each opening the
    # file at most twice (its first bytes, then its table); the second check of it made six.
    assert 1 <= len(reads) <= 4, reads


@pytest.mark.parametrize("name", ["monday.csv", "monday.xlsx"])
def test_the_weekly_report_is_written_over_whatever_its_text_column_is_called(tmp_path, name):
    """Last week's report keeps the run's own text column ("Aufgabe") beside other text
    columns: no column there is named as task text, and it was refused as a task list from
    the second week on (so were results and queue files of such a run)."""
    frame = week(WEEK1).rename(columns={"task": "Aufgabe"})
    frame["Notizen"] = ["ask Ana about the list first", "budget approved last week",
                        "after the audit is done"]
    frame["task"] = [1042, 1043, 1044]  # a tracker's task number, not its text
    with Store(tmp_path / "de.db") as db:
        made = run_report(db, db.run(db.create_run(db.save_plan(PLAN), frame, "Aufgabe", "w1",
                                                   "m", DEFAULT_THRESHOLDS)))
    out = tmp_path / name
    write_report(made, out)
    write_report(made, out)  # the next Monday
    assert "Aufgabe" in (pd.read_csv(out) if name.endswith(".csv") else pd.read_excel(out))
    queue = tmp_path / f"queue{out.suffix}"
    table = pd.DataFrame({"task_id": ["1-0"], "Aufgabe": ["Call lapsed customers"],
                          "Notizen": ["ask Ana first"], "decision": [""]})
    table.to_csv(queue, index=False) if name.endswith(".csv") else table.to_excel(queue,
                                                                                  index=False)
    refuse_foreign(queue)
    # The writer's own guard, for callers that did not check first: a task list is kept.
    tasks = tmp_path / f"tasks{out.suffix}"
    listed = table.drop(columns=["task_id", "decision"])
    listed.to_csv(tasks, index=False) if name.endswith(".csv") else listed.to_excel(tasks,
                                                                                   index=False)
    before = tasks.read_bytes()
    with pytest.raises(OutputError, match="not a file this tool wrote"):
        write_report(made, tasks)
    assert tasks.read_bytes() == before
