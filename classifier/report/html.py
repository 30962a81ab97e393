"""The self-contained HTML report (plotly inlined, no network), rendered from a jinja2 template
with autoescaping: every piece of user text is escaped."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import gzip
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..cells import column_words, is_blank
from ..model.work_text import readable
from ..plan import Plan
from .charts import (
    STATUS_COLORS,
    effort_chart,
    line_of_sight_chart,
    status_chart,
    status_trend_chart,
    strategy_trend_chart,
)
from .summary import (
    STATUS_LABELS,
    WORK_STATUSES,
    Summary,
    number,
    percent,
    task_count,
    whole_percents,
)
from .trends import Trends, describe_periods

MAX_ROWS = 5000
# A task's text in the report's tables, at most this long: a tracker's description pasted whole
# (10,000 characters) filled screens of each table it was in; the CSV and workbook keep it all.
TASK_CHARS = 500


@dataclass
class _Cell:
    value: str
    numeric: bool = False
    status: bool = False
    color: str = ""
    text_color: str = ""
    lines: bool = False  # a task's line breaks are shown (a rich-text task's paragraphs)


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(loader=PackageLoader("classifier.report", "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       trim_blocks=True, lstrip_blocks=True)


def _text(value: object) -> str:
    return "" if is_blank(value) else str(value)


def _number_cell(value: object) -> str:
    return "" if is_blank(value) else number(float(value))  # type: ignore[arg-type]


def _score_cell(value: object) -> str:
    return "" if is_blank(value) else f"{float(value):.2f}"  # type: ignore[arg-type]


def _table(frame: pd.DataFrame, headers: dict[str, str], numeric: set[str] | None = None
           ) -> dict[str, Any]:
    numeric = numeric or set()
    rows = []
    for record in frame[list(headers)].itertuples(index=False, name=None):
        cells = []
        for column, value in zip(headers, record, strict=True):
            if column == "status":
                status = str(value)
                cells.append(_Cell(STATUS_LABELS.get(status, status), status=True,
                                   color=STATUS_COLORS.get(status, "#777"),
                                   text_color="#222" if status == "review" else "#fff"))
            elif column == "effort":
                cells.append(_Cell(_number_cell(value), numeric=True))
            elif column == "score":
                cells.append(_Cell(_score_cell(value), numeric=True))
            elif column == "task":  # a rich-text (HTML) task reads as its text; escaped after
                cells.append(_Cell(_shortened(readable(_text(value))), lines=True))
            else:
                cells.append(_Cell(_text(value), numeric=column in numeric))
        rows.append(cells)
    return {"headers": list(headers.values()), "rows": rows}


def _shortened(text: str, limit: int = TASK_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _cut_note(shown: pd.DataFrame, whole: pd.DataFrame, what: str) -> str:
    """What a table capped at `max_rows` leaves out (every table is: a run of 100,000 tasks,
    a fifth serving no strategy, listed 20,000 orphan tasks in full); "" when nothing."""
    if len(whole) <= len(shown):
        return ""
    return (f"Showing the first {len(shown):,} of {len(whole):,} {what}; export the results "
            f"for the full list.")


def _cards(summary: Summary) -> list[dict[str, str]]:
    cards = []
    use_effort = summary.effort is not None and bool(summary.total_effort)
    shares = whole_percents({status: (summary.effort_shares or {})[status] if use_effort
                             else summary.shares[status] for status in WORK_STATUSES})
    for status in WORK_STATUSES:
        sub = task_count(summary.counts[status])
        if use_effort and summary.effort is not None:
            # The share is of effort: say so before the task count, which is another measure.
            sub = (f"of {column_words(summary.effort_column)} ({number(summary.effort[status])})"
                   f" · {sub}")
        cards.append({"color": STATUS_COLORS[status], "value": shares[status],
                      "label": STATUS_LABELS[status], "sub": sub})
    cards.append({"color": "#3B6FB6", "value": percent(summary.serving_share),
                  "label": "Work serving a strategy",
                  "sub": f"{'of effort' if use_effort else 'of tasks'}, review included"})
    cards.append({"color": "#B8B8B8", "value": str(len(summary.neglected)),
                  "label": "Neglected strategies",
                  "sub": f"no work or below {percent(summary.neglect_threshold)}"})
    return cards


@functools.cache
def packed_plotly() -> str:
    """plotly.js gzipped, as base64 text: 2 of its 4.8 MB (all but a tenth of the report), which
    the page unpacks with the browser's own DecompressionStream, offline."""
    from plotly.offline import get_plotlyjs

    packed = gzip.compress(get_plotlyjs().encode("utf-8"), compresslevel=9, mtime=0)
    return base64.b64encode(packed).decode("ascii")


def trend_numbers(trends: Trends, as_text: bool = True) -> pd.DataFrame:
    """The trend charts' figures as a table: per period, tasks and each status's share (of
    tasks, or of effort: the header says which), orphan tasks (and how many are new), neglected
    strategies. Shares as "81%", or with `as_text` False as fractions (a workbook's numbers)
    and each period's start as a date."""
    frame = trends.periods
    table = pd.DataFrame({"Period": frame["period"], "Tasks": frame["tasks"]})
    of = column_words(trends.effort_column) if trends.shares_of_effort else "tasks"
    statuses = ("aligned", "review", "misaligned")
    # As text, a period's three shares add up to 100, as the cards' and the chart's do.
    whole = [whole_percents(dict(zip(statuses, shares, strict=True))) for shares in zip(
        *(frame[trends.share_column(status)].astype(float) for status in statuses), strict=True)]
    for status in statuses:
        shares = frame[trends.share_column(status)]
        table[f"{STATUS_LABELS[status]} (% of {of})"] = (
            [period[status] for period in whole] if as_text else shares.astype(float))
    table["Orphan tasks"] = frame["orphans"]
    table["New orphans"] = frame.get("new_orphans", 0)
    table["Neglected strategies"] = frame["neglected"]
    if not as_text:
        # A date a workbook sorts and filters by: the label's "Mar 05" has no year, and sorts
        # as text. A run's is when its tasks came in (UTC, to the minute); a week's, its Monday.
        starts = pd.to_datetime(frame["date"], utc=True).dt.tz_localize(None)
        if trends.by == "run":
            table["Period start (UTC)"] = starts.dt.floor("min")
        else:
            table["Period start"] = starts.dt.date  # a day: no time to show
    return table


def report_html(summary: Summary, plan: Plan, title: str = "Line of sight report",
                max_rows: int = MAX_ROWS, generated_at: dt.datetime | None = None,
                trends: Trends | None = None) -> str:
    """A self-contained HTML report: vision, headline figures, charts, trends (with two or more
    periods), neglected strategies, orphan work and the task table; all user text escaped."""
    figures = [status_chart(summary), effort_chart(summary), line_of_sight_chart(summary, plan)]
    with_trends = trends is not None and not trends.empty
    if with_trends:
        assert trends is not None
        figures += [status_trend_chart(trends), strategy_trend_chart(trends)]
    config = {"displaylogo": False, "responsive": True}
    # The library once, packed, at the end of the page (packed_plotly): each chart's
    # Plotly.newPlot waits for it in the template's queue.
    charts = [figure.to_html(full_html=False, include_plotlyjs=False, config=config,
                             default_width="100%")
              for figure in figures]
    table = summary.table
    effort_label = summary.effort_column or "Effort"
    has_owner = "owner" in table.columns
    has_effort = summary.effort_column is not None
    sections: list[dict[str, Any]] = []

    neglected_empty = (f"None: every strategy gets at least "
                       f"{percent(summary.neglect_threshold)} of the work.")
    sections.append({"title": "Neglected strategies", "empty": neglected_empty,
                     "table": None if summary.neglected.empty else _table(
                         summary.neglected, {"strategy": "Strategy", "strategy_id": "Id",
                                             "tasks": "Tasks", "reason": "Why"}, {"tasks"})})

    # The task's number in the list, as the Review page says "task 36": not a spreadsheet's row
    # (a header, a title above it, would put it one or more further down).
    headers = {"row": "#", "task": "Task"}
    if has_owner:
        headers["owner"] = "Owner"
    if has_effort:
        headers["effort"] = effort_label
    orphan_headers = headers | {"closest_strategy": "Closest strategy", "score": "Score"}
    orphans = summary.orphans.head(max_rows)
    sections.append({
        "title": f"Orphan work: tasks that serve no strategy ({len(summary.orphans):,})",
        "empty": "None: every task serves a strategy.",
        "table": None if orphans.empty else _table(orphans, orphan_headers, {"row"}),
        "note": _cut_note(orphans, summary.orphans, "orphan tasks"
                          + (" (most effort first)" if has_effort else ""))})

    task_headers = headers | {"strategy": "Strategy", "status": "Status", "score": "Score"}
    shown = table.head(max_rows)
    sections.append({"title": "All tasks", "empty": "No tasks.",
                     "table": _table(shown, task_headers, {"row"}),
                     "note": _cut_note(shown, table, "tasks")})

    generated = (generated_at or dt.datetime.now()).strftime("%Y-%m-%d %H:%M")
    meta = (f"{task_count(summary.tasks)}"
            + (f" (and {summary.blank:,} blank row{'s' if summary.blank != 1 else ''}, not "
               f"counted)" if summary.blank else "")
            + f" · {len(plan.strategies)} strategies"
            + (f" · {summary.decided:,} decided by a person" if summary.decided else "")
            + f" · generated {generated}")
    if with_trends and trends is not None:
        streaks = trends.neglected
        sections.insert(0, {
            "title": "Strategies neglected two or more periods in a row",
            "empty": "None.", "table": None if streaks.empty else _table(
                streaks, {"strategy": "Strategy", "strategy_id": "Id", "periods": "Periods"},
                {"periods"})})
        fresh = trends.new_orphans.head(max_rows)
        sections.insert(1, {
            "title": f"Orphan work new since the last period ({len(trends.new_orphans):,})",
            "empty": "None.", "table": None if fresh.empty else _table(
                fresh, {"task": "Task", "closest_strategy": "Closest strategy"}),
            "note": _cut_note(fresh, trends.new_orphans, "new orphan tasks")})
    numbers = trend_numbers(trends) if with_trends and trends is not None else None
    template = _environment().get_template("report.html.j2")
    return str(template.render(
        title=title, vision=plan.vision, meta=meta, cards=_cards(summary), charts=charts[:3],
        plotly=packed_plotly(),
        trend_charts=charts[3:], sections=sections,
        trend_note=describe_periods(trends) if with_trends and trends is not None else None,
        trend_numbers=_table(numbers, {c: c for c in numbers.columns}) if numbers is not None
        else None))
