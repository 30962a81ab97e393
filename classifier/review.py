"""The review queue: which doubtful tasks a person should look at first, and why.

Order: the queue deals tasks out one strategy at a time (each strategy's most doubtful task, i.e.
nearest a threshold or its runner-up, then each one's second, ...), so a short review teaches every
strategy something instead of piling up on one; within a round, strategies with the fewest learned
examples come first, then the tasks most likely to serve no strategy. On CLINC150 this order lifts
top-1 after 300 reviews from 0.78 (random or worst-score-first) to about 0.80.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .access import Reviewer, person
from .cells import is_blank, task_key
from .model.decision import DEFAULT_THRESHOLDS
from .model.learned import Learned, counted
from .plan import NO_STRATEGY_WORDS, Plan, Thresholds
from .results import Status

if TYPE_CHECKING:
    from .store import Decision, RunInfo, Store

QUEUE_STATUSES = (Status.MISALIGNED.value, Status.REVIEW.value)
# A decision this soon (seconds) after its task appeared is a key pressed twice, not a
# judgement: nobody had time to read the task. TACTICS_REVIEW_REPEAT_S sets it (0: off).
REPEAT_ENV = "TACTICS_REVIEW_REPEAT_S"
REPEAT_S = 0.4


def repeat_window(environ: Mapping[str, str]) -> float:
    """Seconds after a task appears within which a decision on it is a repeated key press."""
    try:
        value = float(environ.get(REPEAT_ENV, REPEAT_S))
    except ValueError:
        return REPEAT_S
    return value if value >= 0 else REPEAT_S


def is_repeat(last: float | None, now: float, window: float) -> bool:
    """Whether a decision at `now` comes too soon after `last`, when its task appeared
    (monotonic seconds)."""
    return last is not None and 0 <= now - last < window


def replaces(earlier: Decision | None, strategy_id: str | None, reviewer: str | Reviewer
             ) -> bool:
    """Whether deciding a task for `strategy_id` (None: serves no strategy) would replace a
    colleague's other answer standing on it (`earlier`): theirs is not replaced unasked."""
    return (earlier is not None and person(earlier.reviewer) != person(reviewer)
            and earlier.strategy_id != strategy_id)


TEACH_IN_SIZE = 20


def _reason(score: float, runner_up: float, strategy: str, thresholds: Thresholds) -> str:
    if not np.isfinite(score):
        return "no score"
    if score < thresholds.misaligned:
        return f"score {score:.2f}: far from every strategy"
    if np.isfinite(runner_up) and score - runner_up < thresholds.margin:
        return f"two strategies too close: {score:.2f} vs {runner_up:.2f}"
    if score >= thresholds.aligned:
        return f"score {score:.2f}: aligned with {strategy} (a spot check)"
    return f"score {score:.2f}: weak match to {strategy}"


def _doubt(score: np.ndarray, runner_up: np.ndarray, thresholds: Thresholds) -> np.ndarray:
    """How near a task is to a decision boundary (smaller: more doubtful, teaches more)."""
    with np.errstate(invalid="ignore"):  # a task without any score has no margin either
        margin = np.where(np.isfinite(runner_up), score - runner_up, np.inf)
    to_misaligned = np.abs(score - thresholds.misaligned)
    to_aligned = np.abs(score - thresholds.aligned)
    return np.minimum(np.minimum(to_misaligned, to_aligned), margin)


def review_queue(results: pd.DataFrame, thresholds: Thresholds | None = None,
                 statuses: Sequence[str] = QUEUE_STATUSES,
                 exclude_texts: Sequence[str] = (), text_column: str | None = None,
                 learned: Learned | None = None) -> pd.DataFrame:
    """The rows of `results` (classifier output) whose status is in `statuses`, in review order,
    with `queue_rank` (1 = first) and a short `queue_reason`; the original index is kept.

    `exclude_texts` drops tasks already decided (matched on `text_column`); with `learned`,
    strategies that have the fewest learned examples come first in each round.
    """
    thresholds = thresholds or DEFAULT_THRESHOLDS
    wanted = results["status"].isin(list(statuses))
    if "decision_note" in results.columns and Status.REVIEW.value in statuses:
        # A person's decision the plan no longer allows is back in review, whatever the machine
        # said (`final_status`): somebody decides again.
        wanted |= results["decision_note"].notna()
    queue = results[wanted].copy()
    if exclude_texts and text_column is not None and len(queue):
        decided = {task_key(text) for text in exclude_texts}
        queue = queue[[task_key(text) not in decided for text in queue[text_column]]]
    if queue.empty:
        queue["queue_rank"] = pd.Series(dtype="int64")
        queue["queue_reason"] = pd.Series(dtype="object")
        return queue
    score = pd.to_numeric(queue["score"], errors="coerce").to_numpy(np.float64)
    score = np.where(np.isfinite(score), score, -np.inf)
    runner_up = (pd.to_numeric(queue["runner_up_score"], errors="coerce").to_numpy(np.float64)
                 if "runner_up_score" in queue.columns else np.full(len(queue), np.nan))
    runner_up = np.where(np.isfinite(runner_up), runner_up, -np.inf)
    doubt = _doubt(score, runner_up, thresholds)
    lane = queue["strategy_id"].fillna("").astype(str).to_numpy()

    # Rank of each task inside its strategy's lane (most doubtful first), then deal by round.
    order = np.lexsort((score, doubt, lane))
    round_of = np.empty(len(queue), dtype=np.int64)
    previous = None
    count = 0
    for position in order:
        count = count + 1 if lane[position] == previous else 0
        previous = lane[position]
        round_of[position] = count
    taught = learned.examples if learned is not None else {}
    known = np.array([len(taught.get(strategy, ())) for strategy in lane])
    final = np.lexsort((np.arange(len(queue)), score, known, round_of))

    # The strategy's name where the results carry it, as everywhere else a person reads;
    # which two strategies are too close, the candidates beside the reason say.
    names = queue["strategy"] if "strategy" in queue.columns else queue["strategy_id"]
    reasons = [_reason(s, r, str(n), thresholds) for s, r, n in
               zip(score, runner_up, names.fillna("").tolist(), strict=True)]
    if "decision_note" in queue.columns:  # a decision that no longer holds says why
        reasons = [note if isinstance(note, str) and note else reason
                   for note, reason in zip(queue["decision_note"].tolist(), reasons, strict=True)]
    queue["queue_reason"] = reasons
    queue = queue.iloc[final]
    queue["queue_rank"] = np.arange(1, len(queue) + 1)
    return queue


def pending(queue: pd.DataFrame, decided: Sequence[int], skipped: Sequence[int] = ()
            ) -> pd.DataFrame:
    """The queue without the rows already decided, the reviewer's skipped rows moved last."""
    left = queue[~queue["row"].isin(list(decided))]
    later = left["row"].isin(list(skipped))
    return pd.concat([left[~later], left[later]])


def spot_check(results: pd.DataFrame, thresholds: Thresholds | None = None,
               learned: Learned | None = None) -> pd.DataFrame:
    """Aligned tasks in review order, for once the queue is empty: a manager who wants to teach
    more checks the machine's answers, the least sure of each strategy first."""
    return review_queue(results, thresholds, statuses=(Status.ALIGNED.value,), learned=learned)


def deal(results: pd.DataFrame, thresholds: Thresholds | None = None,
         learned: Learned | None = None, decided: Sequence[int] = (),
         skipped: Sequence[int] = (), aligned: bool = False) -> tuple[pd.DataFrame, int]:
    """What the Review page (and `tactics queue`) deals next: the queue, or with `aligned` the
    spot check, without the `decided` rows and with the `skipped` ones last; and its whole size."""
    queue = (spot_check(results, thresholds, learned) if aligned
             else review_queue(results, thresholds, learned=learned))
    return pending(queue, decided, skipped), len(queue)


def teach_in(results: pd.DataFrame, thresholds: Thresholds | None = None,
             learned: Learned | None = None, size: int = TEACH_IN_SIZE) -> pd.DataFrame:
    """A new plan's first round: about `size` tasks dealt one strategy at a time over every
    status (so each strategy is shown once before any twice), most borderline first."""
    statuses = (Status.REVIEW.value, Status.MISALIGNED.value, Status.ALIGNED.value)
    return review_queue(results, thresholds, statuses=statuses, learned=learned).head(size)


def teach_in_round(results: pd.DataFrame, decided: Sequence[int], thresholds: Thresholds | None,
                   learned: Learned, decided_at: Sequence[datetime] | pd.Series,
                   run_made: datetime, skipped: bool = False,
                   size: int = TEACH_IN_SIZE) -> pd.DataFrame | None:
    """What is left of a new plan's teach-in round on this run (the Review page and `tactics
    queue` deal it first): None once the round is over (or the reviewer skipped it), empty once
    `size` decisions are taken but no run knows them yet; `decided_at`: when each of the plan's
    teaching decisions was taken, `decided`: this run's decided rows."""
    if skipped or teach_in_over(decided_at, run_made, size):
        return None
    taught = min(learned.decisions, size)
    if taught >= size:
        return results.iloc[0:0]
    left = teach_in(results[~results.index.isin(list(decided))], thresholds, learned,
                    size=size - taught)
    if left.empty:
        # What this run's own tasks were told: a colleague's decision since, on another run's
        # task, is no news to it (it offered "Re-score" again on a run re-scored already).
        own = (results.loc[results["decision"].notna(), "decided_at"]
               if "decided_at" in results and "decision" in results else pd.Series([]))
        if teach_in_rests(own if len(own) else decided_at, run_made, undecided=0):
            return None  # a short list, taught and re-scored: the round goes on with new tasks
    return left


def taught_on(store: Store, run: RunInfo, plan_name: str = "default") -> pd.DataFrame:
    """The decisions that teach the plan `run` was classified against (`counted` rows): the
    teach-in's progress on that run, wherever a page or a queue file shows it."""
    plan = store.plan(run.plan_version)
    return counted(store.learned_examples(plan_name, plan), plan)


def teach_in_goal(taught: int, undecided: int, size: int = TEACH_IN_SIZE) -> int:
    """How many decisions the round asks for on this run: `size`, or fewer on a short list
    (`undecided` tasks left to deal), so that its progress can reach its end."""
    return max(min(size, taught + undecided), 1)


def teach_in_rests(decided_at: Sequence[datetime] | pd.Series, run_made: datetime,
                   undecided: int) -> bool:
    """True when a round short of its twenty decisions has nothing left on this run (no task
    `undecided`) and the run already knows every decision (it was made after the last): the
    round waits for a run with new tasks, and the page goes to the queue."""
    times = pd.to_datetime(pd.Series(list(decided_at), dtype=object), utc=True)
    return undecided == 0 and not times.empty and pd.Timestamp(run_made) > times.max()


def teach_in_over(decided_at: Sequence[datetime] | pd.Series, run_made: datetime,
                  size: int = TEACH_IN_SIZE) -> bool:
    """True once a plan's teach-in round is behind it: `size` decisions taken (their times in
    `decided_at`), and the run was classified after the last of them, so it already knows them;
    a manager who comes back then goes straight to the queue."""
    times = sorted(pd.to_datetime(pd.Series(list(decided_at), dtype=object), utc=True))
    return len(times) >= size and pd.Timestamp(run_made) > times[size - 1]


def teach_in_due(decided_at: Sequence[datetime] | pd.Series, skipped: bool,
                 size: int = TEACH_IN_SIZE) -> bool:
    """True while a plan's teach-in round lies ahead of a reviewer: fewer than `size` decisions
    taken (their times in `decided_at`) and the reviewer has not skipped it."""
    return not skipped and len(decided_at) < size


def changes(before: pd.DataFrame, after: pd.DataFrame, column: str = "final_status"
            ) -> list[tuple[str, str, int]]:
    """How many tasks moved from one status to another between two runs of the same tasks
    (matched by row), most moved first."""
    moved = pd.DataFrame({"before": before[column].astype(str).to_numpy(),
                          "after": after[column].astype(str).to_numpy()})
    moved = moved[moved["before"] != moved["after"]]
    counts = moved.value_counts().reset_index(name="tasks")
    return [(str(r.before), str(r.after), int(r.tasks)) for r in counts.itertuples(index=False)]


def describe_changes(moved: list[tuple[str, str, int]]) -> str:
    """The changes in a sentence: "31 tasks moved from misaligned to aligned; ..."."""
    if not moved:
        return "No task changed status."
    return "; ".join(f"{count} task{'s' if count != 1 else ''} moved from {old} to {new}"
                     for old, new, count in moved) + "."


def describe_rescore(before: pd.DataFrame, after: pd.DataFrame) -> str:
    """What a re-score changed, in words: status moves, tasks that now point to another
    strategy (a change the status alone does not show), and the aligned share from the first
    answers (the machine's, before anyone decided) to now (decisions applied)."""
    said = _moves(before, after)
    # Shares of the tasks, as the Classify page gives them: blank rows are not work.
    first_status = before["status"].astype(str).to_numpy()
    now_status = after["final_status"].astype(str).to_numpy()
    work = first_status != Status.EMPTY.value
    if not work.any():
        return said
    first = float(np.mean(first_status[work] == Status.ALIGNED.value))
    now = float(np.mean(now_status[work] == Status.ALIGNED.value))
    if round(first * 100) != round(now * 100):
        said += (f" Aligned: {first:.0%} of tasks as first classified, {now:.0%} now, "
                 "your decisions included.")
    return said


def _moves(before: pd.DataFrame, after: pd.DataFrame) -> str:
    moved = changes(before, after)
    # A task that gained or lost its strategy, or moved status too, is a status move, said
    # once: the counts add up to the tasks listed under the message.
    was = before["final_strategy_id"].to_numpy(dtype=object)
    now = after["final_strategy_id"].to_numpy(dtype=object)
    same_status = (before["final_status"].astype(str).to_numpy()
                   == after["final_status"].astype(str).to_numpy())
    turned = sum(1 for old, new, kept in zip(was, now, same_status, strict=True)
                 if kept and not is_blank(old) and not is_blank(new) and old != new)
    if not moved and not turned:
        return "No task changed status or strategy."
    said = describe_changes(moved) if moved else "No task changed status"
    if turned:
        more = " more" if moved else ""
        said = (said.rstrip(".") + f"; {turned}{more} task{'s' if turned != 1 else ''} now "
                f"point{'s' if turned == 1 else ''} to another strategy.")
    return said if said.endswith(".") else said + "."


def moved_tasks(before: pd.DataFrame, after: pd.DataFrame, text_column: str,
                names: Mapping[str, str]) -> pd.DataFrame:
    """The tasks a re-score moved (status or strategy), as `describe_rescore` counts them: the
    task, and its answer before and now ("review: Win the retail channel")."""
    named = dict(names)

    def said(frame: pd.DataFrame) -> list[str]:
        return [f"{status}: {_strategy_said(sid, named)}" if not is_blank(sid)
                else str(status)
                for status, sid in zip(frame["final_status"].astype(str),
                                       frame["final_strategy_id"], strict=True)]
    was, now = said(before), said(after)
    moved = [i for i, (old, new) in enumerate(zip(was, now, strict=True)) if old != new]
    return pd.DataFrame({"task": [str(after[text_column].iloc[i]) for i in moved],
                         "before": [was[i] for i in moved], "now": [now[i] for i in moved]})


def _strategy_said(strategy_id: object, names: dict[str, str], gone: str = "{}") -> str:
    """A decision's strategy as a person reads it: its name, the words for none, or (a strategy
    the plan no longer has) its id in `gone`."""
    if is_blank(strategy_id):
        return NO_STRATEGY_WORDS
    return names.get(str(strategy_id), gone.format(strategy_id))


def _to_the_minute(times: pd.Series) -> pd.Series:
    return pd.to_datetime(times, utc=True).dt.strftime("%Y-%m-%d %H:%M")


# The store's action names as the pages' buttons say them: "misaligned" read as the machine's
# status beside a person's word on the Plan page and in the audit trail.
ACTION_WORDS = {"misaligned": "serves no strategy"}


def _actions_said(actions: pd.Series) -> pd.Series:
    return actions.astype(str).map(lambda action: ACTION_WORDS.get(action, action))


def learned_view(learned: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """What the plan learned from decisions (`Store.learned_examples`), one row each in the same
    order, as a manager reads it: the task, the strategy it teaches by name ("serves no
    strategy" for none), the decision, who and when, and whether it is hidden."""
    teaches = [_strategy_said(strategy_id, names, gone="{} (no longer in the plan)")
               for strategy_id in learned["strategy_id"]]
    return pd.DataFrame({
        "task": learned["text"].astype(str),
        "teaches": teaches,
        "decision": _actions_said(learned["action"]),
        "reviewer": learned["reviewer"].astype(str),
        "when": _to_the_minute(learned["decided_at"]),
        "hidden": learned["removed"].astype(bool),
    }, index=learned.index)


def strategies_kept(run_plan: Plan, current: Plan) -> list[str]:
    """The ids of a run's plan that the plan's current version still has, in the run's order:
    a decision on a strategy deleted since stands for no later run (it is void at once)."""
    now = set(current.ids)
    return [strategy_id for strategy_id in run_plan.ids if strategy_id in now]


def picked_examples(shown: Sequence[tuple[int, str]], positions: Sequence[int],
                    learned: pd.DataFrame) -> tuple[list[int], list[str]]:
    """The decision ids that `positions`, rows of the table as drawn (`shown`: id and task each),
    pick and `learned` still holds; and the tasks of those picked that it no longer holds."""
    # Positions name rows of the table the person saw, not of the list read again at the click:
    # a decision taken meanwhile moved the rows under them (the wrong example was hidden).
    now = set(learned["decision_id"].astype(int))
    picked = [shown[p] for p in positions if 0 <= p < len(shown)]
    return ([decision for decision, _ in picked if decision in now],
            [text for decision, text in picked if decision not in now])


def decision_trail(trail: pd.DataFrame, names: dict[str, str], as_text: bool = True
                   ) -> pd.DataFrame:
    """A run's whole audit trail as a file keeps it, oldest first: the time to the second
    (UTC; text, or with `as_text` False a time a workbook sorts by), who, what, on which task,
    and whether it was undone."""
    shown = recent_decisions(trail, names, limit=len(trail)).iloc[::-1]
    when = pd.to_datetime(trail["decided_at"], utc=True)
    return shown.assign(
        when=(when.dt.strftime("%Y-%m-%d %H:%M:%S") if as_text
              else when.dt.tz_localize(None).dt.floor("s")).to_numpy(),
        undone=shown["undone"].map({True: "undone", False: ""}),
    ).rename(columns={"when": "when (UTC)"})


def decision_trail_xlsx(trail: pd.DataFrame, names: dict[str, str]) -> bytes:
    """The whole trail (`decision_trail`) as a workbook: each time a date-and-time cell, the
    header frozen and filterable, the columns as wide as their cells."""
    from .files.writer import CellStyle, WorkbookWriter, column_width
    from .report.sheets import HEADER

    table = decision_trail(trail, names, as_text=False)
    columns = [str(column) for column in table.columns]
    book = WorkbookWriter()
    sheet = book.sheet("Decisions", widths=[column_width(name, table.iloc[:, at])
                                            for at, name in enumerate(columns)],
                       freeze_header=True, filter_columns=len(columns), rows=len(table))
    sheet.numbers = False  # a reviewer's name or a task is text, whatever it looks like
    sheet.append(columns, HEADER)
    when = CellStyle(number_format="yyyy-mm-dd hh:mm:ss")
    styles = [when if name == "when (UTC)" else None for name in columns]
    for values in table.itertuples(index=False, name=None):
        sheet.append(values, styles)
    return book.to_bytes()


def recent_decisions(trail: pd.DataFrame, names: dict[str, str], limit: int = 10
                     ) -> pd.DataFrame:
    """The latest rows of a run's audit trail, newest first, as a reviewer reads them: the
    strategy by its name ("serves no strategy" for none; nothing for a skip or an undo) and
    the task by its number in the run."""
    recent = trail.tail(limit).iloc[::-1]
    chosen = ["" if action in ("skip", "undo") else _strategy_said(strategy_id, names)
              for action, strategy_id in zip(recent["action"], recent["strategy_id"],
                                             strict=True)]
    return pd.DataFrame({
        "when": _to_the_minute(recent["decided_at"]),
        "reviewer": recent["reviewer"].astype(str),
        "decision": _actions_said(recent["action"]),
        "strategy": chosen,
        "task #": recent["row"].astype(int) + 1,
        "task": recent["text"].astype(str),
        "undone": recent["undone"].astype(bool),
    })
