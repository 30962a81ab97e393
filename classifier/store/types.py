"""Column types native on PostgreSQL (timestamptz, jsonb) that keep SQLite's stored text as it
always was, so a SQLite store needs no rewrite and the query code is the same for both."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement


class Timestamp(sa.types.TypeDecorator[datetime]):
    """An aware UTC datetime: timestamptz on PostgreSQL; on SQLite the ISO 8601 text the store
    has always written (fixed width, so it sorts and compares as text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(40))
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store keeps times in UTC")
        value = value.astimezone(UTC)
        return value.isoformat(timespec="microseconds") if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


class _JsonIn(FunctionElement[Any]):
    """A bound JSON text, cast to jsonb on PostgreSQL (psycopg sends a str as text)."""

    inherit_cache = True


class _JsonOut(FunctionElement[Any]):
    """A jsonb column read as its text on PostgreSQL, so Python gets the same text as SQLite."""

    inherit_cache = True


@compiles(_JsonIn)
@compiles(_JsonOut)
def _json_plain(element: FunctionElement[Any], compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(_JsonIn, "postgresql")
def _json_in_pg(element: FunctionElement[Any], compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS JSONB)"


@compiles(_JsonOut, "postgresql")
def _json_out_pg(element: FunctionElement[Any], compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS TEXT)"


class JSONText(sa.types.TypeDecorator[str]):
    """A JSON document that Python handles as its text (one json.loads over many rows is what
    keeps reading a big run fast): jsonb on PostgreSQL, TEXT on SQLite.

    TEXT, not JSON, on SQLite: a column declared JSON gets NUMERIC affinity there and turns a
    stored document such as '1.0' into the number 1.
    """

    impl = sa.Text  # what Python sees on both; the migrations make the column jsonb on PostgreSQL
    cache_ok = True

    def bind_expression(self, bindvalue: Any) -> ColumnElement[Any]:
        return _JsonIn(bindvalue)

    def column_expression(self, colexpr: Any) -> ColumnElement[Any]:
        return _JsonOut(colexpr)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is not None and not isinstance(value, str):
            raise TypeError(f"a JSON column takes JSON text, got {type(value).__name__}")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return value
