"""Results out of the tool: CSV for Excel, a formatted XLSX workbook, a self-contained HTML report.

User text never runs: cells that Excel would read as a formula are quoted, and every piece of
text in the HTML report is escaped.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import math
import re

import numpy as np
import pandas as pd

from . import report
from .plan import Plan
from .report import STATUS_COLORS, STATUS_LABELS, STATUS_ORDER, Summary

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
# Characters XML 1.0 forbids; openpyxl refuses them.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
STATUS_FILLS = {"aligned": "C6EFCE", "review": "FFEB9C", "misaligned": "FFC7CE", "empty": "EDEDED"}
STATUS_COLUMNS = ("status", "final_status")
SCORE_COLUMNS = ("score", "runner_up_score")
HEADER_FILL = "1F3864"
MAX_WIDTH = 60


# ---------------------------------------------------------------------- formulas

def neutralise_text(value: str) -> str:
    """A text that Excel would run as a formula, with a leading `'`; plain numbers stay as they are."""
    if value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy in which text cells (and headers) starting with = + - @ tab or CR begin with `'`.

    Numeric columns, and numbers inside text columns, are left as they are.
    """
    safe = frame.copy()
    for position in range(safe.shape[1]):
        column = safe.iloc[:, position]
        if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
            continue
        safe.isetitem(position, column.map(
            lambda value: neutralise_text(value) if isinstance(value, str) else value))
    safe.columns = [neutralise_text(c) if isinstance(c, str) else c for c in safe.columns]
    return safe


# ---------------------------------------------------------------------- CSV

def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as CSV that Excel opens with accents intact (UTF-8 with BOM, CRLF lines)."""
    text = neutralise_formulas(frame).to_csv(index=False, lineterminator="\r\n")
    return text.encode("utf-8-sig")


# ---------------------------------------------------------------------- XLSX

def _cell_value(value: object) -> object:
    """A value openpyxl can write: Python scalars, naive datetimes, text without XML-illegal bytes."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return _ILLEGAL_XML.sub("", value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, dt.date | dt.time):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return _ILLEGAL_XML.sub("", neutralise_text(str(value)))


def _width(header: str, values: pd.Series) -> float:
    sample = values.head(2000)
    lengths = [len(str(v)) for v in sample if v is not None and not
               (isinstance(v, float) and math.isnan(v))]
    typical = float(np.percentile(lengths, 90)) if lengths else 0.0
    return float(min(max(len(str(header)) + 3, typical + 2, 8), MAX_WIDTH))


def _results_sheet(workbook, frame: pd.DataFrame, title: str) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(title)
    columns = [str(c) for c in frame.columns]
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _width(column,
                                                                          frame.iloc[:, index - 1])
    sheet.freeze_panes = "A2"
    last = get_column_letter(max(len(columns), 1))
    sheet.auto_filter.ref = f"A1:{last}{len(frame) + 1}"

    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor=HEADER_FILL)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=_cell_value(column))
        cell.font, cell.fill = header_font, header_fill
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        header.append(cell)
    sheet.append(header)

    fills = {status: PatternFill("solid", fgColor=color) for status, color in STATUS_FILLS.items()}
    styled = {i for i, c in enumerate(frame.columns) if c in STATUS_COLUMNS}
    scores = {i for i, c in enumerate(frame.columns) if c in SCORE_COLUMNS}
    for row in frame.itertuples(index=False, name=None):
        cells: list[object] = []
        for i, value in enumerate(row):
            value = _cell_value(value)
            if i in styled and value in fills:
                cell = WriteOnlyCell(sheet, value=value)
                cell.fill = fills[value]
                cells.append(cell)
            elif i in scores and isinstance(value, float):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "0.000"
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)


class _Share(float):
    """A share in the Summary sheet, written as a percentage."""


class _Section(str):
    """A section title in the Summary sheet."""


def _summary_rows(summary: Summary | None, frame: pd.DataFrame) -> list[list[object]]:
    """The Summary sheet as rows; a row starting with a `#` label is a section title."""
    if summary is None:
        rows: list[list[object]] = [[_Section("Summary")], ["Tasks", len(frame)]]
        if "status" in frame.columns:
            counts = report.status_counts(frame)
            total = sum(counts.values())
            rows += [[], [_Section("Status"), "Tasks", "Share of tasks"]]
            rows += [[STATUS_LABELS[s], counts[s], _Share(counts[s] / total if total else 0)]
                     for s in STATUS_ORDER]
        return rows

    rows = [[_Section("Line of sight summary")]]
    if summary.vision:
        rows.append(["Vision", summary.vision])
    rows.append(["Tasks", summary.tasks])
    rows.append(["Work serving a strategy", _Share(summary.serving_share)])
    if summary.effort_column is not None:
        rows.append([f"Total {summary.effort_column}", summary.total_effort])
    rows += [["Neglected strategies", len(summary.neglected)],
             ["Orphan tasks", len(summary.orphans)],
             ["Tasks decided by a person", summary.decided]]
    status = summary.status_frame()
    has_effort = "effort" in status.columns
    effort_name = summary.effort_column or "effort"
    rows += [[], [_Section("Status"), "Tasks", "Share of tasks"]
             + ([effort_name, "Share of effort"] if has_effort else [])]
    for record in status.itertuples(index=False):
        line = [STATUS_LABELS[record.status], record.tasks, _Share(record.task_share)]
        if has_effort:
            line += [record.effort, _Share(record.effort_share)]
        rows.append(line)
    rows += [[], [_Section("Strategy"), "Strategy id", "Tasks", "In review", "Share of tasks"]
             + ([effort_name, "Share of effort"] if has_effort else [])]
    for record in summary.by_strategy.itertuples(index=False):
        line = [record.strategy, record.strategy_id, record.tasks, record.review_tasks,
                _Share(record.task_share)]
        if has_effort:
            line += [record.effort, _Share(record.effort_share)]
        rows.append(line)
    threshold = report._percent(summary.neglect_threshold)
    rows += [[], [_Section(f"Neglected strategies (no work, or below {threshold})"),
                  "Strategy id", "Tasks", "Why"]]
    rows += [[r.strategy, r.strategy_id, r.tasks, r.reason]
             for r in summary.neglected.itertuples(index=False)] or [["None"]]
    orphan_columns = [c for c in summary.orphans.columns if c != "score"]
    rows += [[], [_Section("Orphan work (serves no strategy)")]
             + [c.replace("_", " ").capitalize() for c in orphan_columns[1:]]]
    rows += [["Row " + str(values[0])] + list(values[1:])
             for values in summary.orphans[orphan_columns].itertuples(index=False, name=None)
             ] or [["None"]]
    return rows


def _summary_sheet(workbook, summary: Summary | None, frame: pd.DataFrame) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill

    sheet = workbook.create_sheet("Summary")
    for letter, width in zip("ABCDEFG", (44, 48, 14, 14, 16, 16, 16), strict=True):
        sheet.column_dimensions[letter].width = width
    title_font = Font(bold=True, color="FFFFFF")
    title_fill = PatternFill("solid", fgColor=HEADER_FILL)
    label_font = Font(bold=True)
    for values in _summary_rows(summary, frame):
        cells: list[object] = []
        section = bool(values) and isinstance(values[0], _Section)
        for position, value in enumerate(values):
            cell = WriteOnlyCell(sheet, value=_cell_value(value))
            if section:
                cell.font, cell.fill = title_font, title_fill
            elif position == 0:
                cell.font = label_font
            if isinstance(value, _Share):
                cell.number_format = "0.0%"
            cells.append(cell)
        sheet.append(cells)


def to_xlsx_bytes(frame: pd.DataFrame, summary: Summary | None = None,
                  sheet_name: str = "Results") -> bytes:
    """An .xlsx workbook: the results sheet (formatted header, frozen, filterable) and a
    "Summary" sheet (from `summary`, or status counts of the frame)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    _results_sheet(workbook, neutralise_formulas(frame), sheet_name)
    _summary_sheet(workbook, summary, frame)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------- HTML

_CSS = """
body{font-family:"Segoe UI","Helvetica Neue",Arial,sans-serif;color:#222;margin:0;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:28px 32px 60px}
h1{font-size:28px;margin:0 0 6px}h2{font-size:20px;margin:36px 0 12px}
.vision{font-size:18px;color:#333;margin:4px 0 2px}.meta{color:#777;font-size:13px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:14px;margin:22px 0}
.card{background:#fff;border-radius:8px;padding:14px 16px;border-top:5px solid #999;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
.card .value{font-size:30px;font-weight:700}.card .label{color:#555;font-size:14px}
.card .sub{color:#777;font-size:12px;margin-top:2px}
.charts{display:grid;grid-template-columns:minmax(0,2fr) minmax(0,3fr);gap:16px}
.chart{background:#fff;border-radius:8px;padding:6px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.wide{margin-top:16px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
th{background:#1F3864;color:#fff;text-align:left;padding:7px 8px;position:sticky;top:0}
td{padding:6px 8px;border-bottom:1px solid #eee;vertical-align:top}
td.num{text-align:right;white-space:nowrap}tr:nth-child(even) td{background:#fafbfc}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px}
.note{color:#666;font-size:13px}
@media print{body{background:#fff}.chart,table,.card{box-shadow:none}}
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _badge(status: str) -> str:
    color = STATUS_COLORS.get(status, "#777")
    text_color = "#222" if status == "review" else "#fff"
    return (f'<span class="badge" style="background:{color};color:{text_color}">'
            f"{_e(STATUS_LABELS.get(status, status))}</span>")


def _table(frame: pd.DataFrame, headers: dict[str, str], numeric: set[str] = frozenset(),
           formats: dict | None = None) -> str:
    formats = formats or {}
    head = "".join(f"<th>{_e(label)}</th>" for label in headers.values())
    body = []
    for record in frame[list(headers)].itertuples(index=False, name=None):
        cells = []
        for column, value in zip(headers, record, strict=True):
            if column in formats:
                cell = formats[column](value)
            else:
                cell = _e("" if report._blank(value) else value)
            klass = ' class="num"' if column in numeric else ""
            cells.append(f"<td{klass}>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _cards(summary: Summary) -> str:
    cards = []
    use_effort = summary.effort is not None and bool(summary.total_effort)
    for status in STATUS_ORDER:
        if status == "empty" and summary.counts[status] == 0:
            continue
        share = summary.effort_shares[status] if use_effort else summary.shares[status]
        sub = f"{summary.counts[status]:,} tasks"
        if use_effort:
            sub += f" · {report._number(summary.effort[status])} {summary.effort_column}"
        cards.append(
            f'<div class="card" style="border-top-color:{STATUS_COLORS[status]}">'
            f'<div class="value">{_e(report._percent(share))}</div>'
            f'<div class="label">{_e(STATUS_LABELS[status])}</div><div class="sub">{_e(sub)}</div>'
            "</div>")
    cards.append(
        '<div class="card" style="border-top-color:#3B6FB6">'
        f'<div class="value">{_e(report._percent(summary.serving_share))}</div>'
        '<div class="label">Work serving a strategy</div>'
        f'<div class="sub">{"of effort" if use_effort else "of tasks"}, review included</div>'
        "</div>")
    cards.append(
        '<div class="card" style="border-top-color:#B8B8B8">'
        f'<div class="value">{len(summary.neglected)}</div>'
        '<div class="label">Neglected strategies</div>'
        f'<div class="sub">no work or below {_e(report._percent(summary.neglect_threshold))}</div>'
        "</div>")
    return '<div class="cards">' + "".join(cards) + "</div>"


def _number_cell(value: object) -> str:
    return "" if report._blank(value) else _e(report._number(float(value)))


def _score_cell(value: object) -> str:
    return "" if report._blank(value) else f"{float(value):.2f}"


def report_html(results: pd.DataFrame, plan: Plan, effort_column: str | None = None,
                text_column: str | None = None, title: str = "Line of sight report",
                neglect_threshold: float = report.DEFAULT_NEGLECT_THRESHOLD,
                max_rows: int = 5000, generated_at: dt.datetime | None = None) -> str:
    """A self-contained HTML report (plotly inlined, no network): vision, headline figures,
    charts, neglected strategies, orphan work and the task table; all user text escaped."""
    effort_column = report._resolve_effort(results, effort_column)
    found = report.summary(results, plan, effort_column, text_column, neglect_threshold)
    table = report.work_table(results, plan, effort_column, text_column)
    figures = [report.status_chart(results, effort_column),
               report.effort_chart(results, plan, effort_column, text_column, neglect_threshold),
               report.line_of_sight_chart(results, plan, effort_column, text_column)]
    config = {"displaylogo": False, "responsive": True}
    charts = [figure.to_html(full_html=False, include_plotlyjs=(i == 0), config=config,
                             default_width="100%")
              for i, figure in enumerate(figures)]

    generated = (generated_at or dt.datetime.now()).strftime("%Y-%m-%d %H:%M")
    effort_label = effort_column or "Effort"
    has_owner = "owner" in table.columns
    has_effort = effort_column is not None

    if found.neglected.empty:
        neglected = (f'<p class="note">None: every strategy gets at least '
                     f"{_e(report._percent(neglect_threshold))} of the work.</p>")
    else:
        neglected = _table(found.neglected, {"strategy": "Strategy", "strategy_id": "Id",
                                             "tasks": "Tasks", "reason": "Why"}, {"tasks"})

    if found.orphans.empty:
        orphans = '<p class="note">None: every task serves a strategy.</p>'
    else:
        headers = {"row": "Row", "task": "Task"}
        if has_owner:
            headers["owner"] = "Owner"
        if has_effort:
            headers["effort"] = effort_label
        headers |= {"closest_strategy": "Closest strategy", "score": "Score"}
        orphans = _table(found.orphans, headers, {"row", "effort", "score"},
                         {"effort": _number_cell, "score": _score_cell})

    headers = {"row": "Row", "task": "Task"}
    if has_owner:
        headers["owner"] = "Owner"
    if has_effort:
        headers["effort"] = effort_label
    headers |= {"strategy": "Strategy", "status": "Status", "score": "Score"}
    shown = table.head(max_rows)
    tasks = _table(shown, headers, {"row", "effort", "score"},
                   {"effort": _number_cell, "score": _score_cell,
                    "status": lambda s: _badge(str(s))})
    if len(table) > len(shown):
        tasks += (f'<p class="note">Showing the first {len(shown):,} of {len(table):,} tasks; '
                  "export the results for the full list.</p>")

    vision = f'<p class="vision">Vision: {_e(plan.vision)}</p>' if plan.vision else ""
    meta = (f"{found.tasks:,} tasks · {len(plan.strategies)} strategies"
            + (f" · {found.decided:,} decided by a person" if found.decided else "")
            + f" · generated {generated}")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{_CSS}</style></head>
<body><main>
<h1>{_e(title)}</h1>{vision}<p class="meta">{_e(meta)}</p>
{_cards(found)}
<div class="charts"><div class="chart">{charts[0]}</div><div class="chart">{charts[1]}</div></div>
<div class="chart wide">{charts[2]}</div>
<h2>Neglected strategies</h2>{neglected}
<h2>Orphan work: tasks that serve no strategy ({len(found.orphans):,})</h2>{orphans}
<h2>All tasks</h2>{tasks}
</main></body></html>
"""
