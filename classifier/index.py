"""FAISS index over strategy texts; per-task scores for every strategy and the text matched best."""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np


@dataclass(frozen=True)
class MatchSettings:
    """How text hits become one score per strategy."""

    top_k_texts: int = 256  # nearest strategy texts looked at per task
    centroid_weight: float = 0.5  # score = w * centroid similarity + (1 - w) * best text similarity


@dataclass
class Matches:
    """Per-task strategy scores, best first: positions into the index's strategy list."""

    strategy: np.ndarray  # (n, k) int32, strategy positions, best first
    score: np.ndarray  # (n, k) float32
    evidence: np.ndarray  # (n, k) int32, text positions (the text each strategy matched best)


class StrategyIndex:
    """Strategy texts and centroids in two FAISS inner-product indexes (vectors are normalised)."""

    def __init__(self, text_vectors: np.ndarray, text_owner: np.ndarray, n_strategies: int,
                 texts: list[str], settings: MatchSettings | None = None,
                 centroid_members: np.ndarray | None = None):
        """`text_owner[i]` is the strategy position of text i; `centroid_members` masks which
        texts shape a centroid (all by default)."""
        self.settings = settings or MatchSettings()
        self.texts = texts
        self.text_owner = np.asarray(text_owner, dtype=np.int32)
        self.n_strategies = n_strategies
        dimension = text_vectors.shape[1]
        self._texts = faiss.IndexFlatIP(dimension)
        self._texts.add(np.ascontiguousarray(text_vectors, dtype=np.float32))
        members = np.ones(len(texts), bool) if centroid_members is None else centroid_members
        centroids = np.zeros((n_strategies, dimension), dtype=np.float32)
        np.add.at(centroids, self.text_owner[members], text_vectors[members])
        empty = ~np.any(centroids, axis=1)
        if empty.any():  # a strategy whose texts are all excluded still needs a centroid
            np.add.at(centroids, self.text_owner, text_vectors)
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
        self._centroids = faiss.IndexFlatIP(dimension)
        self._centroids.add(centroids)
        # The text that speaks for a strategy when none of its texts is among a task's hits.
        self._head_text = np.full(n_strategies, -1, dtype=np.int32)
        for position in range(len(texts) - 1, -1, -1):
            self._head_text[self.text_owner[position]] = position

    def search(self, vectors: np.ndarray, k: int = 3) -> Matches:
        """The k best strategies for each vector, with scores and the evidence text of each."""
        n = len(vectors)
        k = min(k, self.n_strategies)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if n == 0:
            empty = np.zeros((0, k), dtype=np.int32)
            return Matches(empty, np.zeros((0, k), np.float32), empty.copy())
        text_k = min(self.settings.top_k_texts, self._texts.ntotal)
        hit_score, hit_text = self._texts.search(vectors, text_k)
        centroid_score, centroid_id = self._centroids.search(vectors, self.n_strategies)

        rows = np.repeat(np.arange(n), text_k)
        owners = self.text_owner[hit_text.ravel()]
        best_text = np.full((n, self.n_strategies), -np.inf, dtype=np.float32)
        # Hits come best first, so writing them in reverse leaves each strategy's best hit.
        order = np.arange(rows.size)[::-1]
        best_text[rows[order], owners[order]] = hit_score.ravel()[order]
        evidence = np.tile(self._head_text, (n, 1))
        evidence[rows[order], owners[order]] = hit_text.ravel()[order]

        centroid = np.empty((n, self.n_strategies), dtype=np.float32)
        np.put_along_axis(centroid, centroid_id, centroid_score, axis=1)
        # A strategy with no text among the hits scores no more than the last hit.
        floor = hit_score[:, -1:]
        best_text = np.where(np.isfinite(best_text), best_text, np.minimum(floor, centroid))

        weight = self.settings.centroid_weight
        score = weight * centroid + (1.0 - weight) * best_text
        top = np.argsort(-score, axis=1, kind="stable")[:, :k].astype(np.int32)
        return Matches(
            strategy=top,
            score=np.take_along_axis(score, top, axis=1).astype(np.float32),
            evidence=np.take_along_axis(evidence, top, axis=1).astype(np.int32),
        )
