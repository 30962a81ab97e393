"""Second opinions on a stored run: the LLM asked about its doubtful tasks from the app, the
answers kept with the run as `tactics classify --llm` keeps them, and read back for a person."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from .access import Reviewer, acting
from .cells import is_blank
from .errors import LLMError
from .llm import (
    ANSWERED,
    ASKED_STATUSES,
    NO_ANSWER,
    NONE_ID,
    REJECTED,
    Asker,
    LLMSettings,
    Opinion,
    Usage,
    cached_opinion,
)
from .llm.background import Background
from .plan import Plan

if TYPE_CHECKING:
    from .store import Store


def said(task: pd.Series | dict) -> tuple[str, str] | None:
    """What the LLM said of a stored task (its strategy id or "none", and why), or None when
    it was not asked, or its request failed (a `--llm` run keeps those too: ask again); an
    answer refused twice reads ("", "no answer: rejected twice: ...")."""
    strategy_id, rationale = task.get("llm_strategy_id"), task.get("rationale")
    if is_blank(strategy_id):
        if is_blank(rationale) or not str(rationale).startswith(f"{NO_ANSWER}: {REJECTED}"):
            return None
        return "", str(rationale)
    return str(strategy_id), "" if is_blank(rationale) else str(rationale)


def from_cache(store: Store, plan: Plan, settings: LLMSettings, task: pd.Series,
               text_column: str) -> tuple[str, str] | None:
    """What the LLM already said of this task's question in any run (a re-scored run's tasks
    were asked about before), from the store's answers, asking nothing; None if never."""
    from .store import task_result

    found = cached_opinion(settings, plan, task_result(task, text_column), store)
    if found is None or found.status not in (ANSWERED, NO_ANSWER):
        return None
    return found.strategy_id or "", found.rationale


def describe(opinion: tuple[str, str], names: dict[str, str]) -> str:
    """One line for a person: "Lower cost per mile. It names fuel costs.", "Serves no strategy.
    ...", or "No answer: ..."."""
    strategy_id, rationale = opinion
    if not strategy_id:
        reason = rationale.removeprefix(f"{NO_ANSWER}: ")
        return f"No answer{': ' + reason if reason else ''}"
    target = ("Serves no strategy" if strategy_id == NONE_ID
              else names.get(strategy_id, f"{strategy_id} (no longer in the plan)"))
    return f"{target}. {rationale}".strip() if rationale else target


def agrees(opinion: tuple[str, str], task: pd.Series | dict) -> bool | None:
    """Whether the LLM's answer is the machine's (the same strategy, or both "serves none");
    None when it gave no answer."""
    strategy_id = opinion[0]
    if not strategy_id:
        return None
    if task.get("status") == "misaligned":
        return strategy_id == NONE_ID
    return strategy_id == task.get("strategy_id")


def _said_all(results: pd.DataFrame) -> list[tuple[str, str] | None]:
    if "llm_strategy_id" not in results:
        return [None] * len(results)
    rationales = results["rationale"] if "rationale" in results else [None] * len(results)
    return [said({"llm_strategy_id": strategy_id, "rationale": rationale})
            for strategy_id, rationale in zip(results["llm_strategy_id"], rationales, strict=True)]


def column(results: pd.DataFrame, names: dict[str, str]) -> pd.Series:
    """`describe` for every row of a run (None where the LLM was not asked)."""
    return pd.Series([describe(opinion, names) if opinion else None
                      for opinion in _said_all(results)], index=results.index, dtype=object)


def unasked(results: pd.DataFrame) -> list[int]:
    """Rows of a run (`results_with_decisions`) worth a question: in review or misaligned, no
    person's decision standing on them, and no answer kept yet (`said`)."""
    undecided = (results["decision"].map(is_blank).astype(bool) if "decision" in results
                 else pd.Series(True, index=results.index))
    unanswered = pd.Series([opinion is None for opinion in _said_all(results)],
                           index=results.index)
    chosen = results["status"].isin(ASKED_STATUSES) & undecided & unanswered
    return [int(row) for row in results.loc[chosen, "row"]]


def ask_about_run(store: Store, run_id: int, settings: LLMSettings, by: str | Reviewer,
                  rows: Sequence[int] | None = None,
                  progress: Callable[[int], None] | None = None,
                  stop: threading.Event | None = None) -> Usage:
    """Ask the LLM about a run's doubtful tasks not yet asked (or about `rows`), and keep each
    answer with the run (not a failed request: that task stays to be asked); `stop`, set from
    another thread, ends the asking with the answers got so far. LLMError if the endpoint
    cannot be used; AccessError for a viewer."""
    from .store import task_result  # the database layer loads only when a run is asked about

    by = acting(by, "ask the LLM")  # before a token is spent
    info = store.run(run_id)
    plan = store.plan(info.plan_version)
    results = store.results_with_decisions(run_id)
    chosen = list(rows) if rows is not None else unasked(results)
    if not chosen:
        return Usage()
    tasks = [task_result(results.loc[row], info.text_column) for row in chosen]
    # The asker's own usage: the requests sent (failed ones too) and why it stopped, if it did.
    with Asker(settings, store) as asker:
        try:
            opinions: list[Opinion | None] = list(asker.ask(plan, tasks, progress,
                                                            stop=stop))
        except LLMError:
            # The endpoint stopped answering part-way (a key revoked, a model removed): the
            # answers got before are in the store's cache; kept with the run, not asked again.
            opinions = [cached_opinion(settings, plan, task, store) for task in tasks]
            _keep(store, run_id, chosen, opinions, by)
            raise
    _keep(store, run_id, chosen, opinions, by)
    return asker.usage


def _keep(store: Store, run_id: int, rows: Sequence[int], opinions: Sequence[Opinion | None],
          by: Reviewer) -> None:
    # A request that failed is not kept: the next ask tries again.
    store.keep_opinions(run_id, {row: (opinion.strategy_id or "", opinion.rationale)
                                 for row, opinion in zip(rows, opinions, strict=True)
                                 if opinion is not None and opinion.settled}, by)


class Asking(Background[Usage]):
    """`ask_about_run` in a thread of its own (`Background`): `done` counts the tasks answered
    or given up; its `result` is what the asking cost (`stopped` when stopped)."""

    def __init__(self, store: Store, run_id: int, settings: LLMSettings, by: str | Reviewer,
                 rows: Sequence[int]):
        self.total = len(rows)
        asked = list(rows)
        super().__init__(lambda progress, stop: ask_about_run(
            store, run_id, settings, by, rows=asked, progress=progress, stop=stop),
            name="tactics-ask-llm")


def stopped_line(used: Usage) -> str:
    """What a person who stopped the asking got: answers kept, tasks left to the machine."""
    kept = used.answered + (used.no_answer - used.failed)
    left = used.questions - kept + used.not_asked
    answers = "answer" if kept == 1 else "answers"
    tasks = "task keeps" if left == 1 else "tasks keep"
    return (f"Stopped asking the LLM: {kept} {answers} kept with the run; {left} doubtful "
            f"{tasks} the machine's answer alone and can be asked again.")
