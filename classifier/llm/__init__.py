"""An optional second opinion from an LLM behind any OpenAI-compatible chat endpoint.

The API key is read from the environment when a request is made and is never stored, logged or
exported; the settings hold only the name of its variable.
"""

from __future__ import annotations

from .client import USAGE_KIND
from .drafting import Drafting, DraftStopped, draft_examples, draft_for_strategies
from .opinions import (
    ANSWERED,
    ASKED_STATUSES,
    CACHE_KIND,
    NO_ANSWER,
    NOT_ASKED,
    REJECTED,
    Asker,
    MemoryCache,
    Opinion,
    StoreCache,
    Usage,
    as_cache,
    ask,
    cached_opinion,
    needs_opinion,
    opinion_columns,
    second_opinions,
    usage,
)
from .prompts import NONE_ID, RejectedAnswer, cache_key, parse_answer, parse_examples
from .settings import LLMSettings, llm_settings

__all__ = ["ANSWERED", "ASKED_STATUSES", "CACHE_KIND", "NONE_ID", "NOT_ASKED", "NO_ANSWER", "REJECTED",
           "USAGE_KIND", "Asker", "DraftStopped", "Drafting",
           "LLMSettings", "MemoryCache", "Opinion", "RejectedAnswer",
           "StoreCache", "Usage", "as_cache", "ask", "cache_key", "cached_opinion",
           "draft_examples", "draft_for_strategies",
           "llm_settings", "needs_opinion", "opinion_columns", "parse_answer", "parse_examples",
           "second_opinions", "usage"]
