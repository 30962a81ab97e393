"""The strategy index: scores per strategy, evidence, and prototypes refined on examples."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.model.embedding import GRID
from classifier.model.index import MatchSettings, StrategyIndex, refine_prototypes
from classifier.plan import Plan, Strategy

# Prototypes are rounded to the grid of 1/GRID, which moves a cosine by at most this much.
ON_GRID = 1 / GRID


def unit(*rows: list[float]) -> np.ndarray:
    matrix = np.array(rows, dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


# Strategy 0 has texts along x and (x+y); strategy 1 along z.
TEXTS = ["x", "x and y", "z"]
VECTORS = unit([1, 0, 0], [1, 1, 0], [0, 0, 1])
OWNERS = np.array([0, 0, 1])


def index(settings: MatchSettings | None = None, examples: np.ndarray | None = None):
    return StrategyIndex(VECTORS, OWNERS, 2, TEXTS, settings, examples=examples)


def test_score_is_the_cosine_to_the_strategy_prototype():
    found = index(MatchSettings(centroid_weight=1.0)).search(unit([1, 0, 0]), k=2)
    prototype = unit(VECTORS[0] + VECTORS[1])[0]
    assert found.strategy.tolist() == [[0, 1]]
    assert found.score[0, 0] == pytest.approx(float(prototype @ VECTORS[0]), abs=ON_GRID)
    assert found.score[0, 1] == pytest.approx(0.0, abs=1e-6)


def test_evidence_is_the_text_matched_best_even_when_scored_by_prototype():
    found = index().search(unit([1, 1, 0]), k=2)
    assert TEXTS[found.evidence[0, 0]] == "x and y"
    assert TEXTS[found.evidence[0, 1]] == "z"


@pytest.mark.parametrize(("weight", "expected"), [
    (0.0, 1.0),  # nearest text only: the task is exactly text "x"
    (0.5, 0.5 * (1 + np.cos(np.pi / 8))),
    (1.0, np.cos(np.pi / 8)),  # the prototype lies half-way between x and x+y
])
def test_centroid_weight_mixes_prototype_and_nearest_text(weight, expected):
    found = index(MatchSettings(centroid_weight=weight)).search(unit([1, 0, 0]), k=1)
    assert found.score[0, 0] == pytest.approx(expected, abs=ON_GRID)


def test_k_is_clipped_to_the_number_of_strategies_and_no_tasks_is_fine():
    assert index().search(unit([0, 1, 0]), k=5).strategy.shape == (1, 2)
    empty = index().search(np.zeros((0, 3), np.float32), k=2)
    assert empty.strategy.shape == (0, 2) and empty.score.shape == (0, 2)


def test_prototypes_are_plain_means_without_examples():
    plain = index(examples=np.zeros(3, bool))
    assert not plain.refined
    assert np.allclose(plain.prototypes[0], unit(VECTORS[0] + VECTORS[1])[0], atol=ON_GRID)


def test_prototypes_are_refined_only_when_there_are_examples():
    refined = index(examples=np.array([False, True, False]))
    assert refined.refined
    assert np.allclose(np.linalg.norm(refined.prototypes, axis=1), 1.0, atol=1e-5)
    assert not index(MatchSettings(refine_steps=0), np.array([False, True, False])).refined


def test_refinement_separates_examples_that_plain_means_confuse():
    # Two strategies whose example clouds overlap: the means get some examples wrong.
    rng = np.random.default_rng(0)
    a = unit(*(np.array([1.0, 0.35, 0.0]) + rng.normal(0, 0.25, 3) for _ in range(20)))
    b = unit(*(np.array([1.0, -0.35, 0.0]) + rng.normal(0, 0.25, 3) for _ in range(20)))
    vectors = np.vstack([a, b]).astype(np.float32)
    owners = np.r_[np.zeros(20, int), np.ones(20, int)]
    means = unit(a.mean(0), b.mean(0))
    refined = refine_prototypes(means, vectors, owners, steps=100, temperature=0.05, rate=1.0)

    def right(prototypes: np.ndarray) -> int:
        return int(np.sum((vectors @ prototypes.T).argmax(1) == owners))

    assert right(refined) >= right(means)
    again = refine_prototypes(means, vectors, owners, steps=100, temperature=0.05, rate=1.0)
    assert np.array_equal(refined, again)


def test_one_strategy_with_examples_is_not_refined():
    single = StrategyIndex(VECTORS[:2], np.array([0, 0]), 1, TEXTS[:2],
                           examples=np.array([False, True]))
    found = single.search(unit([1, 0, 0]), k=3)
    assert not single.refined and found.strategy.tolist() == [[0]]


def test_a_task_worded_like_an_example_matches_its_strategy(embedder):
    from classifier.model.engine import Classifier

    plan = Plan(strategies=[
        Strategy(id="sales", name="Grow sales", examples=["Call the new leads from the fair",
                                                           "Send quotes to three prospects"]),
        Strategy(id="quality", name="Fewer defects",
                 examples=["Inspect every widget before packing"]),
        Strategy(id="hiring", name="Hire great people"),
    ])
    classifier = Classifier(plan, embedder)
    assert classifier.index.refined
    [result] = classifier.classify(["Call the new leads from the trade fair"])
    assert result.strategy_id == "sales"
    assert result.evidence == "Call the new leads from the fair"
    assert result.score > result.runner_up_score
