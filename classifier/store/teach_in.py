"""Each reviewer's choice about a plan's teach-in round: skipped, or taken up again. Appended,
like decisions; the latest choice stands, for the plan it was made on and its later versions,
not for a plan that replaced it (no strategy in common)."""

from __future__ import annotations

import sqlalchemy as sa

from ..access import Reviewer, person
from ..errors import StoreError
from .database import now
from .plans import PlanStore
from .schema import TEACH_IN_CHOICES

CHOICES = ("skip", "resume")


class TeachInStore(PlanStore):
    """Teach-in choices per plan name and reviewer."""

    def choose_teach_in(self, plan_version: int, reviewer: Reviewer, choice: str,
                        plan_name: str = "default") -> None:
        """Record that `reviewer` skips ("skip") or takes up again ("resume") the round of the
        named plan, at version `plan_version`."""
        if choice not in CHOICES:
            raise StoreError(f"unknown teach-in choice {choice!r}: expected one of {CHOICES}")
        reviewer.require_decider(f"{choice} the teach-in")
        with self._connect(write=True) as conn:
            self._plan(conn, plan_version)  # a plan version that exists, or StoreError
            conn.execute(sa.insert(TEACH_IN_CHOICES).values(
                plan_name=plan_name, plan_version=plan_version, reviewer=reviewer.name.strip(),
                choice=choice, at=now()))

    def teach_in_skipped(self, plan_version: int, reviewer: Reviewer | str,
                         plan_name: str = "default") -> bool:
        """True if this reviewer's latest choice on the named plan's teach-in was to skip it,
        made on a version sharing a strategy with `plan_version`."""
        who = person(reviewer)
        with self._connect(write=False) as conn:
            # One person however the name was typed (SQLite's lower() is ASCII only).
            latest = next((row for row in conn.execute(
                sa.select(TEACH_IN_CHOICES.c.choice, TEACH_IN_CHOICES.c.plan_version,
                          TEACH_IN_CHOICES.c.reviewer)
                .where(TEACH_IN_CHOICES.c.plan_name == plan_name)
                .order_by(TEACH_IN_CHOICES.c.id.desc())) if person(row.reviewer) == who), None)
            if latest is None or latest.choice != "skip":
                return False
            return self._shares_strategy(conn, int(latest.plan_version),
                                         set(self._strategy_ids(conn, plan_version)))
