"""Plans in the store: every saved version of a named plan, never changed once written."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..access import Reviewer
from ..errors import StoreError
from ..plan import STORED, Plan, Strategy
from .database import Database, now
from .schema import PLANS


@dataclass(frozen=True)
class PlanVersion:
    """One stored version of a named plan."""

    id: int
    name: str
    version: int
    created_at: datetime
    strategies: int
    content_hash: str


def _plan_json(plan: Plan) -> str:
    return json.dumps(plan.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)



class PlanStore(Database):
    """Versioned plans."""

    _plan_ids: dict[int, list[str]]

    def save_plan(self, plan: Plan, name: str = "default", *, by: Reviewer | None = None) -> int:
        """Store the plan; the id of its version (a new one only if it differs from the latest).

        `by`, when given, must be allowed to decide (AccessError otherwise, nothing written)."""
        if by is not None:
            by.require_decider("change the plan")
        content = _plan_json(plan)
        digest = hashlib.sha256(content.encode()).hexdigest()
        with self._connect(write=True) as conn:
            latest = conn.execute(
                sa.select(PLANS.c.id, PLANS.c.version, PLANS.c.content_hash)
                .where(PLANS.c.name == name).order_by(PLANS.c.version.desc()).limit(1)
            ).first()
            if latest is not None and latest.content_hash == digest:
                return int(latest.id)
            return int(conn.execute(
                sa.insert(PLANS).values(
                    name=name, version=(latest.version + 1) if latest else 1,
                    content_hash=digest, content=content, created_at=now())
                .returning(PLANS.c.id)).scalar_one())

    def saved_over(self, plan: Plan, name: str = "default"
                   ) -> tuple[PlanVersion, PlanVersion] | None:
        """When `plan` is an earlier version of the named plan (its content stored, and a newer
        version saved since): that version and the newest; else None."""
        digest = hashlib.sha256(_plan_json(plan).encode()).hexdigest()
        versions = self.plan_versions(name)
        held = next((v for v in reversed(versions) if v.content_hash == digest), None)
        return None if held is None or held.id == versions[-1].id else (held, versions[-1])

    def latest_plan(self, name: str = "default") -> tuple[int, Plan] | None:
        """The newest version id and plan of that name, or None."""
        with self._connect(write=False) as conn:
            row = conn.execute(
                sa.select(PLANS.c.id, PLANS.c.content).where(PLANS.c.name == name)
                .order_by(PLANS.c.version.desc()).limit(1)).first()
        if row is None:
            return None
        return int(row.id), Plan.model_validate_json(row.content, context=STORED)

    def past_strategies(self, name: str = "default") -> list[Strategy]:
        """Every strategy the named plan's versions have held, the newest version's first (once
        per id and name): where a strategy deleted and brought back finds its id again."""
        with self._connect(write=False) as conn:
            contents = conn.execute(sa.select(PLANS.c.content).where(PLANS.c.name == name)
                                    .order_by(PLANS.c.version.desc())).scalars().all()
        seen: set[tuple[str, str]] = set()
        found = []
        for content in contents:
            for strategy in Plan.model_validate_json(content, context=STORED).strategies:
                if (strategy.id, strategy.name) not in seen:
                    seen.add((strategy.id, strategy.name))
                    found.append(strategy)
        return found

    def plan(self, plan_version: int) -> Plan:
        """The plan stored under this version id."""
        with self._connect(write=False) as conn:
            return self._plan(conn, plan_version)

    def _plan(self, conn: Connection, plan_version: int) -> Plan:
        content = conn.execute(sa.select(PLANS.c.content)
                               .where(PLANS.c.id == plan_version)).scalar()
        if content is None:
            raise StoreError(f"{self.label}: no plan version with id {plan_version}")
        return Plan.model_validate_json(content, context=STORED)

    def _strategy_ids(self, conn: Connection, plan_version: int) -> list[str]:
        # Stored plan versions never change, so their ids can be remembered.
        if not hasattr(self, "_plan_ids"):
            self._plan_ids = {}
        if plan_version not in self._plan_ids:
            self._plan_ids[plan_version] = self._plan(conn, plan_version).ids
        return self._plan_ids[plan_version]

    def _shares_strategy(self, conn: Connection, plan_version: int, ids: set[str]) -> bool:
        # The rule that tells an edit of a plan (some strategy kept) from a plan that replaced
        # it (none kept): the teach-in and the earlier runs a run learns from follow it.
        return bool(ids & set(self._strategy_ids(conn, plan_version)))

    def plan_versions(self, name: str = "default") -> list[PlanVersion]:
        """Every version of the named plan, oldest first."""
        with self._connect(write=False) as conn:
            rows = conn.execute(sa.select(PLANS).where(PLANS.c.name == name)
                                .order_by(PLANS.c.version)).all()
        return [PlanVersion(id=r.id, name=r.name, version=r.version,
                            created_at=r.created_at,
                            strategies=len(json.loads(r.content)["strategies"]),
                            content_hash=r.content_hash) for r in rows]
