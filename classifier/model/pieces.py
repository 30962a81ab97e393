"""The pieces of a long task: a task that names several pieces of work ("Map the order-to-ship
process, find the delays") is scored on its whole text and, half and half, on its best piece, so
one clause about a strategy is not drowned by the rest. Only the task's own text is split, so its
answer still depends on nothing but the plan and the task.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..phrases import PIECE_BREAK, phrases_of

PIECE_WEIGHT = 0.5  # a long task's score: half its whole text, half its best piece


def pieces(text: str) -> list[str]:
    """The pieces of three words or more of a task's text (split where `PIECE_BREAK` says:
    commas, semicolons, line breaks, spaced bars or slashes, sentence ends), when it has two
    or more."""
    return phrases_of(text, PIECE_BREAK)


@dataclass(frozen=True)
class Pieces:
    """The pieces of a list of tasks: their texts, and the row of the task each comes from."""

    texts: list[str]
    row: np.ndarray  # int (m,), position of each piece's task
    vectors: np.ndarray | None = None  # (m, d) grid vectors, once embedded

    @classmethod
    def of(cls, texts: Sequence[str]) -> Pieces:
        """The pieces of every task, in task order."""
        split = [pieces(text) for text in texts]
        return cls([piece for found in split for piece in found],
                   np.repeat(np.arange(len(texts)), [len(found) for found in split]))

    def __len__(self) -> int:
        return len(self.texts)


def with_pieces(whole: np.ndarray, piece_scores: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Per-strategy scores of tasks (n, s) mixed with the best of their pieces' scores (m, s):
    a task with pieces scores half its whole text, half its best piece; others are unchanged."""
    if not len(row):
        return whole
    best = np.full(whole.shape, -np.inf, dtype=np.float64)
    np.maximum.at(best, row, piece_scores)
    has = np.zeros(len(whole), dtype=bool)
    has[row] = True
    mixed = (1.0 - PIECE_WEIGHT) * whole + PIECE_WEIGHT * best
    return np.where(has[:, None], mixed, whole)
