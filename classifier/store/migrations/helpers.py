"""Shared by the revision files."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from ..types import Timestamp

_legacy = sa.table("migrations", sa.column("id"), sa.column("name"),
                   sa.column("applied_at", Timestamp()))


def record(number: int, name: str) -> None:
    """Mirror a revision into the `migrations` table, so `Store.migrations()` lists it and an
    older tactic-classifier (which knows only that table) refuses a newer store by name."""
    op.execute(sa.insert(_legacy).values(id=number, name=name, applied_at=datetime.now(UTC)))
