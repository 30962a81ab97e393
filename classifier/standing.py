"""A person's standing word over the machine's answer: the decision kept on a task's text
carries to the same text in every later run of the plan (until its strategy leaves the plan)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from .cells import task_key
from .results import DECIDED_BY, Candidate, decided_evidence, decided_figures

if TYPE_CHECKING:
    from .model.engine import Batch, Classifier
    from .plan import Plan
    from .store import Decision


def standing_for(texts: list[str], decisions: dict[str, Decision], classifier: Classifier
                 ) -> list[Decision | None]:
    """Per task, the standing decision on its text, if any (whether it still `holds`)."""
    return [decisions.get(task_key(text)) for text in texts]


def dropped_with_decisions(old: Plan, new: Plan, standing: Mapping[str, Decision]
                           ) -> list[tuple[str, int]]:
    """Each strategy of `old` that `new` drops (its name), with how many of the `standing`
    decisions (`DecisionStore.standing_by_text`) chose it: they stop counting with `new`."""
    chosen = Counter(decision.strategy_id for decision in standing.values())
    return [(strategy.name, chosen[strategy.id]) for strategy in old.strategies
            if strategy.id not in new.ids]


def holds(decision: Decision | None, classifier: Classifier) -> bool:
    """Whether a standing decision still gives its task's answer: its strategy (or "serves no
    strategy") is still in the plan."""
    return decision is not None and (decision.strategy_id is None
                                     or decision.strategy_id in set(classifier.strategy_ids))


def with_decisions(frame: pd.DataFrame, decided: list[Decision | None],
                    classifier: Classifier, batch: Batch | None = None) -> pd.DataFrame:
    """The chunk with each person's decision as its strategy and status, and `decided_by`; a
    task whose decided strategy left the plan keeps the machine's strategy, in review. With
    the chunk's `batch`, a strategy other than the machine's gets its own figures (score,
    runner-up, evidence); evidence that is the task's own text names the decision instead
    (`decided_evidence`)."""
    names = dict(zip(classifier.strategy_ids, classifier.strategy_names, strict=True))
    frame = frame.copy()
    machine = frame["strategy_id"].tolist()
    found: list[tuple[Candidate, ...]] | None = None  # the chunk's candidates, once needed
    for column in ("strategy_id", "strategy", "status", "runner_up_id", "evidence"):
        frame[column] = frame[column].astype(object)
    for position, decision in enumerate(decided):
        if decision is None:
            continue
        if not holds(decision, classifier):
            # A person's word the plan no longer allows is doubt, not the machine's say-so:
            # somebody decides again (the Review page says why).
            frame.iat[position, frame.columns.get_loc("status")] = "review"
            continue
        frame.iat[position, frame.columns.get_loc("strategy_id")] = decision.strategy_id or ""
        frame.iat[position, frame.columns.get_loc("strategy")] = (
            names.get(decision.strategy_id, "") if decision.strategy_id else "")
        frame.iat[position, frame.columns.get_loc("status")] = decision.final_status
        if batch is not None and decision.strategy_id is not None \
                and decision.strategy_id != machine[position]:
            found = found if found is not None else classifier.candidates(batch)
            figures = decided_figures(found[position], decision.strategy_id)
            for column, value in figures._asdict().items():
                frame.iat[position, frame.columns.get_loc(column)] = value
        at = frame.columns.get_loc("evidence")
        frame.iat[position, at] = decided_evidence(frame.iat[position, at], decision.text,
                                                   decision.reviewer, decision.decided_at)
    frame[DECIDED_BY] = [d.reviewer if d is not None and holds(d, classifier) else ""
                         for d in decided]
    return frame
