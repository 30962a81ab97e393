"""Charts of a run's summary (plotly): line of sight from vision to tasks, work per strategy,
statuses; user text is shortened and escaped (plotly reads tags in text)."""

from __future__ import annotations

import html
import textwrap
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..cells import column_words
from ..model.work_text import readable
from ..plan import Plan
from ..results import Status
from .summary import (
    NO_STRATEGY,
    STATUS_LABELS,
    WORK_STATUSES,
    Summary,
    number,
    percent,
    task_count,
    whole_percents,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from .trends import Trends

STATUS_COLORS = {
    Status.ALIGNED.value: "#2E7D32",
    Status.REVIEW.value: "#F2A900",
    Status.MISALIGNED.value: "#C62828",
    Status.EMPTY.value: "#9E9E9E",
}
# Strategy colours stay clear of the status colours (green, amber, red, grey).
STRATEGY_PALETTE = ["#3B6FB6", "#7B5EA7", "#2A9D8F", "#5C8DD6", "#A26FCF", "#1D7874",
                    "#2E4A87", "#C06C9B", "#4FA3C7", "#6C7FBF"]
# Each round past the palette: a share of black (above 0) or of white (below 0) mixed in.
SHADES = (0.0, 0.3, -0.35, 0.5, -0.55, 0.65, -0.7)
# The share of a trend chart's height (0% to 100%) kept free below 0% and above 100%: a
# label's height and its gap from the point, in the chart's 420 px.
TREND_LABEL_ROOM = 0.14
FONT = {"family": "Segoe UI, Helvetica Neue, Arial, sans-serif", "size": 14, "color": "#222"}


def strategy_colors(strategy_ids: Iterable[str]) -> dict[str, str]:
    """A colour per strategy id by its place in `strategy_ids` (the plan's order, then any
    others): a strategy keeps its colour in every chart drawn with the same plan, whatever its
    rank in the work."""
    ids = list(dict.fromkeys(str(strategy_id) for strategy_id in strategy_ids))
    # Past the palette, its colours again, darker or lighter each round: the eleventh strategy
    # of a long plan (the UN's 17 goals) was drawn in the first's colour, and darkening alone
    # stopped at a cap, so strategies 31-40 and 41-50 shared theirs.
    count = len(STRATEGY_PALETTE)
    colours: dict[str, str] = {}
    used: set[str] = set()
    for i, strategy_id in enumerate(ids):
        base, turn = STRATEGY_PALETTE[i % count], i // count
        shade = SHADES[turn] if turn < len(SHADES) else SHADES[1 + turn % (len(SHADES) - 1)]
        colour = _shade(base, shade)
        # Past the rounds (more than 70 strategies, where the rounds come again), the next
        # free colour up: two strategies never share one, whatever the plan's size.
        while colour in used:
            colour = f"#{(int(colour[1:], 16) + 1) % 0x1000000:06X}"
        used.add(colour)
        colours[strategy_id] = colour
    return colours


def _shade(color: str, mix: float) -> str:
    """`color` (#RRGGBB) mixed with a share of black (`mix` above 0) or of white (below 0)."""
    red, green, blue = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    toward = 0 if mix >= 0 else 255
    share = abs(mix)
    return "#" + "".join(f"{round(c + (toward - c) * share):02X}" for c in (red, green, blue))


def _measure(table: pd.DataFrame, use_effort: bool) -> pd.Series:
    return table["effort"].fillna(0.0) if use_effort else pd.Series(1.0, index=table.index)


def _plot_text(text: str, width: int | None = None, limit: int | None = None) -> str:
    """User text for a plotly label: a rich-text (HTML) task as its text, shortened, wrapped,
    and escaped (plotly reads tags in text)."""
    # A task's lines (a rich-text task's paragraphs, a list's items) stay apart on one line.
    text = " · ".join(" ".join(line.split()) for line in readable(str(text)).splitlines()
                      if line.strip())
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
    """What a chart measures, as plotly text: the effort column in words (as the cards name it:
    "effort hours"), escaped (a header is user text), or tasks."""
    return f"effort ({_column_text(effort_column)})" if effort_column else "tasks"


def _column_text(column: str) -> str:
    return html.escape(column_words(column), quote=False)


def line_of_sight_chart(summary: Summary, plan: Plan, max_tasks: int = 25) -> go.Figure:
    """A sunburst from the vision through each strategy to its tasks, with a "Serves no strategy"
    branch; sized by effort if there is an effort column, else by task count."""
    import plotly.graph_objects as go

    effort_column = summary.effort_column
    table = summary.table
    table = table[table["status"] != Status.EMPTY.value].assign(
        value=lambda t: _measure(t, effort_column is not None))
    total = float(table["value"].sum())
    unit = _column_text(effort_column) if effort_column else "tasks"

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
         f"<b>Vision</b><br>{_plot_text(vision, 60)}<br>{number(total)} {unit}")
    others = table.loc[table["strategy_id"].notna() & ~table["strategy_id"].isin(plan.ids),
                       ["strategy_id", "strategy"]].drop_duplicates("strategy_id")
    named = [(s.id, s.name) for s in plan.strategies] + [
        (str(sid), str(name)) for sid, name in others.itertuples(index=False)]
    colors_of = strategy_colors(sid for sid, _ in named)
    branches: list[tuple[str | None, str, str]] = [(sid, name, colors_of[sid])
                                                   for sid, name in named]
    branches.append((None, NO_STRATEGY, STATUS_COLORS[Status.MISALIGNED.value]))

    for position, (strategy_id, name, color) in enumerate(branches):
        mine = (table[table["strategy_id"] == strategy_id] if strategy_id is not None
                else table[table["status"] == Status.MISALIGNED.value])
        weight = float(mine["value"].sum())
        if weight <= 0:
            continue
        branch_id = f"s{position}"
        node(branch_id, _plot_text(name, 16, 48), "vision", 0.0, color,
             f"<b>{_plot_text(name, 60)}</b><br>{task_count(len(mine))} · {number(weight)} {unit}"
             f" ({percent(weight / total if total else 0)})")
        mine = mine[mine["value"] > 0].sort_values("value", ascending=False, kind="stable")
        for row in mine.head(max_tasks).itertuples(index=False):
            leaf_color = _tint(color, 0.55 if row.status == Status.REVIEW.value else 0.25)
            details = [f"status: {row.status}"]
            if getattr(row, "owner", ""):
                details.append(f"owner: {html.escape(row.owner, quote=False)}")
            if effort_column is not None:
                details.append(f"{unit}: {number(row.effort)}")
            node(f"t{row.row}", _plot_text(row.task, 22, 60), branch_id, float(row.value),
                 leaf_color, f"{_plot_text(row.task, 60)}<br>{' · '.join(details)}")
        rest = mine.iloc[max_tasks:]
        if len(rest):
            node(f"{branch_id}-more", f"+{len(rest):,} more tasks", branch_id,
                 float(rest["value"].sum()), _tint(color, 0.75),
                 f"{len(rest):,} smaller tasks · {number(float(rest['value'].sum()))} {unit}")

    fig = go.Figure(go.Sunburst(
        ids=ids, labels=labels, parents=parents, values=values, branchvalues="remainder",
        marker={"colors": colors, "line": {"color": "#FFFFFF", "width": 1}},
        hovertext=hovers, hovertemplate="%{hovertext}<extra></extra>",
        maxdepth=3, sort=False,
    ))
    fig.update_layout(uniformtext={"minsize": 10, "mode": "hide"})
    subtitle = (f"Vision → strategies → tasks, sized by "
                f"{_measure_label(effort_column)}; paler tasks are still in review")
    return _layout(fig, "Line of sight", subtitle, height=720)


def _tint(color: str, white: float) -> str:
    """`color` (#RRGGBB) mixed with a share of white."""
    red, green, blue = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    mix = [round(c + (255 - c) * white) for c in (red, green, blue)]
    return "#" + "".join(f"{c:02X}" for c in mix)


def effort_chart(summary: Summary) -> go.Figure:
    """A horizontal bar per strategy (effort, or tasks without effort), most work on top,
    neglected strategies in grey and orphan work in red."""
    import plotly.graph_objects as go

    effort_column = summary.effort_column
    neglect_threshold = summary.neglect_threshold
    use_effort = effort_column is not None
    by_strategy = summary.by_strategy
    values = by_strategy["effort"] if use_effort else by_strategy["tasks"].astype(float)
    shares = by_strategy["effort_share"] if use_effort else by_strategy["task_share"]
    names = [_plot_text(name, 32, 70) for name in by_strategy["strategy"]]
    colors = ["#B8B8B8" if (tasks == 0 or share < neglect_threshold) else STRATEGY_PALETTE[0]
              for tasks, share in zip(by_strategy["tasks"], shares, strict=True)]
    hovers = [f"<b>{_plot_text(name, 60)}</b><br>{task_count(tasks)}, {review:,} in review"
              + (f"<br>{number(effort)} {_column_text(effort_column)}"
                 if effort_column is not None else "")
              for name, tasks, review, effort in zip(
                  by_strategy["strategy"], by_strategy["tasks"], by_strategy["review_tasks"],
                  by_strategy["effort"], strict=True)]

    table = summary.table
    orphans = table[table["status"] == Status.MISALIGNED.value]
    orphan_value = float(_measure(orphans, use_effort).sum())
    orphan_share = summary.shares_of_work(by_effort=use_effort)[Status.MISALIGNED.value]
    names.append(f"<i>{NO_STRATEGY}</i>")
    values = list(values) + [orphan_value]
    colors.append(STATUS_COLORS[Status.MISALIGNED.value])
    # Each bar's share rounded alone: equal bars read the same (made to add up to 100, four
    # strategies of one task in 15 read 7%, 7%, 7% and 6%).
    texts = [f"{number(value)} ({percent(share)})"
             for value, share in zip(values, [*shares, orphan_share], strict=True)]
    hovers.append(f"<b>{NO_STRATEGY}</b><br>{len(orphans):,} orphan tasks")

    fig = go.Figure(go.Bar(
        x=values, y=names, orientation="h", marker={"color": colors}, text=texts,
        textposition="outside", cliponaxis=False, hovertext=hovers,
        hovertemplate="%{hovertext}<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed", automargin=True)
    # Room on the right for the value labels outside the longest bar.
    label = _measure_label(effort_column)
    fig.update_xaxes(title_text=label[:1].upper() + label[1:], showgrid=True,
                     range=[0, max(max(values), 1.0) * 1.25])
    subtitle = (f"Grey: below {percent(neglect_threshold)} of the work (neglected); "
                f"red: serves no strategy")
    title = "Effort by strategy" if use_effort else "Tasks by strategy"
    fig.update_layout(showlegend=False, bargap=0.35)
    return _layout(fig, title, subtitle, height=160 + 46 * len(names))


def status_chart(summary: Summary) -> go.Figure:
    """A donut of statuses in fixed colours (aligned green, review amber, misaligned red), by
    effort if there is an effort column, else by task count; blank rows are not work."""
    import plotly.graph_objects as go

    effort_column = summary.effort_column
    counts = summary.counts
    if summary.effort is not None:
        values = dict(summary.effort)
    else:
        values = {s: float(counts[s]) for s in WORK_STATUSES}
    shown = [s for s in WORK_STATUSES if values[s] > 0] or WORK_STATUSES
    # The figures the pages' headlines give (they add up to 100): plotly's own rounding of
    # 10, 4 and 1 of 15 tasks read 67/27/7, beside a headline of 66/27/7.
    shares = whole_percents(summary.shares_of_work(by_effort=summary.effort is not None))
    fig = go.Figure(go.Pie(
        labels=[STATUS_LABELS[s] for s in shown], values=[values[s] for s in shown],
        marker={"colors": [STATUS_COLORS[s] for s in shown], "line": {"color": "#FFFFFF", "width": 2}},
        hole=0.58, sort=False, direction="clockwise", text=[shares[s] for s in shown],
        texttemplate="%{text}",
        textposition="inside", insidetextorientation="horizontal",
        customdata=[task_count(counts[s]) for s in shown],
        hovertemplate="<b>%{label}</b><br>%{customdata} · %{value:,.4~g} "
                      + _measure_label(effort_column) + "<extra></extra>",
    ))
    fig.update_layout(
        annotations=[{"text": f"<b>{shares[Status.ALIGNED.value]}</b><br>aligned", "x": 0.5,
                      "y": 0.5, "showarrow": False, "font": {"size": 22}}],
        legend={"orientation": "h", "yanchor": "top", "y": -0.05, "x": 0.5, "xanchor": "center"},
    )
    title = "Effort by status" if effort_column else "Tasks by status"
    return _layout(fig, title, f"Share of {_measure_label(effort_column)}",
                   height=440)


def label_sides(lines: list[list[float]]) -> list[list[str]]:
    """For lines drawn over the same periods, where each point's label goes ("top center" or
    "bottom center"): away from the nearest other line at that period, so close lines do not
    print their figures on top of each other."""
    # Equal values: the earlier line counts as the higher one, so the two labels part.
    values = np.asarray(lines, dtype=np.float64) - np.arange(len(lines))[:, None] * 1e-9
    sides = []
    for line in range(len(values)):
        gap = np.delete(values, line, axis=0) - values[line]
        nearest_above = np.where(gap > 0, gap, np.inf).min(axis=0)
        nearest_below = np.where(gap < 0, -gap, np.inf).min(axis=0)
        sides.append(["bottom center" if up < down else "top center"
                      for up, down in zip(nearest_above, nearest_below, strict=True)])
    return sides


def status_trend_chart(trends: Trends) -> go.Figure:
    """Share of aligned / review / misaligned work per period (of effort when there is an effort
    column), each point labelled with its percentage."""
    import plotly.graph_objects as go

    frame = trends.periods
    use_effort = trends.shares_of_effort
    fig = go.Figure()
    statuses = (Status.ALIGNED.value, Status.REVIEW.value, Status.MISALIGNED.value)
    lines = [frame[trends.share_column(status)].astype(float).tolist() for status in statuses]
    # A period's three labels add up to 100, as the donut's and the cards' do.
    labels = [whole_percents(dict(zip(statuses, shares, strict=True)))
              for shares in zip(*lines, strict=True)]
    for status, values, sides in zip(statuses, lines, label_sides(lines), strict=True):
        fig.add_trace(go.Scatter(
            x=frame["period"], y=values, name=STATUS_LABELS[status], mode="lines+markers+text",
            line={"color": STATUS_COLORS[status], "width": 3}, marker={"size": 9},
            text=[period[status] for period in labels], textposition=sides, cliponaxis=False,
            hovertemplate="%{x}: %{y:.0%}<extra>" + STATUS_LABELS[status] + "</extra>"))
    # Room below 0% and above 100% for a label under (or over) its point: two lines at 7% put
    # one "7%" under the axis, cut off, at any window width.
    fig.update_yaxes(tickformat=".0%", range=[-TREND_LABEL_ROOM, 1 + TREND_LABEL_ROOM],
                     tickvals=[0, 0.2, 0.4, 0.6, 0.8, 1], zeroline=False,
                     title_text="share of " + ("effort" if use_effort else "tasks"))
    fig.update_layout(legend={"orientation": "h", "y": -0.2, "x": 0.5, "xanchor": "center"})
    words = column_words(trends.effort_column or "")
    unit = f"effort ({html.escape(words)})" if use_effort else "tasks"
    by = "run" if trends.by == "run" else f"week of {html.escape(trends.by)}"
    return _layout(fig, "Alignment over time", f"Share of {unit}, by {by}", height=420)


def strategy_trend_chart(trends: Trends) -> go.Figure:
    """Each strategy's share of the work per period, stacked, labelled with its percentage."""
    import plotly.graph_objects as go

    frame = trends.by_strategy
    fig = go.Figure()
    present = set(frame["strategy_id"].astype(str)) if not frame.empty else set()
    # In plan order, each in its own colour: not by rank, which changes with the periods shown.
    colors_of = strategy_colors([*trends.strategy_ids, *sorted(present)])
    for strategy_id in (strategy_id for strategy_id in colors_of if strategy_id in present):
        mine = frame[frame["strategy_id"].astype(str) == strategy_id]
        name = str(mine["strategy"].iloc[-1])
        fig.add_trace(go.Bar(
            x=mine["period"], y=mine["share"].astype(float), name=_plot_text(name, 40, 60),
            marker={"color": colors_of[strategy_id]},
            text=[percent(v) if v >= 0.04 else "" for v in mine["share"].astype(float)],
            textposition="inside",
            hovertemplate="%{x}: %{y:.0%}<extra>" + _plot_text(name, 60) + "</extra>"))
    fig.update_layout(barmode="stack", legend={"orientation": "v", "x": 1.02, "y": 1})
    fig.update_yaxes(tickformat=".0%", title_text="share of work")
    unit = "effort" if trends.effort_column else "tasks"
    return _layout(fig, "Work per strategy over time",
                   f"Each strategy's share of {unit}; what is left serves no strategy",
                   height=460)
