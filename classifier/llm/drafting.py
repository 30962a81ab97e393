"""Drafting example tactics for a strategy with the LLM, for a person to accept or not."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from ..errors import LLMError
from ..plan import Plan
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


class Drafting:
    """`draft_for_strategies` in a thread of its own, so a page stays free to show its
    progress, to be left, and to stop it (an endpoint that never replies held the page until
    its timeouts ran out)."""

    def __init__(self, settings: LLMSettings, plan: Plan, strategy_ids: Sequence[str],
                 n: int = 5, *, cache: AnswerCache | StoredAnswers | None = None):
        self.strategy_ids = list(strategy_ids)
        self.done = 0  # strategies drafted so far
        self.started = time.monotonic()  # a page's "N s" counts from here, over its redraws
        self._stop = threading.Event()
        self._drafted: dict[str, list[str]] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._draft, args=(settings, plan, n, cache),
                                        name="tactics-draft-examples", daemon=True)
        self._thread.start()

    def _draft(self, settings: LLMSettings, plan: Plan, n: int,
               cache: AnswerCache | StoredAnswers | None) -> None:
        try:
            self._drafted = draft_for_strategies(settings, plan, self.strategy_ids, n,
                                                 cache=cache, progress=self._advance,
                                                 stop=self._stop)
        except BaseException as error:  # handed to the page's thread by `result`
            self._error = error

    def _advance(self, count: int) -> None:
        self.done += count

    def wait(self, seconds: float) -> bool:
        """Whether the drafting has ended, waiting up to `seconds` for it."""
        self._thread.join(seconds)
        return not self._thread.is_alive()

    def stop(self) -> None:
        """Stop drafting: a request in flight is cancelled."""
        self._stop.set()
        self._thread.join()

    def result(self) -> dict[str, list[str]]:
        """The drafts by strategy id; the error, raised here, if it failed (DraftStopped
        when stopped)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._drafted is not None
        return self._drafted
