"""Summaries and charts of classified tasks: alignment, effort by strategy, orphans, neglect.

Every function takes a results frame (the task file's columns plus the result columns, and after
review `final_strategy_id`/`final_status`) and, where strategies matter, the plan.
A person's decision wins over the machine's; rows nobody decided keep the machine's status.
"""

from __future__ import annotations

import html
import math
import re
import textwrap
from dataclasses import dataclass, field

import pandas as pd

from .decision import Status
from .engine import LLM_COLUMNS, RESULT_COLUMNS
from .errors import TasksError
from .plan import Plan
from .tasks import choose_text_column

FINAL_COLUMNS = ["final_strategy_id", "final_status", "decided_by", "decided_at"]
# Columns the store adds beside the contract's; never task text, effort or owner.
STORE_COLUMNS = ["row", "candidates", "final_strategy", "decision", "decision_id"]
STATUS_ORDER = [s.value for s in (Status.ALIGNED, Status.REVIEW, Status.MISALIGNED, Status.EMPTY)]
STATUS_COLORS = {
    Status.ALIGNED.value: "#2E7D32",
    Status.REVIEW.value: "#F2A900",
    Status.MISALIGNED.value: "#C62828",
    Status.EMPTY.value: "#9E9E9E",
}
STATUS_LABELS = {value: value.capitalize() for value in STATUS_ORDER}
NO_STRATEGY = "Serves no strategy"
EFFORT_COLUMN_NAMES = ("effort", "effort_hours", "hours", "points", "story_points", "estimate",
                       "effort_points", "estimate_hours", "estimated_hours", "storypoints", "sp")
OWNER_COLUMN_NAMES = ("owner", "owners", "assignee", "assigned_to", "assigned", "responsible",
                      "who", "person", "member")
DEFAULT_NEGLECT_THRESHOLD = 0.05
# Strategy colours stay clear of the status colours (green, amber, red, grey).
STRATEGY_PALETTE = ["#3B6FB6", "#7B5EA7", "#2A9D8F", "#5C8DD6", "#A26FCF", "#1D7874",
                    "#2E4A87", "#C06C9B", "#4FA3C7", "#6C7FBF"]
FONT = {"family": "Segoe UI, Helvetica Neue, Arial, sans-serif", "size": 14, "color": "#222"}
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
    """The column holding effort (effort, hours, points, estimate...) if it is numeric; else None."""
    by_name = {}
    for column in frame.columns:
        if column in _KNOWN_COLUMNS:
            continue
        by_name.setdefault(_normal_name(column), column)
    candidates = [by_name[name] for name in EFFORT_COLUMN_NAMES if name in by_name]
    candidates += [column for name, column in by_name.items()
                   if name.startswith(("effort", "hours", "estimate", "story_point"))
                   and column not in candidates]
    for column in candidates:
        values = frame[column]
        filled = values[values.notna() & (values.astype("string").str.strip() != "")]
        if filled.empty:
            continue
        if effort_values(filled).notna().mean() >= 0.8:
            return column
    return None


def find_owner_column(frame: pd.DataFrame) -> str | None:
    """The column naming who does each task (owner, assignee...), or None."""
    by_name = {_normal_name(column): column for column in frame.columns
               if column not in _KNOWN_COLUMNS}
    for name in OWNER_COLUMN_NAMES:
        if name in by_name:
            return by_name[name]
    return None


def find_text_column(results: pd.DataFrame, text_column: str | None = None) -> str:
    """The input column holding the task text (TasksError if it cannot be told)."""
    inputs = [column for column in results.columns if column not in _KNOWN_COLUMNS]
    if not inputs:
        raise TasksError("results: no task text column; the frame holds only result columns")
    return choose_text_column(inputs, "results", text_column, results[inputs])


def _resolve_effort(results: pd.DataFrame, effort_column: str | None) -> str | None:
    if effort_column is None:
        return find_effort_column(results)
    if effort_column not in results.columns:
        raise TasksError(f"results: no effort column {effort_column!r}; columns are: "
                         f"{', '.join(map(str, results.columns))}")
    return effort_column


def _blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _text(value: object) -> str:
    return "" if _blank(value) else str(value).strip()


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
        raise TasksError("results: no column 'status'; classify the tasks first")
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

    names = {strategy.id: strategy.name for strategy in plan.strategies}
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
    table["score"] = (pd.to_numeric(results["score"], errors="coerce").to_numpy()
                      if "score" in results.columns else float("nan"))
    table["closest_strategy"] = machine_names
    table["decided"] = decided.to_numpy(dtype=bool)
    return table


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
        else f"{_percent(value)} of {unit} (below {_percent(threshold)})"
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
    tasks: int
    counts: dict[str, int]
    shares: dict[str, float]
    effort_column: str | None
    total_effort: float | None
    effort: dict[str, float] | None
    effort_shares: dict[str, float] | None
    decided: int
    neglect_threshold: float
    by_strategy: pd.DataFrame = field(repr=False)
    neglected: pd.DataFrame = field(repr=False)
    orphans: pd.DataFrame = field(repr=False)

    @property
    def serving_share(self) -> float:
        """Share of non-empty work (effort if known, else tasks) that serves some strategy."""
        if self.effort_shares is not None and self.total_effort:
            filled = 1.0 - self.effort_shares[Status.EMPTY.value]
            served = self.effort_shares[Status.ALIGNED.value] + self.effort_shares[
                Status.REVIEW.value]
        else:
            filled = 1.0 - self.shares[Status.EMPTY.value]
            served = self.shares[Status.ALIGNED.value] + self.shares[Status.REVIEW.value]
        return served / filled if filled > 0 else 0.0

    def headline(self) -> list[tuple[str, str]]:
        """The figures a manager reads first, as (label, value) text pairs."""
        rows = [("Tasks", f"{self.tasks:,}")]
        for status in STATUS_ORDER:
            value = f"{self.counts[status]:,} ({_percent(self.shares[status])})"
            if self.effort is not None and self.effort_shares is not None:
                value += (f"; {_number(self.effort[status])} {self.effort_column} "
                          f"({_percent(self.effort_shares[status])})")
            rows.append((STATUS_LABELS[status], value))
        rows.append(("Work serving a strategy", _percent(self.serving_share)))
        if self.effort_column is not None:
            rows.append((f"Total {self.effort_column}", _number(self.total_effort or 0.0)))
        rows.append(("Neglected strategies", f"{len(self.neglected)}"))
        rows.append(("Orphan tasks", f"{len(self.orphans):,}"))
        rows.append(("Tasks decided by a person", f"{self.decided:,}"))
        return rows

    def status_frame(self) -> pd.DataFrame:
        """Statuses as a table: tasks and share, and effort and share when there is effort."""
        frame = pd.DataFrame({
            "status": STATUS_ORDER,
            "tasks": [self.counts[s] for s in STATUS_ORDER],
            "task_share": [self.shares[s] for s in STATUS_ORDER],
        })
        if self.effort is not None and self.effort_shares is not None:
            frame["effort"] = [self.effort[s] for s in STATUS_ORDER]
            frame["effort_share"] = [self.effort_shares[s] for s in STATUS_ORDER]
        return frame


def summary(results: pd.DataFrame, plan: Plan, effort_column: str | None = None,
            text_column: str | None = None,
            neglect_threshold: float = DEFAULT_NEGLECT_THRESHOLD) -> Summary:
    """Counts and shares of each status (by tasks, and by effort if there is an effort column),
    work per strategy, neglected strategies and orphan work."""
    effort_column = _resolve_effort(results, effort_column)
    table = work_table(results, plan, effort_column, text_column)
    total = len(table)
    counts = {s: int((table["status"] == s).sum()) for s in STATUS_ORDER}
    shares = {s: counts[s] / total if total else 0.0 for s in STATUS_ORDER}
    effort = effort_shares = total_effort = None
    if effort_column is not None:
        hours = table["effort"].fillna(0.0)
        effort = {s: float(hours[table["status"] == s].sum()) for s in STATUS_ORDER}
        total_effort = float(hours.sum())
        effort_shares = {s: effort[s] / total_effort if total_effort else 0.0
                         for s in STATUS_ORDER}
    use_effort = effort_column is not None
    by_strategy = _by_strategy(table, plan, use_effort)
    return Summary(
        vision=plan.vision, tasks=total, counts=counts, shares=shares,
        effort_column=effort_column, total_effort=total_effort, effort=effort,
        effort_shares=effort_shares, decided=int(table["decided"].sum()),
        neglect_threshold=neglect_threshold, by_strategy=by_strategy,
        neglected=_neglected(by_strategy, plan, neglect_threshold, use_effort),
        orphans=_orphans(table, use_effort),
    )


# ---------------------------------------------------------------------- charts

def _percent(share: float) -> str:
    if math.isnan(share):
        return "-"
    value = share * 100
    if 0 < value < 1:
        return "<1%"
    return f"{value:.0f}%"


def _number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _plot_text(text: str, width: int | None = None, limit: int | None = None) -> str:
    """User text for a plotly label: shortened, wrapped, and escaped (plotly reads tags in text)."""
    text = " ".join(str(text).split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    lines = textwrap.wrap(text, width) if width else [text]
    return "<br>".join(html.escape(line, quote=False) for line in lines) or "&nbsp;"


def _layout(fig, title: str, subtitle: str | None = None, height: int | None = None):
    text = f"<b>{html.escape(title, quote=False)}</b>"
    if subtitle:
        text += f"<br><span style='font-size:13px;color:#666'>{subtitle}</span>"
    fig.update_layout(title={"text": text, "x": 0.01, "xanchor": "left"}, template="plotly_white",
                      font=FONT, margin={"l": 20, "r": 20, "t": 80, "b": 20}, height=height,
                      hoverlabel={"align": "left"})
    return fig


def _measure_label(effort_column: str | None) -> str:
    return f"effort ({effort_column})" if effort_column else "tasks"


def line_of_sight_chart(results: pd.DataFrame, plan: Plan, effort_column: str | None = None,
                        text_column: str | None = None, max_tasks: int = 25):
    """A sunburst from the vision through each strategy to its tasks, with a "Serves no strategy"
    branch; sized by effort if there is an effort column, else by task count."""
    import plotly.graph_objects as go

    effort_column = _resolve_effort(results, effort_column)
    table = work_table(results, plan, effort_column, text_column)
    table = table[table["status"] != Status.EMPTY.value].assign(
        value=lambda t: _measure(t, effort_column is not None))
    total = float(table["value"].sum())
    unit = effort_column or "tasks"

    ids, labels, parents, values, colors, hovers = [], [], [], [], [], []

    def node(node_id, label, parent, value, color, hover):
        ids.append(node_id)
        labels.append(label)
        parents.append(parent)
        values.append(value)
        colors.append(color)
        hovers.append(hover)

    vision = plan.vision or "Our plan"
    node("vision", _plot_text(vision, 18, 60), "", 0.0, "#FFFFFF",
         f"<b>Vision</b><br>{_plot_text(vision, 60)}<br>{_number(total)} {unit}")
    branches = [(s.id, s.name, STRATEGY_PALETTE[i % len(STRATEGY_PALETTE)])
                for i, s in enumerate(plan.strategies)]
    branches += [(sid, name, STRATEGY_PALETTE[(len(branches) + i) % len(STRATEGY_PALETTE)])
                 for i, (sid, name) in enumerate(
                     table.loc[table["strategy_id"].notna() & ~table["strategy_id"].isin(plan.ids),
                               ["strategy_id", "strategy"]].drop_duplicates().itertuples(
                                   index=False))]
    branches.append((None, NO_STRATEGY, STATUS_COLORS[Status.MISALIGNED.value]))

    for position, (strategy_id, name, color) in enumerate(branches):
        mine = (table[table["strategy_id"] == strategy_id] if strategy_id is not None
                else table[table["status"] == Status.MISALIGNED.value])
        weight = float(mine["value"].sum())
        if weight <= 0:
            continue
        branch_id = f"s{position}"
        node(branch_id, _plot_text(name, 16, 48), "vision", 0.0, color,
             f"<b>{_plot_text(name, 60)}</b><br>{len(mine):,} tasks · {_number(weight)} {unit}"
             f" ({_percent(weight / total if total else 0)})")
        mine = mine[mine["value"] > 0].sort_values("value", ascending=False, kind="stable")
        for row in mine.head(max_tasks).itertuples(index=False):
            leaf_color = _tint(color, 0.55 if row.status == Status.REVIEW.value else 0.25)
            details = [f"status: {row.status}"]
            if getattr(row, "owner", ""):
                details.append(f"owner: {html.escape(row.owner, quote=False)}")
            if effort_column is not None:
                details.append(f"{unit}: {_number(row.effort)}")
            node(f"t{row.row}", _plot_text(row.task, 22, 60), branch_id, float(row.value),
                 leaf_color, f"{_plot_text(row.task, 60)}<br>{' · '.join(details)}")
        rest = mine.iloc[max_tasks:]
        if len(rest):
            node(f"{branch_id}-more", f"+{len(rest):,} more tasks", branch_id,
                 float(rest["value"].sum()), _tint(color, 0.75),
                 f"{len(rest):,} smaller tasks · {_number(float(rest['value'].sum()))} {unit}")

    fig = go.Figure(go.Sunburst(
        ids=ids, labels=labels, parents=parents, values=values, branchvalues="remainder",
        marker={"colors": colors, "line": {"color": "#FFFFFF", "width": 1}},
        hovertext=hovers, hovertemplate="%{hovertext}<extra></extra>",
        maxdepth=3, sort=False,
    ))
    fig.update_layout(uniformtext={"minsize": 10, "mode": "hide"})
    subtitle = (f"Vision → strategies → tasks, sized by "
                f"{html.escape(_measure_label(effort_column))}; paler tasks are still in review")
    return _layout(fig, "Line of sight", subtitle, height=720)


def _tint(color: str, white: float) -> str:
    """`color` (#RRGGBB) mixed with a share of white."""
    red, green, blue = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    mix = [round(c + (255 - c) * white) for c in (red, green, blue)]
    return "#" + "".join(f"{c:02X}" for c in mix)


def effort_chart(results: pd.DataFrame, plan: Plan, effort_column: str | None = None,
                 text_column: str | None = None,
                 neglect_threshold: float = DEFAULT_NEGLECT_THRESHOLD):
    """A horizontal bar per strategy (effort, or tasks without effort), most work on top,
    neglected strategies in grey and orphan work in red."""
    import plotly.graph_objects as go

    effort_column = _resolve_effort(results, effort_column)
    use_effort = effort_column is not None
    by_strategy = effort_by_strategy(results, plan, effort_column, text_column)
    values = by_strategy["effort"] if use_effort else by_strategy["tasks"].astype(float)
    shares = by_strategy["effort_share"] if use_effort else by_strategy["task_share"]
    names = [_plot_text(name, 32, 70) for name in by_strategy["strategy"]]
    colors = ["#B8B8B8" if (tasks == 0 or share < neglect_threshold) else STRATEGY_PALETTE[0]
              for tasks, share in zip(by_strategy["tasks"], shares, strict=True)]
    texts = [f"{_number(v)} ({_percent(s)})" for v, s in zip(values, shares, strict=True)]
    hovers = [f"<b>{_plot_text(name, 60)}</b><br>{tasks:,} tasks, {review:,} in review"
              + (f"<br>{_number(effort)} {effort_column}" if use_effort else "")
              for name, tasks, review, effort in zip(
                  by_strategy["strategy"], by_strategy["tasks"], by_strategy["review_tasks"],
                  by_strategy["effort"], strict=True)]

    table = work_table(results, plan, effort_column, text_column)
    orphans = table[table["status"] == Status.MISALIGNED.value]
    filled = table[table["status"] != Status.EMPTY.value]
    orphan_value = float(_measure(orphans, use_effort).sum())
    orphan_share = orphan_value / float(_measure(filled, use_effort).sum()) if len(filled) else 0
    names.append(f"<i>{NO_STRATEGY}</i>")
    values = list(values) + [orphan_value]
    colors.append(STATUS_COLORS[Status.MISALIGNED.value])
    texts.append(f"{_number(orphan_value)} ({_percent(orphan_share)})")
    hovers.append(f"<b>{NO_STRATEGY}</b><br>{len(orphans):,} orphan tasks")

    fig = go.Figure(go.Bar(
        x=values, y=names, orientation="h", marker={"color": colors}, text=texts,
        textposition="outside", cliponaxis=False, hovertext=hovers,
        hovertemplate="%{hovertext}<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed", automargin=True)
    # Room on the right for the value labels outside the longest bar.
    fig.update_xaxes(title_text=_measure_label(effort_column).capitalize(), showgrid=True,
                     range=[0, max(max(values), 1.0) * 1.25])
    subtitle = (f"Grey: below {_percent(neglect_threshold)} of the work (neglected); "
                f"red: serves no strategy")
    title = "Effort by strategy" if use_effort else "Tasks by strategy"
    fig.update_layout(showlegend=False, bargap=0.35)
    return _layout(fig, title, subtitle, height=160 + 46 * len(names))


def status_chart(results: pd.DataFrame, effort_column: str | None = None):
    """A donut of statuses in fixed colours (aligned green, review amber, misaligned red, empty
    grey), by effort if there is an effort column, else by task count."""
    import plotly.graph_objects as go

    effort_column = _resolve_effort(results, effort_column)
    counts = status_counts(results)
    if effort_column is not None:
        status = pd.Series(list(_final_statuses(results)))
        hours = effort_values(results[effort_column]).clip(lower=0).fillna(0.0).to_numpy()
        values = {s: float(hours[(status == s).to_numpy()].sum()) for s in STATUS_ORDER}
    else:
        values = {s: float(counts[s]) for s in STATUS_ORDER}
    shown = [s for s in STATUS_ORDER if values[s] > 0] or STATUS_ORDER
    total = sum(values.values())
    aligned = values[Status.ALIGNED.value] / total if total else 0.0
    fig = go.Figure(go.Pie(
        labels=[STATUS_LABELS[s] for s in shown], values=[values[s] for s in shown],
        marker={"colors": [STATUS_COLORS[s] for s in shown], "line": {"color": "#FFFFFF", "width": 2}},
        hole=0.58, sort=False, direction="clockwise", texttemplate="%{percent:.0%}",
        textposition="inside", insidetextorientation="horizontal",
        customdata=[counts[s] for s in shown],
        hovertemplate="<b>%{label}</b><br>%{customdata:,} tasks · %{value:,.4~g} "
                      + html.escape(_measure_label(effort_column)) + "<extra></extra>",
    ))
    fig.update_layout(
        annotations=[{"text": f"<b>{_percent(aligned)}</b><br>aligned", "x": 0.5, "y": 0.5,
                          "showarrow": False, "font": {"size": 22}}],
        legend={"orientation": "h", "yanchor": "top", "y": -0.05, "x": 0.5, "xanchor": "center"},
    )
    title = "Effort by status" if effort_column else "Tasks by status"
    return _layout(fig, title, f"Share of {html.escape(_measure_label(effort_column))}",
                   height=440)


def _final_statuses(results: pd.DataFrame) -> list[str]:
    if "status" not in results.columns:
        raise TasksError("results: no column 'status'; classify the tasks first")
    statuses = _clean(results["status"]).str.lower()
    if "final_status" in results.columns:
        final = _clean(results["final_status"]).str.lower()
        statuses = final.where(final != "", statuses)
    return statuses.tolist()
