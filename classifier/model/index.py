"""FAISS index over strategy texts; per-task scores for every strategy and the text matched best.

A strategy's score is the cosine between the task and the strategy's prototype (the mean of its
texts), optionally mixed with the task's best single-text match. When strategies carry examples,
the prototypes are first refined so each example lies nearer its own strategy than any other
(a softmax over cosines, a few gradient steps).
Tasks a person said serve no strategy, and the shipped generic work as far as the plan disowns
it ("negatives"), lower every score of a task that lies nearer to one of them than to any
strategy text. A share of the words a task shares with each strategy's statement (words.py) is
added to its scores when the tasks' texts are given; a long task's pieces (pieces.py), when
given, count half of its scores.
Measured in benchmarks/accuracy.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import faiss
import numpy as np

from .embedding import to_grid, unit_rows
from .history import adapt_prototypes
from .pieces import Pieces, with_pieces
from .words import WordMatch

NEGATIVE_BLOCK = 2048  # tasks compared with the negatives at once (bounds the memory it takes)


@dataclass(frozen=True)
class MatchSettings:
    """How text hits become one score per strategy."""

    top_k_texts: int = 256  # nearest strategy texts looked at per task
    # score = w * prototype similarity + (1 - w) * best text similarity; the text part lets one
    # learned example that a task nearly repeats carry it (CLINC150 5-shot top-1 0.884 at 0.85)
    centroid_weight: float = 0.85
    refine_steps: int = 100  # gradient steps refining prototypes on examples; 0 keeps plain means
    refine_temperature: float = 0.05  # softmax temperature over cosines while refining
    refine_rate: float = 0.15  # step size of the refinement
    # Generic work shipped with the project (model/reference.py) counts as work that serves no
    # strategy, and sets the plan's default cut-offs; off: fixed cut-offs, learned negatives only.
    reference: bool = True
    # Share of the shared-words score (model/words.py) added to every strategy's score; chosen on
    # CLINC150 val zero-shot (top-1 0.700 at 0, 0.704 at 0.1, 0.706 at 0.15, 0.704 at 0.2).
    word_weight: float = 0.15
    # Each phrase of a strategy's description is one more text of it (plan.Strategy.phrases).
    phrases: bool = True
    # A long task is also scored on its best piece (model/pieces.py).
    pieces: bool = True
    # Tasks are read without ticket keys, links, e-mail addresses, @mentions (model/work_text.py).
    work_text: bool = True


@dataclass
class Matches:
    """Per-task strategy scores, best first: positions into the index's strategy list."""

    strategy: np.ndarray  # (n, k) int32, strategy positions, best first
    score: np.ndarray  # (n, k) float64
    evidence: np.ndarray  # (n, k) int32, text positions (the text each strategy matched best)


def _inner_products(index: faiss.IndexFlatIP, vectors: np.ndarray, k: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """FAISS's k best inner products as float64; exact for grid vectors (see embedding.to_grid)."""
    score, found = index.search(vectors, k)
    return score.astype(np.float64), found


def refine_prototypes(prototypes: np.ndarray, text_vectors: np.ndarray, text_owner: np.ndarray,
                      steps: int, temperature: float, rate: float) -> np.ndarray:
    """Unit prototypes moved so each text's own strategy wins a softmax over cosines.

    Gradient descent on the cross-entropy, staying on the unit sphere; float64, so the result
    differs between CPUs by about 1e-15 and rounds to the same grid vector everywhere.
    """
    weights = np.array(prototypes, dtype=np.float64, copy=True)
    texts = np.ascontiguousarray(text_vectors, dtype=np.float64)
    target = np.zeros((len(texts), len(weights)), dtype=np.float64)
    target[np.arange(len(texts)), text_owner] = 1.0
    # Each prototype's step is averaged over its own texts, so its size does not depend on how
    # many strategies or texts the plan has.
    counts = np.bincount(text_owner, minlength=len(weights)).astype(np.float64)
    scale = (1.0 / np.maximum(counts, 1.0))[:, None]
    for _ in range(steps):
        logits = (texts @ weights.T) / temperature
        logits -= logits.max(axis=1, keepdims=True)
        probability = np.exp(logits)
        probability /= probability.sum(axis=1, keepdims=True)
        gradient = ((probability - target).T @ texts) * scale
        # Only the part of the gradient along the sphere moves a unit prototype.
        gradient -= np.sum(gradient * weights, axis=1, keepdims=True) * weights
        weights = unit_rows(weights - rate * gradient)
    return weights


class StrategyIndex:
    """Strategy texts and prototypes in two FAISS inner-product indexes (vectors are normalised)."""

    def __init__(self, text_vectors: np.ndarray, text_owner: np.ndarray, n_strategies: int,
                 texts: list[str], settings: MatchSettings | None = None,
                 centroid_members: np.ndarray | None = None, examples: np.ndarray | None = None,
                 negative_vectors: np.ndarray | None = None,
                 earlier_vectors: np.ndarray | None = None, words: WordMatch | None = None):
        """`text_owner[i]` is the strategy position of text i; `centroid_members` masks which
        texts shape a prototype (all by default); `examples` masks texts that are examples,
        and prototypes are refined only when there is at least one; `negative_vectors` are
        tasks that serve no strategy (grid vectors, like the texts); `earlier_vectors` are the
        plan's earlier tasks, which move the prototypes toward those each clearly wins;
        `words` scores the words a task shares with each strategy (used when `search` gets
        the tasks' texts)."""
        self.settings = settings or MatchSettings()
        self.words = words
        self.texts = texts
        self.text_owner = np.asarray(text_owner, dtype=np.int32)
        self.n_strategies = n_strategies
        text_vectors = np.ascontiguousarray(text_vectors, dtype=np.float32)
        dimension = text_vectors.shape[1]
        self._texts = faiss.IndexFlatIP(dimension)
        self._texts.add(text_vectors)
        members = np.ones(len(texts), bool) if centroid_members is None else centroid_members
        centroids = np.zeros((n_strategies, dimension), dtype=np.float64)
        np.add.at(centroids, self.text_owner[members], text_vectors[members].astype(np.float64))
        empty = ~np.any(centroids, axis=1)
        if empty.any():  # a strategy whose texts are all excluded still needs a centroid
            np.add.at(centroids, self.text_owner, text_vectors.astype(np.float64))
        centroids = unit_rows(centroids)
        self.taught_by_earlier = 0
        if earlier_vectors is not None and len(earlier_vectors):
            centroids, self.taught_by_earlier = adapt_prototypes(centroids, earlier_vectors)
        self.refined = bool(examples is not None and np.any(examples)
                            and self.settings.refine_steps > 0 and n_strategies > 1)
        if self.refined:
            centroids = refine_prototypes(centroids, text_vectors[members],
                                          self.text_owner[members], self.settings.refine_steps,
                                          self.settings.refine_temperature,
                                          self.settings.refine_rate)
        self.prototypes = to_grid(centroids)
        self._centroids = faiss.IndexFlatIP(dimension)
        self._centroids.add(self.prototypes)
        # Every task is compared with every negative (a few hundred): a plain product, exact
        # for grid vectors like FAISS's, and no ranking to cut short the weighed comparison.
        self._negatives: np.ndarray | None = None
        if negative_vectors is not None and len(negative_vectors):
            self._negatives = np.ascontiguousarray(negative_vectors, dtype=np.float32)
        # How much each negative counts (0-1): the caller may weigh them after building
        # (engine.Classifier weighs the reference work by how far the plan disowns it).
        self.negative_weight = np.ones(0 if self._negatives is None else len(self._negatives))
        # The text that speaks for a strategy when none of its texts is among a task's hits.
        self._head_text = np.full(n_strategies, -1, dtype=np.int32)
        for position in range(len(texts) - 1, -1, -1):
            self._head_text[self.text_owner[position]] = position

    def search(self, vectors: np.ndarray, k: int = 3,
               exclude_negative: np.ndarray | None = None,
               texts: Sequence[str] | None = None, pieces: Pieces | None = None) -> Matches:
        """The k best strategies for each vector, with scores and the evidence text of each;
        `exclude_negative[i]` is a negative that row i must not be compared with (itself);
        `texts` (the vectors' texts) add the words each task shares with each strategy;
        `pieces` (embedded) of long tasks count half of their tasks' scores (`pieces`)."""
        n = len(vectors)
        k = min(k, self.n_strategies)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if n == 0:
            empty = np.zeros((0, k), dtype=np.int32)
            return Matches(empty, np.zeros((0, k), np.float64), empty.copy())
        score, evidence, nearest_text = self._scores(vectors, texts)
        if pieces is not None and len(pieces) and pieces.vectors is not None:
            piece_score = self._scores(np.ascontiguousarray(pieces.vectors, dtype=np.float32),
                                       pieces.texts if texts is not None else None)[0]
            score = with_pieces(score, piece_score, pieces.row)
        top = np.argsort(-score, axis=1, kind="stable")[:, :k].astype(np.int32)
        best = np.take_along_axis(score, top, axis=1)
        if self._negatives is not None:
            best = self._less_near_negatives(best, vectors, nearest_text, exclude_negative)
        return Matches(strategy=top, score=best,
                       evidence=np.take_along_axis(evidence, top, axis=1).astype(np.int32))

    def _scores(self, vectors: np.ndarray, texts: Sequence[str] | None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every strategy's score for each vector (n, s), the text each matched best (n, s),
        and each vector's nearest strategy text (n,)."""
        n = len(vectors)
        text_k = min(self.settings.top_k_texts, self._texts.ntotal)
        hit_score, hit_text = _inner_products(self._texts, vectors, text_k)
        centroid_score, centroid_id = _inner_products(self._centroids, vectors, self.n_strategies)

        rows = np.repeat(np.arange(n), text_k)
        owners = self.text_owner[hit_text.ravel()]
        best_text = np.full((n, self.n_strategies), -np.inf, dtype=np.float64)
        # Hits come best first, so writing them in reverse leaves each strategy's best hit.
        order = np.arange(rows.size)[::-1]
        best_text[rows[order], owners[order]] = hit_score.ravel()[order]
        evidence = np.tile(self._head_text, (n, 1))
        evidence[rows[order], owners[order]] = hit_text.ravel()[order]

        centroid = np.empty((n, self.n_strategies), dtype=np.float64)
        np.put_along_axis(centroid, centroid_id, centroid_score, axis=1)
        # A strategy with no text among the hits scores no more than the last hit.
        floor = hit_score[:, -1:]
        best_text = np.where(np.isfinite(best_text), best_text, np.minimum(floor, centroid))

        weight = self.settings.centroid_weight
        score = weight * centroid + (1.0 - weight) * best_text
        if self.words is not None and texts is not None:
            score = score + self.settings.word_weight * self.words.scores(texts)
        return score, evidence, hit_score[:, 0]

    def _less_near_negatives(self, score: np.ndarray, vectors: np.ndarray,
                             nearest_text: np.ndarray,
                             exclude: np.ndarray | None = None) -> np.ndarray:
        """Scores lowered, for every strategy alike, by how much nearer each task lies to a
        negative than to any strategy text, times that negative's weight (the largest such
        gap counts; order and margins are kept). A score may go below zero: the task is
        nearer to work that serves no strategy than to the plan."""
        assert self._negatives is not None
        penalty = np.empty(len(vectors), dtype=np.float64)
        for start in range(0, len(vectors), NEGATIVE_BLOCK):
            rows = slice(start, start + NEGATIVE_BLOCK)
            similarity = (vectors[rows] @ self._negatives.T).astype(np.float64)
            if exclude is not None:
                similarity[np.arange(len(similarity)), np.asarray(exclude)[rows]] = -np.inf
            gap = np.maximum(similarity - nearest_text[rows, None], 0.0) * self.negative_weight
            penalty[rows] = gap.max(axis=1)
        return score - penalty[:, None]
