"""LLM answers and token use in the store: an answer is kept by model and prompt, so the same
question is never paid for twice; every request's tokens are counted."""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa

from ..cells import plain
from .database import Database, dumps, now
from .schema import CACHE, USAGE


class AnswerStore(Database):
    """Cached answers and token usage."""

    def cache_get(self, kind: str, key: str) -> dict | None:
        """A cached value (e.g. an LLM answer keyed by model + prompt), or None."""
        with self._connect(write=False) as conn:
            value = conn.execute(sa.select(CACHE.c.value).where(
                CACHE.c.kind == kind, CACHE.c.key_hash == _key_hash(key))).scalar()
        return None if value is None else json.loads(value)

    def cache_put(self, kind: str, key: str, value: dict) -> None:
        """Cache a JSON-able value under (kind, key), replacing any earlier one."""
        text = dumps(plain(value))
        digest = _key_hash(key)
        with self._connect(write=True) as conn:
            conn.execute(sa.delete(CACHE).where(CACHE.c.kind == kind,
                                                 CACHE.c.key_hash == digest))
            conn.execute(sa.insert(CACHE).values(kind=kind, key_hash=digest, key=key,
                                                  value=text, created_at=now()))

    def usage_add(self, kind: str, tokens_in: int, tokens_out: int) -> None:
        """Record one call's token usage."""
        with self._connect(write=True) as conn:
            conn.execute(sa.insert(USAGE).values(kind=kind, tokens_in=int(tokens_in or 0),
                                                  tokens_out=int(tokens_out or 0), at=now()))

    def usage_total(self, kind: str | None = None) -> dict:
        """{'calls', 'tokens_in', 'tokens_out'} summed for a kind (or all kinds)."""
        query = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(USAGE.c.tokens_in), 0),
                          sa.func.coalesce(sa.func.sum(USAGE.c.tokens_out), 0))
        if kind is not None:
            query = query.where(USAGE.c.kind == kind)
        with self._connect(write=False) as conn:
            calls, tokens_in, tokens_out = conn.execute(query).one()
        return {"calls": int(calls), "tokens_in": int(tokens_in), "tokens_out": int(tokens_out)}


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
