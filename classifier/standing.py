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
    """Per task, the standing decision on its text (if its strategy is still in the plan)."""
    known = set(classifier.strategy_ids)
    found: list[Decision | None] = []
    for text in texts:
        decision = decisions.get(text.strip())
        if decision is not None and decision.strategy_id is not None \
                and decision.strategy_id not in known:
            decision = None  # its strategy left the plan: the machine's answer, back to review
        found.append(decision)
    return found


def with_decisions(frame: pd.DataFrame, decided: list[Decision | None],
                    classifier: Classifier) -> pd.DataFrame:
    """The chunk with each person's decision as its strategy and status, and `decided_by`."""
    names = dict(zip(classifier.strategy_ids, classifier.strategy_names, strict=True))
    frame = frame.copy()
    for column in ("strategy_id", "strategy", "status"):
        frame[column] = frame[column].astype(object)
    for position, decision in enumerate(decided):
        if decision is None:
            continue
        frame.iat[position, frame.columns.get_loc("strategy_id")] = decision.strategy_id or ""
        frame.iat[position, frame.columns.get_loc("strategy")] = (
            names.get(decision.strategy_id, "") if decision.strategy_id else "")
        frame.iat[position, frame.columns.get_loc("status")] = decision.final_status
    frame[DECIDED_BY] = [d.reviewer if d is not None else "" for d in decided]
    return frame
