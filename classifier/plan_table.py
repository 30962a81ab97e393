"""A plan as an editable table (one row per strategy, examples joined by ` | `) and back, with
errors that name the row as a person sees it (1 = the first row)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .cells import cell_text
from .errors import PlanError
from .plan import (
    ID_PATTERN,
    RESERVED_IDS,
    Plan,
    means_no_strategy,
    plan_from_dict,
    plan_to_dict,
)

EXAMPLE_SEPARATOR = " | "
COLUMNS = ["id", "name", "description", "examples"]


def plan_table(plan: Plan) -> pd.DataFrame:
    """The strategies as an editable table; examples joined by ` | ` in one cell."""
    return pd.DataFrame({
        "id": [s.id for s in plan.strategies],
        "name": [s.name for s in plan.strategies],
        "description": [s.description for s in plan.strategies],
        "examples": [EXAMPLE_SEPARATOR.join(s.examples) for s in plan.strategies],
    }, dtype=object)


def blank_table() -> pd.DataFrame:
    """The editable table of a plan begun from nothing: its columns, no strategy yet."""
    return pd.DataFrame({column: pd.Series(dtype=object) for column in COLUMNS})


def reading_table(plan: Plan) -> pd.DataFrame:
    """How the classifier reads each strategy beside its statement: the phrases of its
    description that count as texts of their own, and how many examples it has."""
    return pd.DataFrame({
        "strategy": [s.name for s in plan.strategies],
        "phrases": [" · ".join(s.phrases()) for s in plan.strategies],
        "examples": [len(s.examples) for s in plan.strategies],
    })


def plan_from_table(vision: str, table: pd.DataFrame, base: Plan) -> Plan:
    """The plan the table describes (thresholds kept); PlanError names the row and field.

    Wholly blank rows (the editor's new row) are skipped; a row with a description but no name
    is refused, never saved half-filled; a row without an id gets one made from its name.
    """
    strategies: list[dict[str, Any]] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    named: dict[str, int] = {}
    for position, (_, row) in enumerate(table.iterrows(), start=1):
        cells = {column: cell_text(row.get(column)) for column in COLUMNS}
        if not any(cells.values()):
            continue
        name = " ".join(cells["name"].split()).casefold()
        if not cells["name"]:
            problems.append(f"row {position}: name is empty")
        elif means_no_strategy(name):
            problems.append(f"row {position}: name {cells['name']!r} is what decisions write "
                            f"for a task that serves no strategy; call it something else")
        elif name in named:
            problems.append(f"row {position} {cells['name']!r}: the same name as row "
                            f"{named[name]}; names tell strategies apart in reviews and reports")
        named.setdefault(name, position)
        strategy_id = cells["id"]
        if strategy_id and not ID_PATTERN.match(strategy_id):
            problems.append(f"row {position}: id {strategy_id!r} may hold only letters, digits, "
                            f"'-', '_' and '.'")
        elif strategy_id.casefold() in RESERVED_IDS:
            problems.append(f"row {position}: id {strategy_id!r} is reserved (it means 'serves "
                            f"no strategy')")
        elif strategy_id in seen:
            problems.append(f"rows {seen[strategy_id]} and {position}: the same id "
                            f"{strategy_id!r}")
        if strategy_id:
            seen.setdefault(strategy_id, position)
        strategies.append({
            "id": strategy_id, "name": cells["name"],
            # The editor's new row holds NaN or None in cells left empty, never "".
            "description": cells["description"],
            "examples": [e.strip() for e in cells["examples"].split("|") if e.strip()],
        })
    if not strategies:
        problems.append("the plan has no strategies; add at least one row")
    if problems:
        raise PlanError("plan table: " + "; ".join(problems))
    data: dict[str, Any] = {"vision": vision, "strategies": strategies}
    if base.thresholds is not None:
        data["thresholds"] = base.thresholds.model_dump(exclude_none=True)
    return plan_from_dict(data, "plan table")


def _as_example(text: str) -> str:
    # The plan table joins examples with "|", so one inside an example would split it in two.
    return " ".join(text.replace("|", "/").split())


def with_example(plan: Plan, strategy_id: str, example: str) -> Plan:
    """The plan with one more example for a strategy (PlanError if the strategy is gone)."""
    if strategy_id not in plan.ids:
        raise PlanError(f"no strategy {strategy_id!r} in the plan any more; draft again")
    data = plan_to_dict(plan)
    for entry in data["strategies"]:
        if entry["id"] == strategy_id:
            entry["examples"] = [*entry.get("examples", []), _as_example(example)]
    return plan_from_dict(data, "drafted example")


def with_examples(plan: Plan, added: dict[str, list[str]]) -> tuple[Plan, int]:
    """The plan with examples added to several strategies in one version, and how many were
    added: blank ones, and ones the strategy already has (in any case), are left out."""
    data = plan_to_dict(plan)
    entries = {entry["id"]: entry for entry in data["strategies"]}
    count = 0
    for strategy_id, examples in added.items():
        if examples and strategy_id not in entries:
            raise PlanError(f"no strategy {strategy_id!r} in the plan any more; draft again")
        for example in map(_as_example, examples):
            entry = entries[strategy_id]
            have = {e.casefold() for e in entry.get("examples", [])}
            if example and example.casefold() not in have:
                entry["examples"] = [*entry.get("examples", []), example]
                count += 1
    return (plan_from_dict(data, "drafted examples") if count else plan), count
