"""The accuracy benchmarks' data as product plans and labeled task lists: CLINC150 (zero-shot and
k-shot, and its domains as broad strategies), the UN SDG hierarchy (whole, and with goals
3/7/11/14 dropped), and the sample plan.
Read from ../shared/bench (never copied into the project)."""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

from classifier.files.readers import read_tasks
from classifier.model.decision import labels_from_column
from classifier.plan import Plan, Strategy, load_plan

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "bench"
SDG_DROPPED = (3, 7, 11, 14)
# Chosen before any run: the first three domains that came to mind as unlike the rest.
DOMAINS_DROPPED = ("travel", "kitchen_and_dining", "auto_and_commute")
SEED = 0


@dataclass
class Labeled:
    """Task texts with gold strategy ids (None: serves no strategy)."""

    texts: list[str]
    gold: list[str | None]

    def __add__(self, other: Labeled) -> Labeled:
        return Labeled(self.texts + other.texts, self.gold + other.gold)

    @property
    def none_share(self) -> float:
        return sum(g is None for g in self.gold) / max(len(self.gold), 1)


def clinc() -> dict:
    path = SHARED / "clinc150" / "data_full.json"
    if not path.exists():
        raise SystemExit(f"{path}: CLINC150 not found (see ../shared/bench/README.md)")
    return json.loads(path.read_text(encoding="utf-8"))


def clinc_plan(data: dict, shots: int) -> Plan:
    """One strategy per intent (name = intent with spaces), `shots` train examples each."""
    by_intent: dict[str, list[str]] = {}
    for text, intent in data["train"]:
        by_intent.setdefault(intent, []).append(text)
    rng = random.Random(SEED)
    return Plan(vision="CLINC150 intents", strategies=[
        Strategy(id=intent, name=intent.replace("_", " "),
                 examples=rng.sample(by_intent[intent], shots) if shots else [])
        for intent in sorted(by_intent)])


def clinc_split(data: dict, which: str) -> Labeled:
    """`val` or `test` with its out-of-scope queries (gold None)."""
    rows = [(t, i) for t, i in data[which]] + [(t, None) for t, _ in data[f"oos_{which}"]]
    return Labeled([t for t, _ in rows], [g for _, g in rows])


def clinc_domains(data: dict, dropped: tuple[str, ...] = DOMAINS_DROPPED) -> tuple[Plan, Labeled]:
    """A plan of a third shape: CLINC150's domains as broad strategies, each described by its
    intents' names; `test` and `oos_test` as tasks, those of a dropped domain serving none."""
    path = SHARED / "clinc150" / "domains.json"
    domains = json.loads(path.read_text(encoding="utf-8"))
    plan = Plan(vision="CLINC150 domains", strategies=[
        Strategy(id=domain, name=domain.replace("_", " "),
                 description=", ".join(intent.replace("_", " ") for intent in intents))
        for domain, intents in domains.items() if domain not in dropped])
    owner = {intent: domain for domain, intents in domains.items() for intent in intents}
    gold = [None if owner[intent] in dropped else owner[intent] for _, intent in data["test"]]
    return plan, Labeled([text for text, _ in data["test"]] + [t for t, _ in data["oos_test"]],
                         gold + [None] * len(data["oos_test"]))


def _sdg_yaml(name: str) -> dict:
    return YAML(typ="safe", pure=True).load((SHARED / "sdg" / name).read_text(encoding="utf-8"))


def sdg(dropped: tuple[int, ...] = ()) -> tuple[Plan, Labeled]:
    """Goals as strategies (name = short name, description = title); targets and indicators as
    tasks of goal N; those of a dropped goal serve no strategy left."""
    goals = _sdg_yaml("global_goals.yml")
    numbers = sorted({int(str(k).split("-")[0]) for k in goals})
    plan = Plan(vision="The Sustainable Development Goals", strategies=[
        Strategy(id=f"goal-{n}", name=str(goals[f"{n}-short"]).strip(),
                 description=re.sub(r"\s+", " ", str(goals[f"{n}-title"])).strip())
        for n in numbers if n not in dropped])
    texts, gold = [], []
    for name in ("global_targets.yml", "global_indicators.yml"):
        for key, value in _sdg_yaml(name).items():
            if not str(key).endswith("-title"):
                continue
            n = int(str(key).split("-")[0])
            texts.append(re.sub(r"\s+", " ", str(value)).strip())
            gold.append(None if n in dropped else f"goal-{n}")
    return plan, Labeled(texts, gold)


def halves(tasks: Labeled, fold: int = 0) -> tuple[Labeled, Labeled]:
    """Half the tasks to review, the other half to classify. Fold 0: every other task (even
    positions reviewed); fold 1 the other way round; folds 2 and 3: positions 1-2 and 0-3 of
    every four reviewed, and the other way round."""
    pattern = [(0, 2), (1, 3), (1, 2), (0, 3)][fold % 4]
    reviewed = [i % 4 in pattern for i in range(len(tasks.texts))]
    pick = [[i for i, r in enumerate(reviewed) if r == want] for want in (True, False)]
    first, second = ([tasks.texts[i] for i in rows] for rows in pick)
    gold_first, gold_second = ([tasks.gold[i] for i in rows] for rows in pick)
    return Labeled(first, gold_first), Labeled(second, gold_second)


def with_ticket_keys(tasks: Labeled) -> Labeled:
    """The same tasks as pasted from a tracker: each with a key in one of four common forms
    ("OPS-123: ...", "[WID-123] ...", "... (JIRA-123)", "#123 ..."), fixed seed."""
    rng = random.Random(SEED)
    forms = ["OPS-{n}: {t}", "[WID-{n}] {t}", "{t} (JIRA-{n})", "#{n} {t}"]
    return Labeled([rng.choice(forms).format(t=text, n=rng.randint(100, 9999))
                    for text in tasks.texts], list(tasks.gold))


def with_list_marks(tasks: Labeled) -> Labeled:
    """The same tasks as a list or checklist kept in a .txt file or a cell: each with a marker in
    one of four forms ("- [ ] ", "1. ", "• ", "* ") and, for half of them, a closing full stop,
    fixed seed."""
    rng = random.Random(SEED)
    forms = ["- [ ] {t}", "{n}. {t}", "\u2022 {t}", "* {t}"]
    return Labeled([rng.choice(forms).format(t=text, n=n) + rng.choice(["", "."])
                    for n, text in enumerate(tasks.texts, start=1)], list(tasks.gold))


def with_html(tasks: Labeled) -> Labeled:
    """The same tasks as a tracker exports a rich-text field: each in one of three common HTML
    forms (Azure Boards' "<div>...</div>", a paragraph with a break, a styled span), fixed seed."""
    rng = random.Random(SEED)
    forms = ["<div>{t}</div>", "<p>{t}<br></p>",
             '<div><span style="font-size:11pt;font-family:Calibri">{t}</span></div>']
    return Labeled([rng.choice(forms).format(t=text) for text in tasks.texts], list(tasks.gold))


def with_markup(tasks: Labeled) -> Labeled:
    """The same tasks as a tracker keeps a field written in its editor: each in one of six
    Markdown or Jira wiki forms (bold, a heading, Jira's h3. and {color}, a Jira link around it,
    a bold first word), fixed seed."""
    rng = random.Random(SEED)
    forms = ["**{t}**", "### {t}", "h3. {t}", "{{color:#172B4D}}{t}{{color}}",
             "[{t}|https://acme.atlassian.net/browse/OPS-{n}]", "*{first}* {rest}"]
    marked = []
    for n, text in enumerate(tasks.texts, start=1):
        first, _, rest = text.partition(" ")
        marked.append(rng.choice(forms).format(t=text, n=n, first=first, rest=rest).strip())
    return Labeled(marked, list(tasks.gold))


def sample(with_examples: bool = True) -> tuple[Plan, Labeled]:
    """data/plan.yaml (without thresholds; examples optional) and data/labeled.csv."""
    plan = load_plan(ROOT / "data" / "plan.yaml").model_copy(update={"thresholds": None})
    if not with_examples:
        plan = plan.model_copy(update={"strategies": [
            s.model_copy(update={"examples": []}) for s in plan.strategies]})
    frame, column = read_tasks(ROOT / "data" / "labeled.csv")
    return plan, Labeled(frame[column].tolist(), labels_from_column(frame["label"].tolist()))


WRITTEN = ("ward", "saas", "admissions", "nonprofit", "parks",
           "plant", "litigation", "restaurants", "library", "bankcyber")


def written(name: str) -> tuple[Plan, Labeled]:
    """One of the hand-written plans of other domains (benchmarks/plans/README.md)."""
    folder = Path(__file__).resolve().parent / "plans"
    frame, column = read_tasks(folder / f"{name}.csv")
    return load_plan(folder / f"{name}.yaml"), Labeled(
        frame[column].tolist(), [None if g == "none" else g for g in frame["gold"]])

