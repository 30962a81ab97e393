"""A run as files a manager forwards: the results table (decisions applied, who decided) as CSV,
and a workbook with that table and a Summary sheet; written by the one safe writer."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..cells import cell_text, column_words
from ..files.writer import CellStyle, WorkbookWriter, column_width, csv_bytes
from ..results import (
    LLM_COLUMNS,
    RESULT_COLUMNS,
    SCORE_COLUMNS,
    SCORE_FORMAT,
    STATUS_ORDER,
    decided_evidence,
)
from .summary import STATUS_LABELS, Summary, chosen_figures, percent, status_counts

if TYPE_CHECKING:
    from ..store import RunInfo

STATUS_FILLS = {"aligned": "C6EFCE", "review": "FFEB9C", "misaligned": "FFC7CE", "empty": "EDEDED"}
STATUS_COLUMNS = ("status", "final_status", "machine_status")
HEADER = CellStyle(bold=True, color="FFFFFF", fill="1F3864", wrap=True)
LABEL = CellStyle(bold=True)
SHARE = CellStyle(number_format="0.0%")
SCORE = CellStyle(number_format=SCORE_FORMAT)
MINUTE = CellStyle(number_format="yyyy-mm-dd hh:mm")  # a run's time; a day alone reads as one


def results_table(results: pd.DataFrame, columns: list[str], text_column: str | None = None
                  ) -> pd.DataFrame:
    """One row per task from `Store.results_with_decisions`: the input columns, the result
    columns with each person's decision applied, then what the machine said, who decided, and
    why a decided task is in review again; with `text_column`, a decided task's evidence that
    is its own text names the decision (`decided_evidence`)."""
    inputs = [c for c in columns if c in results.columns and c not in RESULT_COLUMNS]
    decided = results["decision"].notna()
    out = results[inputs].copy()
    out["strategy_id"] = results["final_strategy_id"]
    out["strategy"] = results["final_strategy"]
    out["score"] = results["score"]
    out["status"] = results["final_status"]
    for column in ("runner_up_id", "runner_up_score", "evidence"):
        out[column] = results[column]
    # A person's strategy other than the machine's: the figures beside it are that strategy's
    # (the machine's own answer stays in machine_strategy_id), not the machine's best's.
    chosen = results["final_strategy_id"].where(decided, None)
    for position, figures in chosen_figures(results, chosen).items():
        for column, value in figures._asdict().items():
            out.iat[position, out.columns.get_loc(column)] = value
    if text_column in results.columns:  # as `tactics classify --db` writes it
        out["evidence"] = [
            decided_evidence(evidence, cell_text(text), by, at) if is_decided else evidence
            for evidence, text, by, at, is_decided in zip(
                out["evidence"], results[text_column], results["decided_by"],
                results["decided_at"], decided, strict=True)]
    for column in LLM_COLUMNS:  # where the LLM was asked (--llm, or from the app)
        if column in results:
            out[column] = results[column].map(cell_text)
    out["machine_strategy_id"] = results["strategy_id"]
    out["machine_status"] = results["status"]
    out["decision"] = results["decision"].where(decided, "")
    out["decided_by"] = results["decided_by"].where(decided, "")
    # In UTC to the second, as the workbook shows it: the CSV's "…53.804205+00:00" was text to
    # Excel, which neither sorted nor filtered it as a time.
    out["decided_at"] = pd.to_datetime(results["decided_at"], utc=True).dt.tz_localize(
        None).dt.floor("s")
    if "decision_note" in results.columns:
        # Why a task a person decided is in review again (their strategy left the plan): the
        # Review page says so, and the files forwarded read "review" with no decision beside it.
        out["decision_note"] = results["decision_note"].map(cell_text)
    return out.reset_index(drop=True)


def results_csv(table: pd.DataFrame, separator: str = ",") -> bytes:
    """The results table as CSV for Excel (UTF-8 with BOM; formulas neutralised)."""
    return csv_bytes(table, separator)


def _results_sheet(book: WorkbookWriter, frame: pd.DataFrame, title: str) -> None:
    columns = [str(c) for c in frame.columns]
    sheet = book.sheet(title,
                       widths=[column_width(c, frame.iloc[:, i]) for i, c in enumerate(columns)],
                       freeze_header=True, filter_columns=max(len(columns), 1), rows=len(frame))
    sheet.append(columns, HEADER)
    fills = {status: CellStyle(fill=color) for status, color in STATUS_FILLS.items()}
    styles: list[Any] = []
    for column in frame.columns:
        styles.append("status" if column in STATUS_COLUMNS else
                      "score" if column in SCORE_COLUMNS else None)
    for row in frame.itertuples(index=False, name=None):
        row_styles: list[CellStyle | None] = []
        for kind, value in zip(styles, row, strict=True):
            if kind == "status" and value in fills:
                row_styles.append(fills[value])
            elif kind == "score" and isinstance(value, float):
                row_styles.append(SCORE)
            else:
                row_styles.append(None)
        sheet.append(row, row_styles)


class _Share(float):
    """A share in the Summary sheet, written as a percentage."""


class _Section(str):
    """A section title in the Summary sheet."""


def _words(name: str) -> str:
    """A column's name as a label: `effort_hours` -> "Effort hours"."""
    words = column_words(name)
    return words[:1].upper() + words[1:]


def run_rows(run: RunInfo) -> list[list[object]]:
    """Which run a file covers, as the Summary sheet says it: its id, where its tasks came
    from, when (UTC, a time a sheet sorts by) and against which plan."""
    created = pd.Timestamp(run.created_at)
    created = created.tz_convert("UTC").tz_localize(None) if created.tzinfo else created
    rows: list[list[object]] = [
        ["Run", f"#{run.id}"], ["Tasks from", run.source],
        ["Classified (UTC)", created.floor("min").to_pydatetime()],
        ["Plan", f"{run.plan_name} (version {run.plan_version})"]]
    if run.set_aside_by:
        rows.append(["Set aside by", run.set_aside_by])
    return rows


def summary_rows(summary: Summary | None, frame: pd.DataFrame,
                 run: RunInfo | None = None) -> list[list[object]]:
    """The Summary sheet as rows, below which `run` they cover; a row starting with a section
    title starts a section."""
    about = run_rows(run) if run is not None else []
    if summary is None:
        rows: list[list[object]] = [[_Section("Summary")], *about, ["Tasks", len(frame)]]
        if "status" in frame.columns:
            counts = status_counts(frame)
            total = sum(counts.values())
            rows += [[], [_Section("Status"), "Tasks", "Share of tasks"]]
            rows += [[STATUS_LABELS[s], counts[s], _Share(counts[s] / total if total else 0)]
                     for s in STATUS_ORDER]
        return rows

    rows = [[_Section("Line of sight summary")], *about]
    if summary.vision:
        rows.append(["Vision", summary.vision])
    rows.append(["Tasks", summary.tasks])
    if summary.blank:
        rows.append(["Blank rows (not counted)", summary.blank])
    rows.append(["Work serving a strategy", _Share(summary.serving_share)])
    if summary.effort_column is not None:
        rows.append([f"Total {column_words(summary.effort_column)}", summary.total_effort])
    rows += [["Neglected strategies", len(summary.neglected)],
             ["Orphan tasks", len(summary.orphans)],
             ["Tasks decided by a person", summary.decided]]
    status = summary.status_frame()
    has_effort = "effort" in status.columns
    effort_name = _words(summary.effort_column or "effort")
    effort_heads: list[object] = [effort_name, "Share of effort"] if has_effort else []
    rows += [[], [_Section("Status"), "Tasks", "Share of tasks", *effort_heads]]
    for record in status.itertuples(index=False):
        line = [STATUS_LABELS[str(record.status)], record.tasks, _Share(record.task_share)]
        if has_effort:
            line += [record.effort, _Share(record.effort_share)]
        rows.append(line)
    rows += [[], [_Section("Strategy"), "Strategy id", "Tasks", "In review", "Share of tasks",
                  *effort_heads]]
    for item in summary.by_strategy.itertuples(index=False):
        line = [item.strategy, item.strategy_id, item.tasks, item.review_tasks,
                _Share(item.task_share)]
        if has_effort:
            line += [item.effort, _Share(item.effort_share)]
        rows.append(line)
    threshold = percent(summary.neglect_threshold)
    rows += [[], [_Section(f"Neglected strategies (no work, or below {threshold})"),
                  "Strategy id", "Tasks", "Why"]]
    rows += [[r.strategy, r.strategy_id, r.tasks, r.reason]
             for r in summary.neglected.itertuples(index=False)] or [["None"]]
    orphan_columns = [c for c in summary.orphans.columns if c != "score"]
    rows += [[], [_Section("Orphan work (serves no strategy)")]
             + [effort_name if c == "effort" else c.replace("_", " ").capitalize()
                for c in orphan_columns[1:]]]
    # The task's number, as the pages give it ("task 18"), and where it is in this workbook:
    # "Row 18" was read as the Results sheet's row 18, which holds task 17 under its header.
    rows += [[f"Task {values[0]} (Results row {values[0] + 1})"] + list(values[1:])
             for values in summary.orphans[orphan_columns].itertuples(index=False, name=None)
             ] or [["None"]]
    return rows


def _summary_sheet(book: WorkbookWriter, summary: Summary | None, frame: pd.DataFrame,
                   run: RunInfo | None = None) -> None:
    sheet = book.sheet("Summary", widths=(44, 48, 14, 14, 16, 16, 16))
    for values in summary_rows(summary, frame, run):
        section = bool(values) and isinstance(values[0], _Section)
        styles: list[CellStyle | None] = []
        for position, value in enumerate(values):
            if section:
                styles.append(HEADER)
            elif isinstance(value, _Share):
                styles.append(SHARE)
            elif isinstance(value, dt.datetime):
                styles.append(MINUTE)
            elif position == 0:
                styles.append(LABEL)
            else:
                styles.append(None)
        sheet.append([str(v) if isinstance(v, _Section) else
                      float(v) if isinstance(v, _Share) else v for v in values], styles)


def _trends_sheet(book: WorkbookWriter, numbers: pd.DataFrame) -> None:
    dates = [numbers[column].dtype.kind == "M" for column in numbers.columns]  # times of day
    sheet = book.sheet("Trends", widths=[24.0] + [18.0 if date else 14.0 for date in dates[1:]],
                       freeze_header=True)
    sheet.append(list(numbers.columns), HEADER)
    # The shares are the table's fractions (trend_numbers with as_text False), counts whole.
    shares = [numbers[column].dtype.kind == "f" for column in numbers.columns]
    styles = [SHARE if share else MINUTE if date else None
              for share, date in zip(shares, dates, strict=True)]
    for values in numbers.itertuples(index=False, name=None):
        sheet.append(list(values), styles)


def workbook(frame: pd.DataFrame, summary: Summary | None = None,
             sheet_name: str = "Results", trends: pd.DataFrame | None = None,
             run: RunInfo | None = None) -> WorkbookWriter:
    """The results sheet (formatted header, frozen, filterable), a Summary sheet (from
    `summary`, or status counts of the frame; naming `run`), and a Trends sheet when `trends`
    is given."""
    book = WorkbookWriter()
    _results_sheet(book, frame, sheet_name)
    _summary_sheet(book, summary, frame, run)
    if trends is not None:
        _trends_sheet(book, trends)
    return book


def results_xlsx(frame: pd.DataFrame, summary: Summary | None = None,
                 sheet_name: str = "Results", trends: pd.DataFrame | None = None) -> bytes:
    """The workbook as bytes, for a download."""
    return workbook(frame, summary, sheet_name, trends).to_bytes()
