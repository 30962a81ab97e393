"""Review without the app: the queue as a spreadsheet with an empty `decision` column, and the
filled file read back as decisions, exactly as the Review page would record them.

Each row carries a `task_id` (run and row), so a file that has been through a spreadsheet (text
neutralised against formulas, rows sorted or filtered) still maps back to exactly its tasks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .access import person
from .cells import cell_text, dates_again, is_blank, task_key
from .errors import ClassifierError, StoreError, TasksError
from .files.atomic import write_bytes
from .files.readers import open_tasks, read_source
from .files.sniffing import Warn, ignore
from .files.writer import (
    CUT_MARK,
    CellStyle,
    TableWriter,
    WorkbookWriter,
    csv_separator,
    cut_warning,
    decimal_mark,
    prepare_output,
)
from .model.learned import Learned
from .plan import NO_STRATEGY_ID, NO_STRATEGY_WORDS, Plan
from .results import LLM_COLUMNS
from .review import TEACH_IN_SIZE, deal, pending, taught_on, teach_in_round
from .store import STANDING_ACTIONS, Decision, DecisionRequest, RunInfo, Store

CANDIDATES = 3
QUEUE_SHEET = "Queue"
QUEUE_TYPES = (".csv", ".xlsx")
# Up to 18 digits: any id a store holds (SQL's BIGINT), never a number it cannot look up.
TASK_ID = re.compile(r"^'?\s*run(\d{1,18})-task(\d{1,18})\s*$", re.IGNORECASE)
HEADER = CellStyle(bold=True, color="FFFFFF", fill="1F3864", wrap=True)
TO_FILL = CellStyle(fill="FFF2CC")


def task_id(run_id: int, row: int) -> str:
    """The id a queue file gives a task: plain text no spreadsheet turns into a date or number."""
    return f"run{run_id}-task{row + 1}"


@dataclass
class Queue:
    """The tasks a queue file deals next; `teach_in`: they are a new plan's teach-in round
    (`taught` of its decisions taken so far), as the Review page would show them first."""

    tasks: pd.DataFrame
    teach_in: bool = False
    taught: int = 0


def next_tasks(store: Store, run: RunInfo, plan_name: str = "default",
               reviewer: str | None = None, aligned: bool = False) -> Queue:
    """What the Review page deals next on this run: the teach-in round while it lies ahead (the
    plan's first decisions; unless `reviewer` skipped it), else the queue, or with `aligned`
    its spot check of aligned tasks; decided rows left out, the reviewer's skipped ones last."""
    results = store.results_with_decisions(run.id)
    decided = results.loc[results["decision"].notna(), "row"].tolist()
    skipped = sorted(store.skipped_rows(run.id, reviewer)) if reviewer else []
    taught = taught_on(store, run, plan_name)  # as the Review page counts them
    learned = Learned.from_frame(taught)
    if not aligned:
        skipped_round = reviewer is not None and store.teach_in_skipped(
            run.plan_version, reviewer, plan_name)
        round_ = teach_in_round(results, decided, run.thresholds, learned,
                                taught["decided_at"], run.created_at, skipped=skipped_round)
        if round_ is not None and len(round_):
            return Queue(pending(round_, [], skipped), teach_in=True,
                         taught=min(learned.decisions, TEACH_IN_SIZE))
    queue, _ = deal(results, run.thresholds, learned, decided, skipped, aligned=aligned)
    return Queue(queue)


def queue_table(dealt: Queue, run: RunInfo, limit: int | None = None) -> pd.DataFrame:
    """A queue file's rows (the first `limit`): id, the run's input columns, what the machine
    said with its top candidates, why each task is dealt, and an empty `decision`."""
    tasks = dealt.tasks if limit is None else dealt.tasks.head(limit)
    table = pd.DataFrame({"task_id": [task_id(run.id, int(r)) for r in tasks["row"]]})
    for column in run.columns:
        table[column] = tasks[column].to_numpy()
    table["machine_status"] = tasks["status"].to_numpy()
    for number in range(1, CANDIDATES + 1):
        found = [c[number - 1] if isinstance(c, list) and len(c) >= number else {}
                 for c in tasks["candidates"]]
        table[f"candidate_{number}"] = [c.get("strategy_id", "") for c in found]
        table[f"candidate_{number}_name"] = [c.get("strategy", "") for c in found]
        table[f"candidate_{number}_score"] = [c.get("score") for c in found]
    reasons = tasks["queue_reason"].astype(str)
    table["why"] = ("teach-in round: " + reasons if dealt.teach_in else reasons).to_numpy()
    if "llm_strategy_id" in tasks:  # the LLM was asked about this run (--llm, or the app)
        for column in LLM_COLUMNS:
            table[column] = tasks[column].map(cell_text).to_numpy()
    table["decision"] = ""
    return table


def write_queue(table: pd.DataFrame, plan: Plan, out: str | Path,
                warn: Callable[[str], None] | None = None, dates: Sequence[str] = (),
                separator: str = ",") -> Path:
    """The queue as CSV (through the safe writer, separated by `separator`) or as a workbook
    with a pick list of strategy ids in the decision column and a Strategies sheet, the run's
    `dates` columns as dates; `warn` hears of cells cut to Excel's limit."""
    path = prepare_output(out, types=QUEUE_TYPES)
    separator = csv_separator(separator, path)
    # Dates as `classify` wrote them in a CSV, and as date cells in a workbook.
    table = dates_again(table, dates)
    if path.suffix.lower() == ".csv":
        with TableWriter(path, separator=separator, decimal=decimal_mark(separator)) as writer:
            writer.write(table)
        return path
    book = WorkbookWriter()
    columns = list(table.columns)
    sheet = book.sheet(QUEUE_SHEET, widths=[14.0] + [24.0] * (len(columns) - 1), freeze_header=True,
                       filter_columns=len(columns), rows=len(table))
    sheet.append(columns, HEADER)
    decision = columns.index("decision")
    letter = _column_letter(decision + 1)
    if len(table):  # a caught-up queue is its header alone: a pick list over no rows is no range
        sheet.dropdown(f"{letter}2:{letter}{len(table) + 1}",
                       f"Strategies!$A$2:$A${len(plan.strategies) + 2}")
    for values in table.itertuples(index=False, name=None):
        sheet.append(values, [TO_FILL if i == decision else None for i in range(len(columns))])
    ids = book.sheet("Strategies", widths=(28.0, 60.0))
    ids.numbers = False  # an id "1" stays the text the decision column's pick list offers
    ids.append(["id", "strategy"], HEADER)
    for strategy in plan.strategies:
        ids.append([strategy.id, strategy.name])
    ids.append([NO_STRATEGY_ID, NO_STRATEGY_WORDS])
    write_bytes(path, book.to_bytes())
    cut = cut_warning(path, book.cut_cells())
    if cut and warn is not None:
        warn(cut)
    return path


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index))


@dataclass
class DecisionsRead:
    """A filled queue file, read and checked: the decisions to record and the rows skipped."""

    requests: list[DecisionRequest]
    skipped: int
    plan_name: str = "default"
    # Each request's task, as a decision stands for it (`task_key`), by (run, row)
    texts: dict[tuple[int, int], str] = field(default_factory=dict)


def read_decisions(path: str | Path, store: Store, plan_name: str,
                   given: Plan | None = None, warn: Warn = ignore) -> DecisionsRead:
    """Every filled row of a queue file as a decision; TasksError names the first row that is
    not a task of this plan's runs or whose decision is neither a strategy id nor `none`
    (read against the plan each run was classified with; `given`, the plan file named, only
    explains a decision that is a strategy of it and not of the run's), or that cannot be read
    (a formula with no saved result, a second decision column). `warn` hears the reader."""
    frame, first_row = _queue_frame(path, warn)
    return _decisions(frame, first_row, str(path), store, plan_name, given)


class UnreadableDecisions(TasksError):
    """A queue file holds decisions that cannot all be read as they are."""


def _queue_frame(path: str | Path, warn: Warn = ignore, strict: bool = True
                 ) -> tuple[pd.DataFrame, int]:
    """A queue file's rows, and the row number its first one has in the spreadsheet (the
    header is row 1, below any title); TasksError for a file that is no queue file, or (if
    `strict`) UnreadableDecisions for one whose decisions cannot all be read."""
    label = str(path)
    if Path(path).suffix.lower() not in QUEUE_TYPES:
        raise TasksError(f"{label}: a queue file is the .csv or .xlsx `tactics queue` wrote; "
                         f"save it as CSV or as an Excel workbook")
    sheet = _queue_sheet(Path(path))
    source = open_tasks(path, text_column="task_id", sheet=sheet, warn=warn)
    frame, _ = read_source(source)
    for column in ("task_id", "decision"):
        if column not in frame.columns:
            raise TasksError(f"{label}: no column {column!r}; a queue file from `tactics queue` "
                             f"has task_id and decision")
        # Which of two columns of that name holds the person's answers is theirs to say: all
        # or nothing, a decision is never read from one and silently dropped from the other.
        if strict and f"{column}.1" in frame.columns:
            raise UnreadableDecisions(f"{label}: two columns named {column!r}; keep one (the "
                                      f"one you filled) and delete the other")
    first_row = source.header_row + 2
    if strict and source.kind == "xlsx":
        _refuse_unsaved_formulas(Path(path), source.sheet, frame, first_row)
    return frame, first_row


def _refuse_unsaved_formulas(path: Path, sheet: str | int | None, frame: pd.DataFrame,
                             first_row: int) -> None:
    """UnreadableDecisions naming the first decision cell that is a formula with no saved result (a
    program wrote it, no spreadsheet computed it): read as empty, it would be lost."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=False)
    try:
        found = book[sheet] if isinstance(sheet, str) else book.worksheets[sheet or 0]
        rows = found.iter_rows(min_row=first_row - 1, max_row=first_row + len(frame) - 1,
                               values_only=True)
        header = [cell_text(value).strip() for value in next(rows, ())]
        if "decision" not in header:
            return
        column = header.index("decision")
        for offset, written in enumerate(row[column] if column < len(row) else None
                                         for row in rows):
            if (isinstance(written, str) and written.startswith("=")
                    and not _decision_text(frame["decision"].iloc[offset])):
                raise UnreadableDecisions(
                    f"{path}: row {first_row + offset}: the decision is a formula with no "
                    f"saved result ({written}); open and save the file in Excel or "
                    f"LibreOffice, or type the strategy id")
    finally:
        book.close()


def _decision_text(cell: object) -> str:
    """A decision cell's answer, without the `'` a spreadsheet may have put in front."""
    return cell_text(cell).lstrip("'").strip()


def _decisions(frame: pd.DataFrame, first_row: int, label: str, store: Store, plan_name: str,
               given: Plan | None = None) -> DecisionsRead:
    """The filled rows as decisions, each named by its row in the spreadsheet (`first_row` on)."""
    runs: dict[int, tuple[RunInfo, Plan]] = {}
    texts: dict[int, list[str]] = {}  # per run, its tasks' texts (read once a text is needed)
    requests: list[DecisionRequest] = []
    seen: dict[tuple[int, int], DecisionRequest] = {}
    by_text: dict[str, DecisionRequest] = {}
    texts_of: dict[tuple[int, int], str] = {}
    latest: Plan | None = None  # the plan as it is now: what a decision can still stand for
    skipped = 0
    for number, (raw_id, raw_decision) in enumerate(
            zip(frame["task_id"].tolist(), frame["decision"].tolist(), strict=True),
            start=first_row):
        where = f"{label}: row {number}"
        decision = _decision_text(raw_decision)
        if not decision:
            skipped += 1
            continue
        match = TASK_ID.match(cell_text(raw_id))
        if match is None:
            raise TasksError(f"{where}: task_id {cell_text(raw_id)!r} is not a task of a queue "
                             f"file (they look like run3-task17)")
        run_id, row = int(match.group(1)), int(match.group(2)) - 1
        if run_id not in runs:
            # A run set aside after its queue file was written still takes its decisions.
            run = _run_of_plan(store, run_id, plan_name)
            if run is None:
                raise TasksError(f"{where}: task {task_id(run_id, row)} is not in a run of plan "
                                 f"{plan_name!r} in {store.label}")
            runs[run_id] = (run, store.plan(run.plan_version))
        run, plan = runs[run_id]
        if not 0 <= row < run.rows:
            raise TasksError(f"{where}: task {task_id(run_id, row)} is not in run #{run_id} "
                             f"(it has {run.rows} tasks)")
        chosen = plan.meant(decision)
        if chosen is None and given is not None and given.meant(decision) in plan.ids:
            chosen = given.meant(decision)  # a strategy's new name in the plan file, same id
        if chosen == NO_STRATEGY_ID:
            request = DecisionRequest(run_id, row, "misaligned", None, where)
        elif chosen is not None:
            if latest is None:
                found = store.latest_plan(plan_name)
                latest = found[1] if found is not None else plan
            if chosen not in latest.ids:
                # As the Review page refuses it: void at once, the next run asked again.
                raise TasksError(f"{where}: decision {decision!r}: the plan no longer has that "
                                 f"strategy (deleted since run #{run_id}); pick one it has "
                                 f"({', '.join(latest.ids)}) or {NO_STRATEGY_ID!r}")
            request = DecisionRequest(run_id, row, "reassign", chosen, where)
        elif given is not None and given.meant(decision) not in (None, NO_STRATEGY_ID):
            raise TasksError(f"{where}: decision {decision!r} is a strategy of the plan file, "
                             f"but run #{run_id} was classified against a plan without it "
                             f"({', '.join(plan.ids)}); classify again with --db, then "
                             f"write a new queue")
        else:
            raise TasksError(f"{where}: decision {decision!r} is neither a strategy id of the "
                             f"plan ({', '.join(plan.ids)}), nor a strategy's name, nor "
                             f"{NO_STRATEGY_ID!r}")
        # A row copied in a spreadsheet: the same answer twice is one decision; two answers
        # for one task cannot both stand, and which one the person meant is theirs to say.
        earlier = seen.get((run_id, row))
        if earlier is not None:
            if earlier.strategy_id != request.strategy_id:
                raise TasksError(f"{where}: task {task_id(run_id, row)} is decided differently "
                                 f"in {earlier.where.removeprefix(label + ': ')}; keep one")
            continue
        # A decision stands for its task's text in every run: the same text (a task repeated
        # in the list, or in two runs' rows) decided two ways would leave one of them lost.
        if run_id not in texts:
            results = store.run_results(run_id)
            texts[run_id] = [cell_text(t) for t in results[run.text_column].tolist()]
        _same_task(frame, number - first_row, run.text_column, texts[run_id][row], where,
                   task_id(run_id, row))
        text = task_key(texts[run_id][row])
        twin = by_text.get(text) if text else None
        if twin is not None and twin.strategy_id != request.strategy_id:
            raise TasksError(f"{where}: task {task_id(run_id, row)} is the same task as "
                             f"{twin.where.removeprefix(label + ': ')} ({_short(text)}), "
                             f"decided differently; keep one answer")
        by_text.setdefault(text, request)
        seen[(run_id, row)] = request
        texts_of[(run_id, row)] = text
        requests.append(request)
    return DecisionsRead(requests, skipped, plan_name, texts_of)


def _same_task(frame: pd.DataFrame, position: int, column: str, stored: str, where: str,
               named: str) -> None:
    """TasksError when the row's task text is another task than its task_id names: a sort of
    some columns only ("Continue with the current selection") would put the decision on it."""
    if column not in frame.columns:
        return  # the text column was deleted: the id alone says which task
    shown = cell_text(frame[column].iloc[position])
    key, own = task_key(shown), task_key(stored)
    # A spreadsheet's `'` in front keeps text from being read as a formula or a number (a
    # task may begin with one of its own: "'Tis the season").
    if not key or own in (key, task_key(shown.removeprefix("'"))) or _same_number(shown, stored):
        return
    # An .xlsx queue cuts a text longer than a cell holds, ending it in "…".
    if key.endswith(CUT_MARK) and own.startswith(key.removesuffix(CUT_MARK).rstrip()):
        return
    raise TasksError(f"{where}: task_id {named} is the task {_short(stored)}, but the row reads "
                     f"{_short(shown)}; were some columns sorted without the others? Undo "
                     f"the sort, or write a new queue")


def _same_number(shown: str, stored: str) -> bool:
    """Whether two texts are the same number (Excel saves the task "0012" as 12)."""
    try:
        return float(shown) == float(stored)
    except ValueError:
        return False


def _short(text: str, limit: int = 50) -> str:
    """A task's text for a one-line message."""
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[:limit - 1] + "…")


def _queue_sheet(path: Path) -> str | None:
    """The queue's own sheet of a workbook, wherever a person moved or renamed it: the sheet
    named Queue, else the one sheet whose top rows name task_id and decision (None for a CSV,
    or a workbook with neither: its first sheet is read, and the columns it lacks are named)."""
    if path.suffix.lower() != ".xlsx" or not path.is_file():
        return None
    try:
        from openpyxl import load_workbook

        workbook = load_workbook(path, read_only=True)
    except Exception:  # not a workbook: the reader says so, naming the file
        return None
    try:
        if QUEUE_SHEET in workbook.sheetnames:
            return QUEUE_SHEET
        # `decide` has no --sheet: a reader's advice to pass one could not be followed.
        holding = [sheet.title for sheet in workbook.worksheets if _names_queue_columns(sheet)]
        if len(holding) > 1:
            raise TasksError(f"{path}: sheets {', '.join(map(repr, holding))} all hold task_id "
                             f"and decision columns; name the one you filled 'Queue'")
        if not holding and len(workbook.sheetnames) > 1:
            raise TasksError(f"{path}: no sheet holds the task_id and decision columns of a "
                             f"queue file (sheets: {', '.join(map(repr, workbook.sheetnames))})")
        return holding[0] if holding else None
    finally:
        workbook.close()


def _names_queue_columns(sheet: Any) -> bool:
    """Whether one of a sheet's first rows (a title may stand above the header) holds the
    queue's task_id and decision columns."""
    rows = sheet.iter_rows(max_row=10, values_only=True)
    return any({"task_id", "decision"} <= {str(cell).strip() for cell in row if cell is not None}
               for row in rows)


def _run_of_plan(store: Store, run_id: int, plan_name: str) -> RunInfo | None:
    try:
        run = store.run(run_id)
    except StoreError:
        return None
    return run if run.plan_name == plan_name else None


def record(store: Store, read: DecisionsRead, reviewer: str) -> dict[str, int]:
    """Record the decisions read (all or none): a strategy the machine had first is a confirm,
    another a reassign; how many of each; how many this reviewer had recorded already
    (`already`: a file sent twice is recorded once), and of those how many somebody decided
    otherwise since (`since`: a file sent again never undoes a later decision); and how many
    tasks somebody else decided otherwise after the file was written (`others`, whose
    decisions stand: the queue deals no decided task, so theirs came later); and how many
    colleagues' decisions the file's replace (`replaced`: void ones, on a strategy the plan no
    longer has, whose tasks the queue deals again)."""
    standing, void = _standing_now(store, read)
    made = _made(store, {request.run_id for request in read.requests})
    new, since, others = [], 0, 0
    # A colleague's decision on a strategy the plan no longer has is void: the task is back in
    # review ("decide again"), and the file's answer takes its place (it was kept, as standing).
    replaced = sum(1 for request in read.requests
                   if (found := void.get((request.run_id, request.row))) is not None
                   and person(found.reviewer) != person(reviewer))
    for request in read.requests:
        key = (request.run_id, request.row)
        now = standing.get(key)
        if (person(reviewer), request.strategy_id) not in made.get(key, set()):
            if (now is not None and person(now.reviewer) != person(reviewer)
                    and now.strategy_id != request.strategy_id):
                others += 1
            else:
                new.append(request)
        elif not _already_standing(now, request, reviewer):
            since += 1
    recorded = store.record_decisions(new, reviewer)
    counts = {"confirm": 0, "reassign": 0, "misaligned": 0,
              "already": len(read.requests) - len(new) - others, "since": since,
              "others": others, "replaced": replaced}
    for decision in recorded:
        counts[decision.action] += 1
    return counts


def _standing_now(store: Store, read: DecisionsRead
                  ) -> tuple[dict[tuple[int, int], Decision], dict[tuple[int, int], Decision]]:
    """Per task read, the decision standing on it now, if any: a decision stands for its task's
    text in every run of the plan, so one taken since on a newer run (the Review page of next
    week's run) counts as much as one on the file's own run. And, apart, the tasks' void
    decisions: on a strategy the run's plan no longer has (the task is back in review)."""
    by_text = store.standing_by_text(read.plan_name)
    runs = {request.run_id for request in read.requests}
    by_row = {run_id: store.current_decisions(run_id) for run_id in runs}
    names = {run_id: store.plan(store.run(run_id).plan_version).names for run_id in runs}
    standing: dict[tuple[int, int], Decision] = {}
    void: dict[tuple[int, int], Decision] = {}
    for request in read.requests:
        key = (request.run_id, request.row)
        text = read.texts.get(key, "")
        now = (by_text.get(text) if text else None) or by_row[request.run_id].get(request.row)
        if now is None:
            continue
        if now.strategy_id is not None and now.strategy_id not in names[request.run_id]:
            void[key] = now
        else:
            standing[key] = now
    return standing, void


def _made(store: Store, runs: set[int]) -> dict[tuple[int, int], set[tuple[str, str | None]]]:
    """Per task of the runs: every (reviewer, strategy id) of a decision in the audit trail
    that no undo cancelled, standing or not."""
    made: dict[tuple[int, int], set[tuple[str, str | None]]] = {}
    for run_id in runs:
        trail = store.decisions(run_id)
        kept = trail[trail["action"].isin(STANDING_ACTIONS) & ~trail["undone"]]
        for row, reviewer, strategy_id in zip(kept["row"], kept["reviewer"],
                                              kept["strategy_id"], strict=True):
            made.setdefault((run_id, int(row)), set()).add(
                (person(str(reviewer)), None if is_blank(strategy_id) else str(strategy_id)))
    return made


def unrecorded(path: str | Path, store: Store | None, plan_name: str) -> int:
    """How many filled decisions of an existing queue file the store does not hold yet (a file
    that is not a queue file holds none; without a store, every filled one counts): writing
    any output over them would lose them."""
    if not Path(path).is_file():
        return 0
    try:
        frame, first_row = _queue_frame(path)
    except UnreadableDecisions:  # a person's answers, unread: never written over
        frame, _ = _queue_frame(path, strict=False)
        return max(1, sum(bool(_decision_text(value)) for column in frame.columns
                          if str(column).startswith("decision") for value in frame[column]))
    except ClassifierError:
        return 0
    # Rows of a queue file `tactics queue` wrote (its task ids), not a tracker's own columns.
    filled = sum(bool(_decision_text(value)) and TASK_ID.match(cell_text(task)) is not None
                 for task, value in zip(frame["task_id"], frame["decision"], strict=True))
    if not filled or store is None:
        return filled
    try:
        read = _decisions(frame, first_row, str(path), store, plan_name)
    except ClassifierError:  # decisions that could not be recorded as they are: still the person's
        return filled
    # Recorded once, by anyone, is recorded: a later decision by somebody else may stand. A
    # task decided since, by anyone, is done: `decide` keeps that decision over the file's.
    made = _made(store, {request.run_id for request in read.requests})
    standing, _ = _standing_now(store, read)
    return sum(1 for request in read.requests
               if (request.run_id, request.row) not in standing
               and request.strategy_id not in {strategy for _, strategy in
                                               made.get((request.run_id, request.row), set())})


def _already_standing(decision: Decision | None, request: DecisionRequest,
                      reviewer: str) -> bool:
    """Whether the task's standing decision is this reviewer's, with the same answer."""
    return (decision is not None and person(decision.reviewer) == person(reviewer)
            and decision.strategy_id == request.strategy_id)
