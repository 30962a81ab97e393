"""The plan: a vision and its strategies, loaded from YAML, JSON or a strategies table (CSV,
XLSX), and saved back with the YAML file's comments and key order kept (ruamel.yaml round
trip)."""

from __future__ import annotations

import codecs
import io
import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from textwrap import shorten
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .errors import PlanError
from .phrases import description_phrases

# Ids go into CSV cells, file names and decision files: letters, digits, "-", "_" and "." only.
ID_PATTERN = re.compile(r"^[\w.-]+$")
# In a decisions file or a label column `none` means "serves no strategy", so no strategy may
# be called that.
NO_STRATEGY_ID = "none"
RESERVED_IDS = {NO_STRATEGY_ID}
NO_STRATEGY_WORDS = "serves no strategy"  # what `none` means, in a person's words
# Validation context for plans read back from a store: saved before the id rule, they stay readable.
STORED = {"stored": True}


def _without_nul(value: Any, info: ValidationInfo) -> Any:
    """A plan's text as given, or ValueError if it holds a NUL character (an escaped \\u0000 in
    JSON or \\0 in YAML): SQLite kept it, PostgreSQL refused the plan naming no file or field."""
    if isinstance(info.context, dict) and info.context.get("stored"):
        return value  # a plan a store already holds stays readable
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("holds a NUL character; remove it")
    if isinstance(value, list):
        for position, item in enumerate(value, start=1):
            if isinstance(item, str) and "\x00" in item:
                raise ValueError(f"example {position} holds a NUL character; remove it")
    return value


class Thresholds(BaseModel):
    """Where `aligned` ends and `review` and `misaligned` begin; always present, never None-ish."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # .nan compares as nothing

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

    @field_validator("id")
    @classmethod
    def _plain_id(cls, value: str, info: ValidationInfo) -> str:
        if isinstance(info.context, dict) and info.context.get("stored"):
            return value
        if not ID_PATTERN.match(value):
            raise ValueError(f"id {value!r} may hold only letters, digits, '-', '_' and '.'")
        if value.casefold() in RESERVED_IDS:
            raise ValueError(f"id {value!r} is reserved (it means 'serves no strategy')")
        return value

    @field_validator("name")
    @classmethod
    def _names_a_strategy(cls, value: str, info: ValidationInfo) -> str:
        # A decision or label cell holding this name would read as "serves no strategy".
        if not (isinstance(info.context, dict) and info.context.get("stored")) \
                and means_no_strategy(value):
            raise ValueError(f"{value!r} is what decisions and labels write for a task that "
                             f"serves no strategy; call the strategy something else")
        return value

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

    @field_validator("name", "description", "examples")
    @classmethod
    def _no_nul(cls, value: Any, info: ValidationInfo) -> Any:
        return _without_nul(value, info)

    def statement(self) -> str:
        """The strategy in one text: its name, and its description when it has one."""
        return f"{self.name}: {self.description}" if self.description else self.name

    def phrases(self) -> list[str]:
        """The things the description names, when two or more: its phrases of three words or
        more ("End hunger, achieve food security and ..." -> "achieve food security", ...), or
        each item of a list ("freeze account, routing, pin change" -> "routing", ...)."""
        return description_phrases(self.description, skip=self.name)

    def texts(self, phrases: bool = True) -> list[str]:
        """The texts this strategy is matched on: its statement, its bare name, the
        description's phrases (unless `phrases` is False), each example."""
        texts = [self.statement()]
        if self.description:
            texts.append(self.name)
            texts += self.phrases() if phrases else []
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

    @field_validator("vision")
    @classmethod
    def _no_nul(cls, value: str, info: ValidationInfo) -> str:
        return str(_without_nul(value, info))

    @field_validator("strategies")
    @classmethod
    def _valid_strategies(cls, value: list[Strategy], info: ValidationInfo) -> list[Strategy]:
        if not value:
            raise ValueError("the plan has no strategies; add at least one under `strategies:`")
        seen: dict[str, int] = {}
        named: dict[str, int] = {}
        stored = isinstance(info.context, dict) and info.context.get("stored")
        for position, strategy in enumerate(value, start=1):
            if strategy.id in seen:
                raise ValueError(f"duplicate strategy id {strategy.id!r} "
                                 f"(strategies {seen[strategy.id]} and {position})")
            seen[strategy.id] = position
            # A person names a strategy in a decisions file, and sees it by name on the Review
            # page and in reports: two of one name cannot be told apart (a plan a store holds
            # from before this rule stays readable).
            name = _plain_words(strategy.name)
            if name in named and not stored:
                raise ValueError(f"strategy {position} {strategy.name!r}: the same name as "
                                 f"strategy {named[name]}; names tell strategies apart in "
                                 f"reviews and reports")
            named.setdefault(name, position)
        return value

    def strategy(self, strategy_id: str) -> Strategy:
        """The strategy with this id; PlanError names the ids there are if it has none."""
        for strategy in self.strategies:
            if strategy.id == strategy_id:
                return strategy
        raise PlanError(f"no strategy {strategy_id!r} in the plan; ids are: {', '.join(self.ids)}")

    @property
    def ids(self) -> list[str]:
        """The strategy ids, in plan order."""
        return [strategy.id for strategy in self.strategies]

    @property
    def names(self) -> dict[str, str]:
        """Strategy name by id."""
        return {strategy.id: strategy.name for strategy in self.strategies}

    def meant(self, answer: str) -> str | None:
        """The strategy id a person's answer names (a decision or label cell): an id or a
        strategy's name (case and spacing aside, when no other strategy has it), or `none`
        (also "serves no strategy"); None when it names nothing of this plan."""
        answer = answer.strip()
        if answer in self.ids:
            return answer
        if means_no_strategy(answer):
            return NO_STRATEGY_ID
        words = _plain_words(answer)
        for spelt in (lambda s: s.id, lambda s: s.name):
            named = [s.id for s in self.strategies if _plain_words(spelt(s)) == words]
            if named:
                return named[0] if len(named) == 1 else None
        return None


def _words_up_to(text: str, read: int) -> str:
    """Where a text is cut, as a person finds it: its last few words read, and which word of
    how many that is ("“…the last words read” (word 180 of 1,650)")."""
    words = text[:read].split()
    # The window can end inside a word: that word is not read whole.
    if read < len(text) and words and not text[read].isspace():
        words = words[:-1]
    return (f"“…{' '.join(words[-6:])}” (word {len(words):,} of {len(text.split()):,})")


def cut_texts(plan: Plan, read: Callable[[str], int], window: int) -> list[str]:
    """A line for each text of the plan the model reads only the start of (`read`: how many
    characters of a text it reads, `window` its word pieces), said in the plan's terms."""
    lines = []
    why = f"the model reads the first {window} word pieces of each text"
    for strategy in plan.strategies:
        named = f"strategy {shorten(strategy.name, 60, placeholder='...')!r}"
        statement = strategy.statement()
        if (cut := read(statement)) < len(statement):
            head = len(strategy.name) + 2  # "name: "
            if not strategy.description or cut < head:
                lines.append(f"{named}: its name is read only up to "
                             f"{_words_up_to(strategy.name, cut)}; {why}")
            else:
                phrases = strategy.phrases()
                rest = ("past it, the description counts only through its phrases, each read "
                        "on its own" if phrases else "shorten it, or write it as a list (one "
                        "thing a line), whose items are read on their own")
                lines.append(f"{named}: its description is read only up to "
                             f"{_words_up_to(strategy.description, cut - head)}; {why}: {rest}")
        for phrase in strategy.phrases():
            if (cut := read(phrase)) < len(phrase):
                lines.append(f"{named}: the phrase of its description that begins "
                             f"“{' '.join(phrase.split()[:6])}…” is read only up to "
                             f"{_words_up_to(phrase, cut)}; {why}")
        for number, example in enumerate(strategy.examples, start=1):
            if (cut := read(example)) < len(example):
                lines.append(f"{named}: example {number} is read only up to "
                             f"{_words_up_to(example, cut)}; {why}")
    return lines


def _plain_words(text: str) -> str:
    return " ".join(text.split()).casefold()


def means_no_strategy(answer: str) -> bool:
    """Whether a person's answer says "serves no strategy": `none` or those words, case and
    spacing aside (decision and label cells alike)."""
    return _plain_words(answer) in (NO_STRATEGY_ID, NO_STRATEGY_WORDS)


def _where(loc: tuple[int | str, ...], data: object, rows: list[int] | None = None) -> str:
    """A pydantic error location in a person's words: `strategy 4 (id 'x y').name`, or `row 5
    (...)` for a strategies table whose `rows` say where each strategy stands."""
    parts: list[str] = []
    node = data
    for position, part in enumerate(loc):
        if isinstance(part, int):
            if loc[:position] != ("strategies",):
                label = f"item {part + 1}"
            elif rows is not None and part < len(rows):
                label = f"row {rows[part]}"
            else:
                label = f"strategy {part + 1}"
            item = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(item, dict) and item.get("id") not in (None, ""):
                label += f" (id {str(item['id'])!r})"
            elif isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"]:
                label += f" ({shorten(item['name'], 40, placeholder='...')!r})"
            if parts and parts[-1] == "strategies":
                parts[-1] = label
            else:
                parts.append(label)
            node = item
        else:
            parts.append(str(part))
            node = node.get(part) if isinstance(node, dict) else None
    return ".".join(parts)


def _rows_said(found: re.Match[str], rows: list[int]) -> str:
    """"strategy 3" or "strategies 1 and 3" of a plan validator's message as the rows of its
    table."""
    numbers = [rows[int(n) - 1] if 0 < int(n) <= len(rows) else int(n)
               for n in found.groups() if n is not None]
    return " and ".join(map(str, numbers)).join(("rows " if len(numbers) > 1 else "row ", ""))


def _describe_validation_error(source: str, error: ValidationError, data: object,
                               rows: list[int] | None = None) -> str:
    problems = []
    items = error.errors()
    # A strategy without a name cannot have an id made from it: its name is the problem.
    nameless = {tuple(item["loc"][:-1]) for item in items if item["loc"][-1:] == ("name",)}
    for item in items:
        if item["loc"][-1:] == ("id",) and tuple(item["loc"][:-1]) in nameless and item[
                "type"] in ("missing", "string_too_short"):
            continue
        where = _where(tuple(item["loc"]), data, rows)
        if item["type"] == "extra_forbidden":
            container = _where(tuple(item["loc"][:-1]), data, rows)
            key = repr(str(item["loc"][-1])) if item["loc"] else ""
            problems.append(f"{container}: unknown key {key}" if container else f"unknown key {key}")
        elif item["type"] == "missing":
            problems.append(f"{where}: required field is missing")
        elif item["type"] == "string_too_short":
            problems.append(f"{where}: is empty")
        else:
            message = item["msg"].removeprefix("Value error, ")
            if rows is not None and where == "strategies":  # a table: its rows, as shown
                message = re.sub(r"\bstrateg(?:y|ies) (\d+)(?: and (\d+))?",
                                 lambda found: _rows_said(found, rows), message)
            # "strategies: strategy 3 ..." says the list twice.
            named = where == "strategies" and message.startswith(("strategy ", "row"))
            problems.append(f"{where}: {message}" if where and not named else message)
    return f"{source}: " + "; ".join(problems)


def id_from_name(name: str, taken: set[str]) -> str:
    """A strategy id made from its name ("Grow recurring revenue" -> grow-recurring-revenue),
    unlike any in `taken`: its first words up to about 32 characters, as a person would type it."""
    slug = ""
    for word in re.findall(r"\w+", name.casefold()):
        if slug and len(slug) + 1 + len(word) > 32:
            break
        slug = f"{slug}-{word}" if slug else word
    slug = slug or "strategy"
    if slug in RESERVED_IDS:
        slug = f"{slug}-strategy"
    candidate, number = slug, 2
    while candidate in taken:
        candidate, number = f"{slug}-{number}", number + 1
    return candidate


def _lacks_id(item: object) -> bool:
    return (isinstance(item, dict) and isinstance(item.get("name"), str)
            and bool(item["name"].strip()) and str(item.get("id") or "").strip() == "")


def _with_ids(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with an id made from the name for each strategy that has a name but no id: a
    manager writes names and descriptions; ids are for files and the store."""
    strategies = data.get("strategies")
    if not isinstance(strategies, list) or not any(_lacks_id(item) for item in strategies):
        return data
    taken = {str(item["id"]).strip() for item in strategies
             if isinstance(item, dict) and not _lacks_id(item) and item.get("id") is not None}
    filled = []
    for item in strategies:
        if _lacks_id(item):
            made = id_from_name(item["name"], taken)
            taken.add(made)
            item = {"id": made, **{k: v for k, v in item.items() if k != "id"}}
        filled.append(item)
    return {**data, "strategies": filled}


def plan_from_dict(data: object, source: str = "plan", rows: list[int] | None = None) -> Plan:
    """Validate a plan from already-parsed data; errors name `source`, the strategy (its `rows`
    in a table) and field. A strategy without an id gets one made from its name."""
    if not isinstance(data, dict):
        # YAML reads any text as a plan file of one string: "found str" said nothing to a
        # manager who gave a .txt or a list of names.
        raise PlanError(f"{source}: not a plan: a plan file is YAML or JSON with `vision:` and "
                        f"`strategies:` (each with a name), or a strategies table (.csv, .xlsx) "
                        f"with a column name")
    try:
        return Plan.model_validate(_with_ids(data))
    except ValidationError as error:
        # Named as the file has it: an id made from a name is no word of the person's.
        raise PlanError(_describe_validation_error(source, error, data, rows)) from None


def _id_made_from_name(strategy: Strategy) -> bool:
    """Whether the id is what `id_from_name` makes of the name (a file that gave none)."""
    made = id_from_name(strategy.name, set())
    return strategy.id == made or re.fullmatch(re.escape(made) + r"-\d+", strategy.id) is not None


def _same_name(new: Strategy, old: Strategy) -> bool:
    return " ".join(new.name.split()).casefold() == " ".join(old.name.split()).casefold()


def _renamed(new: Strategy, old: Strategy) -> bool:
    """Whether `old` is `new`, maybe under an earlier name: the same name (its description
    reworded), the same description (a name reworded), or, where neither has a description, a
    name spelt nearly the same (a typo mended). Only a new name and a new description make a
    new strategy."""
    from difflib import SequenceMatcher

    if _same_name(new, old):
        return True
    if new.description != old.description:
        return False
    if new.description:
        return True
    return SequenceMatcher(None, new.name.casefold(), old.name.casefold()).ratio() >= 0.8


def keep_earlier_ids(plan: Plan, earlier: Plan | None, past: Sequence[Strategy] = ()
                     ) -> tuple[Plan, list[str]]:
    """`plan` with each strategy whose id was made from its name (a file without ids, an id
    cell left empty) given the id it had in `earlier` where it is the same strategy
    (`_renamed`), else the id a strategy of its name had in a `past` version (newest first),
    so decisions about it keep counting; and a line for each renamed or brought back."""
    if earlier is None:
        return plan, []
    known = {old.id for old in [*earlier.strategies, *past]}
    # An id the person wrote is theirs, and so is one that some strategy had before.
    taken = {strategy.id for strategy in plan.strategies
             if not _id_made_from_name(strategy) or strategy.id in known}
    strategies, notes = [], []
    for strategy in plan.strategies:
        found = None if strategy.id in taken else next(
            (old for old in earlier.strategies if old.id not in taken and _renamed(strategy, old)),
            None)
        back = None if strategy.id in taken or found is not None else next(
            # A strategy gone from the plan comes back by its name only: one merely described
            # like it is a new one.
            (old for old in past if old.id not in taken and _same_name(strategy, old)), None)
        kept = found if found is not None else back
        if kept is None:
            if strategy.id not in earlier.ids and _id_made_from_name(strategy) and any(
                    old.id == strategy.id and _same_name(strategy, old) for old in past):
                # Back under the id its name makes, the one it had: as much back as any, and
                # the Plan page said only "Plan saved." of it.
                notes.append(_back_note(strategy, strategy.id))
            strategies.append(strategy)
            continue
        taken.add(kept.id)
        strategies.append(strategy.model_copy(update={"id": kept.id}))
        if back is not None:
            notes.append(_back_note(strategy, kept.id))
        elif not _same_name(strategy, kept):
            notes.append(f"strategy {strategy.name!r} keeps the id {kept.id!r} it had as "
                         f"{kept.name!r}, so the decisions about it still count (write `id: "
                         f"{kept.id}` in the plan to make sure)")
    if strategies == list(plan.strategies):
        return plan, notes
    return plan.model_copy(update={"strategies": strategies}), notes


def _back_note(strategy: Strategy, strategy_id: str) -> str:
    return (f"strategy {strategy.name!r} gets back the id {strategy_id!r} it had before, so the "
            f"decisions about it count again")


def plan_changes(old: Plan, new: Plan) -> list[str]:
    """What `new` changes of `old`, in words ("the vision", "'Grow revenue' added", ...)."""
    said = ["the vision"] if old.vision != new.vision else []
    before = {strategy.id: strategy for strategy in old.strategies}
    after = {strategy.id: strategy for strategy in new.strategies}
    dropped = [before[sid] for sid in before if sid not in after]
    was: dict[str, Strategy] = {}  # a strategy under its name with another id: not two
    for sid in after:
        found = next((gone for gone in dropped if sid not in before
                      and _same_name(after[sid], gone) and gone not in was.values()), None)
        if found is not None:
            was[sid] = found
    said += [f"{after[sid].name!r} gets id {sid!r} (was {was[sid].id!r})" if sid in was
             else f"{after[sid].name!r} added" for sid in after if sid not in before]
    said += [f"{gone.name!r} dropped" for gone in dropped if gone not in was.values()]
    said += [f"{after[sid].name!r} changed" for sid in after
             if (sid in before and after[sid] != before[sid])
             or (sid in was and after[sid] != was[sid].model_copy(update={"id": sid}))]
    if old.thresholds != new.thresholds:
        said.append("the cut-offs")
    return said


TABLE_SUFFIXES = (".csv", ".xlsx")
# What a strategies table may call its names' column, `name` first: as a task list's text
# column goes by its tracker's names, a plan kept in a spreadsheet heads it "Strategy".
NAME_COLUMNS = ("name", "strategy", "strategy name", "strategy title", "title")


def with_what_a_table_lacks(plan: Plan, path: str | os.PathLike[str],
                            earlier: Plan | None) -> Plan:
    """A plan read from a strategies table (.csv, .xlsx) with the earlier plan's vision and
    cut-offs, which a table cannot hold (else every table read undid them); others as they are."""
    if earlier is None or Path(path).suffix.lower() not in TABLE_SUFFIXES:
        return plan
    return plan.model_copy(update={"vision": earlier.vision, "thresholds": earlier.thresholds})


def _read_text(path: Path) -> str:
    if not path.exists():
        raise PlanError(f"{path}: plan file not found")
    if path.is_dir():
        raise PlanError(f"{path}: is a folder, not a plan file")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise PlanError(f"{path}: line {line}: not UTF-8 text; save the plan as UTF-8 (in most "
                        f"editors: Save As, encoding UTF-8)") from None


def _strategies_frame(path: Path) -> Any:
    """The strategies table of a .csv, or of an .xlsx's first sheet with a `name` column."""
    import pandas as pd

    if not path.exists():
        raise PlanError(f"{path}: plan file not found")
    if path.suffix.lower() != ".xlsx":
        # Read as a tasks CSV is (Excel on Windows writes cp1252, in most of Europe `;`): a
        # plan kept in the same spreadsheet as the tasks must open where the tasks do.
        from .errors import TasksError
        from .files.sniffing import detect_encoding, looks_binary, sniff_separator

        try:
            data = path.read_bytes()
            if looks_binary(data):
                raise PlanError(f"{path}: not a strategies table (binary content)")
            text = data.decode(detect_encoding(data, str(path)))
        except TasksError as error:
            raise PlanError(str(error)) from None
        except (OSError, UnicodeDecodeError) as error:
            raise PlanError(f"{path}: cannot read strategies CSV: {error}") from None
        try:
            return pd.read_csv(io.StringIO(text.lstrip("\ufeff")), dtype=str,
                               sep=sniff_separator(text, ","), keep_default_na=False,
                               index_col=False, skip_blank_lines=False)  # rows as numbered
        except Exception as error:  # pandas raises many kinds for a bad CSV
            raise PlanError(f"{path}: cannot read strategies CSV: {error}") from None
    from openpyxl import load_workbook

    from .files.readers import sheets_shown_first

    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False)
        book = load_workbook(path, read_only=True)
        order = sheets_shown_first(book)
        book.close()
    except Exception:  # openpyxl raises many kinds for a file that is no workbook
        raise PlanError(f"{path}: not a readable Excel workbook (.xlsx)") from None
    # The sheets a person sees first: a hidden one's `name` column (a list of people) made
    # every task be classified against "Ana" and "Ben".
    for sheet in order:
        frame = sheets[sheet]
        if _name_columns(frame.columns):
            return frame
    return sheets[order[0]] if order else pd.DataFrame()  # its columns are named in the error


def _table_key(column: object) -> str:
    """A strategies table's column as read: case, spacing, "_" and "-" aside."""
    return " ".join(str(column).replace("_", " ").replace("-", " ").lower().split())


def _name_columns(columns: Sequence[object]) -> list[object]:
    """The columns that can hold the strategies' names: `name` where there is one, else those
    of the other names a plan written in a spreadsheet gives it ("Strategy", "Title")."""
    named = [column for column in columns if _table_key(column) == "name"]
    return named or [column for column in columns if _table_key(column) in NAME_COLUMNS[1:]]


def _plan_from_table_file(path: Path) -> Plan:
    frame = _strategies_frame(path)
    names = _name_columns(frame.columns)
    if len(names) > 1:
        raise PlanError(f"{path}: which column holds the strategies' names? "
                        f"{' and '.join(repr(str(column)) for column in names)} both may; "
                        f"call the one that does `name`")
    if not names:
        raise PlanError(f"{path}: a strategies table needs a column name (or "
                        f"{', '.join(NAME_COLUMNS[1:])}; optionally id, description, examples); "
                        f"found {', '.join(map(str, frame.columns)) or 'no columns'}")
    columns = {_table_key(column): column for column in frame.columns
               if column not in names and _table_key(column) != "name"}
    columns["name"] = names[0]
    strategies = []
    rows = []  # where each strategy stands in the spreadsheet: the header is row 1
    for position, (_, row) in enumerate(frame.iterrows(), start=2):
        cells = {key: str(row[column]).strip() for key, column in columns.items()}
        if not any(cells.values()):
            continue  # a spreadsheet's blank row
        rows.append(position)
        entry: dict[str, Any] = {"id": cells.get("id", ""), "name": cells["name"]}
        if "description" in cells:
            entry["description"] = cells["description"]
        if cells.get("examples"):
            entry["examples"] = [e for e in cells["examples"].split("|") if e.strip()]
        strategies.append(entry)
    if not strategies:
        raise PlanError(f"{path}: no strategies in the table; add a row with a name")
    return plan_from_dict({"vision": "", "strategies": strategies}, str(path), rows)


def _yaml(kind: str = "rt") -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ=kind, pure=True)
    yaml.width = 4096  # long descriptions stay on one line, as people write them
    yaml.allow_unicode = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _round_trip(old_text: str, plan: Plan) -> str | None:
    """The old YAML text changed to hold `plan`, its comments, indentation and quotes kept;
    None if the old text is not a YAML mapping."""
    from ruamel.yaml.util import load_yaml_guess_indent

    try:
        document, indent, block_indent = load_yaml_guess_indent(old_text)
    except Exception:  # an unreadable old file is simply replaced
        return None
    if not isinstance(document, dict):
        return None
    yaml = _yaml()
    yaml.preserve_quotes = True
    document = yaml.load(old_text)
    # The guess gives a sequence item's indent and the dash's offset within it.
    offset = block_indent or 0
    sequence = indent or 2
    yaml.indent(mapping=max(sequence - offset, 2), sequence=sequence, offset=offset)
    buffer = io.StringIO()
    yaml.dump(_update(document, plan_to_dict(plan)), buffer)
    return buffer.getvalue()


def parse_plan_text(text: str, source: str, fmt: str = "yaml") -> Plan:
    """A plan from YAML or JSON text; PlanError names `source`, the line or the field."""
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise PlanError(f"{source}: malformed JSON at line {error.lineno}, "
                            f"column {error.colno}: {error.msg}") from None
    else:
        from ruamel.yaml.error import MarkedYAMLError, YAMLError

        try:
            data = _yaml("safe").load(text)
        except MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line = f" at line {mark.line + 1}" if mark else ""
            problem = error.problem or error.context or "not valid YAML"
            raise PlanError(f"{source}: malformed YAML{line}: {problem}") from None
        except YAMLError as error:
            raise PlanError(f"{source}: malformed YAML: {error}") from None
    if data is None:
        raise PlanError(f"{source}: the plan file is empty")
    return plan_from_dict(data, source)


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read a plan from .yaml/.yml, .json or a strategies table (.csv, .xlsx: a row per
    strategy, columns name and optionally id, description, examples); PlanError names file and
    field."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".xlsx"):
        return _plan_from_table_file(path)
    return parse_plan_text(_read_text(path), str(path), "json" if suffix == ".json" else "yaml")


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The plan as plain data in file order, without empty optional fields."""
    data: dict[str, Any] = {"vision": plan.vision, "strategies": []}
    for strategy in plan.strategies:
        entry: dict[str, Any] = {"id": strategy.id, "name": strategy.name}
        if strategy.description:
            entry["description"] = strategy.description
        if strategy.examples:
            entry["examples"] = list(strategy.examples)
        data["strategies"].append(entry)
    if plan.thresholds is not None:
        data["thresholds"] = plan.thresholds.model_dump(exclude_none=True)
    return data


def dump_plan(plan: Plan, fmt: str = "yaml", indent: int = 2) -> str:
    """The plan as YAML or JSON text (JSON indented by `indent`)."""
    data = plan_to_dict(plan)
    if fmt == "json":
        return json.dumps(data, indent=indent, ensure_ascii=False) + "\n"
    buffer = io.StringIO()
    _yaml().dump(data, buffer)
    return buffer.getvalue()


def _update(node: Any, data: Any) -> Any:
    """`node` (round-trip YAML, or JSON read in order) changed to hold `data`, keeping comments,
    key order and quoting of what did not change; a new value where the shape differs."""
    if isinstance(node, dict) and isinstance(data, dict):
        for key in [key for key in node if key not in data]:
            del node[key]
        for key, value in data.items():
            node[key] = _update(node[key], value) if key in node else value
        return node
    if isinstance(node, list) and isinstance(data, list):
        if _same_strategies(node, data):
            for item, value in zip(node, data, strict=True):
                if "id" not in item:  # the file gives none: the id is made from the name again
                    value = {key: part for key, part in value.items() if key != "id"}
                _update(item, value)
            return node
        if len(node) == len(data) and all(_same(a, b) for a, b in zip(node, data, strict=True)):
            return node
        return data
    return node if _same(node, data) else data


def _same_strategies(node: Any, data: list[Any]) -> bool:
    """Whether a file's list and the plan's are the same strategies in the same order: by id,
    or by name where the file gives no id."""
    return len(node) == len(data) and all(
        isinstance(item, dict) and isinstance(value, dict) and "id" in value
        and (item["id"] == value["id"] if "id" in item else item.get("name") == value.get("name"))
        for item, value in zip(node, data, strict=True))


def _same(node: Any, value: Any) -> bool:
    if isinstance(node, dict) or isinstance(value, dict):
        return False
    if isinstance(node, list) or isinstance(value, list):
        return (isinstance(node, list) and isinstance(value, list) and len(node) == len(value)
                and all(_same(a, b) for a, b in zip(node, value, strict=True)))
    if isinstance(node, str) and isinstance(value, str):
        # A folded (`>`) or literal (`|`) block keeps its form: its text is the same, read
        # without the line breaks and closing newline the block adds.
        return node == value or node.split() == value.split()
    return bool(node == value) and isinstance(node, bool) == isinstance(value, bool)


def save_plan(plan: Plan, path: str | os.PathLike[str]) -> None:
    """Write the plan atomically (YAML unless the path ends in .json); an existing YAML file
    keeps its comments, key order and quoting wherever its content did not change."""
    from .files.atomic import write_text

    path = Path(path)
    raw = path.read_bytes() if path.exists() else b""
    old = raw.decode("utf-8-sig", errors="replace")
    if path.suffix.lower() == ".json":
        text = _json_round_trip(old, plan) if raw else dump_plan(plan, "json")
    else:
        text = (_round_trip(old, plan) if raw else None) or dump_plan(plan)
    # A plan kept on Windows keeps its line ends and byte-order mark: only what changed shows
    # in a diff.
    if b"\r\n" in raw:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    write_text(path, text, encoding="utf-8-sig" if raw.startswith(codecs.BOM_UTF8) else "utf-8")


def _json_round_trip(old_text: str, plan: Plan) -> str:
    """The old JSON text changed to hold `plan`, its key order and indent kept (a fresh dump
    when it is not a JSON object)."""
    indent = _json_indent(old_text)
    try:
        document = json.loads(old_text)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        return dump_plan(plan, "json", indent=indent)
    return json.dumps(_update(document, plan_to_dict(plan)), indent=indent,
                      ensure_ascii=False) + "\n"


def _json_indent(text: str) -> int:
    """The indent of a JSON file's first indented line (2 when it has none)."""
    found = re.search(r"^( +)\S", text, re.MULTILINE)
    return len(found.group(1)) if found else 2
