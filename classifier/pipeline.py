"""Tasks through the classifier: a file (or stdin) in chunks to an output file, a table into a
stored run; with an LLM second opinion on doubtful tasks and the run kept in a store if asked.
Used by the command line, the app and Ray workers alike."""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .cells import dates_again, is_blank, is_blank_task
from .errors import TasksError
from .files.readers import (
    TaskSource,
    TextColumns,
    count_rows_estimate,
    open_tasks,
    row_numbers,
    task_chunks,
    task_texts,
    title_position,
    title_warning,
    with_group_titles,
)
from .files.writer import TableWriter, cut_warning
from .model.engine import Batch, Classifier, join_results, result_of
from .results import (
    DECIDED_BY,
    LLM_COLUMNS,
    RESULT_COLUMNS,
    SCORE_COLUMNS,
    SCORE_FORMAT,
    Status,
    earlier_results,
    input_renames,
    said_renames,
)
from .standing import holds, standing_for, with_decisions

if TYPE_CHECKING:
    from .llm import Asker, Usage
    from .store import Decision, RunInfo, Store

Warn = Callable[[str], None]
Count = Callable[[int], None]
LONG_ROWS_NAMED = 5  # a file of long descriptions would otherwise print a warning per row


# Classifies a source's chunks, in order, each with its batch of results and where each of its
# rows is (as `task_chunks` numbers them): here, or on Ray.
Batches = Callable[[Classifier, TaskSource, int, Count | None],
                   Iterator[tuple[pd.DataFrame, Batch, list[int]]]]


def local_batches(classifier: Classifier, source: TaskSource, chunk_rows: int,
                  progress: Count | None = None
                  ) -> Iterator[tuple[pd.DataFrame, Batch, list[int]]]:
    """The source's chunks, in order, each with its batch of results, classified here, and
    where its rows are."""
    for chunk, texts, rows in task_chunks(source, chunk_rows):
        yield chunk, classifier.classify_batch(texts, progress=progress), rows


@dataclass
class Progress:
    """Where a run reports what it has done: rows classified, doubtful tasks asked about
    (each call gives a count; `total` gets an estimate when the run starts, from the file's
    line count, and the rows read when it ends; `asking` each chunk's doubtful tasks, the
    answers' total so far; `not_asked` the doubtful tasks left once the LLM was given up,
    counted in `answers` when it is None)."""

    rows: Count | None = None
    answers: Count | None = None
    total: Count | None = None
    asking: Count | None = None
    not_asked: Count | None = None


@dataclass
class RunSummary:
    """What a run did: rows written, statuses counted, warnings raised, where it went."""

    rows: int = 0
    status_counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    out: str | None = None
    run_id: int | None = None
    llm: Usage | None = None


@dataclass
class StoreTarget:
    """Keep a file run in a store too: the plan version it was classified against, and the
    decisions people made on tasks of this plan (by task text), which the output carries."""

    store: Store
    plan_version: int
    source: str
    decisions: dict[str, Decision] = field(default_factory=dict)


def classify_file(classifier: Classifier, tasks: str | os.PathLike[str] | TaskSource,
                  out: str | os.PathLike[str], *, text_column: TextColumns = None,
                  sheet: str | int | None = None, chunk_rows: int = 20_000,
                  progress: Progress | None = None, warn: Warn | None = None,
                  asker: Asker | None = None, keep: StoreTarget | None = None,
                  batches: Batches | None = None) -> RunSummary:
    """Stream tasks through the classifier into OUT, which appears only when complete (and a
    stored run only then too); with `asker`, doubtful tasks get the LLM's opinion; `batches`
    classifies the chunks elsewhere (on a Ray cluster), the rest of the run being the same."""
    summary = RunSummary(out=str(out))
    progress = progress or Progress()

    def note(message: str) -> None:
        summary.warnings.append(message)
        if warn is not None:
            warn(message)

    source = tasks if isinstance(tasks, TaskSource) else open_tasks(
        tasks, text_column=text_column, sheet=sheet, warn=note)
    renames = input_renames(source.columns)
    if renames:
        note(f"{source.label}: kept {said_renames(renames)}: the tool writes its own columns "
             f"of those names")
    texts_in = renames.get(source.text_column, source.text_column)
    if progress.total is not None:
        total = count_rows_estimate(source)
        if total is not None:
            progress.total(total)
    counts = {s.value: 0 for s in Status}
    first_row = 1
    unit = row_numbers(source).unit
    any_text = False
    long_rows: list[int] = []
    placeholders: list[int] = []  # rows of text with no letter or digit ("-", "🚀")
    run_id: int | None = None
    try:
        separator = source.separator if source.kind == "csv" else ","
        # A workbook is Excel's by definition; a CSV is where it had a BOM or a code page (a
        # folder read by Ray has no one path: its encoding is its first file's).
        from_excel = source.kind == "xlsx" or source.encoding != "utf-8"
        with TableWriter(out, inputs=source.inputs, separator=separator, bom=from_excel,
                         number_formats=dict.fromkeys(SCORE_COLUMNS, SCORE_FORMAT)) as writer:
            classified = (batches or local_batches)(classifier, source, chunk_rows, progress.rows)
            for chunk, batch, rows in classified:
                chunk = chunk.rename(columns=renames) if renames else chunk
                # A row that is no task (the header again) is blank to the rest of the run.
                given = chunk[texts_in].tolist()
                texts = ["" if blank else str(t)
                         for t, blank in zip(given, batch.empty, strict=True)]
                any_text = any_text or any(text.strip() for text in texts)
                # Only a row the classifier left empty can be one (its text is read once more).
                placeholders += [rows[at] for at in placeholder_rows(given, batch)]
                _warn_long(classifier, texts, rows, f"{source.label}: {unit}", note,
                           long_rows)
                machine = join_results(chunk, classifier.result_columns(batch))
                decided = (standing_for(texts, keep.decisions, classifier) if keep is not None
                           else None)
                frame = machine
                if asker is not None:
                    # A person's decision is not second-guessed: those tasks are not asked.
                    frame = _with_opinions(frame, classifier, batch, asker, progress,
                                           [holds(d, classifier) for d in decided or []])
                if decided is not None:
                    frame = with_decisions(frame, decided, classifier, batch)
                if keep is not None:
                    if run_id is None:
                        stale = set(earlier_results(chunk.columns))
                        run_id = keep.store.begin_run(
                            keep.plan_version, [str(c) for c in chunk.columns if c not in stale],
                            texts_in, keep.source, classifier.embedder.model_name,
                            classifier.thresholds, llm=asker is not None,
                            earlier=classifier.earlier_use)
                    # The store keeps the machine's answer; decisions apply when it is read.
                    stored = frame.drop(columns=[DECIDED_BY])
                    for column in RESULT_COLUMNS:
                        stored[column] = machine[column].to_numpy()
                    keep.store.add_rows(run_id, first_row - 1, stored,
                                        classifier.candidates(batch))
                writer.write(frame)
                for value, count in frame["status"].value_counts().items():
                    counts[str(value)] += int(count)
                first_row += len(chunk)
                release_freed_memory()
            if source.stream is not None and not any_text:
                # A file is checked when opened; stdin only once read.
                raise TasksError(f"{source.label}: no tasks (the text is empty)")
            if keep is not None and run_id is not None:
                keep.store.finish_run(run_id, first_row - 1)
    except BaseException:
        if keep is not None and run_id is not None:
            keep.store.discard_run(run_id)
        raise
    if asker is not None and asker.gave_up:
        # Said once the file is written, when it is known how many tasks it left to the machine.
        note(asker.usage.gave_up_line())
    cut = cut_warning(out, writer.cut_cells)
    if cut:
        note(cut)
    if placeholders:
        note(placeholder_warning(f"{source.label}: {unit}", placeholders))
    if len(long_rows) > LONG_ROWS_NAMED:
        note(f"{source.label}: {len(long_rows) - LONG_ROWS_NAMED:,} more rows are longer "
             f"than the model's window ({unit}s {long_rows[LONG_ROWS_NAMED]}.."
             f"{long_rows[-1]}); only their first {classifier.embedder.max_tokens} tokens "
             f"are read")
    summary.rows = first_row - 1
    if progress.total is not None:
        # The estimate counts lines; a CSV cell can hold several (a tracker's description).
        progress.total(summary.rows)
    summary.status_counts = counts
    summary.run_id = run_id
    summary.llm = asker.usage if asker is not None else None
    return summary


def placeholder_rows(given: list[object], batch: Batch) -> list[int]:
    """Positions of the rows the classifier left empty although their text is not blank: a
    placeholder with no letter or digit ("-", "…", "🚀"). Only those are read once more."""
    return [int(at) for at in np.flatnonzero(batch.empty)
            if not is_blank(given[at]) and is_blank_task(given[at])]


def placeholder_warning(where: str, rows: list[int]) -> str:
    """The one line that names placeholder rows (`where` is "FILE: line", "Run #7: row"), so
    text the run leaves empty is said, not silently dropped, in every view alike."""
    many = len(rows) > 1
    named = ", ".join(map(str, rows[:5])) + (f" and {len(rows) - 5:,} more"
                                             if len(rows) > 5 else "")
    return (f"{where}{'s' if many else ''} {named} {'hold' if many else 'holds'} no letter or "
            f"digit (a placeholder such as '-'): status empty, as a blank row")


def _with_opinions(frame: pd.DataFrame, classifier: Classifier, batch: Batch, asker: Asker,
                   progress: Progress, decided: list[bool]) -> pd.DataFrame:
    """The chunk with `llm_strategy_id` and `rationale` for its doubtful tasks (not those a
    person decided)."""
    from .llm import ASKED_STATUSES, opinion_columns

    chosen = [row for row in range(len(batch)) if batch.status[row] in ASKED_STATUSES
              and not (decided and decided[row])]
    answered = progress.answers
    if chosen and progress.asking is not None:
        progress.asking(len(chosen))
    found = classifier.candidates(batch)
    opinions: list = [None] * len(batch)
    if chosen:
        # Once the LLM is given up this still counts the chunk's questions as not asked, and
        # takes the answers the cache holds: as a file read in one chunk gets them.
        asked = asker.ask(classifier.plan, [result_of(batch, row, found[row]) for row in chosen],
                          answered, progress.not_asked)
        for row, opinion in zip(chosen, asked, strict=True):
            opinions[row] = opinion
    frame = frame.drop(columns=[c for c in LLM_COLUMNS if c in frame.columns])
    for column, values in opinion_columns(opinions).items():
        frame[column] = values
    return frame


def _warn_long(classifier: Classifier, texts: list[str], rows: list[int], where: str,
               warn: Warn, long_rows: list[int]) -> None:
    """Name the first few rows the model truncates (`rows`: where each text's row is, after
    `where`, "tasks.csv: line"); the rest are counted in `long_rows`."""
    window = classifier.embedder.max_tokens
    for row, text in zip(rows, texts, strict=True):
        # Tokens average about 4 characters: shorter texts are not worth tokenizing twice.
        if len(text) > window * 3 and classifier.embedder.count_tokens(text) > window:
            long_rows.append(row)
            if len(long_rows) <= LONG_ROWS_NAMED:
                warn(f"{where} {row}: task of {len(text):,} characters is longer than the "
                     f"model's window; only its first {window} tokens are read")


def release_freed_memory() -> None:
    """Hand memory freed by the last chunk back to the OS (glibc keeps it otherwise).

    Tensors of many shapes leave the heap fragmented; without this a 1,000,000-row run grew by
    hundreds of MB although each chunk frees what it used.
    """
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except OSError:  # not glibc (musl, say): nothing to trim
            pass


# ---------------------------------------------------------------------- stored runs


def classify_into_store(store: Store, classifier: Classifier, plan_version: int,
                        frame: pd.DataFrame, text_column: str, source: str,
                        progress: Count | None = None, warn: Warn | None = None) -> int:
    """Classify every row of `frame` (other columns kept) and store it as a new run; its id.
    `warn` hears of rows left empty for holding a placeholder, by their row in the run."""
    if text_column not in frame.columns:
        raise TasksError(f"{source}: no column {text_column!r} to classify")
    texts = task_texts(frame, text_column)  # by the names the header has
    title = title_position(frame, text_column)
    given = frame[text_column].tolist()
    renames = input_renames(frame.columns)
    frame, text_column = frame.rename(columns=renames), renames.get(text_column, text_column)
    batch = classifier.classify_batch(texts, progress=progress)
    classified = join_results(frame.reset_index(drop=True), classifier.result_columns(batch))
    run_id = store.create_run(plan_version, classified, text_column, source,
                              classifier.embedder.model_name, classifier.thresholds,
                              candidates=classifier.candidates(batch),
                              earlier=classifier.earlier_use)
    placeholders = placeholder_rows(given, batch)
    if placeholders and warn is not None:  # numbered as the run's table shows them (#)
        warn(placeholder_warning(f"Run #{run_id}: row", [at + 1 for at in placeholders]))
    if title is not None and warn is not None:
        warn(title_warning(f"Run #{run_id}: row", title + 1, str(given[title])))
    return run_id


def input_frame(store: Store, run: RunInfo) -> pd.DataFrame:
    """The tasks a run was made from: its input columns only, in their order."""
    results = store.run_results(run.id)
    columns = [c for c in run.columns if c in results.columns and c not in RESULT_COLUMNS]
    if run.text_column not in columns:
        columns.append(run.text_column)
    # Dates as the run read them, so a re-run keeps them dates in its workbooks too.
    frame = dates_again(results[columns].reset_index(drop=True), run.date_columns)
    return with_group_titles(frame, run.text_column,
                             (results["status"] == Status.EMPTY.value).tolist())


def rerun(store: Store, classifier: Classifier, plan_version: int, run: RunInfo,
          progress: Count | None = None) -> int:
    """Classify an earlier run's tasks again (e.g. with an edited plan) as a new run; its id."""
    return classify_into_store(store, classifier, plan_version, input_frame(store, run),
                               run.text_column, run.source, progress=progress)


def plan_change(store: Store, run: RunInfo) -> str | None:
    """How the plan changed after the run was made, as its results read: "replaced" when it
    keeps none of the run's strategies (another plan, the manager's own after the sample, whose
    work is other tasks), "edited" when its strategies or thresholds changed, None when the
    results still hold (a reworded vision alone changes no result)."""
    latest = store.latest_plan(run.plan_name)
    if latest is None or latest[0] == run.plan_version:
        return None
    before, now = store.plan(run.plan_version), latest[1]
    if not set(before.ids) & set(now.ids):
        return "replaced"
    if before.strategies != now.strategies or before.thresholds != now.thresholds:
        return "edited"
    return None


def newest_run_of_current_plan(store: Store, plan_name: str) -> RunInfo | None:
    """The newest run the plan's current version has not replaced (one of its own, or of a
    version it only edited), or None: where a page on another plan's run can go."""
    latest = store.latest_plan(plan_name)
    if latest is None:
        return None
    ids = set(latest[1].ids)
    shares: dict[int, bool] = {}  # by plan version: its runs share strategies with the latest
    for run in store.runs(plan_name=plan_name):
        if run.plan_version not in shares:
            shares[run.plan_version] = (run.plan_version == latest[0]
                                        or bool(set(store.plan(run.plan_version).ids) & ids))
        if shares[run.plan_version]:
            return run
    return None


def is_stale(store: Store, run: RunInfo) -> bool:
    """True when the plan's strategies or thresholds changed after the run was made."""
    return plan_change(store, run) is not None


def plan_replaced(store: Store, run: RunInfo) -> bool:
    """True when the plan now keeps none of the strategies the run was classified against."""
    return plan_change(store, run) == "replaced"
