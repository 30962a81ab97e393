"""Each reviewer's choice about a plan's teach-in round: skipped, or taken up again. Appended,
like decisions; the latest choice stands."""

from __future__ import annotations

import sqlalchemy as sa

from ..access import Reviewer
from ..errors import StoreError
from .database import Database, now
from .schema import TEACH_IN_CHOICES

CHOICES = ("skip", "resume")


class TeachInStore(Database):
    """Teach-in choices per plan name and reviewer."""

    def choose_teach_in(self, plan_name: str, reviewer: Reviewer, choice: str) -> None:
        """Record that `reviewer` skips ("skip") or takes up again ("resume") the plan's round."""
        if choice not in CHOICES:
            raise StoreError(f"unknown teach-in choice {choice!r}: expected one of {CHOICES}")
        reviewer.require_decider(f"{choice} the teach-in")
        with self._connect(write=True) as conn:
            conn.execute(sa.insert(TEACH_IN_CHOICES).values(
                plan_name=plan_name, reviewer=reviewer.name.strip(), choice=choice, at=now()))

    def teach_in_skipped(self, plan_name: str, reviewer: Reviewer | str) -> bool:
        """True if this reviewer's latest choice on the plan's teach-in was to skip it."""
        name = (reviewer.name if isinstance(reviewer, Reviewer) else reviewer).strip()
        with self._connect(write=False) as conn:
            latest = conn.execute(
                sa.select(TEACH_IN_CHOICES.c.choice)
                .where(TEACH_IN_CHOICES.c.plan_name == plan_name,
                       TEACH_IN_CHOICES.c.reviewer == name)
                .order_by(TEACH_IN_CHOICES.c.id.desc()).limit(1)).scalar()
        return latest == "skip"
