"""Summaries and charts of classified tasks, as a manager would read them."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from classifier.errors import ResultsError
from classifier.plan import plan_from_dict
from classifier.report import charts
from classifier.report import summary as report
from classifier.report.summary import summary as summarize
from classifier.report.summary import whole_percents

PLAN = plan_from_dict({
    "vision": "Best widgets in town",
    "strategies": [
        {"id": "revenue", "name": "Grow recurring revenue"},
        {"id": "retail", "name": "Win the retail channel"},
        {"id": "team", "name": "Build a strong team"},
    ],
})
NAMES = {s.id: s.name for s in PLAN.strategies}


def results(rows: list[tuple], effort: bool = True, owner: bool = True) -> pd.DataFrame:
    """A results frame in the contract's shape from (task, status, strategy_id, effort) rows."""
    frame = pd.DataFrame({"task": [r[0] for r in rows]})
    if owner:
        frame["owner"] = [f"owner{i}" for i in range(len(rows))]
    if effort:
        frame["effort_hours"] = [r[3] for r in rows]
    strategy = [r[2] if r[1] != "empty" else "" for r in rows]
    frame["strategy_id"] = strategy
    frame["strategy"] = [NAMES.get(s, "") for s in strategy]
    frame["score"] = [0.7 if r[1] == "aligned" else 0.3 for r in rows]
    frame["status"] = [r[1] for r in rows]
    frame["runner_up_id"] = "retail"
    frame["runner_up_score"] = 0.2
    frame["evidence"] = [NAMES.get(s, "") for s in strategy]
    return frame


ROWS = [
    ("Call lapsed service-plan customers", "aligned", "revenue", 10),
    ("Send renewal reminders", "aligned", "revenue", 6),
    ("Pitch widgets to Riverside Hardware", "review", "retail", 3),
    ("Reorganize shared drive folder colors", "misaligned", "revenue", 1),
    ("", "empty", "", None),
]


@pytest.mark.parametrize(("columns", "expected"), [
    ({"effort_hours": [1, 2.5]}, "effort_hours"),
    ({"Story Points": ["3", "5"]}, "Story Points"),
    ({"hours": ["3h", "2 hrs"]}, "hours"),
    ({"Estimate": [1, None]}, "Estimate"),
    ({"effort": ["soon", "later"]}, None),
    ({"points": ["", ""]}, None),
    ({"due": ["2026-03-02", "2026-03-03"]}, None),
    ({"score": [0.5, 0.6]}, None),  # a result column is never effort
])
def test_find_effort_column(columns, expected):
    frame = pd.DataFrame({"task": ["a", "b"], **columns})
    assert report.find_effort_column(frame) == expected


# Trackers' CSV exports, their header as exported (fewer columns), two tasks each.
EXPORTS = {
    "jira": ("Summary,Issue key,Status,Assignee,Created,Labels,Labels,Description,"
             "Original Estimate,Custom field (Story Points)\n"
             "Fix login timeout on SSO,WID-101,Done,Ana Lima,01/Dec/25 9:14 AM,backend,auth,"
             "\"h2. Steps\n# Open the portal\",7200,3\n"
             "Call one-time buyers about a service plan,WID-102,In Progress,Bo Chen,"
             "02/Dec/25 10:00 AM,sales,,\"Use the <b>CRM</b> list\",14400,5\n",
             "Summary", "Custom field (Story Points)", "Assignee"),
    "linear": ("ID,Team,Title,Description,Status,Estimate,Assignee,Labels,Created\n"
               "ENG-42,Eng,Fix login timeout on SSO,\"Signed out.\n- [ ] repro\",Done,3,"
               "ana@acme.io,\"Bug, Backend\",2025-12-01T09:14:22.000Z\n"
               "ENG-43,Eng,Call one-time buyers about a service plan,,In Progress,5,"
               "bo@acme.io,Sales,2025-12-02T10:00:00.000Z\n", "Title", "Estimate", "Assignee"),
    "trello": ("Card ID,Card Name,Card Description,Labels,Members,Due Date,List Name\n"
               "5f1a,Fix login timeout on SSO,\"**Users** are signed out\",Bug (red),Ana Lima,"
               "2025-12-05T12:00:00.000Z,Done\n"
               "5f1b,Call one-time buyers about a service plan,,Sales (green),Bo Chen,"
               "2025-12-12T12:00:00.000Z,Doing\n", "Card Name", None, "Members"),
    "asana": ("Task ID,Created At,Completed At,Name,Section/Column,Assignee,Due Date,Notes\n"
              "1205,2025-12-01,2025-12-03,Fix login timeout on SSO,Done,Ana Lima,2025-12-05,"
              "\"Signed out.\nRepro in staging.\"\n"
              "1206,2025-12-02,,Call one-time buyers about a service plan,Doing,Bo Chen,"
              "2025-12-12,\n", "Name", None, "Assignee"),
    "github": ("Title,URL,Assignees,Status,Labels,Estimate\n"
               "Fix login timeout on SSO,https://github.com/acme/web/issues/12,ana,Done,"
               "\"bug, backend\",3\n"
               "Call one-time buyers about a service plan,https://github.com/acme/web/issues/14,"
               "bo,In Progress,sales,5\n", "Title", "Estimate", "Assignees"),
}


@pytest.mark.parametrize("tracker", sorted(EXPORTS))
def test_a_trackers_export_gives_its_task_effort_and_owner_columns(tmp_path, tracker):
    # Jira's story points ("Custom field (Story Points)"), Trello's "Members" and GitHub's
    # "Assignees" were not read: shares were of tasks, and no one owned any task.
    from classifier.files.readers import read_tasks

    text, task, effort, owner = EXPORTS[tracker]
    path = tmp_path / f"{tracker}.csv"
    path.write_text(text, encoding="utf-8")
    frame, column = read_tasks(path)
    assert column == task
    assert frame[column].tolist() == ["Fix login timeout on SSO",
                                      "Call one-time buyers about a service plan"]
    assert report.find_effort_column(frame) == effort
    assert report.find_owner_column(frame) == owner


def test_summary_counts_and_shares_of_tasks_and_effort():
    found = report.summary(results(ROWS), PLAN)
    assert (found.tasks, found.blank) == (4, 1)  # a blank row is no task
    assert found.counts == {"aligned": 2, "review": 1, "misaligned": 1, "empty": 1}
    assert found.shares["aligned"] == pytest.approx(0.5)
    assert found.effort_column == "effort_hours"
    assert found.total_effort == 20
    assert found.effort == {"aligned": 16, "review": 3, "misaligned": 1}
    assert found.effort_shares["aligned"] == pytest.approx(0.8)
    assert found.serving_share == pytest.approx(19 / 20)
    labels = dict(found.headline())
    assert labels["Tasks"] == "4" and labels["Blank rows (not counted)"] == "1"
    assert labels["Aligned"].startswith("2 (50%)")


def test_effort_on_a_blank_row_is_no_work():
    found = report.summary(results(ROWS[:3] + [("", "empty", "", 4)]), PLAN)
    assert found.total_effort == 19
    assert sum(found.effort_shares.values()) == pytest.approx(1.0)
    assert list(found.status_frame()["status"]) == ["aligned", "review", "misaligned"]


def test_shares_of_work_leave_blank_rows_out_and_add_up_to_the_whole():
    found = report.summary(results(ROWS[:3] + [("", "empty", "", 4)]), PLAN)
    assert found.shares_of_work() == pytest.approx(
        {"aligned": 2 / 3, "review": 1 / 3, "misaligned": 0.0})
    assert found.shares_of_work(by_effort=True) == pytest.approx(
        {"aligned": 16 / 19, "review": 3 / 19, "misaligned": 0.0})
    assert report.summary(results(ROWS, effort=False), PLAN).shares_of_work(
        by_effort=True)["aligned"] == pytest.approx(0.5)  # no effort column: tasks


def test_summary_without_effort_counts_tasks_only():
    found = report.summary(results(ROWS, effort=False), PLAN)
    assert found.effort_column is None and found.effort is None
    assert found.serving_share == pytest.approx(3 / 4)  # empty rows are not work
    assert "effort" not in found.status_frame().columns


def test_an_effort_column_of_zeros_measures_no_work():
    """A tracker's story points left at 0 (nobody estimates): every share of effort read 0%, an
    empty donut, and every strategy neglected with "0% of effort", beside cards giving the
    shares of tasks."""
    frame = results(ROWS).assign(effort_hours=0)
    found = report.summary(frame, PLAN)
    assert found.effort_column is None and found.effort is None
    assert list(charts.status_chart(found).data[0].values) == [2, 1, 1]
    assert found.neglected["strategy_id"].tolist() == ["team"]


def test_effort_by_strategy_lists_every_strategy_most_work_first():
    table = report.effort_by_strategy(results(ROWS), PLAN)
    assert table["strategy_id"].tolist() == ["revenue", "retail", "team"]
    assert table["tasks"].tolist() == [2, 1, 0]
    assert table["effort"].tolist() == [16, 3, 0]
    assert table["review_tasks"].tolist() == [0, 1, 0]
    assert table["effort_share"].iloc[0] == pytest.approx(0.8)  # of all non-empty effort


@pytest.mark.parametrize(("threshold", "expected"), [
    (0.05, ["team"]),
    (0.20, ["team", "retail"]),
    (0.0, ["team"]),  # a strategy nobody works on is neglected whatever the threshold
])
def test_neglected_strategies(threshold, expected):
    neglected = report.neglected_strategies(results(ROWS), PLAN, threshold=threshold)
    assert neglected["strategy_id"].tolist() == expected
    assert neglected["reason"].iloc[0] == "no tasks"


def test_neglect_is_judged_on_tasks_without_effort():
    neglected = report.neglected_strategies(results(ROWS, effort=False), PLAN, threshold=0.3)
    assert neglected["strategy_id"].tolist() == ["team", "retail"]
    assert "of tasks" in neglected["reason"].iloc[1]


def test_orphan_work_has_text_owner_and_effort():
    orphans = report.orphan_work(results(ROWS))
    assert orphans.to_dict("records") == [{
        "row": 4, "task": "Reorganize shared drive folder colors", "owner": "owner3",
        "effort": 1.0, "closest_strategy": "Grow recurring revenue", "score": 0.3}]


def test_orphan_work_without_owner_or_effort_columns():
    orphans = report.orphan_work(results(ROWS, effort=False, owner=False))
    assert list(orphans.columns) == ["row", "task", "closest_strategy", "score"]


def test_a_persons_decisions_win_over_the_machine():
    frame = results(ROWS)
    # Shape of Store.results_with_decisions: final_* filled for every row, decided_by where decided.
    frame["final_strategy_id"] = ["revenue", "team", "retail", None, None]
    frame["final_status"] = ["aligned", "aligned", "misaligned", "misaligned", "empty"]
    frame["decided_by"] = [None, "ana", "ana", None, None]
    found = report.summary(frame, PLAN)
    assert found.counts == {"aligned": 2, "review": 0, "misaligned": 2, "empty": 1}
    assert found.decided == 2
    by_id = found.by_strategy.set_index("strategy_id")
    assert by_id.loc["team", "effort"] == 6  # reassigned from revenue
    assert by_id.loc["retail", "tasks"] == 0  # marked as serving no strategy
    assert sorted(found.orphans["task"]) == ["Pitch widgets to Riverside Hardware",
                                             "Reorganize shared drive folder colors"]


@pytest.mark.parametrize(("drop", "kwargs", "message"), [
    ("status", {}, "no column 'status'"),
    (None, {"effort_column": "minutes"}, "no effort column 'minutes'"),
    (None, {"text_column": "title"}, "no column 'title'"),
])
def test_unusable_results_name_the_column(drop, kwargs, message):
    frame = results(ROWS)
    if drop:
        frame = frame.drop(columns=drop)
    with pytest.raises(ResultsError, match=message):
        report.summary(frame, PLAN, **kwargs)


def test_line_of_sight_goes_vision_strategies_tasks_sized_by_effort():
    long_task = "Prepare the quarterly customer renewal campaign " + "with many details " * 5
    rows = ROWS + [(long_task, "aligned", "revenue", 4)]
    figure = charts.line_of_sight_chart(summarize(results(rows), PLAN), PLAN)
    trace = figure.data[0]
    nodes = dict(zip(trace.ids, zip(trace.labels, trace.parents, trace.values, trace.hovertext,
                                    strict=True), strict=True))
    assert nodes["vision"][0].replace("<br>", " ") == "Best widgets in town"
    labels = {label.replace("<br>", " "): node_id for node_id, (label, *_rest) in nodes.items()}
    assert "Serves no strategy" in labels and "Grow recurring revenue" in labels
    revenue = labels["Grow recurring revenue"]
    leaves = [values for values in nodes.values() if values[1] == revenue]
    assert sum(leaf[2] for leaf in leaves) == 20  # 10 + 6 + 4 hours
    long_leaf = next(leaf for leaf in leaves if leaf[0].startswith("Prepare"))
    assert len(long_leaf[0].replace("<br>", " ")) <= 60 and long_leaf[0].endswith("…")
    assert " ".join(long_task.split()) in long_leaf[3].replace("<br>", " ")  # hover: full text
    assert "Build a strong team" not in labels  # no work, no slice
    assert "Line of sight" in figure.layout.title.text


def test_line_of_sight_counts_tasks_without_effort_and_groups_the_tail():
    rows = [(f"Call customer number {i}", "aligned", "revenue", None) for i in range(30)]
    trace = charts.line_of_sight_chart(summarize(results(rows, effort=False), PLAN), PLAN,
                                       max_tasks=25).data[0]
    assert "+5 more tasks" in trace.labels
    leaves = [v for v, p in zip(trace.values, trace.parents, strict=True) if p.startswith("s")]
    assert sum(leaves) == 30


def test_charts_escape_task_text_and_read_rich_text_as_text():
    rows = [("<b>Bold</b> <a href='javascript:alert(1)'>x</a>", "misaligned", "", 2),
            ("Fix the <title> tag & <x onclick=alert(1)>", "misaligned", "", 1),
            ("<ul><li>Order toner</li><li>Update the rota</li></ul>", "misaligned", "", 1)]
    trace = charts.line_of_sight_chart(summarize(results(rows), PLAN), PLAN).data[0]
    assert not any("<a " in label or "<b>Bold" in label or "<x " in label
                   for label in trace.labels)
    assert any("Bold x" in label for label in trace.labels)  # an HTML task: its text
    assert any("&lt;title&gt;" in label and "&lt;x onclick" in label for label in trace.labels)
    assert any(hover.startswith("Order toner · Update the rota<br>") for hover in trace.hovertext)


def test_effort_chart_has_a_bar_per_strategy_and_one_for_orphans():
    figure = charts.effort_chart(summarize(results(ROWS), PLAN))
    bar = figure.data[0]
    assert [y.replace("<br>", " ") for y in bar.y] == [
        "Grow recurring revenue", "Win the retail channel", "Build a strong team",
        "<i>Serves no strategy</i>"]
    assert list(bar.x) == [16, 3, 0, 1]
    assert bar.marker.color[-1] == charts.STATUS_COLORS["misaligned"]
    assert bar.marker.color[2] != bar.marker.color[0]  # a neglected strategy stands out
    assert figure.layout.title.text.startswith("<b>Effort by strategy")


def test_equal_bars_read_the_same_percent():
    """Made to add up to 100 (as the donut's three are), four strategies of one task each in 15
    read 7%, 7%, 7% and 6%: bars of one length with two figures."""
    rows = [(f"Task {i}", "aligned", "revenue", 1.0) for i in range(12)] + [
        ("Pitch Riverside Hardware", "aligned", "retail", 1.0),
        ("Train the new hires", "aligned", "team", 1.0),
        ("Repaint the break room", "misaligned", "", 1.0)]
    bars = charts.effort_chart(summarize(results(rows, effort=False), PLAN)).data[0]
    assert [text.split(" ")[1] for text in bars.text] == ["(80%)", "(7%)", "(7%)", "(7%)"]


def test_every_strategy_of_a_long_plan_has_a_colour_of_its_own():
    """The palette has ten colours: the UN goals' eleventh strategy was drawn in the first's
    colour, two strategies one legend colour on the stacked trend chart."""
    colours = charts.strategy_colors(f"goal-{i}" for i in range(1, 18))
    assert len(set(colours.values())) == 17
    assert colours["goal-1"] == charts.STRATEGY_PALETTE[0]  # a short plan's colours stay


@pytest.mark.parametrize("size", [60, 75])
def test_a_plan_of_sixty_strategies_and_more_has_a_colour_per_strategy(size):
    """Darker each round up to a cap: strategies 31-40 and 41-50 were drawn alike."""
    ids = [f"goal-{i}" for i in range(1, size + 1)]
    colours = charts.strategy_colors(ids)
    assert len(set(colours.values())) == size
    assert all(re.fullmatch(r"#[0-9A-F]{6}", colour) for colour in colours.values())
    assert charts.strategy_colors(ids) == colours  # the same in every chart and report


def test_charts_name_an_effort_column_in_words_and_escaped():
    """The cards said "of effort hours" beside charts titled "Effort (effort_hours)", and a
    header such as "Hours <est>" went into the charts' hover text as a tag."""
    frame = results(ROWS).rename(columns={"effort_hours": "Hours_<est>"})
    found = summarize(frame, PLAN)
    bars, donut = charts.effort_chart(found), charts.status_chart(found)
    sunburst = charts.line_of_sight_chart(found, PLAN)
    texts = [bars.layout.xaxis.title.text, donut.layout.title.text, donut.data[0].hovertemplate,
             sunburst.layout.title.text, *bars.data[0].hovertext, *sunburst.data[0].hovertext]
    assert "Effort (Hours &lt;est&gt;)" == bars.layout.xaxis.title.text
    assert all("_" not in text and "<est>" not in text for text in texts)


@pytest.mark.parametrize("effort", [True, False])
def test_status_chart_uses_fixed_colours(effort):
    trace = charts.status_chart(summarize(results(ROWS, effort=effort), PLAN)).data[0]
    colours = dict(zip(trace.labels, trace.marker.colors, strict=True))
    # A blank row is no work: no slice, by effort or by tasks.
    assert colours == {"Aligned": "#2E7D32", "Review": "#F2A900", "Misaligned": "#C62828"}
    values = dict(zip(trace.labels, trace.values, strict=True))
    assert values["Aligned"] == (16 if effort else 2)


@pytest.mark.parametrize("counts", [(13, 1, 1), (10, 4, 1), (1, 1, 1)])
def test_the_status_donut_gives_the_headlines_percents_which_add_up_to_100(counts):
    # 13, 1 and 1 of 15 tasks read 87% / 7% / 7% on the donut (101%), beside a headline of
    # 86% / 7% / 7% on the Classify page.
    rows = [(f"Task {status} {i}", status, "revenue", 1)
            for status, count in zip(("aligned", "review", "misaligned"), counts, strict=True)
            for i in range(count)]
    summary = summarize(results(rows, effort=False), PLAN)
    figure = charts.status_chart(summary)
    shown = dict(zip(figure.data[0].labels, figure.data[0].text, strict=True))
    assert sum(int(text.rstrip("%")) for text in shown.values()) == 100
    headline = whole_percents(summary.shares_of_work())
    assert shown == {"Aligned": headline["aligned"], "Review": headline["review"],
                     "Misaligned": headline["misaligned"]}
    assert figure.layout.annotations[0].text.startswith(f"<b>{headline['aligned']}</b>")


@pytest.mark.slow
def test_report_on_the_sample_tasks_classified_by_the_real_model(classifier, sample_plan):
    tasks = pd.read_csv(Path(__file__).parent.parent / "data" / "tasks.csv")
    found = report.summary(classifier.classify_frame(tasks, "task"), sample_plan)
    assert found.tasks == len(tasks)
    assert sum(found.counts.values()) == len(tasks)
    assert found.effort_column == "effort_hours"
    assert found.total_effort == pytest.approx(tasks["effort_hours"].sum())
    assert set(found.by_strategy["strategy_id"]) == set(sample_plan.ids)
    assert len(found.orphans) == found.counts["misaligned"]


@pytest.mark.parametrize(("lines", "expected"), [
    # aligned 47%, review 41%, misaligned 12%: review's label goes below, away from aligned's
    ([[0.47], [0.41], [0.12]], [["top center"], ["bottom center"], ["bottom center"]]),
    # review nearer misaligned than aligned: its label goes above
    ([[0.80], [0.15], [0.05]], [["top center"], ["top center"], ["bottom center"]]),
    # two lines at the same value still part
    ([[0.5], [0.5], [0.0]], [["top center"], ["bottom center"], ["bottom center"]]),
])
def test_trend_labels_go_away_from_the_nearest_line(lines, expected):
    assert charts.label_sides(lines) == expected


@pytest.mark.parametrize(("hours", "expected"), [
    (["3", "abc", "2", "4", "5"], "1 'Hours' cell is not a number and counts as 0 (row 2: 'abc')"),
    (["3", "three", "2"], "'Hours' is not read as effort: 1 of its 3 filled cells is not a "
                          "number (row 2: 'three'); shares are of tasks"),
    (["3", "three", "two", "2"], "'Hours' is not read as effort: 2 of its 4 filled cells are "
                                 "not numbers (row 2: 'three', row 3: 'two'); shares are of tasks"),
    (["3", "", "2h"], None),
])
def test_effort_cells_that_are_not_numbers_are_said(hours, expected):
    frame = pd.DataFrame({"task": [f"task {i}" for i in range(len(hours))], "Hours": hours,
                          "status": ["aligned"] * len(hours)})
    assert report.effort_note(frame) == expected


@pytest.mark.parametrize(("shares", "shown"), [
    ({"aligned": 0.335, "review": 0.335, "misaligned": 0.33}, ["34%", "33%", "33%"]),
    ({"aligned": 0.666, "review": 0.167, "misaligned": 0.167}, ["66%", "17%", "17%"]),
    ({"aligned": 0.004, "review": 0.996, "misaligned": 0.0}, ["<1%", "100%", "0%"]),
    ({"aligned": 0.0, "review": 0.0, "misaligned": 0.0}, ["0%", "0%", "0%"]),
])
def test_a_headlines_shares_add_up_to_a_hundred(shares, shown):
    from classifier.report.summary import whole_percents

    assert list(whole_percents(shares).values()) == shown
