"""A real OpenAI-compatible chat endpoint on 127.0.0.1 that answers from a per-test script.

    server.script(answer("retail-channel"), error(429, retry_after=1), text("not json"), cut_short())
    server.responder = lambda request: answer("none")   # used once the script runs out

Every request is recorded (path, headers, JSON body) for assertions.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")


@dataclass
class Reply:
    """One scripted response: a status, an assistant message or a raw body, headers, a delay."""

    status: int = 200
    content: str | None = None
    body: dict | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    usage: tuple[int, int] = (50, 10)
    finish_reason: str = "stop"
    refusal: str | None = None  # OpenAI's structured refusal, beside a null content


@dataclass
class Recorded:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]
    body: dict

    @property
    def messages(self) -> list[dict]:
        return self.body.get("messages", [])

    @property
    def user_text(self) -> str:
        users = [m.get("content", "") for m in self.messages if m.get("role") == "user"]
        return users[0] if users else ""


def answer(strategy_id: str, reason: str = "It is the closest fit.", **extra) -> Reply:
    """A well-formed JSON answer naming `strategy_id`."""
    return Reply(content=json.dumps({"strategy_id": strategy_id, "reason": reason}), **extra)


def text(content: str, **extra) -> Reply:
    """An assistant message with exactly this content (malformed JSON, a JSON list, ...)."""
    return Reply(content=content, **extra)


def error(status: int, retry_after: str | float | None = None, message: str = "scripted",
          code: str | None = None) -> Reply:
    """An HTTP error in OpenAI's error shape, with Retry-After if given."""
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return Reply(status=status, body={"error": {"message": message, "type": "scripted",
                                                "code": code or str(status)}}, headers=headers)


def content_filtered() -> Reply:
    """Azure OpenAI's HTTP 400 for a prompt its content filter stops."""
    return Reply(status=400, body={"error": {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's "
                   "content management policy.",
        "type": None, "param": "prompt", "code": "content_filter", "status": 400}})


def plain_error(status: int, words: str) -> Reply:
    """An error whose `error` is a string, as LM Studio and Ollama send it."""
    return Reply(status=status, body={"error": words})


LM_STUDIO_JSON_MODE = "'response_format.type' must be 'json_schema' or 'text'"


def json_mode_refused(reply: Reply) -> Callable[[Recorded], Reply]:
    """A responder that answers as LM Studio does: HTTP 400 to response_format json_object,
    `reply` to a request without it."""
    def respond(request: Recorded) -> Reply:
        if (request.body.get("response_format") or {}).get("type") == "json_object":
            return plain_error(400, LM_STUDIO_JSON_MODE)
        return reply
    return respond


QUOTA_WORDS = "You exceeded your current quota, please check your plan and billing details."


def out_of_quota() -> Reply:
    """OpenAI's HTTP 429 when the account's quota is spent (no Retry-After: it won't come back)."""
    return Reply(status=429, body={"error": {"message": QUOTA_WORDS, "type": "insufficient_quota",
                                             "param": None, "code": "insufficient_quota"}})


def error_in_200(message: str = "upstream connect error") -> Reply:
    """HTTP 200 whose body is an error, not a chat completion (a proxy in front of the model)."""
    return Reply(body={"error": {"message": message, "code": 502}})


def web_page() -> Reply:
    """HTTP 200 with an HTML page: a web UI at the base URL, not the API."""
    return Reply(body="<!doctype html><html><head><title>Open WebUI</title></head></html>",
                 headers={"Content-Type": "text/html"})


def declined(words: str) -> Reply:
    """A refusal in OpenAI's `message.refusal`, with no content."""
    return Reply(content=None, refusal=words)


def cut_off(content: str) -> Reply:
    """A reply that reached the token limit (`finish_reason: "length"`) mid-way."""
    return Reply(content=content, finish_reason="length")


def cut_short() -> Reply:
    """HTTP 200 whose JSON body breaks off (a proxy cutting the response, an overloaded server)."""
    return Reply(body='{"choices": [ {not json')


def slow(seconds: float, reply: Reply | None = None) -> Reply:
    """A reply sent only after `seconds` (past a short client timeout)."""
    reply = reply or answer("none")
    reply.delay = seconds
    return reply


class ScriptedLLM:
    """A ThreadingHTTPServer on 127.0.0.1 (port 0) speaking POST /v1/chat/completions."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests the server was answering at once
        self.responder: Callable[[Recorded], Reply] = lambda request: answer("none")
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, *replies: Reply) -> None:
        """Queue replies, used in order before falling back to `responder`."""
        with self._lock:
            self._script.extend(replies)

    def next_reply(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self._script:
                return self._script.popleft()
        return self.responder(request)

    def enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def wait(self, seconds: float) -> None:
        self._closing.wait(seconds)

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _handler_for(llm: ScriptedLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args) -> None:
            return None

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path.split("?")[0] not in CHAT_PATHS:
                self._send(404, {"error": {"message": f"no route {self.path}"}}, {})
                return
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                body = {}
            request = Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            reply = llm.next_reply(request)
            llm.enter()
            try:
                if reply.delay:
                    llm.wait(reply.delay)
                self._reply(reply, body)
            finally:
                llm.leave()

        def _reply(self, reply: Reply, body: dict) -> None:
            if reply.status != 200 or reply.body is not None:
                self._send(reply.status, reply.body or {}, reply.headers)
                return
            prompt_tokens, completion_tokens = reply.usage
            message = {"role": "assistant", "content": reply.content}
            if reply.refusal is not None:
                message["refusal"] = reply.refusal
            self._send(200, {
                "id": f"chatcmpl-{len(llm.requests)}",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", ""),
                "choices": [{"index": 0, "finish_reason": reply.finish_reason,
                             "message": message}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens},
            }, reply.headers)

        def _send(self, status: int, body: dict | str, headers: dict[str, str]) -> None:
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
            try:
                self.send_response(status)
                if "Content-Type" not in headers:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test); nothing to tell it

    return Handler


def closed_port_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
