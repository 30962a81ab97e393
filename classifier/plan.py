"""The plan: a vision and its strategies, loaded from YAML, JSON or a strategies CSV."""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import PlanError


class Thresholds(BaseModel):
    """Where `aligned` ends and `review` and `misaligned` begin; always present, never None-ish."""

    model_config = ConfigDict(extra="forbid")

    aligned: float = Field(description="best score at or above which a task is aligned")
    misaligned: float = Field(description="best score below which a task serves no strategy")
    margin: float = Field(ge=0.0, description="best minus runner-up below which a task needs review")
    fitted_on: str | None = Field(default=None, description="what the thresholds were fitted on")

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.misaligned > self.aligned:
            raise ValueError(
                f"misaligned ({self.misaligned}) must not be above aligned ({self.aligned})"
            )
        return self


class Strategy(BaseModel):
    """One strategy of the plan, with optional examples of tactics known to serve it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    description: str = ""
    examples: list[str] = Field(default_factory=list)

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        # YAML reads `id: 1` as an int; ids are labels, so keep them as text.
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value

    @field_validator("description", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return "" if value is None else value

    @field_validator("examples", mode="before")
    @classmethod
    def _examples_list(cls, value: object) -> object:
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        return value

    @field_validator("examples")
    @classmethod
    def _drop_blank_examples(cls, value: list[str]) -> list[str]:
        return [example.strip() for example in value if example and example.strip()]

    def texts(self) -> list[str]:
        """The texts this strategy is matched on: its name (with description) and each example."""
        head = f"{self.name}: {self.description}" if self.description else self.name
        texts = [head]
        if self.description:
            texts.append(self.name)
        return texts + list(self.examples)


class Plan(BaseModel):
    """A vision and its strategies; `thresholds` are written by `tactics calibrate`."""

    model_config = ConfigDict(extra="forbid")

    vision: str = ""
    strategies: list[Strategy]
    thresholds: Thresholds | None = None

    @field_validator("vision", mode="before")
    @classmethod
    def _vision_text(cls, value: object) -> object:
        return "" if value is None else value

    @field_validator("strategies")
    @classmethod
    def _valid_strategies(cls, value: list[Strategy]) -> list[Strategy]:
        if not value:
            raise ValueError("the plan has no strategies; add at least one under `strategies:`")
        seen: dict[str, int] = {}
        for position, strategy in enumerate(value):
            if strategy.id in seen:
                raise ValueError(
                    f"duplicate strategy id {strategy.id!r} "
                    f"(strategies[{seen[strategy.id]}] and strategies[{position}])"
                )
            seen[strategy.id] = position
        return value

    def strategy(self, strategy_id: str) -> Strategy:
        """The strategy with this id; KeyError if there is none."""
        for strategy in self.strategies:
            if strategy.id == strategy_id:
                return strategy
        raise KeyError(strategy_id)

    @property
    def ids(self) -> list[str]:
        return [strategy.id for strategy in self.strategies]


def _describe_validation_error(source: str, error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        where = "".join(
            f"[{part}]" if isinstance(part, int) else (f".{part}" if i else str(part))
            for i, part in enumerate(item["loc"])
        )
        if item["type"] == "extra_forbidden":
            problems.append(f"unknown key {where!r}" if where else "unknown key")
        elif item["type"] == "missing":
            problems.append(f"{where}: required field is missing")
        else:
            message = item["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
    return f"{source}: " + "; ".join(problems)


def plan_from_dict(data: object, source: str = "plan") -> Plan:
    """Validate a plan from already-parsed data; errors name `source` and the field."""
    if not isinstance(data, dict):
        raise PlanError(f"{source}: expected a mapping with `vision` and `strategies`, "
                        f"found {type(data).__name__}")
    try:
        return Plan.model_validate(data)
    except ValidationError as error:
        raise PlanError(_describe_validation_error(source, error)) from None


def _read_text(path: Path) -> str:
    if not path.exists():
        raise PlanError(f"{path}: plan file not found")
    if path.is_dir():
        raise PlanError(f"{path}: is a folder, not a plan file")
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise PlanError(f"{path}: not UTF-8 text (byte {error.start})") from None


def _plan_from_csv(path: Path) -> Plan:
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as error:  # pandas raises many kinds for a bad CSV
        raise PlanError(f"{path}: cannot read strategies CSV: {error}") from None
    columns = {column.strip().lower(): column for column in frame.columns}
    missing = [name for name in ("id", "name") if name not in columns]
    if missing:
        raise PlanError(f"{path}: strategies CSV needs columns id,name[,description]; "
                        f"missing {', '.join(missing)} (found {', '.join(frame.columns)})")
    strategies = []
    for _, row in frame.iterrows():
        entry = {"id": row[columns["id"]], "name": row[columns["name"]]}
        if "description" in columns:
            entry["description"] = row[columns["description"]]
        if "examples" in columns and row[columns["examples"]].strip():
            entry["examples"] = [e for e in row[columns["examples"]].split("|") if e.strip()]
        strategies.append(entry)
    return plan_from_dict({"vision": "", "strategies": strategies}, str(path))


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read a plan from .yaml/.yml, .json or a strategies .csv; PlanError names file and field."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        if not path.exists():
            raise PlanError(f"{path}: plan file not found")
        return _plan_from_csv(path)
    text = _read_text(path)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise PlanError(f"{path}: malformed JSON at line {error.lineno}, "
                            f"column {error.colno}: {error.msg}") from None
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line = f" at line {mark.line + 1}" if mark else ""
            raise PlanError(f"{path}: malformed YAML{line}: {error.problem or error}") from None
        except yaml.YAMLError as error:
            raise PlanError(f"{path}: malformed YAML: {error}") from None
    if data is None:
        raise PlanError(f"{path}: the plan file is empty")
    return plan_from_dict(data, str(path))


def plan_to_dict(plan: Plan) -> dict:
    """The plan as plain data in file order, without empty optional fields."""
    data: dict = {"vision": plan.vision, "strategies": []}
    for strategy in plan.strategies:
        entry: dict = {"id": strategy.id, "name": strategy.name}
        if strategy.description:
            entry["description"] = strategy.description
        if strategy.examples:
            entry["examples"] = list(strategy.examples)
        data["strategies"].append(entry)
    if plan.thresholds is not None:
        data["thresholds"] = plan.thresholds.model_dump(exclude_none=True)
    return data


def dump_plan(plan: Plan, fmt: str = "yaml") -> str:
    """The plan as YAML or JSON text."""
    data = plan_to_dict(plan)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def save_plan(plan: Plan, path: str | os.PathLike[str]) -> None:
    """Write the plan atomically (YAML unless the path ends in .json)."""
    from .tasks import atomic_write_text

    path = Path(path)
    fmt = "json" if path.suffix.lower() == ".json" else "yaml"
    atomic_write_text(path, dump_plan(plan, fmt))
