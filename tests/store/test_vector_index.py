"""The vector index under the cache and the local store: exact while small; past its
threshold an approximate index whose answers agree with brute force, where removed vectors
never match, rebuilt in the background while it keeps answering."""

from __future__ import annotations

import numpy as np

from app.rag.semcache import SemanticCache
from app.store.vector_index import VectorIndex
from app.store.vectors import unit_rows, unit_vector

DIMENSIONS = 64


def random_unit_rows(count: int, seed: int = 0) -> np.ndarray:
    return unit_rows(np.random.default_rng(seed).standard_normal((count, DIMENSIONS),
                                                                 dtype=np.float32))


def near(vector: np.ndarray, seed: int) -> np.ndarray:
    """A paraphrase: the vector moved a little (cosine about 0.97)."""
    return unit_vector(vector + 0.03 * np.random.default_rng(seed).standard_normal(DIMENSIONS))


def test_small_is_exact_and_large_agrees_with_brute_force() -> None:
    rows = random_unit_rows(6000)
    index = VectorIndex(DIMENSIONS, ann_min=2000)
    for key in range(1000):
        index.add(key, rows[key])
    assert not index.approximate
    assert index.search(rows[7], 2)[0] == (7, index.search(rows[7], 1)[0][1])
    for key in range(1000, 6000):
        index.add(key, rows[key])
    index.wait_for_build(30)
    assert index.approximate
    queries = [near(rows[i], i) for i in range(0, 6000, 30)]
    found = [index.search(q, 1)[0][0] for q in queries]
    exact = [int(np.argmax(rows @ q)) for q in queries]
    assert np.mean(np.array(found) == np.array(exact)) >= 0.99
    key, score = index.search(queries[0], 1)[0]
    # Scores are exact, not quantised (8-bit codes are off by about 1e-2): the float32 dot
    # product of two unit vectors of 64 dimensions, summed in whatever order the BLAS kernel
    # chooses, agrees within 64 roundings of 2**-24 each (about 4e-6).
    assert abs(score - float(rows[key] @ queries[0])) <= 64 * 2**-24


def test_removed_vectors_never_match_and_keys_can_be_reused() -> None:
    rows = random_unit_rows(5000, seed=1)
    index = VectorIndex(DIMENSIONS, ann_min=1000)
    index.add_many(np.arange(5000), rows)
    index.wait_for_build(30)
    index.remove(list(range(100)))
    assert len(index) == 4900
    for key in range(100):
        assert all(found != key for found, _ in index.search(rows[key], 5))
    index.add(3, rows[4999])  # a freed key, a new vector
    assert {k for k, _ in index.search(rows[4999], 2)} == {3, 4999}


def test_changes_made_during_a_rebuild_are_not_lost() -> None:
    rows = random_unit_rows(8000, seed=2)
    index = VectorIndex(DIMENSIONS, ann_min=4000)
    index.add_many(np.arange(4000), rows[:4000])  # starts a build in the background
    for key in range(4000, 8000):
        index.add(key, rows[key])
    index.remove([0, 1, 2])
    index.wait_for_build(30)
    assert index.approximate and len(index) == 7997
    assert index.search(rows[7999], 1)[0][0] == 7999
    assert all(found not in (0, 1, 2) for found, _ in index.search(rows[1], 10))


def test_the_cache_evicts_from_its_index_and_counts_exactly() -> None:
    """Past the approximate threshold, an evicted entry never answers and the hit and
    eviction counts are the cache's own (not the index's)."""
    now = [0.0]
    cache = SemanticCache(capacity=12_000, threshold=0.9, ttl_seconds=100,
                          clock=lambda: now[0])
    rows = random_unit_rows(12_500, seed=3)
    for i in range(12_000):
        cache.put(f"question {i}", i, rows[i])
    assert cache._index is not None
    cache._index.wait_for_build(30)
    assert cache._index.approximate
    for i in range(12_000, 12_500):  # 500 more: the 500 oldest go
        cache.put(f"question {i}", i, rows[i])
    assert cache.evictions["capacity"] == 500 and len(cache) == 12_000
    for i in range(0, 500, 25):
        hit = cache.lookup_semantic(near(rows[i], i))
        assert hit is None or hit.value != i
    for i in range(500, 12_500, 500):
        hit = cache.lookup_semantic(near(rows[i], i))
        assert hit is not None and hit.value == i
    now[0] = 101.0  # everything expires
    assert cache.lookup_semantic(rows[12_400]) is None
    assert cache.evictions["ttl"] == 12_000 and len(cache) == 0
