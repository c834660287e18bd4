"""The breaker's and the cache's events, reported on their metrics.

The breaker and the cache know nothing of Prometheus: each reports what happens to an
observer, and these two turn the events into the catalog's metrics.

    >>> breaker = CircuitBreaker(BREAKER_NAME, observer=BreakerMetricsObserver(metrics))
    >>> cache = SemanticCache(1000, 0.9, 3600, observer=CacheMetricsObserver(metrics))
"""

from __future__ import annotations

from app.core.labels import (
    BREAKER_NAME,
    STATE_VALUES,
    BreakerState,
    CallStatus,
    EvictionReason,
    HitType,
)
from app.telemetry.metrics import Metrics


class BreakerMetricsObserver:
    """Reports one circuit breaker's events on the original design's breaker metrics."""

    def __init__(self, metrics: Metrics, breaker_name: str = BREAKER_NAME) -> None:
        self._metrics = metrics
        self._name = breaker_name

    def on_call(self, status: CallStatus) -> None:
        self._metrics.breaker_calls.labels(self._name, status).inc()

    def on_transition(self, old: BreakerState, new: BreakerState, wall_time: float) -> None:
        m = self._metrics
        m.breaker_transitions.labels(self._name, old, new).inc()
        m.breaker_state.labels(self._name).set(STATE_VALUES[new])
        m.breaker_last_change.labels(self._name).set(wall_time)

    def on_consecutive_failures(self, count: int) -> None:
        self._metrics.breaker_consecutive_failures.labels(self._name).set(count)


class CacheMetricsObserver:
    """Reports the semantic cache's events on the cache metrics."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._hits = {t: metrics.cache_hits.labels(t) for t in HitType}

    def on_hit(self, hit_type: HitType) -> None:
        self._hits[hit_type].inc()

    def on_miss(self) -> None:
        self._metrics.cache_misses.inc()

    def on_eviction(self, reason: EvictionReason, count: int) -> None:
        self._metrics.cache_evictions.labels(reason).inc(count)

    def on_size(self, size: int, capacity: int) -> None:
        self._metrics.cache_size.set(size)
        self._metrics.cache_capacity.set(capacity)
        self._metrics.cache_fill_ratio.set(size / capacity)

    def on_similarity(self, best: float) -> None:
        self._metrics.cache_similarity.observe(max(0.0, best))
