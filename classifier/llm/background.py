"""LLM work in a thread of its own: a page stays free to show its progress, to be left, and to
stop it (an endpoint that never replies held the page until its timeouts ran out)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    """`work(progress, stop)` run in a daemon thread: `done` counts what `progress` heard,
    `started` is when it began (a page's "N s" counts from there, over its redraws)."""

    def __init__(self, work: Callable[[Callable[[int], None], threading.Event], T],
                 name: str):
        self.done = 0
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,), name=name, daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[Callable[[int], None], threading.Event], T]) -> None:
        try:
            self._value = work(self._advance, self._stop)
        except BaseException as error:  # handed to the page's thread by `result`
            self._error = error

    def _advance(self, count: int) -> None:
        self.done += count

    def wait(self, seconds: float) -> bool:
        """Whether the work has ended, waiting up to `seconds` for it."""
        self._thread.join(seconds)
        return not self._thread.is_alive()

    def stop(self, wait: bool = True) -> None:
        """Stop the work: a request in flight is cancelled; what it got so far is kept."""
        self._stop.set()
        if wait:
            self._thread.join()

    def result(self) -> T:
        """What the work gave; its error, raised here, if it failed."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value
