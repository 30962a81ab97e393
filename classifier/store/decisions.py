"""Review decisions in the store: an append-only audit trail (a decision is a new row, an undo
a new row that cancels an earlier one, hiding a learned example is recorded too), and what the
trail means now: the standing decision on each task, and the examples it teaches."""

from __future__ import annotations

import json
import operator
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..access import Reviewer, acting, person
from ..cells import task_key
from ..errors import StoreError
from ..model.history import MOST_TASKS, Earlier
from ..plan import Plan
from .database import now
from .runs import RunStore
from .schema import DECISION_FIELDS, DECISIONS, FLAGS, PLANS, RESULTS, RUNS

ACTIONS = ("confirm", "reassign", "misaligned", "skip")
UNDO = "undo"
STANDING_ACTIONS = ("confirm", "reassign", "misaligned")


@dataclass(frozen=True)
class Decision:
    """One row of the audit trail: what a person did to a task, and what the machine had said."""

    id: int
    run_id: int
    row: int
    action: str  # confirm | reassign | misaligned | skip | undo
    strategy_id: str | None  # the person's choice; None: serves no strategy (or skip, undo)
    reviewer: str
    decided_at: datetime
    machine_strategy_id: str | None
    machine_status: str | None
    machine_score: float | None
    text: str
    note: str | None = None
    undoes: int | None = None  # for an undo: the id of the decision it cancels
    reviewer_subject: str | None = None  # signed in: the identity provider's issuer and subject

    @property
    def final_status(self) -> str | None:
        """The status this decision gives the task (None for skip and undo)."""
        if self.action not in STANDING_ACTIONS:
            return None
        return "misaligned" if self.strategy_id is None else "aligned"


@dataclass(frozen=True)
class Replaced:
    """An undo not made (`undo_last_decision`): the reviewer's last decision, `mine`, no longer
    stands; `by`, another person's later decision on that task, does."""

    mine: Decision
    by: Decision


@dataclass(frozen=True)
class DecisionRequest:
    """One decision to record with others (`record_decisions`); `where` names it in errors."""

    run_id: int
    row: int
    action: str
    strategy_id: str | None
    where: str
    note: str | None = None


@dataclass(frozen=True)
class _Task:
    plan_id: int
    text: str
    strategy_id: str | None
    status: str | None
    score: float | None


class DecisionStore(RunStore):
    """The review decisions' audit trail, and learned examples."""

    def record_decision(self, run_id: int, row: int, action: str, strategy_id: str | None,
                        reviewer: str | Reviewer, *, note: str | None = None) -> Decision:
        """Append a person's decision on one task.

        confirm with strategy_id None confirms the machine's best strategy (whatever its status);
        reassign needs an id of the run's plan, and is kept as a confirm when it is the machine's
        own strategy and status is not misaligned; misaligned and skip take none. A Reviewer who
        may only view is refused (AccessError) and nothing is written.
        """
        who = acting(reviewer)
        with self._connect(write=True) as conn:
            return self._record(conn, run_id, row, action, strategy_id, who, note)

    def record_decisions(self, items: Sequence[DecisionRequest], reviewer: str | Reviewer
                         ) -> list[Decision]:
        """Append many decisions in one transaction: all are recorded, or (StoreError naming the
        first bad one by its `where`) none. A viewer is refused as in `record_decision`."""
        who = acting(reviewer)
        with self._connect(write=True) as conn:
            recorded = []
            for item in items:
                try:
                    recorded.append(self._record(conn, item.run_id, item.row, item.action,
                                                 item.strategy_id, who, item.note))
                except StoreError as error:
                    raise StoreError(f"{item.where}: {error}") from None
            return recorded

    def _record(self, conn: Connection, run_id: int, row: int, action: str,
                strategy_id: str | None, who: Reviewer, note: str | None) -> Decision:
        row = _as_row(row, run_id, self.label)
        if not who.name:
            raise StoreError(f"{self.label}: run {run_id}, row {row}: a reviewer name is needed")
        if action not in ACTIONS:
            raise StoreError(f"{self.label}: run {run_id}, row {row}: unknown action {action!r}; "
                             f"use one of {', '.join(ACTIONS)}")
        task = self._task(conn, run_id, row)
        if task.status == "empty" or not task.text.strip():
            raise StoreError(f"{self.label}: run {run_id}, row {row}: a blank row, not a task; "
                             f"there is nothing to decide")
        if (action == "reassign" and strategy_id is not None and strategy_id == task.strategy_id
                and task.status != "misaligned"):
            action = "confirm"  # the machine's own choice, which it had not ruled out
        if action == "confirm" and strategy_id is None:
            if task.status == "empty" or not task.strategy_id:
                raise StoreError(f"{self.label}: run {run_id}, row {row}: the machine "
                                 f"suggested no strategy, so there is nothing to confirm")
            strategy_id = task.strategy_id
        elif action in ("misaligned", "skip"):
            if strategy_id is not None:
                raise StoreError(f"{self.label}: run {run_id}, row {row}: {action} takes "
                                 f"no strategy id (got {strategy_id!r})")
        elif strategy_id is None:
            raise StoreError(f"{self.label}: run {run_id}, row {row}: {action} needs a "
                             f"strategy id")
        if strategy_id is not None:
            known = self._strategy_ids(conn, task.plan_id)
            if strategy_id not in known:
                raise StoreError(f"{self.label}: run {run_id}, row {row}: strategy id "
                                 f"{strategy_id!r} is not in the run's plan (ids: "
                                 f"{', '.join(known)})")
        return self._append(conn, run_id, row, action, strategy_id, who, task, note)

    def _task(self, conn: Connection, run_id: int, row: int) -> _Task:
        run = conn.execute(sa.select(RUNS.c.plan_id, RUNS.c.row_count, RUNS.c.text_column,
                                     RUNS.c.columns).where(RUNS.c.id == run_id)).first()
        if run is None:
            raise StoreError(f"{self.label}: no run with id {run_id}")
        if not 0 <= row < run.row_count:
            raise StoreError(f"{self.label}: run {run_id}: row {row} out of range (the run has "
                             f"{run.row_count} rows, numbered 0 to {run.row_count - 1})")
        found = conn.execute(sa.select(RESULTS.c.input, RESULTS.c.strategy_id,
                                       RESULTS.c.status, RESULTS.c.score)
                             .where(RESULTS.c.run_id == run_id, RESULTS.c.row == row)).one()
        values = json.loads(found.input)
        text = values[json.loads(run.columns).index(run.text_column)]
        return _Task(plan_id=run.plan_id, text="" if text is None else str(text),
                     strategy_id=found.strategy_id, status=found.status, score=found.score)

    def _append(self, conn: Connection, run_id: int, row: int, action: str,
                strategy_id: str | None, reviewer: Reviewer, task: _Task | Decision,
                note: str | None, undoes: int | None = None) -> Decision:
        machine = ((task.machine_strategy_id, task.machine_status, task.machine_score)
                   if isinstance(task, Decision) else (task.strategy_id, task.status, task.score))
        values = {"run_id": run_id, "row": row, "action": action, "strategy_id": strategy_id,
                  "reviewer": reviewer.name, "decided_at": now(),
                  "machine_strategy_id": machine[0], "machine_status": machine[1],
                  "machine_score": machine[2], "text": task.text, "note": note,
                  "undoes": undoes, "reviewer_subject": reviewer.subject}
        new_id = conn.execute(sa.insert(DECISIONS).values(**values)
                              .returning(DECISIONS.c.id)).scalar_one()
        return _decision({"id": new_id, **values})

    def undo_last_decision(self, run_id: int, reviewer: str | Reviewer
                           ) -> Decision | Replaced | None:
        """Append an undo cancelling this reviewer's last decision in the run (a skip too); None
        without one; Replaced, appending nothing, when another's decision has replaced it since.

        The undo row carries the cancelled decision's row, so a view can go back to it.
        """
        who = acting(reviewer)
        with self._connect(write=True) as conn:
            self._run(conn, run_id)
            undone = sa.select(DECISIONS.c.undoes).where(DECISIONS.c.undoes.is_not(None))
            # Names compared as one person ("Ana" typed one day, "ana" the next), which SQL's
            # lower() does only for ASCII (SQLite): the run's trail is read back, newest first.
            last = next((row for row in conn.execute(
                sa.select(DECISIONS).where(
                    DECISIONS.c.run_id == run_id, DECISIONS.c.action != UNDO,
                    DECISIONS.c.id.not_in(undone))
                .order_by(DECISIONS.c.id.desc())) if person(row.reviewer) == person(who)), None)
            if last is None:
                return None
            target = _decision(last._mapping)
            if target.action in STANDING_ACTIONS:
                # Its undo would change nothing the task shows, only keep it from coming back
                # when the other's is undone: "Undid your last decision" said what did not happen.
                standing = _standing(self._decision_rows(conn, sa.and_(
                    DECISIONS.c.run_id == run_id, DECISIONS.c.row == target.row)))
                now = standing.get((run_id, target.row))
                if now is not None and now.id != target.id:
                    return Replaced(mine=target, by=now)
            return self._append(conn, run_id, target.row, UNDO, None, who, target,
                                None, undoes=target.id)

    def _decision_rows(self, conn: Connection, where: sa.ColumnElement[bool] | None
                       ) -> list[Decision]:
        query = sa.select(DECISIONS).order_by(DECISIONS.c.id)
        if where is not None:
            query = query.where(where)
        return [_decision(row._mapping) for row in conn.execute(query)]

    def decisions(self, run_id: int | None = None) -> pd.DataFrame:
        """The audit trail (one run or all), oldest first, undo rows included.

        `undone` tells whether a later undo row cancelled that decision.
        """
        with self._connect(write=False) as conn:
            trail = self._decision_rows(
                conn, None if run_id is None else DECISIONS.c.run_id == run_id)
        cancelled = _cancelled(trail)
        frame = pd.DataFrame([asdict(d) for d in trail], columns=DECISION_FIELDS)
        for column in ("strategy_id", "machine_strategy_id", "note"):
            frame[column] = pd.Series([getattr(d, column) for d in trail], dtype=object)
        frame["undone"] = pd.Series([d.id in cancelled for d in trail], dtype=bool)
        frame["decided_at"] = pd.to_datetime(frame["decided_at"], utc=True)
        frame["undoes"] = frame["undoes"].astype("Int64")
        return frame

    def current_decisions(self, run_id: int) -> dict[int, Decision]:
        """The standing decision per row: the latest not undone; skips do not count."""
        with self._connect(write=False) as conn:
            self._run(conn, run_id)
            trail = self._decision_rows(conn, DECISIONS.c.run_id == run_id)
        return {key[1]: decision for key, decision in _standing(trail).items()}

    def standing_decision(self, run_id: int, row: int) -> Decision | None:
        """The standing decision on one task, or None; reads only that task's trail."""
        with self._connect(write=False) as conn:
            self._run(conn, run_id)
            trail = self._decision_rows(
                conn, sa.and_(DECISIONS.c.run_id == run_id, DECISIONS.c.row == row))
        return _standing(trail).get((run_id, row))

    def decision_on_task(self, run_id: int, row: int) -> Decision | None:
        """The decision that stands on a task as the run's results apply it: its own, else one
        on the same task text in the plan's runs up to this one (not one whose strategy the
        run's plan lacks: that task is back in review)."""
        own = self.standing_decision(run_id, row)
        if own is not None:
            return own
        with self._connect(write=False) as conn:
            info = self._run(conn, run_id)
            plan = self._plan(conn, info.plan_version)
            text = self._task(conn, run_id, row).text
        carried = self.standing_by_text(info.plan_name, up_to_run=run_id, plan=plan).get(
            task_key(text)) if task_key(text) else None
        if carried is None or (carried.strategy_id is not None
                               and carried.strategy_id not in plan.names):
            return None
        return carried

    def skipped_rows(self, run_id: int, reviewer: str | Reviewer) -> set[int]:
        """Rows this reviewer skipped in the run (skips not undone): their queue shows them last."""
        who = person(reviewer)
        with self._connect(write=False) as conn:
            self._run(conn, run_id)
            trail = self._decision_rows(conn, DECISIONS.c.run_id == run_id)
        cancelled = _cancelled(trail)
        return {d.row for d in trail
                if d.action == "skip" and person(d.reviewer) == who and d.id not in cancelled}

    def standing_by_text(self, plan_name: str = "default", up_to_run: int | None = None,
                         plan: Plan | None = None) -> dict[str, Decision]:
        """The latest standing decision on each task (by `task_key`), over the runs of the named plan (up
        to run `up_to_run`; with `plan`, of versions sharing a strategy with it): a person's
        word on a task stands for the same task in later runs, not under a plan that replaced
        the one it was given on."""
        with self._connect(write=False) as conn:
            runs = list(self._plan_runs(conn, plan_name, plan, up_to_run))
            trail = self._decision_rows(conn, DECISIONS.c.run_id.in_(runs)) if runs else []
        by_text: dict[str, Decision] = {}
        for decision in sorted(_standing(trail).values(), key=lambda d: d.id):
            if key := task_key(decision.text):
                by_text[key] = decision
        return by_text

    def results_with_decisions(self, run_id: int) -> pd.DataFrame:
        """run_results plus final_strategy_id, final_strategy, final_status, decision,
        decision_id, decided_by, decided_at, decision_run, decision_note: the machine's answer
        where nobody decided; a decision on the same task text in any run of this plan stands
        (unless its strategy left the plan: then it is undecided, in review, and `decision_note`
        says why)."""
        with self._connect(write=False) as conn:
            info = self._run(conn, run_id)
            plan = self._plan(conn, info.plan_version)
        frame = self.run_results(run_id)
        standing = self.current_decisions(run_id)
        # Decisions carry forward: a later run's decisions do not rewrite an earlier run.
        carried = self.standing_by_text(info.plan_name, up_to_run=run_id, plan=plan)
        names = plan.names
        gone: dict[int, dict[str, str]] = {}  # run -> its plan's names, for strategies left out
        final_id = frame["strategy_id"].astype(object).where(frame["strategy_id"].notna(), None)
        final_status = frame["status"].astype(object)
        action: list[str | None] = [None] * len(frame)
        decision_id: list[int | None] = [None] * len(frame)
        by: list[str | None] = [None] * len(frame)
        at: list[datetime | None] = [None] * len(frame)
        source: list[int | None] = [None] * len(frame)
        note: list[str | None] = [None] * len(frame)
        final_status = final_status.tolist()
        # A task the machine found serving no strategy is assigned none (its closest strategy
        # stays in strategy_id).
        final_id = [None if status == "misaligned" else sid
                    for sid, status in zip(final_id.tolist(), final_status, strict=True)]
        texts = frame[info.text_column].tolist() if info.text_column in frame else []
        for row, text in enumerate(texts):
            decision = standing.get(row) or carried.get(task_key(text))
            if decision is None:
                continue
            if decision.strategy_id is not None and decision.strategy_id not in names:
                final_status[row] = "review"  # the person's word no longer holds: doubt
                note[row] = (f"{decision.reviewer} had decided it serves "
                             f"“{self._name_then(decision, gone)}”, which the plan no longer "
                             f"has: decide again")
                continue
            final_id[row] = decision.strategy_id
            final_status[row] = decision.final_status
            action[row], decision_id[row] = decision.action, decision.id
            by[row], at[row], source[row] = decision.reviewer, decision.decided_at, decision.run_id
        frame["final_strategy_id"] = pd.Series(final_id, index=frame.index, dtype=object)
        frame["final_strategy"] = pd.Series([names.get(i) if i else None for i in final_id],
                                            index=frame.index, dtype=object)
        frame["final_status"] = pd.Series(final_status, index=frame.index, dtype=object)
        frame["decision"] = pd.Series(action, index=frame.index, dtype=object)
        frame["decision_id"] = pd.Series(decision_id, index=frame.index, dtype="Int64")
        frame["decided_by"] = pd.Series(by, index=frame.index, dtype=object)
        frame["decided_at"] = pd.to_datetime(pd.Series(at, index=frame.index, dtype=object),
                                             utc=True)
        frame["decision_run"] = pd.Series(source, index=frame.index, dtype="Int64")
        frame["decision_note"] = pd.Series(note, index=frame.index, dtype=object)
        return frame

    def _name_then(self, decision: Decision, names: dict[int, dict[str, str]]) -> str:
        """The name a decided strategy had in the plan of the decision's run (its id if none);
        `names` caches each run's plan names."""
        if decision.run_id not in names:
            names[decision.run_id] = self.plan(self.run(decision.run_id).plan_version).names
        return names[decision.run_id].get(str(decision.strategy_id), str(decision.strategy_id))

    def _plan_runs(self, conn: Connection, plan_name: str, plan: Plan | None,
                   up_to_run: int | None = None) -> dict[int, int]:
        """The named plan's runs (up to `up_to_run`) and their plan versions; with `plan`, only
        those of versions sharing a strategy with it (an edit of it, not a plan it replaced)."""
        query = (sa.select(RUNS.c.id, RUNS.c.plan_id)
                 .join_from(RUNS, PLANS, RUNS.c.plan_id == PLANS.c.id)
                 .where(PLANS.c.name == plan_name))
        if up_to_run is not None:
            query = query.where(RUNS.c.id <= up_to_run)
        runs = {int(run_id): int(version) for run_id, version in conn.execute(query).all()}
        if plan is None:
            return runs
        ids = set(plan.ids)
        kept = {version for version in set(runs.values())
                if self._shares_strategy(conn, version, ids)}
        return {run_id: version for run_id, version in runs.items() if version in kept}

    def earlier_tasks(self, plan_name: str = "default", plan: Plan | None = None,
                      runs: Sequence[int] | None = None, most: int = MOST_TASKS) -> Earlier:
        """The distinct task texts of the named plan's finished runs, the newest runs' first, at
        most `most` (returned oldest run first). With `plan`, only runs of versions that share a
        strategy with it (a plan that replaced another learns nothing from the other's tasks);
        with `runs`, those runs' (to rebuild what a run learned from). Without the tasks a
        person said serve no strategy: the history taught them to the strategy they leaned to
        ("Clean up the shared marketing drive", decided none, moved a prototype toward it)."""
        said_none = frozenset(
            key for key, decision in self.standing_by_text(plan_name, plan=plan).items()
            if decision.action == "misaligned") if runs is None else frozenset()
        return self._earlier_tasks(plan_name, plan, runs, most, said_none)

    def learned_examples(self, plan_name: str = "default",
                         plan: Plan | None = None) -> pd.DataFrame:
        """Standing decisions over all runs of the plan (with `plan`, of versions sharing a
        strategy with it: "serves none" of a plan it replaced says nothing of it): text,
        strategy_id (None: no strategy), action, decision_id, run_id, plan_version, reviewer,
        decided_at, removed."""
        with self._connect(write=False) as conn:
            runs = self._plan_runs(conn, plan_name, plan)
            trail = self._decision_rows(conn, DECISIONS.c.run_id.in_(list(runs))) if runs else []
            flags = conn.execute(sa.select(FLAGS.c.decision_id, FLAGS.c.action)
                                 .order_by(FLAGS.c.id)).all()
        removed = {}
        for decision_id, flag in flags:
            removed[decision_id] = flag == "remove"
        rows = [{"text": d.text, "strategy_id": d.strategy_id, "action": d.action,
                 "decision_id": d.id, "run_id": d.run_id, "plan_version": runs[d.run_id],
                 "reviewer": d.reviewer, "decided_at": d.decided_at,
                 "removed": removed.get(d.id, False)}
                for d in _standing(trail).values() if d.text.strip()]
        columns = ["text", "strategy_id", "action", "decision_id", "run_id", "plan_version",
                   "reviewer", "decided_at", "removed"]
        frame = pd.DataFrame(rows, columns=columns)
        # object dtype keeps None as None: "serves no strategy", not a missing value.
        frame["strategy_id"] = pd.Series([r["strategy_id"] for r in rows], dtype=object)
        frame["decided_at"] = pd.to_datetime(frame["decided_at"], utc=True)
        frame["removed"] = frame["removed"].astype(bool)
        return frame.sort_values("decision_id", kind="stable").reset_index(drop=True)

    def remove_learned_example(self, decision_id: int, by: str | Reviewer,
                               note: str | None = None) -> None:
        """Hide a decision from the learned examples (recorded, nothing deleted)."""
        self._flag(decision_id, "remove", by, note)

    def restore_learned_example(self, decision_id: int, by: str | Reviewer,
                                note: str | None = None) -> None:
        """Show a hidden learned example again (recorded too)."""
        self._flag(decision_id, "restore", by, note)

    def _flag(self, decision_id: int, action: str, by: str | Reviewer, note: str | None) -> None:
        who = acting(by, "hide or restore learned examples")
        if not who.name:
            raise StoreError(f"{self.label}: decision {decision_id}: a reviewer name is needed")
        with self._connect(write=True) as conn:
            exists = conn.execute(sa.select(DECISIONS.c.id)
                                  .where(DECISIONS.c.id == decision_id)).first()
            if exists is None:
                raise StoreError(f"{self.label}: no decision with id {decision_id}")
            conn.execute(sa.insert(FLAGS).values(decision_id=decision_id, action=action,
                                                  by=who.name, at=now(), note=note))

    def example_flags(self) -> pd.DataFrame:
        """Every remove/restore of a learned example, oldest first."""
        with self._connect(write=False) as conn:
            rows = conn.execute(sa.select(FLAGS).order_by(FLAGS.c.id)).all()
        return pd.DataFrame([dict(r._mapping) for r in rows],
                            columns=["id", "decision_id", "action", "by", "at", "note"])


def _decision(values: object) -> Decision:
    data = {name: values[name] for name in DECISION_FIELDS}  # type: ignore[index]
    return Decision(**data)


def _cancelled(trail: list[Decision]) -> set[int]:
    """Ids of the decisions an undo row cancelled."""
    return {d.undoes for d in trail if d.undoes is not None}


def _standing(trail: list[Decision]) -> dict[tuple[int, int], Decision]:
    """Per (run, row): the latest confirm/reassign/misaligned that no undo cancelled."""
    cancelled = _cancelled(trail)
    standing: dict[tuple[int, int], Decision] = {}
    for decision in sorted(trail, key=lambda d: d.id):
        if decision.action in STANDING_ACTIONS and decision.id not in cancelled:
            standing[(decision.run_id, decision.row)] = decision
    return standing


def _as_row(row: object, run_id: int, label: str) -> int:
    try:
        if isinstance(row, bool):
            raise TypeError
        return operator.index(row)  # type: ignore[arg-type]
    except TypeError:
        raise StoreError(f"{label}: run {run_id}: row must be a whole number, "
                         f"got {row!r}") from None
