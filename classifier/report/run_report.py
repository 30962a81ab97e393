"""A stored run's report as the files a manager forwards, the same from the app's downloads and
from `tactics report` (a weekly job): HTML (self-contained), XLSX (no live formula), CSV."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..cells import dates_again
from ..errors import ClassifierError, OutputError
from ..files.atomic import write_bytes, write_text
from ..files.writer import WorkbookWriter, csv_separator, cut_warning, may_cut, prepare_output
from ..plan import Plan
from .html import report_html, trend_numbers
from .sheets import results_csv, results_table, workbook
from .summary import Summary, summary
from .trends import Trends, run_trends

if TYPE_CHECKING:
    from ..store import RunInfo, Store

REPORT_TYPES = (".html", ".xlsx", ".csv")


@dataclass
class RunReport:
    """Everything a report on one run shows, computed once."""

    run: RunInfo
    plan: Plan
    results: pd.DataFrame  # one row per task, decisions applied, who decided
    summary: Summary
    trends: Trends

    def html(self, generated_at: dt.datetime | None = None) -> str:
        """The self-contained HTML report."""
        return report_html(self.summary, self.plan, generated_at=generated_at,
                           title=f"Line of sight report: run #{self.run.id}", trends=self.trends)

    def workbook(self) -> WorkbookWriter:
        """Results, Summary and (with two or more runs) Trends sheets."""
        numbers = None if self.trends.empty else trend_numbers(self.trends, as_text=False)
        # The run's date cells as dates.
        results = dates_again(self.results, self.run.date_columns)
        return workbook(results, self.summary, trends=numbers, run=self.run)

    def xlsx(self) -> bytes:
        """The workbook as bytes, for a download."""
        return self.workbook().to_bytes()

    def csv(self, separator: str = ",") -> bytes:
        """The results table as CSV for Excel, separated by `separator` (`,` or `;`)."""
        # The run's date cells as `classify` wrote them ("2026-03-02", not the store's
        # "2026-03-02T00:00:00").
        return results_csv(dates_again(self.results, self.run.date_columns), separator)


def run_report(store: Store, run: RunInfo) -> RunReport:
    """The report on a run, with trends over the plan's runs up to it."""
    stored = store.results_with_decisions(run.id)
    plan = store.plan(run.plan_version)
    # Candidates stay: a strategy a person chose shows its own score among them.
    plain = stored.drop(columns=["row"], errors="ignore")
    found = summary(plain, plan, text_column=run.text_column)
    trends = run_trends(store, run.plan_name, until=run.id)
    if run.set_aside_at is not None:  # the trends are of the run list, which leaves it out
        trends.set_aside = (run.id, run.set_aside_by or "someone")
    return RunReport(run, plan, results_table(stored, run.columns, run.text_column), found, trends)


def may_cut_cells(results: pd.DataFrame) -> bool:
    """Whether a run's report workbook may have cells cut to Excel's limit (`results`: the
    run's, at hand): a quick look, so a page's redraw builds the workbook only then."""
    return may_cut(results.drop(columns=["candidates"], errors="ignore"))


def results_digest(results: pd.DataFrame) -> str:
    """A digest of a run's results as its report files show them (decisions, who decided, the
    LLM's answers): what a page keys the line of `xlsx_cut_line` on."""
    frame = results.drop(columns=["candidates"], errors="ignore")  # a run's own, never changed
    digest = hashlib.sha256(json.dumps([str(c) for c in frame.columns]).encode())
    rows = pd.util.hash_pandas_object(frame.astype(str), index=True)
    digest.update(rows.to_numpy().tobytes())
    return digest.hexdigest()


def xlsx_cut_line(store: Store, run: RunInfo, name: str) -> str | None:
    """What `tactics report --out NAME` (.xlsx) says of cells cut to Excel's limit, for a page
    offering that download: the workbook is built to find them (see `may_cut_cells`)."""
    book = run_report(store, run).workbook()
    book.to_bytes()  # written out: a write-only workbook left open complains when collected
    return cut_warning(name, book.cut_cells())


def refuse_foreign(out: str | os.PathLike[str]) -> None:
    """OutputError if OUT is a table (.csv or .xlsx) this tool did not write, such as a week's
    task list: a report written over it by mistake lost the tasks. A report, a results file or a
    queue file is written over, as a weekly job does."""
    from ..files.readers import open_tasks

    path = Path(out)
    if (path.suffix.lower() not in (".csv", ".xlsx") or not path.is_file()
            or path.stat().st_size == 0):
        return
    for written in (("status", "strategy_id"), ("task_id", "decision")):
        # Read with a column of the tool's as its text: a report keeps the run's own text
        # column ("Aufgabe") beside other text columns, where none is told as the task text.
        try:
            columns = set(open_tasks(path, text_column=written[0]).columns)
        except ClassifierError:  # no such column, or no table the tool reads
            continue
        if set(written) <= columns:
            return
    raise OutputError(f"{path}: is not a file this tool wrote (a task list?) and would be "
                      f"written over; write the report to another file")


@dataclass(frozen=True)
class ReportOutput:
    """An output `report_output` checked, for `write_report` not to check it again."""

    path: Path


def report_output(out: str | os.PathLike[str],
                  inputs: Mapping[Path, str] | None = None) -> ReportOutput:
    """Check OUT before a report is built (as `prepare_output`, and `refuse_foreign`)."""
    path = prepare_output(out, inputs, types=REPORT_TYPES)
    refuse_foreign(path)
    return ReportOutput(path)


def write_report(report: RunReport, out: str | os.PathLike[str] | ReportOutput,
                 warn: Callable[[str], None] | None = None, separator: str = ",") -> Path:
    """Write the report as .html, .xlsx or .csv (by OUT's suffix; a CSV's `separator`),
    atomically; `warn` hears of cells cut to Excel's limit. OUT is checked here unless
    `report_output` checked it."""
    path = (out if isinstance(out, ReportOutput) else report_output(out)).path
    separator = csv_separator(separator, path)
    suffix = path.suffix.lower()
    if suffix == ".html":
        write_text(path, report.html())
    elif suffix == ".xlsx":
        book = report.workbook()
        write_bytes(path, book.to_bytes())
        cut = cut_warning(path, book.cut_cells())
        if cut and warn is not None:
            warn(cut)
    else:
        write_bytes(path, report.csv(separator))
    return path
