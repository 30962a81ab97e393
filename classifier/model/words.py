"""Shared words: how much of a strategy's own statement a task repeats, letter for letter.

A small sentence encoder blurs exact terms (a product name, "pto", "GDPR", "water") that a person
reads as the plainest link between a task and a strategy. Character n-gram TF-IDF (which also
meets "educate" in "education" without a stemmer) scores that overlap; the index adds a share of
it to every strategy's score. Term weights come from the plan and the shipped reference work,
never from the tasks, so a task's answer does not depend on the other rows of its file.
Measured in benchmarks/accuracy.py (weight chosen on CLINC150 val zero-shot, see MatchSettings).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

# Scores are rounded so that the sums in the sparse product, which may be ordered differently
# by another build, cannot change an answer: the same grid as the earlier-runs adaptation.
DECIMALS = 9


def _plain(text: str) -> str:
    return text.lower().replace("_", " ")


class WordMatch:
    """TF-IDF over character n-grams: strategy statements against tasks."""

    def __init__(self, statements: Sequence[str], background: Sequence[str]):
        """`statements`: one text per strategy (name and description); `background`: other
        texts that only shape how rare each n-gram is (the shipped reference work)."""
        self._vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5),
                                           sublinear_tf=True, preprocessor=_plain,
                                           dtype=np.float64)
        self._vectorizer.fit([*statements, *background])
        self._statements = self._vectorizer.transform(list(statements)).T.tocsr()

    def scores(self, tasks: Sequence[str]) -> np.ndarray:
        """(len(tasks), strategies): the cosine of each task's n-gram profile with each
        strategy's statement."""
        if not len(tasks):
            return np.zeros((0, self._statements.shape[1]), dtype=np.float64)
        product = (self._vectorizer.transform(list(tasks)) @ self._statements).toarray()
        return np.round(product, DECIMALS)
