"""The workers' side: what a worker needs to build the driver's classifier, and the result
arrays of a block as a flat table that travels back through Ray's object store (with the
vectors of the texts the worker embedded, when the driver keeps them in a store)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ClassifierError
from ..model.embedding import Embedder, EmbedderSettings, VectorBank, get_embedder
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
# The texts a worker embedded for a block and their vectors (see ClassifyBlock.with_vectors):
# the driver keeps them in its store, as a local run does.
VECTOR_TEXT = "__vector_text"
VECTOR = "__vector"


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
    keep_vectors: bool = False  # the driver keeps task vectors (a store): send them back

    @classmethod
    def of(cls, classifier: Classifier) -> ClassifierSpec:
        """The spec of a classifier whose embedder is the project's (so a worker can load it)."""
        if not isinstance(classifier.embedder, Embedder):
            raise ClassifierError(f"--ray: a worker cannot rebuild an embedder of type "
                                  f"{type(classifier.embedder).__name__}; use the project's "
                                  f"Embedder")
        return cls(classifier.plan, classifier.embedder.settings, classifier.thresholds,
                   classifier.match, classifier.top_k, classifier.learned, classifier.earlier,
                   keep_vectors=classifier.vectors is not None)

    def build(self) -> Classifier:
        """The classifier, its model loaded once for this process."""
        return Classifier(self.plan, get_embedder(self.embedder), thresholds=self.thresholds,
                          match=self.match, top_k=self.top_k, learned=self.learned,
                          earlier=self.earlier)


@dataclass
class Collected:
    """A VectorBank that knows nothing and gathers what is put in it: a worker cannot reach
    the driver's store, so the vectors it embeds travel back with its results."""

    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    sent: set[str] = field(default_factory=set)

    def vectors_get(self, model: str, texts: Sequence[str], dimension: int
                    ) -> dict[str, np.ndarray]:
        return {}

    def vectors_put(self, model: str, vectors: Mapping[str, np.ndarray]) -> None:
        # The embedder also puts what it found in its cache; a worker sends a text once.
        self.vectors.update((text, vector) for text, vector in vectors.items()
                            if text not in self.sent)

    def take(self) -> dict[str, np.ndarray]:
        """What was gathered since the last take."""
        taken, self.vectors = self.vectors, {}
        self.sent.update(taken)
        return taken


class ClassifyBlock:
    """A Ray Data worker: one classifier per actor, built once, then block after block of
    (row, text) into the result arrays of each row."""

    def __init__(self, spec: ClassifierSpec):
        try:
            self.classifier = spec.build()
        except ClassifierError as error:
            raise carried(error) from None
        self.collected = Collected() if spec.keep_vectors else None
        self.classifier.vectors = self.collected

    def __call__(self, block: pd.DataFrame) -> pd.DataFrame:
        batch = self.classify(block[TEXT].tolist())
        return self.with_vectors(batch_frame(block[ROW].to_numpy(dtype=np.int64), batch))

    def classify(self, texts: list[str]) -> Batch:
        """The block's result arrays; a failure as the project's one line."""
        try:
            return self.classifier.classify_batch(texts)
        except ClassifierError as error:
            raise carried(error) from None

    def with_vectors(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The block's results with the vectors embedded for it (when the driver keeps them):
        all in the first row, as a JSON list of texts and their float32 vectors' bytes."""
        if self.collected is None or not len(frame):
            return frame
        taken = self.collected.take()
        texts: list[str | None] = [None] * len(frame)
        vectors: list[bytes | None] = [None] * len(frame)
        if taken:
            texts[0] = json.dumps(list(taken), ensure_ascii=False)
            vectors[0] = np.asarray(list(taken.values()), dtype=np.float32).tobytes()
        return frame.assign(**{VECTOR_TEXT: pd.Series(texts, dtype=object),
                               VECTOR: pd.Series(vectors, dtype=object)})


def keep_vectors(classifier: Classifier, frame: pd.DataFrame) -> None:
    """The vectors a worker sent back with a block, kept in the driver's store (if any)."""
    bank: VectorBank | None = classifier.vectors
    if bank is None or VECTOR not in frame.columns:
        return
    for texts, vectors in zip(frame[VECTOR_TEXT], frame[VECTOR], strict=True):
        if isinstance(texts, str) and isinstance(vectors, bytes | bytearray):
            names = json.loads(texts)
            matrix = np.frombuffer(vectors, dtype=np.float32).reshape(len(names), -1)
            bank.vectors_put(classifier.embedder.fingerprint, dict(zip(names, matrix, strict=True)))


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
