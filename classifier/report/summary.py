"""The summary of a run, computed once: per task who serves what (a person's decision wins over
the machine's), statuses by tasks and effort, work per strategy, neglected strategies, orphan work.

Every function takes a results frame (the task file's columns plus the result columns, and after
review `final_strategy_id`/`final_status`/`decided_by`) and, where strategies matter, the plan.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import ResultsError, TasksError
from ..files.columns import choose_text_column
from ..plan import Plan
from ..results import (
    FINAL_COLUMNS,
    LLM_COLUMNS,
    RESULT_COLUMNS,
    STATUS_ORDER,
    STORE_COLUMNS,
    Figures,
    Status,
    decided_figures,
)

if TYPE_CHECKING:
    from ..store import RunInfo

STATUS_LABELS = {value: value.capitalize() for value in STATUS_ORDER}
# The statuses of work: a blank row is no task and no effort, in every figure and share.
WORK_STATUSES = [status for status in STATUS_ORDER if status != Status.EMPTY.value]
NO_STRATEGY = "Serves no strategy"
EFFORT_COLUMN_NAMES = ("effort", "effort_hours", "hours", "points", "story_points", "estimate",
                       "effort_points", "estimate_hours", "estimated_hours", "storypoints", "sp")
OWNER_COLUMN_NAMES = ("owner", "owners", "assignee", "assigned_to", "assigned", "responsible",
                      "who", "person", "member", "assignees", "members")
DEFAULT_NEGLECT_THRESHOLD = 0.05
_KNOWN_COLUMNS = set(RESULT_COLUMNS) | set(LLM_COLUMNS) | set(FINAL_COLUMNS) | set(STORE_COLUMNS)
_NUMBER_WITH_UNIT = re.compile(r"^\s*([+-]?\d+(?:[.,]\d+)?)\s*(?:h|hr|hrs|hours?|pts?|points?|sp)?"
                               r"\s*$", re.IGNORECASE)


# ---------------------------------------------------------------------- columns

def _normal_name(name: object) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def effort_values(values: pd.Series) -> pd.Series:
    """Effort as floats: numbers, or numbers with a unit such as `3h` or `2 pts`; else NaN."""
    numbers = pd.to_numeric(values, errors="coerce")
    if values.dtype.kind in "iufb":
        return numbers.astype("float64")
    text = values.astype("string").str.extract(_NUMBER_WITH_UNIT, expand=False)
    parsed = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
    return numbers.astype("float64").fillna(parsed.astype("float64"))


def find_effort_column(frame: pd.DataFrame) -> str | None:
    """The column holding effort (effort, hours, points, estimate...) if it is numeric and not
    all zero; else None."""
    by_name: dict[str, str] = {}
    for column in frame.columns:
        if column in _KNOWN_COLUMNS:
            continue
        # Jira's "Custom field (Story Points)": its story points, which the report missed.
        by_name.setdefault(_normal_name(column).removeprefix("custom_field_"), column)
    candidates = [by_name[name] for name in EFFORT_COLUMN_NAMES if name in by_name]
    candidates += [column for name, column in by_name.items()
                   if name.startswith(("effort", "hours", "estimate", "story_point"))
                   and column not in candidates]
    for column in candidates:
        values = frame[column]
        filled = values[values.notna() & (values.astype("string").str.strip() != "")]
        if filled.empty:
            continue
        numbers = effort_values(filled)
        # A column of zeros (story points nobody estimates) measures no work: its shares read
        # 0% everywhere, an empty donut and every strategy neglected, beside the tasks.
        if numbers.notna().mean() >= 0.8 and numbers.clip(lower=0).sum() > 0:
            return column
    return None


def effort_note(results: pd.DataFrame, effort_column: str | None = None) -> str | None:
    """A line on effort cells that are not numbers (counted as 0), or on a column named as
    effort that is not read as effort for them; None when every filled cell is a number."""
    column = effort_column or find_effort_column(results)
    named = [c for c in results.columns if c not in _KNOWN_COLUMNS
             and _normal_name(c) in EFFORT_COLUMN_NAMES]
    target = column or (named[0] if named else None)
    if target is None:
        return None
    values = results[target].reset_index(drop=True)
    filled = values.notna() & (values.astype("string").str.strip() != "")
    unread = filled & effort_values(values).isna()
    if not unread.any():
        return None
    rows = [int(row) + 1 for row in unread[unread].index]
    shown = ", ".join(f"row {row}: {str(values[row - 1])!r}" for row in rows[:3])
    more = f", and {len(rows) - 3} more" if len(rows) > 3 else ""
    if column is None:
        verb = "is not a number" if len(rows) == 1 else "are not numbers"
        return (f"'{target}' is not read as effort: {len(rows)} of its {int(filled.sum())} "
                f"filled cells {verb} ({shown}{more}); shares are of tasks")
    return (f"{len(rows)} '{target}' cell{'s are' if len(rows) != 1 else ' is'} not a number "
            f"and count{'' if len(rows) != 1 else 's'} as 0 ({shown}{more})")


def find_owner_column(frame: pd.DataFrame) -> str | None:
    """The column naming who does each task (owner, assignee...), or None."""
    by_name = {_normal_name(column): column for column in frame.columns
               if column not in _KNOWN_COLUMNS}
    for name in OWNER_COLUMN_NAMES:
        if name in by_name:
            return by_name[name]
    return None


def find_text_column(results: pd.DataFrame, text_column: str | None = None) -> str:
    """The input column holding the task text (ResultsError if it cannot be told)."""
    inputs = [column for column in results.columns if column not in _KNOWN_COLUMNS]
    if not inputs:
        raise ResultsError("results: no task text column; the frame holds only result columns")
    try:
        return choose_text_column(inputs, "results", text_column, results[inputs])
    except TasksError as error:
        raise ResultsError(str(error)) from None


def _resolve_effort(results: pd.DataFrame, effort_column: str | None) -> str | None:
    if effort_column is None:
        return find_effort_column(results)
    if effort_column not in results.columns:
        raise ResultsError(f"results: no effort column {effort_column!r}; columns are: "
                         f"{', '.join(map(str, results.columns))}")
    return effort_column


def _clean(values: pd.Series) -> pd.Series:
    """Cells as stripped text (object dtype), blanks and missing values as ""."""
    text = values.astype("string").fillna("").str.strip()
    return text.astype(object).reset_index(drop=True)


# ---------------------------------------------------------------------- work table

def work_table(results: pd.DataFrame, plan: Plan, effort_column: str | None = None,
               text_column: str | None = None) -> pd.DataFrame:
    """One row per task after decisions: row, task, owner, effort, status, strategy_id, strategy,
    score, closest_strategy, decided (a person's decision, where there is one, wins)."""
    if "status" not in results.columns:
        raise ResultsError("results: no column 'status'; classify the tasks first")
    text_column = find_text_column(results, text_column)
    effort_column = _resolve_effort(results, effort_column)
    owner_column = find_owner_column(results)
    empty = pd.Series([""] * len(results), dtype=object)

    def column(name: str) -> pd.Series:
        return _clean(results[name]) if name in results.columns else empty

    status = column("status").str.lower()
    strategy_id = column("strategy_id")
    person = column("final_status").str.lower()
    decided_now = person != ""
    status = person.where(decided_now, status)
    chosen = column("final_strategy_id")
    strategy_id = chosen.where(decided_now & (chosen != ""), strategy_id)
    # The store fills final_status for every row; who decided tells a person's decision apart.
    decided = column("decided_by") != "" if "decided_by" in results.columns else decided_now
    unknown = ~status.isin(STATUS_ORDER)
    status = status.where(~unknown, strategy_id.map(
        lambda sid: Status.REVIEW.value if sid else Status.EMPTY.value))
    strategy_id = strategy_id.where(
        ~status.isin([Status.MISALIGNED.value, Status.EMPTY.value]), "")

    names = plan.names
    machine_names = column("strategy")
    strategy = strategy_id.map(names)
    # A strategy the plan no longer has keeps the name the results carry, or its id.
    fallback = machine_names.where(machine_names != "", strategy_id).where(strategy_id != "")
    strategy = strategy.where(strategy.notna(), fallback)

    table = pd.DataFrame({"row": range(1, len(results) + 1), "task": column(text_column)})
    if owner_column is not None:
        table["owner"] = column(owner_column)
    table["effort"] = (effort_values(results[effort_column]).clip(lower=0).to_numpy()
                       if effort_column is not None else float("nan"))
    table["status"] = status
    table["strategy_id"] = strategy_id.where(strategy_id != "", None)
    table["strategy"] = strategy.where(strategy.notna(), None)
    table["score"] = _scores(results, strategy_id.where(decided & (strategy_id != ""), ""))
    table["closest_strategy"] = machine_names
    table["decided"] = decided.to_numpy(dtype=bool)
    return table


def chosen_figures(results: pd.DataFrame, chosen: pd.Series) -> dict[int, Figures]:
    """Per row (by position) where a person chose a strategy other than the machine's
    (`chosen`: its id; empty or None where nobody did), that strategy's figures among the row's
    stored candidates; none without candidates."""
    if "candidates" not in results.columns or "strategy_id" not in results.columns:
        return {}
    ids = chosen.fillna("").astype(str).to_numpy()
    moved = (ids != "") & (ids != results["strategy_id"].astype(object).to_numpy())
    found = results["candidates"]
    return {int(position): decided_figures(found.iloc[position]
                                           if isinstance(found.iloc[position], list) else [],
                                           str(ids[position]))
            for position in np.flatnonzero(moved)}


def _scores(results: pd.DataFrame, chosen: pd.Series) -> np.ndarray:
    """Each task's score: the machine's, or for a strategy a person chose instead of the
    machine's, that strategy's among the task's candidates (none when it is not among them)."""
    score = (pd.to_numeric(results["score"], errors="coerce").to_numpy(dtype=float, copy=True)
             if "score" in results.columns else np.full(len(results), np.nan))
    for position, figures in chosen_figures(results, chosen).items():
        score[position] = np.nan if figures.score is None else figures.score
    return score


def _measure(table: pd.DataFrame, use_effort: bool) -> pd.Series:
    return table["effort"].fillna(0.0) if use_effort else pd.Series(1.0, index=table.index)


# ---------------------------------------------------------------------- summaries

def status_counts(results: pd.DataFrame) -> dict[str, int]:
    """How many rows have each status (the person's where decided, else the machine's)."""
    statuses = pd.Series(_final_statuses(results), dtype=object)
    return {status: int((statuses == status).sum()) for status in STATUS_ORDER}


def effort_by_strategy(results: pd.DataFrame, plan: Plan, effort_column: str | None = None,
                       text_column: str | None = None) -> pd.DataFrame:
    """Tasks and effort per strategy, every strategy of the plan included, most work first.

    Tasks still in review count toward their best strategy; `task_share` and `effort_share`
    are shares of all non-empty work (orphan work included).
    """
    effort_column = _resolve_effort(results, effort_column)
    table = work_table(results, plan, effort_column, text_column)
    return _by_strategy(table, plan, effort_column is not None)


def _by_strategy(table: pd.DataFrame, plan: Plan, use_effort: bool) -> pd.DataFrame:
    filled = table[table["status"] != Status.EMPTY.value]
    served = filled[filled["strategy_id"].notna()]
    rows = [(strategy.id, strategy.name) for strategy in plan.strategies]
    known = {strategy_id for strategy_id, _ in rows}
    for strategy_id, name in served[["strategy_id", "strategy"]].drop_duplicates().itertuples(
            index=False):
        if strategy_id not in known:  # a decision naming a strategy the plan no longer has
            rows.append((strategy_id, name))
            known.add(strategy_id)
    tasks = served.groupby("strategy_id").size()
    review = served[served["status"] == Status.REVIEW.value].groupby("strategy_id").size()
    effort = served["effort"].fillna(0.0).groupby(served["strategy_id"]).sum()
    total_tasks = len(filled)
    total_effort = float(filled["effort"].fillna(0).sum()) if use_effort else float("nan")
    frame = pd.DataFrame({
        "strategy_id": [strategy_id for strategy_id, _ in rows],
        "strategy": [name for _, name in rows],
        "tasks": [int(tasks.get(strategy_id, 0)) for strategy_id, _ in rows],
        "review_tasks": [int(review.get(strategy_id, 0)) for strategy_id, _ in rows],
        "effort": [float(effort.get(strategy_id, 0.0)) if use_effort else float("nan")
                   for strategy_id, _ in rows],
        "_order": range(len(rows)),
    })
    frame["task_share"] = frame["tasks"] / total_tasks if total_tasks else 0.0
    frame["effort_share"] = (frame["effort"] / total_effort if total_effort else 0.0
                             ) if use_effort else float("nan")
    keys = ["effort", "tasks"] if use_effort else ["tasks"]
    frame = frame.sort_values(keys + ["_order"], ascending=[False] * len(keys) + [True],
                              kind="stable")
    return frame.drop(columns="_order").reset_index(drop=True)


def neglected_strategies(results: pd.DataFrame, plan: Plan,
                         threshold: float = DEFAULT_NEGLECT_THRESHOLD,
                         effort_column: str | None = None,
                         text_column: str | None = None) -> pd.DataFrame:
    """Strategies with no tasks, or whose share of effort (of tasks, without effort) is below
    threshold, least work first."""
    effort_column = _resolve_effort(results, effort_column)
    table = work_table(results, plan, effort_column, text_column)
    use_effort = effort_column is not None
    return _neglected(_by_strategy(table, plan, use_effort), plan, threshold, use_effort)


def _neglected(by_strategy: pd.DataFrame, plan: Plan, threshold: float,
               use_effort: bool) -> pd.DataFrame:
    by_strategy = by_strategy[by_strategy["strategy_id"].isin(plan.ids)]
    share = by_strategy["effort_share"] if use_effort else by_strategy["task_share"]
    unit = "effort" if use_effort else "tasks"
    neglected = by_strategy.assign(share=share)
    neglected = neglected[(neglected["tasks"] == 0) | (neglected["share"] < threshold)]
    reasons = [
        "no tasks" if tasks == 0
        else f"{percent(value)} of {unit} (below {percent(threshold)})"
        for tasks, value in zip(neglected["tasks"], neglected["share"], strict=True)
    ]
    neglected = neglected.assign(reason=reasons)
    neglected = neglected.sort_values(["share", "tasks"], kind="stable")
    return neglected[["strategy_id", "strategy", "tasks", "effort", "share", "reason"]
                     ].reset_index(drop=True)


def orphan_work(results: pd.DataFrame, effort_column: str | None = None,
                text_column: str | None = None) -> pd.DataFrame:
    """Tasks that serve no strategy after decisions: row, task, owner and effort when the file
    has them, the closest strategy the machine found and its score; most effort first."""
    effort_column = _resolve_effort(results, effort_column)
    plan_free = Plan.model_construct(vision="", strategies=[], thresholds=None)
    table = work_table(results, plan_free, effort_column, text_column)
    return _orphans(table, effort_column is not None)


def _orphans(table: pd.DataFrame, use_effort: bool) -> pd.DataFrame:
    orphans = table[table["status"] == Status.MISALIGNED.value]
    columns = ["row", "task"] + (["owner"] if "owner" in table.columns else [])
    columns += (["effort"] if use_effort else []) + ["closest_strategy", "score"]
    orphans = orphans[columns]
    if use_effort:
        orphans = orphans.sort_values("effort", ascending=False, kind="stable", na_position="last")
    return orphans.reset_index(drop=True)


@dataclass
class Summary:
    """Headline figures of a run: statuses by tasks (and effort), work per strategy, gaps."""

    vision: str
    tasks: int  # tasks with text; blank rows are counted apart (`blank`)
    counts: dict[str, int]  # per status, `empty` (blank rows) included
    shares: dict[str, float]  # per work status, of `tasks`
    effort_column: str | None
    total_effort: float | None  # of the tasks, not of blank rows
    effort: dict[str, float] | None  # per work status
    effort_shares: dict[str, float] | None
    decided: int
    neglect_threshold: float
    by_strategy: pd.DataFrame = field(repr=False)
    neglected: pd.DataFrame = field(repr=False)
    orphans: pd.DataFrame = field(repr=False)
    table: pd.DataFrame = field(repr=False)  # the work table: one row per task, decisions applied
    plan: Plan | None = field(default=None, repr=False)

    @property
    def use_effort(self) -> bool:
        """Whether shares are of effort (an effort column was found) rather than of tasks."""
        return self.effort_column is not None

    @property
    def blank(self) -> int:
        """Blank rows of the file: neither tasks nor work."""
        return self.counts[Status.EMPTY.value]

    @property
    def serving_share(self) -> float:
        """Share of the work (effort if known, else tasks) that serves some strategy."""
        shares = self.shares_of_work(by_effort=bool(self.total_effort))
        return shares[Status.ALIGNED.value] + shares[Status.REVIEW.value]

    def shares_of_work(self, by_effort: bool = False) -> dict[str, float]:
        """Each work status's share of the tasks, or of the effort when asked and known:
        aligned, review and misaligned add up to the whole a manager is shown."""
        if by_effort and self.effort_shares is not None:
            return self.effort_shares
        return self.shares

    def headline(self) -> list[tuple[str, str]]:
        """The figures a manager reads first, as (label, value) text pairs."""
        rows = [("Tasks", f"{self.tasks:,}")]
        if self.blank:
            rows.append(("Blank rows (not counted)", f"{self.blank:,}"))
        for status in WORK_STATUSES:
            value = f"{self.counts[status]:,} ({percent(self.shares[status])})"
            if self.effort is not None and self.effort_shares is not None:
                value += (f"; {number(self.effort[status])} {self.effort_column} "
                          f"({percent(self.effort_shares[status])})")
            rows.append((STATUS_LABELS[status], value))
        rows.append(("Work serving a strategy", percent(self.serving_share)))
        if self.effort_column is not None:
            rows.append((f"Total {self.effort_column}", number(self.total_effort or 0.0)))
        rows.append(("Neglected strategies", f"{len(self.neglected)}"))
        rows.append(("Orphan tasks", f"{len(self.orphans):,}"))
        rows.append(("Tasks decided by a person", f"{self.decided:,}"))
        return rows

    def status_frame(self) -> pd.DataFrame:
        """Statuses as a table: tasks and share, and effort and share when there is effort."""
        frame = pd.DataFrame({
            "status": WORK_STATUSES,
            "tasks": [self.counts[s] for s in WORK_STATUSES],
            "task_share": [self.shares[s] for s in WORK_STATUSES],
        })
        if self.effort is not None and self.effort_shares is not None:
            frame["effort"] = [self.effort[s] for s in WORK_STATUSES]
            frame["effort_share"] = [self.effort_shares[s] for s in WORK_STATUSES]
        return frame


def summary(results: pd.DataFrame, plan: Plan, effort_column: str | None = None,
            text_column: str | None = None,
            neglect_threshold: float = DEFAULT_NEGLECT_THRESHOLD) -> Summary:
    """Counts and shares of each status (by tasks, and by effort if there is an effort column),
    work per strategy, neglected strategies and orphan work."""
    effort_column = _resolve_effort(results, effort_column)
    table = work_table(results, plan, effort_column, text_column)
    counts = {s: int((table["status"] == s).sum()) for s in STATUS_ORDER}
    total = len(table) - counts[Status.EMPTY.value]
    shares = {s: counts[s] / total if total else 0.0 for s in WORK_STATUSES}
    effort = effort_shares = total_effort = None
    if effort_column is not None:
        hours = table["effort"].fillna(0.0)
        effort = {s: float(hours[table["status"] == s].sum()) for s in WORK_STATUSES}
        total_effort = sum(effort.values())
        effort_shares = {s: effort[s] / total_effort if total_effort else 0.0
                         for s in WORK_STATUSES}
    use_effort = effort_column is not None
    by_strategy = _by_strategy(table, plan, use_effort)
    return Summary(
        vision=plan.vision, tasks=total, counts=counts, shares=shares,
        effort_column=effort_column, total_effort=total_effort, effort=effort,
        effort_shares=effort_shares, decided=int(table["decided"].sum()),
        neglect_threshold=neglect_threshold, by_strategy=by_strategy,
        neglected=_neglected(by_strategy, plan, neglect_threshold, use_effort),
        orphans=_orphans(table, use_effort), table=table, plan=plan,
    )


def whole_percents(shares: dict[str, float]) -> dict[str, str]:
    """Shares that add up to 1 as whole percents that add up to 100 (largest remainder: the
    figures a headline puts side by side never read 99% or 101% in all); "-" for none."""
    if not shares or any(math.isnan(v) for v in shares.values()) or sum(shares.values()) <= 0:
        return {key: percent(value) for key, value in shares.items()}
    exact = {key: value * 100 / sum(shares.values()) for key, value in shares.items()}
    whole = {key: math.floor(value) for key, value in exact.items()}
    by_remainder = sorted(exact, key=lambda key: whole[key] - exact[key])
    for key in by_remainder[:100 - sum(whole.values())]:
        whole[key] += 1
    # A share under 1% that rounds to 0 still shows as work done.
    return {key: "<1%" if whole[key] == 0 and exact[key] > 0 else f"{whole[key]}%"
            for key in shares}


def percent(share: float) -> str:
    if math.isnan(share):
        return "-"
    value = share * 100
    if 0 < value < 1:
        return "<1%"
    return f"{value:.0f}%"


def task_count(count: int) -> str:
    """"1 task", "1,204 tasks"."""
    return f"{count:,} task{'' if count == 1 else 's'}"


def number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _final_statuses(results: pd.DataFrame) -> list[str]:
    if "status" not in results.columns:
        raise ResultsError("results: no column 'status'; classify the tasks first")
    statuses = _clean(results["status"]).str.lower()
    if "final_status" in results.columns:
        final = _clean(results["final_status"]).str.lower()
        statuses = final.where(final != "", statuses)
    return statuses.tolist()


def runs_table(runs: Sequence[RunInfo]) -> pd.DataFrame:
    """Runs as a person scans them, one row each: id, when (UTC), plan version, tasks, the
    machine's statuses and the source."""
    return pd.DataFrame({
        "run": [f"#{run.id}" for run in runs],
        "made (UTC)": [f"{run.created_at:%Y-%m-%d %H:%M}" for run in runs],
        "plan": [f"v{run.plan_version}" for run in runs],
        "tasks": [run.tasks for run in runs],
        **{status: [run.status_counts.get(status, 0) for run in runs]
           for status in ("aligned", "review", "misaligned")},
        "source": [run.source for run in runs],
    })
