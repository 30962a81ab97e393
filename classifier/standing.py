"""A person's standing word over the machine's answer: the decision kept on a task's text
carries to the same text in every later run of the plan (until its strategy leaves the plan)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .results import DECIDED_BY

if TYPE_CHECKING:
    from .model.engine import Classifier
    from .store import Decision


def standing_for(texts: list[str], decisions: dict[str, Decision], classifier: Classifier
                 ) -> list[Decision | None]:
    """Per task, the standing decision on its text, if any (whether it still `holds`)."""
    return [decisions.get(text.strip()) for text in texts]


def holds(decision: Decision | None, classifier: Classifier) -> bool:
    """Whether a standing decision still gives its task's answer: its strategy (or "serves no
    strategy") is still in the plan."""
    return decision is not None and (decision.strategy_id is None
                                     or decision.strategy_id in set(classifier.strategy_ids))


def with_decisions(frame: pd.DataFrame, decided: list[Decision | None],
                    classifier: Classifier) -> pd.DataFrame:
    """The chunk with each person's decision as its strategy and status, and `decided_by`; a
    task whose decided strategy left the plan keeps the machine's strategy, in review."""
    names = dict(zip(classifier.strategy_ids, classifier.strategy_names, strict=True))
    frame = frame.copy()
    for column in ("strategy_id", "strategy", "status"):
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
    frame[DECIDED_BY] = [d.reviewer if d is not None and holds(d, classifier) else ""
                         for d in decided]
    return frame
