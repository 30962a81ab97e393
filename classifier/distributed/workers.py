"""The workers' side: what a worker needs to build the driver's classifier, and the result
arrays of a block as a flat table that travels back through Ray's object store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ClassifierError
from ..model.embedding import Embedder, EmbedderSettings, get_embedder
from ..model.engine import Batch, Classifier
from ..model.history import Earlier
from ..model.index import Matches, MatchSettings
from ..model.learned import Learned
from ..plan import Plan, Thresholds
from .runtime import carried

ROW = "__row"  # the input row (from 0) a result belongs to: order is checked on the driver
TEXT = "__text"
EMPTY = "__empty"
STATUS = "__status"


@dataclass(frozen=True)
class ClassifierSpec:
    """What a worker needs to build the very classifier the driver has (it pickles small)."""

    plan: Plan
    embedder: EmbedderSettings
    thresholds: Thresholds
    match: MatchSettings
    top_k: int
    learned: Learned
    earlier: Earlier

    @classmethod
    def of(cls, classifier: Classifier) -> ClassifierSpec:
        """The spec of a classifier whose embedder is the project's (so a worker can load it)."""
        if not isinstance(classifier.embedder, Embedder):
            raise ClassifierError(f"--ray: a worker cannot rebuild an embedder of type "
                                  f"{type(classifier.embedder).__name__}; use the project's "
                                  f"Embedder")
        return cls(classifier.plan, classifier.embedder.settings, classifier.thresholds,
                   classifier.match, classifier.top_k, classifier.learned, classifier.earlier)

    def build(self) -> Classifier:
        """The classifier, its model loaded once for this process (task vectors are not kept
        in the store from a worker: they are the same wherever computed)."""
        return Classifier(self.plan, get_embedder(self.embedder), thresholds=self.thresholds,
                          match=self.match, top_k=self.top_k, learned=self.learned,
                          earlier=self.earlier)


class ClassifyBlock:
    """A Ray Data worker: one classifier per actor, built once, then block after block of
    (row, text) into the result arrays of each row."""

    def __init__(self, spec: ClassifierSpec):
        try:
            self.classifier = spec.build()
        except ClassifierError as error:
            raise carried(error) from None

    def __call__(self, block: pd.DataFrame) -> pd.DataFrame:
        try:
            batch = self.classifier.classify_batch(block[TEXT].tolist())
        except ClassifierError as error:
            raise carried(error) from None
        return batch_frame(block[ROW].to_numpy(dtype=np.int64), batch)


def batch_frame(rows: np.ndarray, batch: Batch) -> pd.DataFrame:
    """A batch's arrays as a flat table (one column per candidate rank), rows first."""
    columns: dict[str, Any] = {ROW: rows, EMPTY: batch.empty, STATUS: batch.status}
    for rank in range(batch.matches.strategy.shape[1]):
        columns[f"__strategy{rank}"] = batch.matches.strategy[:, rank]
        columns[f"__score{rank}"] = batch.matches.score[:, rank]
        columns[f"__evidence{rank}"] = batch.matches.evidence[:, rank]
    return pd.DataFrame(columns)


def frame_batch(frame: pd.DataFrame, texts: list[str]) -> Batch:
    """The Batch a worker computed, back from its table, with the driver's own texts."""
    ranks = sum(1 for column in frame.columns if str(column).startswith("__strategy"))

    def matrix(name: str, dtype: type) -> np.ndarray:
        return np.stack([frame[f"__{name}{rank}"].to_numpy(dtype=dtype)
                         for rank in range(ranks)], axis=1).reshape(len(frame), ranks)

    return Batch(texts=["" if t is None else str(t) for t in texts],
                 empty=frame[EMPTY].to_numpy(dtype=bool),
                 matches=Matches(strategy=matrix("strategy", np.int32),
                                 score=matrix("score", np.float64),
                                 evidence=matrix("evidence", np.int32)),
                 status=frame[STATUS].to_numpy(dtype=object))
