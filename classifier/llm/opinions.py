"""Second opinions: the LLM asked about doubtful tasks, concurrently, each question once.

The LLM sees the vision, the candidate strategies the index found and the task (as quoted data),
and answers {"strategy_id": a candidate id or "none", "reason": one sentence}. Answers are
validated, so a task cannot steer the model outside its candidates; a bad answer is asked again
once, then recorded as "no answer" (and remembered, so no later run pays for it again). A question
the endpoint refuses (a content filter, past the context window) is that task's "no answer" with
the endpoint's words. After `give_up_after` failed requests in a row (refusals that name no
question of their own included), or as many questions in a row whose replies were none of them
the JSON asked for, the run stops asking: the rest is "not asked".
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Self, cast

from ..errors import LLMError
from ..plan import Plan
from ..results import Candidate, Status, TaskResult
from .client import REFUSALS_GIVEN_UP, Endpoint, Reply, Unanswered, UsageSink
from .prompts import (
    Messages,
    RejectedAnswer,
    cache_key,
    parse_answer,
    question_messages,
    reply_text,
)
from .settings import LLMSettings

ANSWERED = "answered"
NO_ANSWER = "no answer"
NOT_ASKED = "not asked"
ASKED_STATUSES = (Status.REVIEW.value, Status.MISALIGNED.value)
CACHE_KIND = "llm"
REJECTED = "rejected twice"  # a question whose answers were both refused: remembered

Progress = Callable[[int], None]


# ---------------------------------------------------------------- cache


class AnswerCache(Protocol):
    """Where answers are kept so the same question is never paid for twice."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, value: dict[str, Any]) -> None: ...


class MemoryCache:
    """An AnswerCache in a dict, for one process."""

    def __init__(self) -> None:
        self._values: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            value = self._values.get(key)
        return dict(value) if value is not None else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        with self._lock:
            self._values[key] = dict(value)

    def __len__(self) -> int:
        return len(self._values)


class StoredAnswers(Protocol):
    """A store that keeps answers and token usage (the Store)."""

    def cache_get(self, kind: str, key: str) -> dict[str, Any] | None: ...

    def cache_put(self, kind: str, key: str, value: dict[str, Any]) -> None: ...

    def usage_add(self, kind: str, tokens_in: int, tokens_out: int) -> None: ...


class StoreCache:
    """An AnswerCache over the store."""

    def __init__(self, store: StoredAnswers, kind: str = CACHE_KIND):
        self.store = store
        self.kind = kind

    def get(self, key: str) -> dict[str, Any] | None:
        return self.store.cache_get(self.kind, key)

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.store.cache_put(self.kind, key, value)


def as_cache(cache: AnswerCache | StoredAnswers | None) -> AnswerCache:
    """An AnswerCache from an AnswerCache, a Store, or None (a fresh MemoryCache)."""
    if cache is None:
        return MemoryCache()
    if hasattr(cache, "cache_get") and hasattr(cache, "cache_put"):
        return StoreCache(cast(StoredAnswers, cache))
    if callable(getattr(cache, "get", None)) and callable(getattr(cache, "put", None)):
        return cache
    raise TypeError(f"{type(cache).__name__} is not a cache: it needs get/put or "
                    f"cache_get/cache_put")


def _usage_sink(cache: object) -> UsageSink | None:
    return cast(UsageSink, cache) if hasattr(cache, "usage_add") else None


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Opinion:
    """What the LLM said of one task; `strategy_id` is a candidate id, "none", or None."""

    task: str
    status: str  # ANSWERED, NO_ANSWER or NOT_ASKED
    strategy_id: str | None = None
    reason: str = ""
    candidates: tuple[str, ...] = ()
    error: str = ""  # why there is no answer
    cached: bool = False
    requests: int = 0  # HTTP requests sent for this question (retries included)
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def settled(self) -> bool:
        """Whether asking again would change nothing: an answer, or one rejected twice (which
        is remembered); not a request that failed (a timeout, an HTTP error)."""
        return self.status == ANSWERED or (self.status == NO_ANSWER
                                           and self.error.startswith(REJECTED))

    @property
    def rationale(self) -> str:
        """The text for the `rationale` column ("" when the task was not asked)."""
        if self.status == ANSWERED:
            return self.reason
        return f"{NO_ANSWER}: {self.error}" if self.status == NO_ANSWER else ""


@dataclass
class Usage:
    """What a run's questions cost: each distinct question counted once."""

    questions: int = 0
    answered: int = 0
    no_answer: int = 0
    cached: int = 0
    not_asked: int = 0
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    gave_up: str = ""  # why the run stopped asking, if it did
    stopped: bool = False  # a person stopped the asking (the rest is not asked)
    failed: int = 0  # questions whose request failed (asking again may get an answer)
    failure: str = ""  # why the last of those got none

    def count(self, opinion: Opinion) -> None:
        """Count one distinct question's opinion in."""
        if opinion.status == NOT_ASKED:
            self.not_asked += 1
            return
        self.questions += 1
        self.answered += opinion.status == ANSWERED
        self.no_answer += opinion.status == NO_ANSWER
        self.cached += opinion.cached
        if opinion.status == NO_ANSWER and not opinion.settled:
            self.failed += 1
            self.failure = opinion.error

    def line(self) -> str:
        """One line for a person."""
        tasks = "task" if self.questions == 1 else "tasks"
        text = (f"asked the LLM about {self.questions} {tasks}: {self.answered} answered "
                f"({self.cached} from cache), {self.no_answer} no answer; {self.requests} "
                f"requests, {self.prompt_tokens} prompt + {self.completion_tokens} "
                f"completion tokens")
        if self.not_asked:
            text += f"; {self.not_asked} not asked"
        return text

    def gave_up_line(self) -> str:
        """One line for a run that stopped asking: what the endpoint said, what that left."""
        left = self.questions - self.answered + self.not_asked
        tasks = "task keeps" if left == 1 else "tasks keep"
        return (f"{self.gave_up}; stopped asking it: {left} doubtful {tasks} the machine's "
                f"answer with no second opinion")


def usage(opinions: Sequence[Opinion | None]) -> Usage:
    """What these opinions cost, each distinct question once (a repeated task counts once)."""
    total = Usage()
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for opinion in opinions:
        if opinion is None or (opinion.task, opinion.candidates) in seen:
            continue
        seen.add((opinion.task, opinion.candidates))
        total.count(opinion)
        total.requests += opinion.requests
        total.prompt_tokens += opinion.prompt_tokens
        total.completion_tokens += opinion.completion_tokens
    return total


# ---------------------------------------------------------------- asking


@dataclass
class _Question:
    text: str
    candidates: tuple[str, ...]
    messages: Messages
    names: tuple[str, ...] = ()  # the candidates' names, in their order
    rows: int = 0  # how many of the given results ask it


class Asker:
    """Asks about many tasks over one run: one event loop and endpoint, a cache, a limit on
    requests in flight, the run's usage, and the point where it stops asking."""

    def __init__(self, settings: LLMSettings, cache: AnswerCache | StoredAnswers | None = None):
        self.settings = settings
        self.cache = as_cache(cache)
        self.usage = Usage()
        self._sink = _usage_sink(cache)
        self._runner = asyncio.Runner()
        self._endpoint: Endpoint | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connections and the event loop."""
        try:
            if self._endpoint is not None:
                self._runner.run(self._endpoint.close())
        finally:
            self._runner.close()

    @property
    def gave_up(self) -> bool:
        """Whether the run stopped asking after too many failed requests in a row."""
        return bool(self.usage.gave_up)

    def ask(self, plan: Plan, results: Sequence[TaskResult], progress: Progress | None = None,
            skipped: Progress | None = None, stop: threading.Event | None = None
            ) -> list[Opinion]:
        """One Opinion per result, in order; identical questions are asked once, answers
        from the cache are not asked again; tasks not asked once the run gave up (or `stop`
        was set, from another thread) go to `skipped` if given, else to `progress`. LLMError
        if the endpoint as a whole cannot be used (unreachable, the key refused, no such model,
        not a chat endpoint)."""
        questions: dict[str, _Question] = {}
        keys: list[str | None] = []
        for result in results:
            found = _question(self.settings, plan, result)
            if found is None:
                keys.append(None)
                continue
            key, question = found
            questions.setdefault(key, question).rows += 1
            keys.append(key)
        if progress is not None and None in keys:
            progress(keys.count(None))
        answers: dict[str, Opinion] = {}
        for key, question in questions.items():
            cached = self._cached(key, question)
            if cached is not None:
                answers[key] = cached
                self.usage.count(cached)
                if progress is not None:
                    progress(question.rows)
        pending = {key: q for key, q in questions.items() if key not in answers}
        if pending:
            answers.update(self._runner.run(self._ask_all(pending, progress, skipped, stop)))
        return [answers[key] if key is not None else
                Opinion(task=result.text, status=NO_ANSWER, error="no task text or candidates")
                for key, result in zip(keys, results, strict=True)]

    def _cached(self, key: str, question: _Question) -> Opinion | None:
        return _answer_from(self.cache.get(key), question)

    async def _ask_all(self, pending: dict[str, _Question], progress: Progress | None,
                       skipped: Progress | None, stop: threading.Event | None
                       ) -> dict[str, Opinion]:
        if self._endpoint is None:
            self._endpoint = Endpoint(self.settings, self._sink)
        endpoint = self._endpoint
        answers: dict[str, Opinion] = {}
        started: set[str] = set()  # questions sent: asked, answered or not
        limit = asyncio.Semaphore(self.settings.max_concurrency)

        def stopped() -> bool:
            return stop is not None and stop.is_set()

        async def one(key: str, question: _Question) -> None:
            async with limit:
                if endpoint.gave_up or stopped():
                    return
                started.add(key)
                answers[key] = await self._ask_one(endpoint, key, question)
            self.usage.count(answers[key])
            if progress is not None:
                progress(question.rows)

        tasks = [asyncio.create_task(one(key, q)) for key, q in pending.items()]
        # A reply that never comes must not keep a person who stopped it waiting: the stop is
        # watched beside the questions, and cancels those in flight.
        watch = [asyncio.create_task(_until_set(stop))] if stop is not None else []
        outcomes: list[object] = []
        try:
            for finished in asyncio.as_completed([*tasks, *watch]):
                await finished
                if endpoint.gave_up or stopped() or all(task.done() for task in tasks):
                    break
        finally:
            for task in [*tasks, *watch]:
                task.cancel()
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(*watch, return_exceptions=True)
            self.usage.stopped = self.usage.stopped or stopped()
            self.usage.requests = endpoint.requests
            self.usage.prompt_tokens = endpoint.prompt_tokens
            self.usage.completion_tokens = endpoint.completion_tokens
        # The question that found the endpoint unusable may end after the one that saw it give
        # up: its error is the run's, not swallowed with the cancelled rest.
        unusable = next((o for o in outcomes if isinstance(o, LLMError)), None)
        if unusable is not None:
            raise unusable
        if endpoint.gave_up and not self.usage.gave_up:
            # The count that made it stop: one more may have failed as it stopped, depending
            # on which concurrent question's answer came back first.
            self.usage.gave_up = endpoint.stopped or _gave_up_why(endpoint, self.settings)
        for key, question in pending.items():
            if key in answers:
                continue
            if key in started:  # in flight when the run gave up: asked, with no answer
                answers[key] = Opinion(task=question.text, status=NO_ANSWER,
                                       candidates=question.candidates,
                                       error="dropped when the run stopped asking")
            else:
                answers[key] = Opinion(task=question.text, status=NOT_ASKED,
                                       candidates=question.candidates)
            self.usage.count(answers[key])
            told = skipped if skipped is not None and answers[key].status == NOT_ASKED \
                else progress
            if told is not None:
                told(question.rows)
        return answers

    async def _ask_one(self, endpoint: Endpoint, key: str, question: _Question) -> Opinion:
        """One question; a bad answer is asked again once, a second one is remembered (not a
        reply that is no answer at all: empty, declined, cut off)."""
        base = {"task": question.text, "candidates": question.candidates}
        requests = prompt = completion = 0
        conversation = list(question.messages)
        why = ""
        not_answers = 0  # replies that were no answer to the question, not a wrong one
        said = ""  # the last reply, as its text; "" when it was no answer at all
        for _ in range(2):
            try:
                reply, sent = await endpoint.complete(conversation)
            except Unanswered as error:
                return Opinion(status=NO_ANSWER, error=str(error), requests=requests + error.sent,
                               prompt_tokens=prompt, completion_tokens=completion, **base)  # type: ignore[arg-type]
            requests += sent
            prompt += reply.prompt_tokens
            completion += reply.completion_tokens
            try:
                answer = parse_answer(reply.content, question.candidates, question.names)
            except RejectedAnswer as error:
                missing, final = _not_an_answer(reply)
                not_answers += bool(missing)
                why = missing or str(error)
                said = "" if missing else reply_text(reply.content)
                if final:  # asking again would end the same way
                    break
                conversation = [*question.messages,
                                {"role": "assistant", "content": reply.content},
                                {"role": "user", "content": f"That reply was rejected: {why}. "
                                 "Reply with only the JSON object, choosing strategy_id from "
                                 "the allowed values."}]
                continue
            endpoint.answered()
            self.cache.put(key, {"strategy_id": answer.strategy_id, "reason": answer.reason})
            return Opinion(status=ANSWERED, strategy_id=answer.strategy_id, reason=answer.reason,
                           requests=requests, prompt_tokens=prompt, completion_tokens=completion,
                           **base)  # type: ignore[arg-type]
        if said:
            endpoint.bad_reply(f"replies that are not the JSON asked for: {_short(said, 80)!r} "
                               f"({why})")
        elif not why.startswith(DECLINED):
            # A model declining a task is about that task, as a content filter's refusal is:
            # an HR team's sensitive tasks together must not give a working model up.
            endpoint.bad_reply(f"replies that are no answer ({why})")
        if not_answers:
            # Not the model's answer to the question: the next run (or click) asks again, and
            # may get one once the endpoint or its token limit is fixed.
            return Opinion(status=NO_ANSWER, error=why, requests=requests, prompt_tokens=prompt,
                           completion_tokens=completion, **base)  # type: ignore[arg-type]
        rejected = f"{REJECTED}: {why}"
        self.cache.put(key, {"rejected": rejected})
        return Opinion(status=NO_ANSWER, error=rejected, requests=requests, prompt_tokens=prompt,
                       completion_tokens=completion, **base)  # type: ignore[arg-type]


DECLINED = "the model declined"
# A model declining in prose, where the JSON should be: "I'm sorry, but I can't help with that."
_DECLINED = re.compile(r"^\W*(?:(?:i['’]?m|i am) (?:sorry|unable|not able)|sorry|"
                       r"i can(?:['’]|no)t|i won['’]?t|as an ai)\b", flags=re.IGNORECASE)


def _gave_up_why(endpoint: Endpoint, settings: LLMSettings) -> str:
    """Why the run stopped asking an endpoint, in what it said."""
    where, limit = f"the LLM at {settings.base_url}", settings.give_up_after
    if endpoint.failures_in_a_row >= limit:
        return f"{where} failed {limit} requests in a row ({endpoint.last_failure})"
    if endpoint.bad_replies_in_a_row >= limit:
        return f"{where} answered {limit} questions in a row with {endpoint.last_bad_reply}"
    return (f"{where} refused {REFUSALS_GIVEN_UP * limit} questions in a row "
            f"({endpoint.last_refusal})")


async def _until_set(event: threading.Event) -> None:
    while not event.is_set():
        await asyncio.sleep(0.05)


def _not_an_answer(reply: Reply) -> tuple[str, bool]:
    """Why a reply that failed to parse is no answer at all ("" when it is a wrong answer), and
    whether asking again is pointless (a refusal field, the token limit, a content filter)."""
    if reply.refusal.strip():
        return f"{DECLINED}: {_short(reply.refusal)}", True
    if reply.finish_reason == "length":
        return "the reply was cut off at the token limit", True
    if reply.finish_reason == "content_filter":
        return "the endpoint's content filter withheld the reply", True
    text = reply_text(reply.content)
    if not text:
        return "the reply was empty", False
    if _DECLINED.match(text) and "{" not in text:
        return f"{DECLINED}: {_short(text)}", False
    return "", False


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _question(settings: LLMSettings, plan: Plan, result: TaskResult
              ) -> tuple[str, _Question] | None:
    """The question about one task and its cache key; None without text or candidates."""
    ids = _candidate_ids(plan, result.candidates)
    if not result.text.strip() or not ids:
        return None
    messages = question_messages(plan, result.text, ids)
    names = tuple(plan.strategy(i).name for i in ids)
    return cache_key(settings.model, messages), _Question(result.text, ids, messages, names)


def _answer_from(value: dict[str, Any] | None, question: _Question) -> Opinion | None:
    """An answer the cache holds, as an Opinion; None if it holds none (or a stale one)."""
    if value is None:
        return None
    base = {"task": question.text, "candidates": question.candidates, "cached": True}
    if "rejected" in value:
        return Opinion(status=NO_ANSWER, error=str(value["rejected"]), **base)  # type: ignore[arg-type]
    try:
        answer = parse_answer(_as_json(value), question.candidates)
    except RejectedAnswer:
        return None  # a stale or foreign entry: ask again
    return Opinion(status=ANSWERED, strategy_id=answer.strategy_id, reason=answer.reason,
                   **base)  # type: ignore[arg-type]


def _as_json(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value)


def _candidate_ids(plan: Plan, candidates: Sequence[Candidate]) -> tuple[str, ...]:
    known = set(plan.ids)
    ids: list[str] = []
    for candidate in candidates:
        if candidate.strategy_id in known and candidate.strategy_id not in ids:
            ids.append(candidate.strategy_id)
    return tuple(ids)


# ---------------------------------------------------------------- entry points


def needs_opinion(result: TaskResult) -> bool:
    """Whether a task is doubtful enough to ask about: status review or misaligned."""
    return result.status in ASKED_STATUSES


def ask(settings: LLMSettings, plan: Plan, results: Sequence[TaskResult], *,
        cache: AnswerCache | StoredAnswers | None = None,
        progress: Progress | None = None) -> list[Opinion]:
    """Ask the LLM about every given task (a selection), concurrently; one Opinion each, in order.

    LLMError (one line) if the endpoint is unreachable, refuses the key, or has no such model;
    a question it refuses is that task's "no answer".
    """
    with Asker(settings, cache) as asker:
        return asker.ask(plan, results, progress)


def cached_opinion(settings: LLMSettings, plan: Plan, result: TaskResult,
                   cache: AnswerCache | StoredAnswers) -> Opinion | None:
    """What the cache already holds for this task's question (the same task, candidates and
    model, in any run), asking nothing; None if it was never answered."""
    found = _question(settings, plan, result)
    return _answer_from(as_cache(cache).get(found[0]), found[1]) if found else None


def second_opinions(settings: LLMSettings, plan: Plan, results: Sequence[TaskResult], *,
                    cache: AnswerCache | StoredAnswers | None = None,
                    progress: Progress | None = None) -> list[Opinion | None]:
    """Opinions on the tasks in review or misaligned; None, in place, for the others."""
    chosen = [position for position, result in enumerate(results) if needs_opinion(result)]
    opinions: list[Opinion | None] = [None] * len(results)
    asked = ask(settings, plan, [results[p] for p in chosen], cache=cache, progress=progress)
    for position, opinion in zip(chosen, asked, strict=True):
        opinions[position] = opinion
    return opinions


def opinion_columns(opinions: Sequence[Opinion | None]) -> dict[str, list[str]]:
    """The `llm_strategy_id` and `rationale` columns; empty for tasks not asked or unanswered."""
    return {
        "llm_strategy_id": [(o.strategy_id or "") if o is not None else "" for o in opinions],
        "rationale": [o.rationale if o is not None else "" for o in opinions],
    }
