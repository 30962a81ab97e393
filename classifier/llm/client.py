"""One OpenAI-compatible endpoint, spoken to with the `openai` client (its own retries, which
honour Retry-After), counting every HTTP request it sends and every failed one in a row."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import LLMError
from .prompts import Messages
from .settings import LLMSettings

USAGE_KIND = "llm"


class UsageSink(Protocol):
    """Where each reply's token counts are recorded (the Store)."""

    def usage_add(self, kind: str, tokens_in: int, tokens_out: int) -> None: ...


class Unanswered(Exception):
    """A question that got no answer: no reply after the client's retries (5xx, 429,
    timeouts), or the endpoint refused this one question (a content filter, its length)."""

    sent = 0  # the HTTP requests it took


# Refusals of one question, not of the endpoint: a content filter, a prompt past the context
# window, a body too large or one the server cannot process. Other questions may be answered.
ONE_QUESTION_REFUSED = (400, 413, 422)


@dataclass
class Reply:
    """The assistant's text, why it ended and what getting it cost."""

    content: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str = ""  # "stop"; "length" when cut off at the token limit
    refusal: str = ""  # the model's own refusal (OpenAI's `message.refusal`), if it declined


@dataclass
class _Attempts:
    """HTTP requests sent for one question; `open` while one awaits its response."""

    sent: int = 0
    open: bool = False


# The question a request belongs to: the hooks run in the asking task's context.
_question: ContextVar[_Attempts | None] = ContextVar("tactics_llm_question", default=None)


class Endpoint:
    """The endpoint for one event loop: request and token counts, and failures in a row."""

    def __init__(self, settings: LLMSettings, usage_sink: UsageSink | None = None):
        import openai

        self.settings = settings
        self.requests = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.failures_in_a_row = 0
        self.last_failure = ""
        self.refusals_in_a_row = 0  # of questions refused for themselves, with no answer between
        self.last_refusal = ""
        # Questions whose replies came back but none as the JSON asked for, with no answer
        # between: a model that cannot answer in the format is asked no more, as a failing one.
        self.bad_replies_in_a_row = 0
        self.last_bad_reply = ""
        self.stopped = ""  # why no question is worth sending any more (no quota left)
        self._reached = False  # whether the endpoint has answered anything at all
        self._answered = False  # whether it has sent a chat completion: it speaks the protocol
        self._json_mode = settings.json_mode  # off once the endpoint refused response_format
        self._usage_sink = usage_sink
        http = openai.DefaultAsyncHttpxClient(event_hooks={"request": [self._on_request],
                                                           "response": [self._on_response]})
        key = settings.api_key()
        options: dict[str, Any] = {"base_url": settings.base_url, "timeout": settings.timeout,
                                   "max_retries": settings.max_retries, "http_client": http}
        self._headers: dict[str, Any] = {}
        if key:
            self._client = openai.AsyncOpenAI(api_key=key, **options)
        else:
            # No key: send no Authorization header at all, as a local server expects.
            self._client = openai.AsyncOpenAI(api_key="", _enforce_credentials=False, **options)
            self._headers = {"Authorization": openai.Omit()}

    @property
    def gave_up(self) -> bool:
        """Whether asking more is pointless: so many requests failed in a row, or no quota."""
        return (bool(self.stopped) or self.failures_in_a_row >= self.settings.give_up_after
                or self.bad_replies_in_a_row >= self.settings.give_up_after
                or self.refusals_in_a_row >= REFUSALS_GIVEN_UP * self.settings.give_up_after)

    def answered(self) -> None:
        """A question got its answer: the endpoint's replies are usable."""
        self.bad_replies_in_a_row = 0

    def bad_reply(self, why: str) -> None:
        """A question's replies were all unusable (not the JSON asked for, empty, cut off)."""
        self.bad_replies_in_a_row += 1
        self.last_bad_reply = why

    async def close(self) -> None:
        """Release the HTTP connections."""
        await self._client.close()

    def _failed(self, why: str) -> None:
        self.failures_in_a_row += 1
        self.last_failure = why

    async def _on_request(self, request: Any) -> None:
        self.requests += 1
        attempts = _question.get()
        if attempts is not None:
            if attempts.open:  # the previous attempt got no response: timed out or cut off
                self._failed("no reply")
            attempts.sent += 1
            attempts.open = True

    async def _on_response(self, response: Any) -> None:
        attempts = _question.get()
        if attempts is not None:
            attempts.open = False
        self._reached = True
        status = response.status_code
        if status in (402, 429) or status >= 500:
            await response.aread()  # small; the client reads it again from memory
        if status == 429 or status >= 500:
            # The endpoint's own words ("Rate limit reached ... Limit 3 / min"): the line that
            # gives it up names them, not a bare status.
            words = self._quoted(_error_words(_json_or_text(response.text)))
            self._failed(f"HTTP {status}: {words}" if words else f"HTTP {status}")
        if status in (402, 429):
            if _out_of_quota(response.status_code, response.text, response.headers):
                # No quota comes back in seconds: the client's own retries would only wait.
                response.headers["x-should-retry"] = "false"

    async def complete(self, messages: Messages) -> tuple[Reply, int]:
        """One chat completion and the HTTP requests it took; Unanswered after the client's
        retries or when it refuses this question, LLMError (one line) when the endpoint as a
        whole refuses or cannot be reached."""
        attempts = _Attempts()
        token = _question.set(attempts)
        try:
            reply = self._reply(await self._create(messages, attempts))
        except Unanswered as error:
            error.sent = attempts.sent
            raise
        finally:
            _question.reset(token)
        # Only a reply read whole ends a run of failures: a 200 whose body breaks off does not.
        self.failures_in_a_row = self.refusals_in_a_row = 0
        self._answered = True
        return reply, attempts.sent

    async def _create(self, messages: Messages, attempts: _Attempts) -> Any:
        """The client's response to one question, its errors told apart (see `complete`)."""
        import openai

        settings = self.settings
        options: dict[str, Any] = {"model": settings.model, "messages": messages,
                                   "temperature": settings.temperature,
                                   "extra_headers": self._headers}
        if self._json_mode:
            options["response_format"] = {"type": "json_object"}
        try:
            try:
                response = await self._client.chat.completions.create(**options)
            except openai.BadRequestError as error:
                if "response_format" not in options or not _names_response_format(error):
                    raise
                # LM Studio takes only json_schema or text. The prompt asks for JSON and the
                # parser finds it in prose: ask again without it, and so for the rest of the run.
                self._json_mode = False
                del options["response_format"]
                response = await self._client.chat.completions.create(**options)
        except openai.APIStatusError as error:
            status = error.status_code
            words = self._words(error)
            said = f": {words}" if words else ""
            if status in (402, 429) and _out_of_quota(status, error.response.text,
                                                      error.response.headers):
                # Endpoint-wide, but the machine's answers stand: the run stops asking (as
                # after failures in a row) and still writes its file.
                self.stopped = f"the LLM at {settings.base_url} is out of quota (HTTP {status}{said})"
                raise Unanswered(f"the endpoint is out of quota (HTTP {status}{said})") from None
            if status in (408, 409, 429) or status >= 500:
                raise Unanswered(f"HTTP {status} from the endpoint after "
                                 f"{attempts.sent} attempts{said}") from None
            if status in ONE_QUESTION_REFUSED:
                # This task's "no answer", not the run's end. A refusal that names this
                # question (a content filter, its length) is not counted: an HR team's file
                # with its sensitive tasks together gave up a working endpoint. Any other is,
                # so an endpoint refusing every question is given up as one failing them...
                words = words or "no reason given"
                if _about_this_question(status, f"{words} {getattr(error, 'code', '')}"):
                    self.refusals_in_a_row += 1
                    self.last_refusal = f"HTTP {status}: {words}"
                else:
                    self._failed(f"HTTP {status}: {words}")
                    if not self._answered and self.gave_up:
                        # ...and one that refused them all before answering any is no endpoint
                        # for this run (a model name the proxy does not know, a streaming-only
                        # server): said as the setting it is, before anything is written.
                        raise LLMError(self._refusal(error)) from None
                raise Unanswered(f"the endpoint refused this question (HTTP {status}): "
                                 f"{words}") from None
            raise LLMError(self._refusal(error)) from None
        except openai.APITimeoutError:
            self._close_attempt(attempts)
            raise Unanswered(f"no reply within {settings.timeout:g}s after {attempts.sent} "
                             f"attempts") from None
        except json.JSONDecodeError:
            # HTTP 200 with a body cut short or garbled (a proxy, an overloaded server): the
            # client neither retries nor wraps it. A failed request like a 5xx, not a crash.
            self._failed("replies that are not JSON")
            raise Unanswered("the endpoint's reply was not JSON (cut short on the way?)") from None
        except openai.APIConnectionError as error:
            self._close_attempt(attempts)
            if not self._reached:
                cause = error.__cause__ or error
                raise LLMError(f"cannot reach the LLM at {settings.base_url} "
                               f"({_describe_cause(cause)}); is the server running and "
                               f"the base URL right?") from None
            raise Unanswered(f"the connection was lost after {attempts.sent} attempts") from None
        except openai.OpenAIError as error:
            raise LLMError(f"LLM at {settings.base_url}: {self._quoted(str(error))}") from None
        return response

    def _close_attempt(self, attempts: _Attempts) -> None:
        if attempts.open:
            attempts.open = False
            self._failed("no reply")

    def _reply(self, response: Any) -> Reply:
        choices = getattr(response, "choices", None)
        if choices is None:
            # A proxy's 200 with an error body: a failed request, like the 5xx it stands for.
            said = _error_words(getattr(response, "model_extra", None) or {})
            if said:
                self._failed("replies that are errors")
                raise Unanswered(f"the endpoint replied with an error: {self._quoted(said)}")
            if not self._answered:  # never a chat completion: not such an endpoint at all
                hint = "; the base URL usually ends in /v1" if self._v1_may_be_missing() else ""
                raise LLMError(f"{self.settings.base_url} did not answer like an "
                               f"OpenAI-compatible chat endpoint{hint}")
            self._failed("replies that are not chat completions")
            raise Unanswered("the endpoint's reply was not a chat completion")
        message = choices[0].message if choices else None
        content = (getattr(message, "content", None) or "") if message is not None else ""
        refusal = (getattr(message, "refusal", None) or "") if message is not None else ""
        finish = (getattr(choices[0], "finish_reason", None) or "") if choices else ""
        used = getattr(response, "usage", None)
        prompt = int(getattr(used, "prompt_tokens", 0) or 0)
        completion = int(getattr(used, "completion_tokens", 0) or 0)
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        if self._usage_sink is not None:
            self._usage_sink.usage_add(USAGE_KIND, prompt, completion)
        return Reply(content, prompt, completion, str(finish), str(refusal))

    def _quoted(self, text: str) -> str:
        """The server's own words, short and without the key (gateways echo the header)."""
        return _short(redact(text, self.settings.api_key()))

    def _refusal(self, error: Any) -> str:
        settings = self.settings
        status = error.status_code
        if status in (401, 403):
            if settings.api_key():
                hint = f"check the key in ${settings.api_key_env}"
            elif settings.api_key_env:
                hint = f"set the key in ${settings.api_key_env}"
            else:
                hint = "no key was sent; name its variable in TACTICS_LLM_KEY_ENV or --llm-key-env"
            return f"the LLM at {settings.base_url} refused the request (HTTP {status}); {hint}"
        words = self._words(error)
        if status == 404:
            hint = " (it usually ends in /v1)" if self._v1_may_be_missing() else ""
            said = f"; it said: {words}" if words else ""
            return (f"the LLM at {settings.base_url} answered 404: no model {settings.model!r} "
                    f"there, or the base URL is wrong{hint}{said}")
        return (f"the LLM at {settings.base_url} rejected the request (HTTP {status}): "
                f"{words or 'no reason given'}")

    def _v1_may_be_missing(self) -> bool:
        """Whether "the base URL usually ends in /v1" may be what is wrong: not when it does,
        nor once the URL has answered."""
        return not (self._answered or self.settings.base_url.rstrip("/").endswith("/v1"))

    def _words(self, error: Any) -> str:
        """The server's own words in an error, short and redacted; "" when it gave none."""
        said = _error_words(getattr(error, "body", None))
        code = getattr(error, "code", None)
        if not said and code and code != str(getattr(error, "status_code", "")):
            said = str(code)  # content_filter, context_length_exceeded: better than nothing
        return self._quoted(said) if said else ""


# Out of quota or credit, as providers say it. A rate limit may say "quota" too (per minute),
# but it names a time to come back in Retry-After.
_QUOTA_CODES = ("insufficient_quota", "billing_hard_limit_reached", "insufficient_credits")
_QUOTA_WORDS = re.compile(r"quota|billing|credit balance|out of credits", re.IGNORECASE)


def _out_of_quota(status: int, body: str, headers: Any) -> bool:
    """Whether a 402 or 429 says the account's quota or credit is spent, not a rate limit."""
    if status == 402:
        return True
    if any(code in body for code in _QUOTA_CODES):
        return True
    return headers.get("retry-after") is None and bool(_QUOTA_WORDS.search(body))


# Words and codes of a refusal that is about the question sent, not about the endpoint.
_THIS_QUESTION = re.compile(r"content.?(filter|management|policy)|safety|context.?(length|window)"
                            r"|maximum context|too (long|large)|token limit|usage polic|flagged"
                            r"|invalid_prompt|moderation", re.IGNORECASE)
# Refusals that name their own question do not give an endpoint up, but so many in a row with
# no answer between (a model whose window no question fits) do: it is asked no more.
REFUSALS_GIVEN_UP = 4


def _about_this_question(status: int, said: str) -> bool:
    """Whether a refusal names the question itself: too large, too long, filtered."""
    return status == 413 or bool(_THIS_QUESTION.search(said))


def _names_response_format(error: Any) -> bool:
    """Whether a 400 is about the request's response_format (its words or its `param`)."""
    return "response_format" in f"{getattr(error, 'body', '')} {getattr(error, 'param', '')}"


def _json_or_text(text: str) -> object:
    """An error body as JSON where it is, else its text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _error_words(body: object) -> str:
    """What an error body says: its message (OpenAI's shape), its text (LM Studio's and
    Ollama's `{"error": "..."}`), FastAPI's details; "" for an HTML page or nothing."""
    if isinstance(body, str):
        return "" if body.lstrip().startswith("<") else body.strip()
    if isinstance(body, Mapping):
        for name in ("message", "error", "detail"):
            value = body.get(name)
            if isinstance(value, Mapping | str):
                words = _error_words(value)
                if words:
                    return words
            elif isinstance(value, list):  # FastAPI: [{"loc": [...], "msg": "..."}]
                words = "; ".join(str(item.get("msg", item)) if isinstance(item, Mapping)
                                  else str(item) for item in value)
                if words:
                    return words
    return ""


def redact(text: str, key: str | None) -> str:
    """`text` without the key's value or any "Bearer <token>" in it."""
    if key:
        text = text.replace(key, "[redacted]")
    return _BEARER.sub("Bearer [redacted]", text)


_BEARER = re.compile(r"\bBearer\s+(?!\[redacted\])[^\s\"',;]+", re.IGNORECASE)


def _describe_cause(cause: BaseException) -> str:
    # The HTTP library wraps the socket's error: the innermost OSError says what happened.
    seen: set[int] = set()
    current: BaseException | None = cause
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for error in (current, *getattr(current, "exceptions", ())):  # groups of attempts
            if isinstance(error, OSError) and (error.errno or error.strerror):
                return (os.strerror(error.errno) if error.errno else str(error.strerror)).lower()
        current = current.__cause__ or current.__context__
    text = str(cause)
    match = re.search(r"\[Errno -?\d+\] (.+)$", text)
    return (match.group(1) if match else text or type(cause).__name__).lower()


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "…"
