"""The metric catalog: the one place where every metric of the service is defined.

Rules, dashboards, the README table and the verifier read from (or are tested against)
``CATALOG``. The first eleven entries are the original design's contract: their names
and labels must not change.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
)

from app.breaker import STATE_VALUES, State

NAMESPACE = "ollama_rag"

# Fixed label values. Nothing a client sends ever becomes a label value.
BREAKER_NAME = "ollama_client"
CLIENT_NAME = "ollama_client"
BREAKER_STATES = ("closed", "open", "half_open")
CALL_STATUSES = ("success", "failure", "rejected")
POOL_TYPES = ("maxsize", "keepalive")
HIT_TYPES = ("exact", "semantic")
EVICTION_REASONS = ("capacity", "ttl")
TOKEN_TYPES = ("prompt", "completion")
LLM_PHASES = ("load", "prompt_eval", "eval")
UPSTREAM_OPERATIONS = ("chat", "chat_stream", "embed", "probe")
UPSTREAM_OUTCOMES = (
    "success",
    "client_error",
    "server_error",
    "timeout",
    "connection_error",
    "malformed",
)
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
OTHER_METHOD = "OTHER"
UNMATCHED_ROUTE = "unmatched"

Kind = Literal["counter", "gauge", "histogram", "info"]

# Buckets reach minutes for upstream calls: a cold model load on Ollama exceeds 10 s.
UPSTREAM_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60)
FAST_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)
SIMILARITY_BUCKETS = tuple(round(0.05 * i, 2) for i in range(1, 21))


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its exposed name (without namespace), type, help text and labels."""

    name: str
    kind: Kind
    documentation: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] | None = None
    seed: bool = False  # part of the original design's contract

    @property
    def full_name(self) -> str:
        """The family name as it appears on ``/metrics``."""
        if self.kind == "info":
            return f"{NAMESPACE}_{self.name}_info"
        return f"{NAMESPACE}_{self.name}"

    @property
    def sample_names(self) -> tuple[str, ...]:
        """The sample names a query can use (histograms expose three)."""
        if self.kind == "histogram":
            return tuple(f"{self.full_name}_{s}" for s in ("bucket", "sum", "count"))
        return (self.full_name,)


def _spec(name: str, kind: Kind, doc: str, *labels: str, **kw: object) -> MetricSpec:
    return MetricSpec(name, kind, doc, tuple(labels), **kw)  # type: ignore[arg-type]


CB_STATE = _spec(
    "circuit_breaker_state", "gauge",
    "Circuit breaker state: 0 closed, 1 open, 2 half-open.", "breaker_name", seed=True,
)
CB_CALLS = _spec(
    "circuit_breaker_calls_total", "counter",
    "Calls through the circuit breaker by status (success, failure, rejected).",
    "breaker_name", "status", seed=True,
)
CB_TRANSITIONS = _spec(
    "circuit_breaker_transitions_total", "counter",
    "Circuit breaker state transitions.", "breaker_name", "from_state", "to_state", seed=True,
)
CB_CONSECUTIVE_FAILURES = _spec(
    "circuit_breaker_consecutive_failures", "gauge",
    "Consecutive failed calls counted by the circuit breaker.", "breaker_name", seed=True,
)
CB_LAST_CHANGE = _spec(
    "circuit_breaker_last_state_change_timestamp", "gauge",
    "Unix time of the circuit breaker's last state change, in seconds.", "breaker_name", seed=True,
)
POOL_REQUESTS = _spec(
    "connection_pool_requests_total", "counter",
    "HTTP requests sent through the upstream connection pool.", "client_name", seed=True,
)
POOL_SIZE = _spec(
    "connection_pool_size", "gauge",
    "Configured upstream pool limits (maxsize: connections, keepalive: idle connections kept).",
    "client_name", "pool_type", seed=True,
)
CACHE_HITS = _spec(
    "semcache_hits_total", "counter",
    "Semantic cache hits by type (exact, semantic).", "type", seed=True,
)
CACHE_MISSES = _spec("semcache_misses_total", "counter", "Semantic cache misses.", seed=True)
CACHE_SIZE = _spec("semcache_size", "gauge", "Entries in the semantic cache.", seed=True)
CACHE_FILL = _spec(
    "semcache_fill_ratio", "gauge", "Semantic cache entries divided by capacity.", seed=True
)

CACHE_CAPACITY = _spec("semcache_capacity", "gauge", "Configured semantic cache capacity.")
CACHE_EVICTIONS = _spec(
    "semcache_evictions_total", "counter",
    "Semantic cache evictions by reason (capacity, ttl).", "reason",
)
CACHE_LOOKUP = _spec(
    "semcache_lookup_duration_seconds", "histogram",
    "Time to look a question up in the semantic cache.", buckets=FAST_BUCKETS,
)
CACHE_SIMILARITY = _spec(
    "semcache_similarity", "histogram",
    "Best cosine similarity found by each semantic lookup (to tune the threshold).",
    buckets=SIMILARITY_BUCKETS,
)
HTTP_REQUESTS = _spec(
    "http_requests_total", "counter",
    "HTTP requests served, by method, route template and status code.",
    "method", "route", "status",
)
HTTP_DURATION = _spec(
    "http_request_duration_seconds", "histogram",
    "HTTP request duration until the last byte of the response, by method and route template.",
    "method", "route", buckets=HTTP_BUCKETS,
)
HTTP_IN_PROGRESS = _spec(
    "http_requests_in_progress", "gauge",
    "HTTP requests being served, by route template.", "route",
)
UPSTREAM_IN_FLIGHT = _spec(
    "upstream_requests_in_flight", "gauge",
    "Upstream requests under way: the part of the connection pool in use.", "client_name",
)
UPSTREAM_DURATION = _spec(
    "upstream_request_duration_seconds", "histogram",
    "Upstream Ollama request duration by operation and outcome.",
    "operation", "outcome", buckets=UPSTREAM_BUCKETS,
)
LLM_TOKENS = _spec(
    "llm_tokens_total", "counter",
    "Tokens processed by Ollama, by model and type (prompt, completion).", "model", "type",
)
LLM_TTFT = _spec(
    "llm_time_to_first_token_seconds", "histogram",
    "Time from sending a streamed chat request to its first token.", "model",
    buckets=TTFT_BUCKETS,
)
LLM_PHASE = _spec(
    "llm_phase_duration_seconds", "histogram",
    "Time Ollama reports for each phase of a call (load, prompt_eval, eval).", "model", "phase",
    buckets=UPSTREAM_BUCKETS,
)
RETRIEVAL_DURATION = _spec(
    "retrieval_duration_seconds", "histogram",
    "Time to find the closest chunks in the document store.", buckets=FAST_BUCKETS,
)
DOCUMENT_CHUNKS = _spec("document_chunks", "gauge", "Chunks held in the document store.")
BUILD_INFO = _spec("build", "info", "Version of the service.", "version")

CATALOG: tuple[MetricSpec, ...] = (
    CB_STATE, CB_CALLS, CB_TRANSITIONS, CB_CONSECUTIVE_FAILURES, CB_LAST_CHANGE,
    POOL_REQUESTS, POOL_SIZE,
    CACHE_HITS, CACHE_MISSES, CACHE_SIZE, CACHE_FILL,
    CACHE_CAPACITY, CACHE_EVICTIONS, CACHE_LOOKUP, CACHE_SIMILARITY,
    HTTP_REQUESTS, HTTP_DURATION, HTTP_IN_PROGRESS,
    UPSTREAM_IN_FLIGHT, UPSTREAM_DURATION,
    LLM_TOKENS, LLM_TTFT, LLM_PHASE,
    RETRIEVAL_DURATION, DOCUMENT_CHUNKS, BUILD_INFO,
)  # fmt: skip

SEED_METRICS: tuple[MetricSpec, ...] = tuple(s for s in CATALOG if s.seed)

# The transitions the breaker can make; pre-created so that rate() sees them from zero.
BREAKER_TRANSITIONS = (
    ("closed", "open"),
    ("open", "half_open"),
    ("half_open", "closed"),
    ("half_open", "open"),
)


def normalise_method(method: str) -> str:
    """Map a client-supplied HTTP method onto the fixed label set."""
    return method if method in HTTP_METHODS else OTHER_METHOD


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

    def observe(self, value: float) -> None:
        pass

    def info(self, value: dict[str, str]) -> None:
        pass


NOOP = NoopMetric()


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
        self.llm_tokens: Counter = self._make(LLM_TOKENS)
        self.llm_ttft: Histogram = self._make(LLM_TTFT)
        self.llm_phase_duration: Histogram = self._make(LLM_PHASE)
        self.retrieval_duration: Histogram = self._make(RETRIEVAL_DURATION)
        self.document_chunks: Gauge = self._make(DOCUMENT_CHUNKS)
        self.build_info: Info = self._make(BUILD_INFO)
        self.build_info.info({"version": version})
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
        self.breaker_state.labels(BREAKER_NAME).set(0)
        self.breaker_consecutive_failures.labels(BREAKER_NAME).set(0)
        for status in CALL_STATUSES:
            self.breaker_calls.labels(BREAKER_NAME, status)
        for from_state, to_state in BREAKER_TRANSITIONS:
            self.breaker_transitions.labels(BREAKER_NAME, from_state, to_state)
        self.pool_requests.labels(CLIENT_NAME)
        self.upstream_in_flight.labels(CLIENT_NAME).set(0)
        for hit_type in HIT_TYPES:
            self.cache_hits.labels(hit_type)
        for reason in EVICTION_REASONS:
            self.cache_evictions.labels(reason)
        for token_type in TOKEN_TYPES:
            self.llm_tokens.labels(chat_model, token_type)
        self.llm_tokens.labels(embed_model, "prompt")  # embedding models complete nothing


class BreakerMetricsObserver:
    """Reports one circuit breaker's events on the seed's breaker metrics."""

    def __init__(self, metrics: Metrics, breaker_name: str = BREAKER_NAME) -> None:
        self._metrics = metrics
        self._name = breaker_name

    def on_call(self, status: str) -> None:
        self._metrics.breaker_calls.labels(self._name, status).inc()

    def on_transition(self, old: State, new: State, wall_time: float) -> None:
        m = self._metrics
        m.breaker_transitions.labels(self._name, old.value, new.value).inc()
        m.breaker_state.labels(self._name).set(STATE_VALUES[new])
        m.breaker_last_change.labels(self._name).set(wall_time)

    def on_consecutive_failures(self, count: int) -> None:
        self._metrics.breaker_consecutive_failures.labels(self._name).set(count)


def catalog_markdown() -> str:
    """The README's metric table, generated from the catalog."""
    lines = [
        "| metric | type | labels | seed | description |",
        "| --- | --- | --- | --- | --- |",
    ]
    for spec in CATALOG:
        labels = ", ".join(f"`{label}`" for label in spec.labels) or "none"
        seed = "yes" if spec.seed else ""
        lines.append(
            f"| `{spec.full_name}` | {spec.kind} | {labels} | {seed} | {spec.documentation} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(catalog_markdown())
