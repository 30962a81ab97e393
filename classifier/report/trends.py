"""How alignment moves over time: over a plan's runs (or the weeks of a date column in the
tasks), the share of aligned / review / misaligned work and of effort, effort per strategy,
strategies neglected two or more periods in a row, and orphan work new since the last period.

Over runs, a period is a list of tasks: its runs (a re-score after the teach-in, the list
pasted twice, a re-run after a plan edit) count once, with the latest run's figures, in the
place of the first, when the tasks came in; "the last period" is the one before in that order,
so re-scoring an older list later does not make it the newest week."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from ..cells import cell_text, column_words, no_year, read_dates, task_key
from ..results import Status
from .summary import Summary, summary, work_table

if TYPE_CHECKING:
    from ..plan import Plan
    from ..store import RunInfo, Store

# As trackers name them: Jira's "Due Date", Azure Boards' and Planner's "Created Date" and
# "Target Date", Asana's "Completed At", GitHub's "closed_at".
DATE_COLUMN_NAMES = ("due", "due_date", "target_date", "created", "created_at", "created_date",
                     "date", "week", "done", "completed", "completed_at", "completed_date",
                     "closed", "closed_at", "closed_date", "resolved", "resolved_at",
                     "resolved_date", "start", "started", "start_date")
MAX_PERIODS = 12
STREAK = 2  # periods in a row that make a strategy "neglected for a while"


@dataclass
class Trends:
    """A plan's periods (oldest first: by when their tasks came in) and what changed across
    them."""

    by: str  # "run", or the date column the tasks were grouped by
    # period, date (when its tasks came in), tasks, shares of tasks (and effort) per status, ...
    periods: pd.DataFrame
    by_strategy: pd.DataFrame  # period, strategy_id, strategy, tasks, effort, share
    neglected: pd.DataFrame  # strategy_id, strategy, periods (in a row, up to the last)
    new_orphans: pd.DataFrame  # task, owner?, effort?, closest_strategy: misaligned only now
    effort_column: str | None = None
    # (run, the later run of the same tasks that stands for it in the periods)
    repeats: list[tuple[int, int]] = field(default_factory=list)
    # Earlier runs (or weeks) past the `limit` of periods shown, left out
    left_out: int = 0
    # (run, who) of the run reported on when it was set aside: none of the periods, which end
    # with the runs before it
    set_aside: tuple[int, str] | None = None
    # Every strategy of the periods: the newest plan's in plan order, then any others as they
    # first appear; a strategy's colour in every chart follows this (charts.strategy_colors)
    strategy_ids: list[str] = field(default_factory=list)
    summaries: list[Summary] = field(default_factory=list, repr=False)
    # By a date column: its tasks in no week (a cell empty, of no date or of a day with no
    # year), the first filled such cell as written (one with no year first), and whether any
    # is empty
    undated: int = 0
    undated_cell: str = ""
    undated_blank: bool = False

    @property
    def empty(self) -> bool:
        """Fewer than two periods: nothing moves yet."""
        return len(self.periods) < 2

    @property
    def shares_of_effort(self) -> bool:
        """True when the status shares per period are of effort, else of tasks."""
        return self.effort_column is not None and "aligned_effort" in self.periods.columns

    def share_column(self, status: str) -> str:
        """The `periods` column holding a status's share of each period."""
        return f"{status}_effort" if self.shares_of_effort else status


def find_date_column(frame: pd.DataFrame, columns: list[str]) -> str | None:
    """A column of dates in the tasks (due, created, ...), if most of its cells read as dates."""
    by_name = {str(c).strip().lower().replace(" ", "_"): c for c in columns}
    for name in DATE_COLUMN_NAMES:
        column = by_name.get(name)
        if column is None or column not in frame.columns:
            continue
        dates = read_dates(frame[column])
        if dates.notna().mean() >= 0.8:
            return str(column)
    return None


def no_year_column(frame: pd.DataFrame, columns: list[str]) -> tuple[str, str] | None:
    """A column named as dates whose cells are mostly days with no year ("1 Dec"), which
    `find_date_column` does not offer, and its first such cell; None when there is none."""
    if find_date_column(frame, columns) is not None:
        return None
    by_name = {str(c).strip().lower().replace(" ", "_"): c for c in columns}
    for name in DATE_COLUMN_NAMES:
        column = by_name.get(name)
        if column is None or column not in frame.columns:
            continue
        values = frame[column]
        yearless = no_year(values)
        if (read_dates(values).notna() | yearless).mean() >= 0.8 and yearless.any():
            return str(column), cell_text(values[yearless].iloc[0])
    return None


def run_trends(store: Store, plan_name: str = "default", limit: int = MAX_PERIODS,
               until: int | None = None) -> Trends:
    """One period per list of tasks classified against the plan (the newest `limit` up to run
    `until`, oldest first), decisions applied: a list classified again (a re-score, a list
    pasted twice, a re-run with the plan as edited since) is one period, placed by its first
    run (when its tasks came in) with the figures of its latest. Runs of a plan that shares no
    strategy with the newest run's (one it replaced outright) are left out, as the history a
    run learns from leaves them out, and so are runs of blank rows only (no work)."""
    runs = [run for run in store.runs(limit=10_000, plan_name=plan_name)
            if until is None or run.id <= until]
    plans: dict[int, Plan] = {}
    # (rows, tasks) -> its runs, newest first. The same tasks again (a re-score after the
    # teach-in, a list pasted twice, a re-run with the plan as edited since) are one week's
    # work, not a second period in which the team "improved": its latest run's figures stand
    # for it, in the place of its first (a re-score of an older list does not make it the
    # newest week). A re-run after a plan edit was a period of its own: four weeks read five.
    lists: dict[tuple[int, tuple[str, ...]], list[RunInfo]] = {}
    # Only a run with as many rows as another can repeat it: a year of weekly runs reads the
    # texts of the few that may, not every run's.
    sizes = Counter(run.rows for run in runs)
    for run in runs:  # newest first
        if run.plan_version not in plans:
            plans[run.plan_version] = store.plan(run.plan_version)
        if not set(plans[runs[0].plan_version].ids) & set(plans[run.plan_version].ids):
            continue
        if not run.tasks:  # blank rows only: no work, not a period in which nothing served
            continue
        texts = (tuple(store.run_results(run.id)[run.text_column].astype(str))
                 if sizes[run.rows] > 1 else ())
        lists.setdefault((run.rows, texts), []).append(run)
    by_arrival = sorted(lists.values(), key=lambda mine: (mine[-1].created_at, mine[-1].id))
    shown = by_arrival[-limit:] if limit > 0 else []
    periods: list[tuple[str, pd.Timestamp, Summary]] = []
    repeats: list[tuple[int, int]] = []
    for mine in shown:
        latest, first = mine[0], mine[-1]
        repeats += [(older.id, latest.id) for older in mine[1:]]
        results = store.results_with_decisions(latest.id).drop(columns=["candidates", "row"],
                                                               errors="ignore")
        found = summary(results, plans[latest.plan_version], text_column=latest.text_column)
        # The latest run's number (its figures, as its report has them), the date its tasks
        # came in (its place).
        periods.append((f"#{latest.id} {first.created_at:%b %d}",
                        pd.Timestamp(first.created_at), found))
    trends = _trends("run", periods, plans[runs[0].plan_version] if runs else None)
    trends.repeats = sorted(repeats)
    trends.left_out = sum(len(mine) for mine in by_arrival[: len(by_arrival) - len(shown)])
    return trends


def describe_periods(trends: Trends) -> str | None:
    """Which runs are no period of their own, and which later run stands for each, how many
    earlier runs or weeks are past the periods shown, and a run reported on set aside; or None."""
    left = (f"The latest {len(trends.periods)} periods are shown; {trends.left_out} earlier "
            f"{'run' if trends.by == 'run' else 'week'}{'s' if trends.left_out > 1 else ''} "
            f"{'are' if trends.left_out > 1 else 'is'} not."
            if trends.left_out else None)
    if trends.undated:
        undated = _undated(trends)
        left = f"{left} {undated}" if left else undated
    if trends.set_aside is not None:
        run, by = trends.set_aside
        # The trends ended at the run before it with no word: they read as the latest.
        aside = (f"Run #{run} was set aside by {by}: the trends leave it out and end with the "
                 f"runs before it.")
        left = f"{aside} {left}" if left else aside
    if not trends.repeats:
        return left
    standing: dict[int, list[int]] = {}
    for older, newer in trends.repeats:
        standing.setdefault(newer, []).append(older)
    parts = [f"run{'s' if len(older) > 1 else ''} {', '.join(f'#{r}' for r in older)} by "
             f"#{newer}" for newer, older in sorted(standing.items())]
    said = ("Runs of the same tasks (a re-score, a list classified twice, a re-run with the "
            "plan as edited since) count once, with the latest run's figures, in the place and "
            f"under the date of the first, when the tasks came in: {'; '.join(parts)}.")
    return f"{said} {left}" if left else said


def _undated(trends: Trends) -> str:
    """The line on a date column's tasks in no week: "3 tasks are in no week: their due is
    empty or no date with a year ('1 Dec' names no year)"."""
    many = trends.undated > 1
    cell = trends.undated_cell
    what = ["empty"] if trends.undated_blank else []
    why = ""
    if cell and bool(no_year(pd.Series([cell], dtype=object)).iloc[0]):
        what.append("no date with a year")
        why = f" ({cell!r} names no year)"
    elif cell:
        what.append("no date")
        why = f" ({cell!r})"
    return (f"{trends.undated:,} task{'s' if many else ''} {'are' if many else 'is'} in no "
            f"week: {'their' if many else 'its'} {column_words(trends.by)} is "
            f"{' or '.join(what)}{why}.")


def date_trends(results: pd.DataFrame, plan_columns: list[str], text_column: str, plan: Plan,
                column: str, limit: int = MAX_PERIODS) -> Trends:
    """One period per week of a date column of one run's tasks (the latest `limit` weeks)."""
    dates = read_dates(results[column])
    weeks = dates.dt.to_period("W-SUN").dt.start_time
    periods = []
    # Weeks of blank rows only are no period (as a run of them is none): left out before the
    # latest `limit` are taken, they took a period's place and were counted as weeks not shown.
    work = (work_table(results, plan, text_column=text_column)["status"]
            != Status.EMPTY.value).to_numpy()
    every = sorted(weeks[work].dropna().unique())
    # Weeks of two years name their year: "week of Mar 02" of 2025 and of 2026 were one label,
    # one place on the charts' axis.
    label = ("%b %d, %Y" if len({pd.Timestamp(week).year for week in every[-limit:]}) > 1
             else "%b %d")
    for week in every[-limit:]:
        part = results[weeks == week]
        found = summary(part, plan, text_column=text_column)
        periods.append((f"week of {pd.Timestamp(week).strftime(label)}", pd.Timestamp(week),
                        found))
    trends = _trends(column, periods, plan)
    trends.left_out = max(len(every) - limit, 0)
    undated = work & dates.isna().to_numpy()
    if undated.any():
        cells = results[column][undated].map(cell_text)
        filled = cells[cells != ""]
        yearless = filled[no_year(filled)]
        trends.undated = int(undated.sum())
        trends.undated_cell = next(iter(yearless.tolist() or filled.tolist()), "")
        trends.undated_blank = len(filled) < len(cells)
    return trends


def _trends(by: str, periods: list[tuple[str, pd.Timestamp, Summary]],
            plan: Plan | None) -> Trends:
    rows, strategies = [], []
    # Shares of effort only where every period has effort: a week pasted without hours next to
    # exported ones would otherwise have no share at all, or shares of another measure.
    effort = bool(periods) and all(found.use_effort for _, _, found in periods)
    for label, when, found in periods:
        # Blank rows are not work: a period's shares add up to its tasks (as on the Classify
        # page, and as the shares per strategy already do).
        row: dict[str, object] = {"period": label, "date": when,
                                  "tasks": found.tasks}
        shares, effort_shares = found.shares_of_work(), found.shares_of_work(by_effort=True)
        for status in (Status.ALIGNED, Status.REVIEW, Status.MISALIGNED):
            row[status.value] = shares[status.value]
            if effort:
                row[f"{status.value}_effort"] = effort_shares[status.value]
        row["orphans"] = len(found.orphans)
        row["neglected"] = ", ".join(found.neglected["strategy"].astype(str))
        rows.append(row)
        share = "effort_share" if effort else "task_share"
        for item in found.by_strategy.itertuples(index=False):
            strategies.append({"period": label, "strategy_id": item.strategy_id,
                               "strategy": item.strategy, "tasks": item.tasks,
                               "effort": item.effort, "share": getattr(item, share)})
    frame = pd.DataFrame(rows)
    summaries = [found for _, _, found in periods]
    new_orphans = _new_orphans(summaries)
    if not frame.empty:
        frame["new_orphans"] = [0] + [len(_new_orphans(summaries[: i + 1]))
                                      for i in range(1, len(summaries))]
    effort_column = summaries[-1].effort_column if effort else None
    by_strategy = pd.DataFrame(strategies)
    if not by_strategy.empty:
        # A strategy renamed along the way (its id kept) is one strategy: its latest name.
        latest = by_strategy.groupby("strategy_id", sort=False)["strategy"].last()
        by_strategy["strategy"] = by_strategy["strategy_id"].map(latest)
    seen = by_strategy["strategy_id"].astype(str).tolist() if not by_strategy.empty else []
    return Trends(by=by, periods=frame, by_strategy=by_strategy,
                  neglected=_streaks(summaries), new_orphans=new_orphans,
                  effort_column=effort_column,
                  strategy_ids=list(dict.fromkeys((plan.ids if plan else []) + seen)),
                  summaries=summaries)


def _streaks(summaries: list[Summary]) -> pd.DataFrame:
    """Strategies neglected in each of the last STREAK or more periods, longest first."""
    if not summaries:
        return pd.DataFrame(columns=["strategy_id", "strategy", "periods"])
    latest = summaries[-1].neglected
    rows = []
    for item in latest.itertuples(index=False):
        count = 0
        for found in reversed(summaries):
            if item.strategy_id in set(found.neglected["strategy_id"]):
                count += 1
            else:
                break
        if count >= STREAK:
            rows.append({"strategy_id": item.strategy_id, "strategy": item.strategy,
                         "periods": count})
    frame = pd.DataFrame(rows, columns=["strategy_id", "strategy", "periods"])
    return frame.sort_values("periods", ascending=False, kind="stable").reset_index(drop=True)


def _new_orphans(summaries: list[Summary]) -> pd.DataFrame:
    """Orphan tasks of the last period whose text was not orphan work in the one before."""
    if not summaries:
        return pd.DataFrame(columns=["task"])
    latest = summaries[-1].orphans
    if len(summaries) < 2:
        return latest.reset_index(drop=True)
    before = {task_key(task) for task in summaries[-2].orphans["task"]}
    fresh = latest[[task_key(task) not in before for task in latest["task"]]]
    return fresh.reset_index(drop=True)
