"""Drafting example tactics for a strategy with the LLM, for a person to accept or not."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from ..errors import LLMError
from ..plan import Plan
from .client import Endpoint, Unanswered
from .opinions import AnswerCache, StoredAnswers, _usage_sink, as_cache
from .prompts import RejectedAnswer, cache_key, draft_messages, parse_examples
from .settings import LLMSettings


def draft_examples(settings: LLMSettings, plan: Plan, strategy_id: str, n: int = 5, *,
                   cache: AnswerCache | StoredAnswers | None = None) -> list[str]:
    """Up to n new tactics that would serve a strategy (PlanError if there is no such one)."""
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
                    reply, _sent = await endpoint.complete(conversation)
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


def draft_for_strategies(settings: LLMSettings, plan: Plan, strategy_ids: Sequence[str],
                         n: int = 5, *, cache: AnswerCache | StoredAnswers | None = None,
                         progress: Callable[[int], None] | None = None) -> dict[str, list[str]]:
    """`draft_examples` for each strategy in turn (a new plan's every strategy at once);
    `progress` hears of each one done. LLMError names the strategy it stopped at."""
    drafted: dict[str, list[str]] = {}
    for strategy_id in strategy_ids:
        drafted[strategy_id] = draft_examples(settings, plan, strategy_id, n, cache=cache)
        if progress is not None:
            progress(1)
    return drafted
