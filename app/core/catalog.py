"""The metric catalog: the one place where every metric of the service and every label
value it uses are defined.

Rules, dashboards, the README table and the verifier read from (or are tested against)
``CATALOG``. The first eleven entries are the original design's contract: their names
and labels must not change. Code that sets a label uses the enums below, never a literal
(``tests/test_layout.py`` enforces it), so that no label value can come from a request.

    >>> CACHE_HITS.full_name
    'ollama_rag_semcache_hits_total'
"""

from __future__ import annotations

import sys
from enum import StrEnum

from app.core.metric_spec import Kind, MetricSpec, markdown_table

# Fixed label values. Nothing a client sends ever becomes a label value.
BREAKER_NAME = "ollama_client"
CLIENT_NAME = "ollama_client"


class BreakerState(StrEnum):
    """``from_state``/``to_state``; the state gauge encodes them as ``STATE_VALUES``."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


# The state gauge's encoding, from the original design.
STATE_VALUES = {BreakerState.CLOSED: 0, BreakerState.OPEN: 1, BreakerState.HALF_OPEN: 2}


class CallStatus(StrEnum):
    """``status`` of a call through the breaker."""

    SUCCESS = "success"
    FAILURE = "failure"
    REJECTED = "rejected"


class PoolType(StrEnum):
    MAXSIZE = "maxsize"
    KEEPALIVE = "keepalive"


class HitType(StrEnum):
    EXACT = "exact"
    SEMANTIC = "semantic"


class EvictionReason(StrEnum):
    CAPACITY = "capacity"
    TTL = "ttl"


class TokenType(StrEnum):
    PROMPT = "prompt"
    COMPLETION = "completion"


class LlmPhase(StrEnum):
    """The phases Ollama times, each with the nanosecond field it reports it in."""

    LOAD = "load"
    PROMPT_EVAL = "prompt_eval"
    EVAL = "eval"

    @property
    def ollama_field(self) -> str:
        return f"{self.value}_duration"


class UpstreamOperation(StrEnum):
    CHAT = "chat"
    CHAT_STREAM = "chat_stream"
    EMBED = "embed"
    PROBE = "probe"  # the breaker's half-open probe
    HEALTH_CHECK = "health_check"  # the periodic check, outside the breaker


class UpstreamOutcome(StrEnum):
    SUCCESS = "success"
    CLIENT_ERROR = "client_error"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    MALFORMED = "malformed"
    POOL_TIMEOUT = "pool_timeout"  # no connection free in time: overload, not Ollama's fault


class AnswerMode(StrEnum):
    """How ``/api/query`` answered: one JSON body, or NDJSON stream events."""

    WHOLE = "whole"
    STREAM = "streamed"


class AdmissionLaneName(StrEnum):
    """``lane``: the kind of upstream call admission control limits separately (a chat and
    an embedding differ a thousandfold in how long they hold Ollama)."""

    CHAT = "chat"  # whole and streamed answers
    EMBED = "embed"  # questions and documents


class ShedReason(StrEnum):
    """Why admission control turned a call away."""

    QUEUE_FULL = "queue_full"  # at the limit, and no turn expected within the queue's wait
    QUEUE_TIMEOUT = "queue_timeout"  # queued, and no slot came free within the wait


class StoreEngine(StrEnum):
    """``engine``: what keeps the documents (app/store/base.py)."""

    SQLITE = "sqlite"  # the default: SQLite on local disk, an in-process vector index
    CHROMA = "chroma"  # a Chroma server shared by replicas (OLLAMA_RAG_STORE_URL)


class StoreOperation(StrEnum):
    SEARCH = "search"
    LOOKUP = "lookup"  # which documents are stored already, unchanged
    WRITE = "write"
    SIZE = "size"
    CHECK = "check"  # opening the store (the periodic check counts: SIZE)


class QueryOutcome(StrEnum):
    """``outcome`` of an ``/api/query`` request, as its caller saw it."""

    CACHE_EXACT = "cache_exact"  # the same question answered before: no call to Ollama
    CACHE_SEMANTIC = "cache_semantic"  # a similar one: after the question's embedding call
    ANSWERED = "answered"  # answered by the model
    SHED = "shed"  # 503 overloaded: admission control turned it away
    REFUSED = "refused"  # a 4xx: not served as sent, or abandoned by its caller (499)
    FAILED = "failed"  # any other error, a stream broken after its 200 included


# Every enum of label values, for the checks that no code spells one out.
LABEL_VALUE_SETS: tuple[type[StrEnum], ...] = (
    BreakerState, CallStatus, PoolType, HitType, EvictionReason, TokenType, LlmPhase,
    UpstreamOperation, UpstreamOutcome, AnswerMode, AdmissionLaneName, ShedReason,
    StoreEngine, StoreOperation, QueryOutcome,
)
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
OTHER_METHOD = "OTHER"
UNMATCHED_ROUTE = "unmatched"

# Buckets reach minutes for upstream calls: a cold model load on Ollama exceeds 10 s.
UPSTREAM_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60)
FAST_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)
SIMILARITY_BUCKETS = tuple(round(0.05 * i, 2) for i in range(1, 21))
# From a healthy loop's sub-millisecond wake-ups to a loop blocked for seconds.
# From an immediate admission to the longest queue wait anyone would configure.
QUEUE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


def _spec(name: str, kind: Kind, doc: str, *labels: str, **kw: object) -> MetricSpec:
    return MetricSpec(name, kind, doc, tuple(labels), **kw)  # type: ignore[arg-type]


CB_STATE = _spec(
    "circuit_breaker_state", "gauge",
    "Circuit breaker state: 0 closed, 1 open, 2 half-open.", "breaker_name", contract=True,
)
CB_CALLS = _spec(
    "circuit_breaker_calls_total", "counter",
    "Calls through the circuit breaker by status (success, failure, rejected).",
    "breaker_name", "status", contract=True,
)
CB_TRANSITIONS = _spec(
    "circuit_breaker_transitions_total", "counter",
    "Circuit breaker state transitions.", "breaker_name", "from_state", "to_state", contract=True,
)
CB_CONSECUTIVE_FAILURES = _spec(
    "circuit_breaker_consecutive_failures", "gauge",
    "Consecutive failed calls counted by the circuit breaker.", "breaker_name", contract=True,
)
CB_LAST_CHANGE = _spec(
    "circuit_breaker_last_state_change_timestamp", "gauge",
    "Unix time of the circuit breaker's last state change, in seconds.", "breaker_name",
    contract=True,
)
POOL_REQUESTS = _spec(
    "connection_pool_requests_total", "counter",
    "HTTP requests sent through the upstream connection pool.", "client_name", contract=True,
)
POOL_SIZE = _spec(
    "connection_pool_size", "gauge",
    "Configured upstream pool limits (maxsize: connections, keepalive: idle connections kept).",
    "client_name", "pool_type", contract=True,
)
CACHE_HITS = _spec(
    "semcache_hits_total", "counter",
    "Semantic cache hits by type (exact, semantic).", "type", contract=True,
)
CACHE_MISSES = _spec("semcache_misses_total", "counter", "Semantic cache misses.", contract=True)
CACHE_SIZE = _spec("semcache_size", "gauge", "Entries in the semantic cache.", contract=True)
CACHE_FILL = _spec(
    "semcache_fill_ratio", "gauge", "Semantic cache entries divided by capacity.", contract=True
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
    "method", "route", buckets=HTTP_BUCKETS, exemplars=True,
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
    "operation", "outcome", buckets=UPSTREAM_BUCKETS, exemplars=True,
)
LLM_TOKENS = _spec(
    "llm_tokens_total", "counter",
    "Tokens processed by Ollama, by model and type (prompt, completion).", "model", "type",
)
LLM_TTFT = _spec(
    "llm_time_to_first_token_seconds", "histogram",
    "Time from sending a chat request to its first token: measured for streams; for whole "
    "answers, the call's duration less Ollama's eval_duration.", "model",
    buckets=TTFT_BUCKETS, exemplars=True,
)
LLM_PHASE = _spec(
    "llm_phase_duration_seconds", "histogram",
    "Time Ollama reports for each phase of a call (load, prompt_eval, eval).", "model", "phase",
    buckets=UPSTREAM_BUCKETS,
)
QUERY_TTFT = _spec(
    "query_time_to_first_token_seconds", "histogram",
    "Time a caller of /api/query waited for a successful answer to start, by mode: to the "
    "first streamed line of content, or for a whole answer until it was ready less the "
    "model's generation time (Ollama's eval_duration). The latency SLI.", "mode",
    buckets=HTTP_BUCKETS, exemplars=True,
)
QUERY_DURATION = _spec(
    "query_duration_seconds", "histogram",
    "Duration of each /api/query request until its last byte, by outcome (cache_exact, "
    "cache_semantic, answered, shed, refused, failed): an exact hit's or a shed answer's "
    "latency on its own, which the route's histogram mixes with minutes-long answers.",
    "outcome", buckets=HTTP_BUCKETS,
)
QUERY_STREAM_FAILURES = _spec(
    "query_stream_failures_total", "counter",
    "Streamed answers that broke after their 200 status line, by upstream outcome; the "
    "availability SLI counts them as failed requests.", "outcome",
)
UPSTREAM_CANCELLED = _spec(
    "upstream_requests_cancelled_total", "counter",
    "Upstream calls cancelled because their caller went away (disconnected, or closed its "
    "stream) before the answer, by operation: the call to Ollama is closed, not left to run.",
    "operation",
)
ADMISSION_LIMIT = _spec(
    "admission_concurrency_limit", "gauge",
    "Upstream calls admission control lets run at once, by lane (chat, embed): adapted to "
    "Ollama's measured latency, between OLLAMA_RAG_ADMISSION_MIN and the lane's ceiling "
    "(OLLAMA_RAG_ADMISSION_MAX_CHAT, _EMBED).", "lane",
)
ADMISSION_IN_FLIGHT = _spec(
    "admission_in_flight", "gauge", "Upstream calls admitted and under way, by lane.", "lane",
)
ADMISSION_QUEUED = _spec(
    "admission_queued", "gauge", "Upstream calls waiting in admission's queue, by lane.", "lane",
)
ADMISSION_QUEUE_WAIT = _spec(
    "admission_queue_wait_seconds", "histogram",
    "Time each upstream call waited for admission, by lane (0 for those admitted at once; "
    "those that waited in vain are included).", "lane", buckets=QUEUE_BUCKETS,
)
ADMISSION_SHED = _spec(
    "admission_shed_total", "counter",
    "Requests turned away by admission control (503 overloaded, before reaching Ollama or "
    "the breaker), by lane and reason (queue_full, queue_timeout).", "lane", "reason",
)
UPSTREAM_UP = _spec(
    "upstream_up", "gauge",
    "1 if the last periodic health check of Ollama succeeded, 0 if it failed; checked "
    "whatever the traffic, outside the circuit breaker.", "client_name",
)
RETRIEVAL_DURATION = _spec(
    "retrieval_duration_seconds", "histogram",
    "Time to find the closest chunks in the document store.", buckets=FAST_BUCKETS,
)
DOCUMENT_CHUNKS = _spec("document_chunks", "gauge", "Chunks held in the document store.")
STORE_UP = _spec("store_up", "gauge", "1 if the document store answered its last call or "
                 "check, 0 if it failed (503 store_unavailable meanwhile).", "engine")
STORE_OPERATION_DURATION = _spec(
    "store_operation_duration_seconds", "histogram", "Time of each call to the document "
    "store, failed calls included.", "engine", "operation", buckets=FAST_BUCKETS)
STORE_ERRORS = _spec("store_errors_total", "counter", "Calls to the document store that "
                     "failed (down, unreachable, timed out, disk error).", "engine", "operation")
MODEL_AVAILABLE = _spec(
    "upstream_model_available", "gauge", "1 if Ollama has the configured model (GET "
    "/api/tags, and no call answered 'not found' since), 0 if not: `ollama pull` it.", "model")
BUILD_INFO = _spec("build", "info", "Version of the service.", "version")
EVENT_LOOP_LAG = _spec(
    "event_loop_lag_seconds", "histogram",
    "How late a periodic tick of the event loop woke (OLLAMA_RAG_LOOP_LAG_INTERVAL apart): "
    "the time every request waits while something holds the loop or the process gets no "
    "CPU.", buckets=LAG_BUCKETS,
)
MEMORY_LIMIT = _spec(
    "memory_limit_bytes", "gauge",
    "Memory the process may use: its cgroup's limit (a container's), or the machine's "
    "memory when there is none.",
)


def _standard(name: str, kind: Kind, doc: str, *labels: str) -> MetricSpec:
    return MetricSpec(name, kind, doc, tuple(labels), standard=True)


# prometheus_client's process, GC and platform collectors, registered in the app's registry.
RUNTIME_STANDARD: tuple[MetricSpec, ...] = (
    _standard("process_cpu_seconds_total", "counter", "CPU time of the process, user and "
              "system, in seconds."),
    _standard("process_resident_memory_bytes", "gauge", "Resident memory of the process."),
    _standard("process_virtual_memory_bytes", "gauge", "Virtual memory of the process."),
    _standard("process_open_fds", "gauge", "File descriptors the process holds open."),
    _standard("process_max_fds", "gauge", "The process's limit of open file descriptors."),
    _standard("process_start_time_seconds", "gauge", "Unix time the process started at."),
    _standard("python_gc_objects_collected_total", "counter",
              "Objects the garbage collector collected, by generation.", "generation"),
    _standard("python_gc_objects_uncollectable_total", "counter",
              "Uncollectable objects the garbage collector found, by generation.",
              "generation"),
    _standard("python_gc_collections_total", "counter",
              "Garbage collector runs, by generation.", "generation"),
    _standard("python_info", "gauge", "The Python implementation and version.",
              "implementation", "major", "minor", "patchlevel", "version"),
)

CATALOG: tuple[MetricSpec, ...] = (
    CB_STATE, CB_CALLS, CB_TRANSITIONS, CB_CONSECUTIVE_FAILURES, CB_LAST_CHANGE,
    POOL_REQUESTS, POOL_SIZE,
    CACHE_HITS, CACHE_MISSES, CACHE_SIZE, CACHE_FILL,
    CACHE_CAPACITY, CACHE_EVICTIONS, CACHE_LOOKUP, CACHE_SIMILARITY,
    HTTP_REQUESTS, HTTP_DURATION, HTTP_IN_PROGRESS,
    UPSTREAM_IN_FLIGHT, UPSTREAM_DURATION, UPSTREAM_UP, UPSTREAM_CANCELLED,
    ADMISSION_LIMIT, ADMISSION_IN_FLIGHT, ADMISSION_QUEUED, ADMISSION_QUEUE_WAIT, ADMISSION_SHED,
    QUERY_TTFT, QUERY_DURATION, QUERY_STREAM_FAILURES,
    LLM_TOKENS, LLM_TTFT, LLM_PHASE,
    RETRIEVAL_DURATION, DOCUMENT_CHUNKS, STORE_UP, STORE_OPERATION_DURATION, STORE_ERRORS,
    MODEL_AVAILABLE, BUILD_INFO,
    EVENT_LOOP_LAG, MEMORY_LIMIT, *RUNTIME_STANDARD,
)  # fmt: skip

CONTRACT_METRICS: tuple[MetricSpec, ...] = tuple(s for s in CATALOG if s.contract)
EXEMPLAR_METRICS: tuple[MetricSpec, ...] = tuple(s for s in CATALOG if s.exemplars)

# The transitions the breaker can make; pre-created so that rate() sees them from zero.
BREAKER_TRANSITIONS = (
    (BreakerState.CLOSED, BreakerState.OPEN),
    (BreakerState.OPEN, BreakerState.HALF_OPEN),
    (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    (BreakerState.HALF_OPEN, BreakerState.OPEN),
)


def normalise_method(method: str) -> str:
    """Map a client-supplied HTTP method onto the fixed label set."""
    return method if method in HTTP_METHODS else OTHER_METHOD


if __name__ == "__main__":
    sys.stdout.write(markdown_table(CATALOG))
