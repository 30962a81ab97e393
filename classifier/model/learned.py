"""What review decisions teach: example texts per strategy, and tasks that serve no strategy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..cells import is_blank
from ..plan import Plan

# Thresholds are re-fitted from decisions only past this many, with this many of each kind
# (tasks given a strategy, tasks given none): fewer make the cut-offs jump with every click.
MIN_DECISIONS = 30
MIN_EACH_KIND = 3


@dataclass(frozen=True)
class Learned:
    """Examples learned from decisions: texts per strategy id, negatives, and how many decisions."""

    examples: dict[str, list[str]] = field(default_factory=dict)
    negatives: list[str] = field(default_factory=list)
    decisions: int = 0

    @classmethod
    def from_frame(cls, frame: pd.DataFrame | None) -> Learned:
        """From `Store.learned_examples`: removed rows are skipped; a text decided twice keeps
        its latest decision; an empty strategy id means "serves no strategy"."""
        rows = counted(frame)
        labels = [None if is_blank(sid) else str(sid).strip() for sid in rows["strategy_id"]]
        return cls.from_labels([str(t).strip() for t in rows["text"]], labels)

    @classmethod
    def from_labels(cls, texts: Sequence[str], labels: Sequence[str | None]) -> Learned:
        """From decided texts and their strategy ids (None: serves no strategy)."""
        examples: dict[str, list[str]] = {}
        negatives: list[str] = []
        for text, label in zip(texts, labels, strict=True):
            if label is None:
                negatives.append(text)
            else:
                examples.setdefault(label, []).append(text)
        return cls(examples, negatives, len(texts))

    def labeled(self) -> tuple[list[str], list[str | None]]:
        """Every decided text with its strategy id (None for a negative)."""
        texts = [t for examples in self.examples.values() for t in examples] + self.negatives
        labels: list[str | None] = [sid for sid, examples in self.examples.items()
                                    for _ in examples]
        return texts, labels + [None] * len(self.negatives)

    def for_plan(self, plan: Plan) -> Learned:
        """Only examples of strategies the plan still has (a removed strategy's are ignored)."""
        ids = set(plan.ids)
        kept = {sid: list(texts) for sid, texts in self.examples.items() if sid in ids}
        count = sum(map(len, kept.values())) + len(self.negatives)
        return Learned(kept, list(self.negatives), count)

    def enough_for_thresholds(self) -> bool:
        """True once thresholds may be re-fitted from these decisions (see `learning`)."""
        positives = sum(map(len, self.examples.values()))
        return enough_to_fit(self.decisions, positives, len(self.negatives))


def enough_to_fit(labeled: int, with_strategy: int, serving_none: int) -> bool:
    """Whether this many labeled tasks may set cut-offs: review decisions and a labeled file
    (`tactics calibrate`) follow the same rule."""
    return (labeled >= MIN_DECISIONS and with_strategy >= MIN_EACH_KIND
            and serving_none >= MIN_EACH_KIND)


def counted(frame: pd.DataFrame | None, plan: Plan | None = None) -> pd.DataFrame:
    """The rows of `Store.learned_examples` that teach (what `Learned.from_frame` counts, and
    with `plan` what `.for_plan(plan)` keeps): not removed, not blank, each text's latest
    decision only, ordered by when it was taken; examples of strategies the plan lacks left out."""
    if frame is None or frame.empty:
        return pd.DataFrame({"text": [], "strategy_id": [], "decided_at": []})
    rows = frame
    if "removed" in rows.columns:
        rows = rows[~rows["removed"].fillna(False).astype(bool)]
    if "decided_at" in rows.columns:
        rows = rows.sort_values("decided_at", kind="stable")
    rows = rows[np.array([not is_blank(text) for text in rows["text"]], dtype=bool)]
    key = rows["text"].astype(str).str.strip()
    rows = rows[~key.duplicated(keep="last")]
    if plan is None:
        return rows
    ids = set(plan.ids)
    return rows[np.array([is_blank(sid) or str(sid).strip() in ids
                          for sid in rows["strategy_id"]], dtype=bool)]
