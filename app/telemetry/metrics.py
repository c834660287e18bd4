"""The collectors of one app, registered in that app's own registry, as the catalog
(``app/core/catalog.py``) defines them.

    >>> metrics = Metrics(CollectorRegistry(), chat_model="llama3.2", embed_model="e", version="1")
    >>> metrics.cache_misses.inc()
"""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
)

from app.core.catalog import (
    ADMISSION_IN_FLIGHT,
    ADMISSION_LIMIT,
    ADMISSION_QUEUE_WAIT,
    ADMISSION_QUEUED,
    ADMISSION_SHED,
    BREAKER_NAME,
    BREAKER_TRANSITIONS,
    BUILD_INFO,
    CACHE_CAPACITY,
    CACHE_EVICTIONS,
    CACHE_FILL,
    CACHE_HITS,
    CACHE_LOOKUP,
    CACHE_MISSES,
    CACHE_SIMILARITY,
    CACHE_SIZE,
    CB_CALLS,
    CB_CONSECUTIVE_FAILURES,
    CB_LAST_CHANGE,
    CB_STATE,
    CB_TRANSITIONS,
    CLIENT_NAME,
    DOCUMENT_CHUNKS,
    EVENT_LOOP_LAG,
    HTTP_DURATION,
    HTTP_IN_PROGRESS,
    HTTP_REQUESTS,
    LLM_PHASE,
    LLM_TOKENS,
    LLM_TTFT,
    MEMORY_LIMIT,
    MODEL_AVAILABLE,
    POOL_REQUESTS,
    POOL_SIZE,
    QUERY_DURATION,
    QUERY_STREAM_FAILURES,
    QUERY_TTFT,
    RETRIEVAL_DURATION,
    STATE_VALUES,
    STORE_ERRORS,
    STORE_OPERATION_DURATION,
    STORE_UP,
    UPSTREAM_CANCELLED,
    UPSTREAM_DURATION,
    UPSTREAM_IN_FLIGHT,
    UPSTREAM_UP,
    AdmissionLaneName,
    AnswerMode,
    BreakerState,
    CallStatus,
    EvictionReason,
    HitType,
    QueryOutcome,
    ShedReason,
    StoreEngine,
    StoreOperation,
    TokenType,
    UpstreamOperation,
    UpstreamOutcome,
)
from app.core.metric_spec import NAMESPACE, MetricSpec


class NoopMetric:
    """Stands in for every collector when metrics are disabled (for the benchmarks only)."""

    def labels(self, *values: str) -> NoopMetric:
        return self

    def inc(self, amount: float = 1) -> None:
        pass

    def dec(self, amount: float = 1) -> None:
        pass

    def set(self, value: float) -> None:
        pass

    def observe(self, value: float, exemplar: dict[str, str] | None = None) -> None:
        pass

    def info(self, value: dict[str, str]) -> None:
        pass


NOOP = NoopMetric()
# The calls a request waits on (the probe and the health check have no caller to lose).
CANCELLABLE_OPERATIONS = (UpstreamOperation.CHAT, UpstreamOperation.CHAT_STREAM,
                          UpstreamOperation.EMBED)


class Metrics:
    """The collectors of one app, registered in that app's own registry."""

    def __init__(self, registry: CollectorRegistry, *, chat_model: str, embed_model: str,
                 version: str, enabled: bool = True) -> None:
        # The *_created series double the exposition and no rule or panel reads them.
        disable_created_metrics()
        self.enabled = enabled
        self.registry = registry
        self.breaker_state: Gauge = self._make(CB_STATE)
        self.breaker_calls: Counter = self._make(CB_CALLS)
        self.breaker_transitions: Counter = self._make(CB_TRANSITIONS)
        self.breaker_consecutive_failures: Gauge = self._make(CB_CONSECUTIVE_FAILURES)
        self.breaker_last_change: Gauge = self._make(CB_LAST_CHANGE)
        self.pool_requests: Counter = self._make(POOL_REQUESTS)
        self.pool_size: Gauge = self._make(POOL_SIZE)
        self.cache_hits: Counter = self._make(CACHE_HITS)
        self.cache_misses: Counter = self._make(CACHE_MISSES)
        self.cache_size: Gauge = self._make(CACHE_SIZE)
        self.cache_fill_ratio: Gauge = self._make(CACHE_FILL)
        self.cache_capacity: Gauge = self._make(CACHE_CAPACITY)
        self.cache_evictions: Counter = self._make(CACHE_EVICTIONS)
        self.cache_lookup_duration: Histogram = self._make(CACHE_LOOKUP)
        self.cache_similarity: Histogram = self._make(CACHE_SIMILARITY)
        self.http_requests: Counter = self._make(HTTP_REQUESTS)
        self.http_duration: Histogram = self._make(HTTP_DURATION)
        self.http_in_progress: Gauge = self._make(HTTP_IN_PROGRESS)
        self.upstream_in_flight: Gauge = self._make(UPSTREAM_IN_FLIGHT)
        self.upstream_duration: Histogram = self._make(UPSTREAM_DURATION)
        self.upstream_up: Gauge = self._make(UPSTREAM_UP)
        self.upstream_cancelled: Counter = self._make(UPSTREAM_CANCELLED)
        self.admission_limit: Gauge = self._make(ADMISSION_LIMIT)
        self.admission_in_flight: Gauge = self._make(ADMISSION_IN_FLIGHT)
        self.admission_queued: Gauge = self._make(ADMISSION_QUEUED)
        self.admission_queue_wait: Histogram = self._make(ADMISSION_QUEUE_WAIT)
        self.admission_shed: Counter = self._make(ADMISSION_SHED)
        self.query_ttft: Histogram = self._make(QUERY_TTFT)
        self.query_duration: Histogram = self._make(QUERY_DURATION)
        self.query_stream_failures: Counter = self._make(QUERY_STREAM_FAILURES)
        self.llm_tokens: Counter = self._make(LLM_TOKENS)
        self.llm_ttft: Histogram = self._make(LLM_TTFT)
        self.llm_phase_duration: Histogram = self._make(LLM_PHASE)
        self.retrieval_duration: Histogram = self._make(RETRIEVAL_DURATION)
        self.document_chunks: Gauge = self._make(DOCUMENT_CHUNKS)
        self.store_up: Gauge = self._make(STORE_UP)
        self.store_duration: Histogram = self._make(STORE_OPERATION_DURATION)
        self.store_errors: Counter = self._make(STORE_ERRORS)
        self.model_available: Gauge = self._make(MODEL_AVAILABLE)
        self.build_info: Info = self._make(BUILD_INFO)
        self.build_info.info({"version": version})
        self.event_loop_lag: Histogram = self._make(EVENT_LOOP_LAG)
        self.memory_limit: Gauge = self._make(MEMORY_LIMIT)
        self._create_known_series(chat_model, embed_model)

    def _make(self, spec: MetricSpec) -> Any:
        if not self.enabled:
            return NOOP
        kwargs: dict[str, object] = {
            "namespace": NAMESPACE,
            "labelnames": spec.labels,
            "registry": self.registry,
        }
        if spec.kind == "histogram":
            return Histogram(spec.name, spec.documentation, buckets=spec.buckets, **kwargs)
        if spec.kind == "counter":
            return Counter(spec.name, spec.documentation, **kwargs)
        if spec.kind == "gauge":
            return Gauge(spec.name, spec.documentation, **kwargs)
        # Info takes its label names from the values it is given.
        return Info(spec.name, spec.documentation, namespace=NAMESPACE, registry=self.registry)

    def _create_known_series(self, chat_model: str, embed_model: str) -> None:
        """Create every series with a known label set at zero.

        A counter series that appears only on its first increment makes ``rate()`` miss that
        increment and leaves alerts comparing against nothing.
        """
        self.breaker_state.labels(BREAKER_NAME).set(STATE_VALUES[BreakerState.CLOSED])
        self.breaker_consecutive_failures.labels(BREAKER_NAME).set(0)
        for status in CallStatus:
            self.breaker_calls.labels(BREAKER_NAME, status)
        for from_state, to_state in BREAKER_TRANSITIONS:
            self.breaker_transitions.labels(BREAKER_NAME, from_state, to_state)
        self.pool_requests.labels(CLIENT_NAME)
        self.upstream_in_flight.labels(CLIENT_NAME).set(0)
        for hit_type in HitType:
            self.cache_hits.labels(hit_type)
        for reason in EvictionReason:
            self.cache_evictions.labels(reason)
        for token_type in TokenType:
            self.llm_tokens.labels(chat_model, token_type)
        self.llm_tokens.labels(embed_model, TokenType.PROMPT)  # embeddings complete nothing
        for mode in AnswerMode:
            self.query_ttft.labels(mode)
        for query_outcome in QueryOutcome:
            self.query_duration.labels(query_outcome)
        for outcome in UpstreamOutcome:
            if outcome is not UpstreamOutcome.SUCCESS:
                self.query_stream_failures.labels(outcome)
        self.llm_ttft.labels(chat_model)
        for operation in CANCELLABLE_OPERATIONS:
            self.upstream_cancelled.labels(operation)
        for lane in AdmissionLaneName:
            for reason in ShedReason:
                self.admission_shed.labels(lane, reason)
        for operation in StoreOperation:
            for engine in StoreEngine:
                self.store_errors.labels(engine, operation)
        # upstream_up, store_up and model_available are left out on purpose: they are
        # unknown until the first check.
