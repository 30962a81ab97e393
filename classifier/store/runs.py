"""Runs in the store: a classified table (input columns, result columns, top candidates) kept
as it was, whole (from the app) or chunk by chunk (from the command line, shown once done)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..access import Reviewer, acting
from ..cells import holds_dates, is_blank, plain, task_key
from ..errors import StoreError
from ..model.history import Earlier, EarlierUse
from ..plan import Plan, Thresholds
from ..results import LLM_COLUMNS, RESULT_COLUMNS, Candidate, Status, TaskResult
from .database import dumps, host_name, now
from .plans import PlanStore
from .schema import PLANS, RESULTS, RUNS

INSERT_CHUNK = 5_000
# A run set aside (uploaded by mistake, the sample's) is kept whole but left out of the run
# list, the trends and what later runs learn from; its decisions stand and keep teaching.
WRITING, DONE, SET_ASIDE = "writing", "done", "set_aside"
ABANDONED_ELSEWHERE = timedelta(days=1)
Candidates = Sequence[Sequence[Candidate | dict[str, object]] | None]


@dataclass(frozen=True)
class RunInfo:
    """One classification run: where its tasks came from, with what, and its status counts."""

    id: int
    plan_version: int
    plan_name: str
    created_at: datetime
    source: str
    model: str
    text_column: str
    thresholds: Thresholds
    rows: int
    columns: list[str]
    status_counts: dict[str, int]
    earlier: EarlierUse | None = None  # what it learned from the plan's earlier runs
    set_aside_by: str | None = None  # who set it aside (see RunStore.set_aside), else None
    set_aside_at: datetime | None = None
    # Input columns whose cells were read as dates (a workbook's date cells), stored as ISO text:
    # its workbooks write them as dates again (none recorded before store revision 0011).
    date_columns: tuple[str, ...] = ()

    @property
    def tasks(self) -> int:
        """Rows with a task: the file's blank rows are no task."""
        return self.rows - self.status_counts.get("empty", 0)


class RunStore(PlanStore):
    """Classified runs and their rows."""

    def create_run(self, plan_version: int, frame: pd.DataFrame, text_column: str, source: str,
                   model: str, thresholds: Thresholds, candidates: Candidates | None = None,
                   earlier: EarlierUse | None = None) -> int:
        """Store a classified frame (input + result columns) as one run, all or nothing; its id.

        `candidates`, if given, holds per row the top-k matches (Candidate objects or dicts);
        `earlier` what the classifier learned from earlier runs.
        """
        self._check_frame(frame, text_column, source, candidates)
        columns = [str(c) for c in frame.columns if c not in RESULT_COLUMNS + LLM_COLUMNS]
        with self._connect(write=True) as conn:
            run_id = self._insert_run(conn, plan_version, columns, text_column, source, model,
                                      thresholds, LLM_COLUMNS if _has_llm(frame) else [], DONE,
                                      earlier)
            self._insert_rows(conn, run_id, 0, frame, columns, candidates)
            conn.execute(sa.update(RUNS).where(RUNS.c.id == run_id).values(row_count=len(frame)))
        return run_id

    def begin_run(self, plan_version: int, columns: list[str], text_column: str, source: str,
                  model: str, thresholds: Thresholds, llm: bool = False,
                  earlier: EarlierUse | None = None) -> int:
        """A run to be written chunk by chunk (`add_rows`); nobody sees it until `finish_run`.

        Runs that a killed process left half-written are removed first.
        """
        self.remove_abandoned_runs()
        with self._connect(write=True) as conn:
            run_id = self._insert_run(conn, plan_version, columns, text_column, source, model,
                                      thresholds, LLM_COLUMNS if llm else [], WRITING, earlier)
            conn.execute(sa.update(RUNS).where(RUNS.c.id == run_id).values(owner_pid=os.getpid(),
                                                                    owner_host=host_name()))
            return run_id

    def add_rows(self, run_id: int, start: int, frame: pd.DataFrame,
                 candidates: Candidates | None = None) -> None:
        """Append classified rows (numbered from `start`) to a run being written."""
        with self._connect(write=True) as conn:
            info = conn.execute(sa.select(RUNS.c.columns, RUNS.c.text_column, RUNS.c.source,
                                          RUNS.c.state).where(RUNS.c.id == run_id)).first()
            if info is None or info.state != WRITING:
                raise StoreError(f"{self.label}: run {run_id} is not being written")
            self._check_frame(frame, info.text_column, info.source, candidates)
            self._insert_rows(conn, run_id, start, frame, json.loads(info.columns), candidates)

    def finish_run(self, run_id: int, rows: int) -> None:
        """Make a run written chunk by chunk visible, with its row count."""
        with self._connect(write=True) as conn:
            conn.execute(sa.update(RUNS).where(RUNS.c.id == run_id)
                         .values(state=DONE, row_count=rows, owner_pid=None))

    def discard_run(self, run_id: int) -> None:
        """Remove a run that was being written and failed or was interrupted."""
        with self._connect(write=True) as conn:
            # Only a run still being written: one that finished meanwhile keeps its rows.
            writing = sa.select(RUNS.c.id).where(RUNS.c.id == run_id, RUNS.c.state == WRITING)
            conn.execute(sa.delete(RESULTS).where(RESULTS.c.run_id.in_(writing)))
            conn.execute(sa.delete(RUNS).where(RUNS.c.id == run_id, RUNS.c.state == WRITING))

    def remove_abandoned_runs(self) -> int:
        """Remove runs whose writing process is gone (killed); how many."""
        with self._connect(write=False) as conn:
            writing = conn.execute(sa.select(RUNS.c.id, RUNS.c.owner_pid, RUNS.c.owner_host,
                                             RUNS.c.created_at)
                                   .where(RUNS.c.state == WRITING)).all()
        here, stale = host_name(), now() - ABANDONED_ELSEWHERE
        # A process id tells only on its own machine; another machine's run (a laptop that
        # shares the server) is taken as abandoned once it has been writing for a day.
        gone = [row.id for row in writing
                if (row.owner_host in (None, here) and not _alive(row.owner_pid))
                or (row.owner_host not in (None, here) and row.created_at < stale)]
        for run_id in gone:
            self.discard_run(run_id)
        return len(gone)

    def _check_frame(self, frame: pd.DataFrame, text_column: str, source: str,
                     candidates: Candidates | None) -> None:
        missing = [c for c in RESULT_COLUMNS if c not in frame.columns]
        if missing:
            raise StoreError(f"{self.label}: cannot store run from {source}: result column(s) "
                             f"{', '.join(missing)} missing; classify the tasks first")
        if text_column not in frame.columns:
            raise StoreError(f"{self.label}: cannot store run from {source}: no text column "
                             f"{text_column!r} among {', '.join(map(str, frame.columns))}")
        if candidates is not None and len(candidates) != len(frame):
            raise StoreError(f"{self.label}: cannot store run from {source}: {len(candidates)} "
                             f"candidate lists for {len(frame)} rows")

    def _insert_run(self, conn: Connection, plan_version: int, columns: list[str],
                    text_column: str, source: str, model: str, thresholds: Thresholds,
                    llm_columns: list[str], state: str, earlier: EarlierUse | None = None
                    ) -> int:
        self._plan(conn, plan_version)
        used = (json.dumps({"runs": list(earlier.runs), "tasks": earlier.tasks,
                            "taught": earlier.taught}) if earlier is not None and earlier.runs
                else None)
        return int(conn.execute(sa.insert(RUNS).values(
            plan_id=plan_version, created_at=now(), source=str(source), model=str(model),
            text_column=str(text_column), thresholds=dumps(thresholds.model_dump()),
            columns=dumps(columns), result_columns=dumps(RESULT_COLUMNS + llm_columns),
            row_count=0, state=state, earlier=used).returning(RUNS.c.id)).scalar_one())

    def _insert_rows(self, conn: Connection, run_id: int, start: int, frame: pd.DataFrame,
                     columns: list[str], candidates: Candidates | None) -> None:
        dated = [str(c) for at, c in enumerate(frame.columns)
                 if str(c) in columns and holds_dates(frame.iloc[:, at])]
        if dated:  # any chunk's: a column whose first date is in a later chunk holds dates too
            known = conn.execute(sa.select(RUNS.c.date_columns)
                                 .where(RUNS.c.id == run_id)).scalar_one()
            before = json.loads(known) if known else []
            if set(dated) - set(before):
                conn.execute(sa.update(RUNS).where(RUNS.c.id == run_id).values(
                    date_columns=dumps([c for c in columns if c in {*before, *dated}])))
        for offset in range(0, len(frame), INSERT_CHUNK):
            part = frame.iloc[offset:offset + INSERT_CHUNK]
            found = candidates[offset:offset + INSERT_CHUNK] if candidates is not None else None
            conn.execute(sa.insert(RESULTS), _result_rows(run_id, start + offset, part, columns,
                                                          found))

    def _run_infos(self, conn: Connection, where: sa.ColumnElement[bool] | None,
                   limit: int | None, states: Sequence[str] = (DONE,)) -> list[RunInfo]:
        query = (sa.select(RUNS, PLANS.c.name.label("plan_name"))
                 .join_from(RUNS, PLANS, RUNS.c.plan_id == PLANS.c.id)
                 .where(RUNS.c.state.in_(list(states)))
                 .order_by(RUNS.c.id.desc()))
        if where is not None:
            query = query.where(where)
        if limit is not None:
            query = query.limit(limit)
        rows = conn.execute(query).all()
        counts: dict[int, dict[str, int]] = {row.id: {} for row in rows}
        if rows:
            grouped = conn.execute(
                sa.select(RESULTS.c.run_id, RESULTS.c.status, sa.func.count())
                .where(RESULTS.c.run_id.in_(list(counts)))
                .group_by(RESULTS.c.run_id, RESULTS.c.status))
            for run_id, status, count in grouped:
                counts[run_id][str(status)] = int(count)
        return [RunInfo(id=r.id, plan_version=r.plan_id, plan_name=r.plan_name,
                        earlier=_earlier_use(r.earlier),
                        created_at=r.created_at, source=r.source, model=r.model,
                        text_column=r.text_column,
                        thresholds=Thresholds.model_validate_json(r.thresholds),
                        rows=r.row_count, columns=json.loads(r.columns),
                        status_counts=counts[r.id], set_aside_by=r.set_aside_by,
                        set_aside_at=r.set_aside_at,
                        date_columns=tuple(json.loads(r.date_columns or "[]"))) for r in rows]

    def runs(self, limit: int = 50, plan_name: str | None = None) -> list[RunInfo]:
        """The most recent runs (of one named plan, or all), newest first."""
        with self._connect(write=False) as conn:
            where = None if plan_name is None else PLANS.c.name == plan_name
            return self._run_infos(conn, where, limit)

    def run(self, run_id: int) -> RunInfo:
        """One run; StoreError if there is none with this id."""
        with self._connect(write=False) as conn:
            return self._run(conn, run_id)

    def _run(self, conn: Connection, run_id: int) -> RunInfo:
        # A run set aside is still read whole (its results, a report on it): only the lists
        # of runs leave it out.
        found = self._run_infos(conn, RUNS.c.id == run_id, 1, states=(DONE, SET_ASIDE))
        if not found:
            raise StoreError(f"{self.label}: no run with id {run_id}")
        return found[0]

    def set_aside(self, run_id: int, by: str | Reviewer) -> None:
        """Leave a run out of the run list, the trends and what later runs learn from; nothing
        of it is deleted, its decisions stand, and `bring_back` undoes it. A viewer is refused."""
        who = acting(by, "set runs aside")
        with self._connect(write=True) as conn:
            self._run(conn, run_id)
            conn.execute(sa.update(RUNS).where(RUNS.c.id == run_id, RUNS.c.state == DONE)
                         .values(state=SET_ASIDE, set_aside_by=who.name, set_aside_at=now()))

    def bring_back(self, run_id: int, by: str | Reviewer) -> None:
        """Put a run set aside back among the runs. A viewer is refused."""
        acting(by, "bring runs back")
        with self._connect(write=True) as conn:
            self._run(conn, run_id)
            conn.execute(sa.update(RUNS).where(RUNS.c.id == run_id, RUNS.c.state == SET_ASIDE)
                         .values(state=DONE, set_aside_by=None, set_aside_at=None))

    def keep_opinions(self, run_id: int, opinions: dict[int, tuple[str, str]],
                      by: str | Reviewer) -> None:
        """Keep the LLM's answers with a run's rows: {row: (llm_strategy_id, rationale)}, as
        `tactics classify --llm` writes them; the run gains those columns. A viewer is refused."""
        acting(by, "ask the LLM")
        if not opinions:
            return
        with self._connect(write=True) as conn:
            self._run(conn, run_id)
            stored = json.loads(conn.execute(sa.select(RUNS.c.result_columns)
                                             .where(RUNS.c.id == run_id)).scalar_one())
            if not set(LLM_COLUMNS) <= set(stored):
                conn.execute(sa.update(RUNS).where(RUNS.c.id == run_id).values(
                    result_columns=dumps(stored + [c for c in LLM_COLUMNS if c not in stored])))
            conn.execute(
                sa.update(RESULTS).where(RESULTS.c.run_id == sa.bindparam("run"),
                                         RESULTS.c.row == sa.bindparam("at"))
                .values(llm_strategy_id=sa.bindparam("said"), rationale=sa.bindparam("why")),
                [{"run": run_id, "at": row, "said": said, "why": why}
                 for row, (said, why) in opinions.items()])

    def set_aside_runs(self, plan_name: str = "default") -> list[RunInfo]:
        """The named plan's runs set aside, newest first."""
        with self._connect(write=False) as conn:
            return self._run_infos(conn, PLANS.c.name == plan_name, None, states=(SET_ASIDE,))

    def _earlier_tasks(self, plan_name: str, plan: Plan | None, runs: Sequence[int] | None,
                       most: int, left_out: frozenset[str]) -> Earlier:
        """`DecisionStore.earlier_tasks` (which knows the decisions), leaving out the texts whose
        `task_key` is in `left_out`."""
        with self._connect(write=False) as conn:
            query = (sa.select(RUNS.c.id, RUNS.c.text_column, RUNS.c.columns, RUNS.c.plan_id)
                     .join_from(RUNS, PLANS, RUNS.c.plan_id == PLANS.c.id)
                     .order_by(RUNS.c.id.desc()))
            # What a run learned from is rebuilt whole, from runs set aside since too.
            query = (query.where(RUNS.c.id.in_(list(runs)),
                                 RUNS.c.state.in_([DONE, SET_ASIDE])) if runs is not None
                     else query.where(PLANS.c.name == plan_name, RUNS.c.state == DONE))
            seen: dict[str, None] = {}
            used: list[tuple[int, list[str]]] = []
            ids = set(plan.ids) if plan is not None else None
            for run_id, text_column, columns, version in conn.execute(query).all():
                if len(seen) >= most:
                    break
                if ids is not None and not self._shares_strategy(conn, version, ids):
                    continue
                position = json.loads(columns).index(text_column)
                texts = []
                for document, status in conn.execute(
                        sa.select(RESULTS.c.input, RESULTS.c.status)
                        .where(RESULTS.c.run_id == run_id).order_by(RESULTS.c.row)):
                    if len(seen) >= most:  # a big run is not read past what is needed
                        break
                    value = json.loads(document)[position]
                    text = "" if is_blank(value) else str(value)
                    if text and text not in seen:
                        seen[text] = None
                        # Work its run called misaligned serves none of the plan as far as it
                        # can tell: taught, recurring orphan work ("Order toner") drifted to
                        # aligned with nobody deciding. A person's word teaches as decisions do.
                        if status != Status.MISALIGNED.value and task_key(text) not in left_out:
                            texts.append(text)
                if texts:
                    used.append((run_id, texts))
        used.reverse()
        return Earlier(texts=tuple(t for _, texts in used for t in texts),
                       runs=tuple(run_id for run_id, _ in used))

    def latest_run(self, plan_name: str = "default") -> RunInfo | None:
        """The newest run made with any version of the named plan, or None."""
        with self._connect(write=False) as conn:
            found = self._run_infos(conn, PLANS.c.name == plan_name, 1)
        return found[0] if found else None

    def run_results(self, run_id: int) -> pd.DataFrame:
        """Rows in order: `row`, the input columns, the result columns, `candidates`.

        The index is the row number too; an input column named `row` keeps its values.
        """
        with self._connect(write=False) as conn:
            info = self._run(conn, run_id)
            result_columns = json.loads(conn.execute(
                sa.select(RUNS.c.result_columns).where(RUNS.c.id == run_id)).scalar_one())
            picked = [RESULTS.c.row, RESULTS.c.input, RESULTS.c.candidates,
                      *(RESULTS.c[column] for column in result_columns)]
            rows = conn.execute(sa.select(*picked).where(RESULTS.c.run_id == run_id)
                                .order_by(RESULTS.c.row)).all()
        return _results_frame(info.columns, result_columns, rows)


def task_result(row: pd.Series, text_column: str) -> TaskResult:
    """One stored result row (with its `candidates`) as a TaskResult."""
    candidates = tuple(
        Candidate(str(c["strategy_id"]), str(c["strategy"]), float(c["score"]),
                  str(c.get("evidence", "")))
        for c in (row.get("candidates") or []))

    def text_or_none(value: object) -> str | None:
        return None if is_blank(value) else str(value)

    def number_or_none(value: object) -> float | None:
        number = pd.to_numeric(value, errors="coerce")
        return None if pd.isna(number) else float(number)

    return TaskResult(
        text=str(row[text_column]), status=Status(str(row["status"])),
        strategy_id=text_or_none(row.get("strategy_id")),
        strategy=text_or_none(row.get("strategy")), score=number_or_none(row.get("score")),
        runner_up_id=text_or_none(row.get("runner_up_id")),
        runner_up_score=number_or_none(row.get("runner_up_score")),
        evidence=text_or_none(row.get("evidence")), candidates=candidates)


def _earlier_use(stored: str | None) -> EarlierUse | None:
    if not stored:
        return None
    used = json.loads(stored)
    return EarlierUse(runs=tuple(int(r) for r in used.get("runs", [])),
                      tasks=int(used.get("tasks", 0)), taught=int(used.get("taught", 0)))


def _alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _has_llm(frame: pd.DataFrame) -> bool:
    return any(column in frame.columns for column in LLM_COLUMNS)


def _cells(series: pd.Series) -> list[object]:
    """A column's values made JSON-safe; the common str and int cells pass straight through."""
    return [v if type(v) is str or type(v) is int else plain(v) for v in series.tolist()]


def _json_default(value: object) -> object:
    made = plain(value)
    return str(value) if made is value else made


def _candidate_json(found: Sequence[Candidate | dict[str, object]]) -> str:
    items = [c if isinstance(c, dict) else {"strategy_id": c.strategy_id, "strategy": c.strategy,
                                            "score": c.score, "evidence": c.evidence}
             for c in found]
    return json.dumps(items, ensure_ascii=False, default=_json_default)


def _result_rows(run_id: int, start: int, part: pd.DataFrame, columns: list[str],
                 candidates: Candidates | None) -> list[dict[str, object]]:
    n = len(part)
    cells = [_cells(part.iloc[:, position]) for position, column in enumerate(part.columns)
             if column in columns]
    inputs = [dumps(list(values)) for values in zip(*cells, strict=True)] if cells else ["[]"] * n
    rows: list[dict[str, object]] = [{"run_id": run_id, "row": start + offset,
                                      "input": inputs[offset], "candidates": None}
                                     for offset in range(n)]
    for column in RESULT_COLUMNS + LLM_COLUMNS:
        values: list[object]
        if column not in part.columns:
            values = [None] * n
        elif column in ("score", "runner_up_score"):
            values = [None if v is None else float(v) for v in _cells(part[column])]  # type: ignore[arg-type]
        else:
            values = [None if v is None else str(v) for v in _cells(part[column])]
        for record, value in zip(rows, values, strict=True):
            record[column] = value
    if candidates is not None:
        for record, found in zip(rows, candidates, strict=True):
            if found is not None:
                record["candidates"] = _candidate_json(found)
    return rows


def _results_frame(columns: list[str], result_columns: list[str],
                   rows: Sequence[Sequence[object]]) -> pd.DataFrame:
    """Rebuild a run's frame; one json.loads over all rows, as per-row calls dominate the cost."""
    numbers, inputs, candidates, *results = (
        [list(c) for c in zip(*rows, strict=False)] if rows
        else [[] for _ in range(3 + len(result_columns))])
    stored = json.loads("[" + ",".join(map(str, inputs)) + "]")
    frame = pd.DataFrame(stored, columns=columns)
    for at, column in enumerate(columns):
        values = frame[column]
        if values.isna().all():
            frame[column] = values.astype(object)
        elif values.dtype.kind == "f" and any(type(row[at]) is int for row in stored):
            # A workbook's whole numbers beside a fraction or a blank cell: pandas made every
            # one a float, and the report wrote the 1 `classify` wrote as "1.0".
            frame[column] = pd.Series([row[at] for row in stored], index=frame.index,
                                      dtype=object)
    for column, values in zip(result_columns, results, strict=True):
        if column in ("score", "runner_up_score"):
            frame[column] = pd.Series([math.nan if v is None else v for v in values],
                                      dtype="float64")
        else:
            frame[column] = pd.Series(values)
    frame["candidates"] = pd.Series(
        json.loads("[" + ",".join(str(c) if c else "null" for c in candidates) + "]"),
        dtype=object)
    if "row" not in frame.columns:
        frame.insert(0, "row", pd.Series(numbers, dtype="int64"))
    frame.index = pd.Index(numbers, dtype="int64")
    return frame
