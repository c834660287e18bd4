"""The label values the service sets: fixed names and one enum per label. Nothing a client
sends ever becomes a label value: code that sets a label uses these, never a literal
(``tests/repository/test_layout.py`` enforces it).

    >>> metrics.breaker_calls.labels(BREAKER_NAME, CallStatus.REJECTED).inc()
"""

from __future__ import annotations

from enum import StrEnum

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


# The model label of a model the service is not configured with (Ollama's /api/ps lists
# every loaded model, whoever loaded it): one value, so the series stay bounded.
OTHER_MODEL = "other"


class ModelMemory(StrEnum):
    """``memory`` of ``ollama_model_memory_bytes``."""

    VRAM = "vram"
    TOTAL = "total"


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
    LOADED_MODELS = "loaded_models"  # GET /api/ps with the health check


class UpstreamOutcome(StrEnum):
    SUCCESS = "success"
    CLIENT_ERROR = "client_error"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    MALFORMED = "malformed"
    POOL_TIMEOUT = "pool_timeout"  # no connection free in time: overload, not Ollama's fault
    OLLAMA_BUSY = "ollama_busy"  # Ollama's own queue was full (its 503): overload


class AnswerMode(StrEnum):
    """How a question was answered: one JSON body, or a stream (NDJSON events on
    ``/api/query``, server-sent events on ``/v1/chat/completions``)."""

    WHOLE = "whole"
    STREAM = "streamed"


class QuestionApi(StrEnum):
    """``api``: which API a question came through."""

    NATIVE = "native"  # POST /api/query
    OPENAI = "openai"  # POST /v1/chat/completions


# The route each question API answers on, for the request metrics' per-question outcome.
QUESTION_ROUTES = {"/api/query": QuestionApi.NATIVE,
                   "/v1/chat/completions": QuestionApi.OPENAI}


class AdmissionLaneName(StrEnum):
    """``lane``: the kind of upstream call admission control limits separately (a chat and
    an embedding differ a thousandfold in how long they hold Ollama)."""

    CHAT = "chat"  # whole and streamed answers
    EMBED = "embed"  # questions and documents


class ShedReason(StrEnum):
    """Why admission control turned a call away."""

    QUEUE_FULL = "queue_full"  # at the limit, and no turn expected within the queue's wait
    QUEUE_TIMEOUT = "queue_timeout"  # queued, and no slot came free within the wait
    OLLAMA_BUSY = "ollama_busy"  # admitted, but Ollama's own queue was full (its 503)


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
    """``outcome`` of a question (``/api/query``, ``/v1/chat/completions``), as its caller
    saw it."""

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
    StoreEngine, StoreOperation, QueryOutcome, QuestionApi,
)
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
OTHER_METHOD = "OTHER"
UNMATCHED_ROUTE = "unmatched"
# Routes polled by machines (Prometheus's scrape, load balancers' checks), not asked by users:
# served while draining, never traced, and left out of the dashboards' traffic by route.
OPERATIONAL_ROUTES = ("/metrics", "/healthz", "/readyz")

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
