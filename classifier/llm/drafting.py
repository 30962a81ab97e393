"""Drafting example tactics for a strategy with the LLM, for a person to accept or not."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from ..errors import LLMError
from ..plan import Plan
from .background import Background
from .client import Endpoint, Unanswered
from .opinions import AnswerCache, StoredAnswers, _until_set, _usage_sink, as_cache
from .prompts import RejectedAnswer, cache_key, draft_messages, parse_examples
from .settings import LLMSettings

T = TypeVar("T")


class DraftStopped(Exception):
    """The drafting was stopped (`stop` set) before its reply came."""


def draft_examples(settings: LLMSettings, plan: Plan, strategy_id: str, n: int = 5, *,
                   cache: AnswerCache | StoredAnswers | None = None,
                   stop: threading.Event | None = None) -> list[str]:
    """Up to n new tactics that would serve a strategy (PlanError if there is no such one);
    DraftStopped once `stop` is set from another thread, a request in flight cancelled."""
    strategy = plan.strategy(strategy_id)
    existing = [strategy.name, *strategy.examples]
    messages = draft_messages(plan, strategy_id, n)
    key = "draft:" + cache_key(settings.model, messages)
    answers = as_cache(cache)
    cached = answers.get(key)
    if cached is not None and isinstance(cached.get("examples"), list):
        return [str(text) for text in cached["examples"]][:n]

    async def draft() -> list[str]:
        endpoint = Endpoint(settings, _usage_sink(cache))
        try:
            conversation = list(messages)
            why = ""
            for _ in range(2):
                try:
                    reply, _sent = await _unless_stopped(endpoint.complete(conversation), stop)
                except Unanswered as error:
                    raise LLMError(f"no examples drafted for {strategy_id!r}: {error}") from None
                try:
                    examples = parse_examples(reply.content, existing, n)
                except RejectedAnswer as error:
                    why = str(error)
                    conversation = [*messages, {"role": "assistant", "content": reply.content},
                                    {"role": "user", "content": f"That reply was rejected: "
                                     f"{why}. " 'Reply with only {"examples": [...]}.'}]
                    continue
                answers.put(key, {"examples": examples})
                return examples
            raise LLMError(f"no examples drafted for {strategy_id!r}: the LLM's replies were "
                           f"rejected twice ({why})")
        finally:
            await endpoint.close()

    return asyncio.run(draft())


async def _unless_stopped(asking: Coroutine[Any, Any, T], stop: threading.Event | None) -> T:
    """What `asking` returns; DraftStopped as soon as `stop` is set, `asking` cancelled (a
    reply that never comes must not keep a person who stopped waiting for its timeouts)."""
    if stop is None:
        return await asking
    task = asyncio.ensure_future(asking)
    watch = asyncio.ensure_future(_until_set(stop))
    try:
        await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watch.cancel()
        if not task.done():
            task.cancel()
        await asyncio.gather(task, watch, return_exceptions=True)
    if task.cancelled():
        raise DraftStopped
    return task.result()


def draft_for_strategies(settings: LLMSettings, plan: Plan, strategy_ids: Sequence[str],
                         n: int = 5, *, cache: AnswerCache | StoredAnswers | None = None,
                         progress: Callable[[int], None] | None = None,
                         stop: threading.Event | None = None) -> dict[str, list[str]]:
    """`draft_examples` for each strategy in turn (a new plan's every strategy at once);
    `progress` hears of each one done. LLMError names the strategy it stopped at;
    DraftStopped once `stop` is set."""
    drafted: dict[str, list[str]] = {}
    for strategy_id in strategy_ids:
        drafted[strategy_id] = draft_examples(settings, plan, strategy_id, n, cache=cache,
                                              stop=stop)
        if progress is not None:
            progress(1)
    return drafted


class Drafting(Background[dict[str, list[str]]]):
    """`draft_for_strategies` in a thread of its own (`Background`); its `result` is the
    drafts by strategy id, DraftStopped when stopped."""

    def __init__(self, settings: LLMSettings, plan: Plan, strategy_ids: Sequence[str],
                 n: int = 5, *, cache: AnswerCache | StoredAnswers | None = None):
        self.strategy_ids = list(strategy_ids)
        super().__init__(lambda progress, stop: draft_for_strategies(
            settings, plan, self.strategy_ids, n, cache=cache, progress=progress, stop=stop),
            name="tactics-draft-examples")
