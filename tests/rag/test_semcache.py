from __future__ import annotations

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from app.rag.semcache import SemanticCache, question_key
from app.store.vectors import unit_vector
from app.telemetry.metrics import Metrics
from app.telemetry.observers import CacheMetricsObserver


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def vec(*values: float) -> np.ndarray:
    """A unit vector, as embeddings reach the cache."""
    return unit_vector(list(values))


def at_angle(similarity: float) -> np.ndarray:
    """A 2-d vector whose cosine similarity with (1, 0) is ``similarity``."""
    return vec(similarity, float(np.sqrt(1 - similarity**2)))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_cache(clock: FakeClock, capacity: int = 3, threshold: float = 0.9,
               ttl: float = 100.0, registry: CollectorRegistry | None = None) -> SemanticCache:
    observer = None
    if registry is not None:
        observer = CacheMetricsObserver(Metrics(registry, chat_model="m", embed_model="e",
                                                version="t"))
    return SemanticCache(capacity, threshold, ttl, observer=observer, clock=clock)


def test_normalisation_ignores_case_space_and_trailing_punctuation() -> None:
    assert question_key("  What IS   a breaker?! ") == "what is a breaker"
    assert question_key("a.b") == "a.b"


def test_exact_hit_on_normalised_text(clock: FakeClock) -> None:
    cache = make_cache(clock)
    cache.put(question_key("What is a breaker?"), {"answer": 1}, vec(1, 0))
    hit = cache.lookup_exact(question_key("what is a  BREAKER"))
    assert hit is not None and hit.hit_type == "exact" and hit.value == {"answer": 1}
    assert cache.lookup_exact(question_key("what is a cache")) is None


def test_semantic_hit_returns_the_most_similar_entry(clock: FakeClock) -> None:
    cache = make_cache(clock)
    cache.put("a", "A", vec(1, 0))
    cache.put("b", "B", vec(0, 1))
    hit = cache.lookup_semantic(vec(0.1, 1))
    assert hit is not None and hit.value == "B" and hit.hit_type == "semantic"
    assert hit.similarity == pytest.approx(1 / np.sqrt(1.01), abs=1e-6)


def test_threshold_edge(clock: FakeClock) -> None:
    cache = make_cache(clock, threshold=0.75)
    cache.put("a", "A", vec(1, 0))
    assert cache.lookup_semantic(at_angle(0.7501)) is not None
    assert cache.lookup_semantic(at_angle(0.7499)) is None


def test_lru_eviction_at_capacity(clock: FakeClock) -> None:
    registry = CollectorRegistry()
    cache = make_cache(clock, capacity=2, registry=registry)
    cache.put("a", "A", vec(1, 0))
    cache.put("b", "B", vec(0, 1))
    assert cache.lookup_exact("a") is not None  # a is now the most recent
    cache.put("c", "C", vec(1, 1))
    assert cache.lookup_exact("b") is None
    assert cache.lookup_exact("a") is not None
    assert cache.lookup_semantic(vec(0, 1)) is None  # b's embedding row was freed too
    assert cache.evictions == {"capacity": 1, "ttl": 0}
    assert registry.get_sample_value("ollama_rag_semcache_evictions_total",
                                     {"reason": "capacity"}) == 1


def test_semantic_lookup_also_refreshes_recency(clock: FakeClock) -> None:
    cache = make_cache(clock, capacity=2)
    cache.put("a", "A", vec(1, 0))
    cache.put("b", "B", vec(0, 1))
    assert cache.lookup_semantic(vec(1, 0.01)).value == "A"
    cache.put("c", "C", vec(-1, 0))
    assert cache.lookup_exact("a") is not None
    assert cache.lookup_exact("b") is None


def test_ttl_expiry(clock: FakeClock) -> None:
    registry = CollectorRegistry()
    cache = make_cache(clock, ttl=10, registry=registry)
    cache.put("a", "A", vec(1, 0))
    clock.now = 5
    cache.put("b", "B", vec(0, 1))
    clock.now = 10
    assert cache.lookup_exact("a") is None
    assert cache.lookup_semantic(vec(1, 0)) is None
    assert cache.lookup_exact("b") is not None
    clock.now = 15
    assert cache.lookup_semantic(vec(0, 1)) is None
    assert len(cache) == 0
    assert cache.evictions["ttl"] == 2
    assert registry.get_sample_value("ollama_rag_semcache_evictions_total",
                                     {"reason": "ttl"}) == 2


def test_fill_ratio_size_and_clear(clock: FakeClock) -> None:
    registry = CollectorRegistry()
    cache = make_cache(clock, capacity=4, registry=registry)
    cache.put("a", "A", vec(1, 0))
    cache.put("a", "A2", vec(1, 0))  # replacing is not growing
    cache.put("b", "B", None)  # no embedding: exact match only
    assert cache.fill_ratio == 0.5
    assert registry.get_sample_value("ollama_rag_semcache_fill_ratio") == 0.5
    assert registry.get_sample_value("ollama_rag_semcache_size") == 2
    assert cache.lookup_exact("a").value == "A2"
    assert cache.lookup_exact("b").value == "B"
    assert cache.clear() == 2
    assert registry.get_sample_value("ollama_rag_semcache_size") == 0
    assert cache.lookup_semantic(vec(1, 0)) is None


def test_similarity_is_reported_for_misses_too(clock: FakeClock) -> None:
    registry = CollectorRegistry()
    cache = make_cache(clock, registry=registry)
    cache.put("a", "A", vec(1, 0))
    assert cache.lookup_semantic(vec(0, 1)) is None
    assert registry.get_sample_value("ollama_rag_semcache_similarity_count") == 1
    assert registry.get_sample_value("ollama_rag_semcache_similarity_bucket",
                                     {"le": "0.05"}) == 1


def test_an_embedding_of_another_dimension_is_not_compared(clock: FakeClock) -> None:
    cache = make_cache(clock)
    cache.put("a", "A", vec(1, 0))
    assert cache.lookup_semantic(vec(1, 0, 0)) is None
    cache.put("b", "B", vec(1, 0, 0))  # stored for exact match only
    assert cache.lookup_exact("b").value == "B"


def test_slots_are_reused_after_eviction(clock: FakeClock) -> None:
    cache = make_cache(clock, capacity=2)
    for i in range(50):
        angle = i * 0.1
        cache.put(f"q{i}", i, vec(np.cos(angle), np.sin(angle)))
    assert len(cache) == 2
    hit = cache.lookup_semantic(vec(np.cos(4.9), np.sin(4.9)))
    assert hit is not None and hit.value == 49


def test_a_freed_row_is_never_matched_when_entries_without_embeddings_fill_the_cache(
        clock: FakeClock) -> None:
    cache = make_cache(clock, capacity=2)
    cache.put("a", "A", vec(1, 0))
    cache.put("b", "B", vec(0, 1))
    cache.put("c", "C", None)  # evicts a; its row keeps (1, 0) but belongs to nobody
    assert len(cache) == cache.capacity
    assert cache.lookup_semantic(vec(1, 0)) is None
    assert cache.lookup_semantic(vec(0, 1)).value == "B"
