"""The embedder: grid vectors, duplicates encoded once, a bounded cache, float32 agreement."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.model.embedding import GRID, Embedder, EmbedderSettings, VectorCache, to_grid

TASKS = [
    "Call last quarter's one-time buyers about a service plan",
    "Fix label printer jam at packing station 2",
    "Post job opening for a second-shift machinist",
    "Daily standup",
    "Reorganize shared drive folder colors",
]


def test_vectors_are_normalised_float32_one_row_per_text(embedder):
    vectors = embedder.embed(TASKS)
    assert vectors.shape == (len(TASKS), embedder.dimension)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)


def test_no_texts_give_an_empty_matrix(embedder):
    assert embedder.embed([]).shape == (0, embedder.dimension)


def test_repeated_texts_get_identical_vectors(embedder):
    vectors = embedder.embed(["Daily standup", "Weekly report", "Daily standup"])
    assert np.array_equal(vectors[0], vectors[2])
    assert not np.array_equal(vectors[0], vectors[1])


def test_cached_vectors_equal_freshly_encoded_ones(embedder):
    first = embedder.embed(TASKS)
    again = embedder.embed(list(reversed(TASKS)))
    np.testing.assert_array_equal(first, again[::-1])


def test_progress_counts_every_row_once_duplicates_included(embedder):
    seen: list[int] = []
    texts = ["Unique task for progress 1", "Unique task for progress 2"] * 3 + TASKS
    embedder.embed(texts, progress=seen.append)
    assert sum(seen) == len(texts)


def test_a_huge_text_is_cut_to_the_model_window_not_refused(embedder):
    vector = embedder.embed(["renew the service plan " * 5_000])
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-3)


@pytest.fixture(scope="module")
def uncached():
    return Embedder(EmbedderSettings(cache_size=0))


@pytest.mark.parametrize("neighbours", [
    [],
    ["Daily standup"],
    ["Renew the maintenance contract " * 30, "Hi", "Pitch widgets to Riverside Hardware"],
])
def test_a_text_gets_the_same_vector_whatever_its_batch(uncached, neighbours):
    """Results must not depend on how a file is chunked or what else it holds."""
    task = "Chase carrier on missed Tue pickup"
    alone = uncached.embed([task])[0]
    among = uncached.embed(neighbours + [task] + neighbours)[len(neighbours)]
    np.testing.assert_array_equal(alone, among)


def test_vectors_lie_on_the_grid(embedder):
    vectors = embedder.embed(TASKS).astype(np.float64) * GRID
    assert np.array_equal(vectors, np.rint(vectors))


def test_grid_inner_products_are_exact_in_any_order():
    """What makes scores the same on every CPU: float32 sums of grid products never round."""
    rng = np.random.default_rng(7)
    vectors = to_grid(rng.normal(size=(200, 384)))
    vectors[1] = vectors[0]  # a task that repeats a strategy text: cosine near 1
    exact = vectors.astype(np.float64) @ vectors.astype(np.float64).T
    products = vectors[:, None, :] * vectors[None, :, :]
    for order in (slice(None), slice(None, None, -1)):
        summed = np.zeros(exact.shape, dtype=np.float32)
        for column in range(384)[order]:  # one float32 rounding per step, left to right
            summed += products[:, :, column]
        assert np.array_equal(summed.astype(np.float64), exact)


@pytest.mark.parametrize("shape", [(3,), (2, 2, 2)])
def test_to_grid_refuses_what_is_not_a_matrix(shape):
    with pytest.raises(ValueError, match="2-D"):
        to_grid(np.ones(shape))


def fixed(value: float, dimension: int = 3) -> np.ndarray:
    return np.full(dimension, value, dtype=np.float32)


def test_cache_returns_what_was_put():
    cache = VectorCache(4, 3)
    cache.put("a", fixed(1))
    out = np.zeros((2, 3), dtype=np.float32)
    assert cache.get_into("a", out, 1)
    assert not cache.get_into("b", out, 0)
    assert out.tolist() == [[0, 0, 0], [1, 1, 1]]


@pytest.mark.parametrize("capacity", [0, 1, 3])
def test_cache_never_holds_more_than_its_capacity(capacity):
    cache = VectorCache(capacity, 3)
    for number in range(10):
        cache.put(f"text {number}", fixed(number))
    assert len(cache) == capacity


def test_cache_evicts_the_least_recently_used_text():
    cache = VectorCache(2, 3)
    out = np.zeros((1, 3), dtype=np.float32)
    cache.put("old", fixed(1))
    cache.put("used", fixed(2))
    cache.get_into("old", out, 0)  # "old" is now the most recently used
    cache.put("new", fixed(3))
    assert cache.get_into("old", out, 0) and out[0, 0] == 1
    assert not cache.get_into("used", out, 0)
    assert cache.get_into("new", out, 0) and out[0, 0] == 3


def test_a_small_cache_still_gives_every_row_its_own_vector(embedder):
    small = Embedder(EmbedderSettings(cache_size=2, precision=embedder.precision))
    texts = TASKS + TASKS[:2]
    np.testing.assert_allclose(small.embed(texts), embedder.embed(texts), atol=1e-6)
    assert len(small._cache) == 2


@pytest.mark.slow
def test_float32_vectors_agree_with_float64():
    """float32 is the faster option; it must not change what tasks match."""
    texts = TASKS + ["Negotiate slotting fee with Valley Home & Garden",
                     "Root-cause late shipments on orders 10231-10240"]
    fast = Embedder(EmbedderSettings(precision="float32", cache_size=0)).embed(texts)
    exact = Embedder(EmbedderSettings(cache_size=0)).embed(texts)
    cosine = (fast.astype(np.float64) * exact).sum(axis=1)
    assert cosine.min() > 0.999


def test_an_unknown_precision_is_refused():
    from classifier.errors import ModelError

    with pytest.raises(ModelError, match="bfloat16"):
        Embedder(EmbedderSettings(precision="bfloat16"))
