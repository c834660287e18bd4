"""Every error the service raises on purpose, and what a client is answered for each.

    ServiceError                      the service answers it as JSON, never as a traceback
    ├── ApiError                      the request itself: 4xx (or 503 not ready), as raised
    ├── CircuitOpenError              the breaker rejects calls: 503 with Retry-After
    ├── Overloaded                    admission control sheds the call: 503 with Retry-After
    ├── StoreUnavailable              the document store cannot be used: 503 with Retry-After
    └── UpstreamError                 a call to Ollama failed: 502
        ├── UpstreamOverloaded        ... no pooled connection came free in time: 503
        ├── OllamaBusy                ... Ollama's own queue was full (its 503): 503
        ├── UpstreamTimeout           ... it did not answer in time: 504
        ├── UpstreamConnectionError   ... it could not be reached
        ├── UpstreamServerError       ... it answered 5xx or reported an error
        ├── UpstreamBadResponse       ... its answer is malformed
        └── UpstreamRejectedRequest   ... it refused our request (4xx): Ollama is healthy
            └── ModelNotFound         ... it does not have the model: 503, pull it

Each upstream error carries the outcome label it is counted under and what the breaker
makes of it: a failure (True), a sign that Ollama is healthy (False), or nothing at all
(None: the call never left our connection pool). ``app/http/error_handlers.py`` turns each
into its JSON body, in one place.

    >>> raise UpstreamTimeout("Ollama did not answer in time")
"""

from __future__ import annotations

from app.core.labels import UpstreamOutcome


class ServiceError(Exception):
    """Base of every error the service answers with a JSON body."""


class ApiError(ServiceError):
    """A request the service will not serve, answered with ``status`` as raised."""

    def __init__(self, status: int, code: str, detail: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers


class CircuitOpenError(ServiceError):
    """Raised instead of making a call while the breaker rejects calls."""

    code = "circuit_open"

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"circuit breaker is open; retry after {retry_after:.1f}s")
        self.retry_after = retry_after


class Overloaded(ServiceError):
    """Admission control turned the call away before it reached Ollama (or the breaker):
    more calls are in flight than Ollama takes now and the queue is full."""

    code = "overloaded"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


class StoreUnavailable(ServiceError):
    """The document store (SQLite on disk, or a Chroma server) failed or cannot be reached:
    questions and ingestions need it, so they are answered 503 until it is back."""

    code = "store_unavailable"
    retry_after = 5

    def __init__(self, detail: str, *, engine: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.engine = engine


class UpstreamError(ServiceError):
    """An upstream call failed; ``http_status`` is what the service answers with."""

    http_status = 502
    code = "upstream_error"
    outcome = UpstreamOutcome.SERVER_ERROR
    breaker_failure: bool | None = True  # True: Ollama is unhealthy; None: says nothing
    retry_after: int | None = None  # seconds, sent as Retry-After when set

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UpstreamOverloaded(UpstreamError):
    """Every pooled connection stayed busy for the pool timeout: we are overloaded, Ollama
    may be perfectly healthy, so the breaker does not count it."""

    http_status = 503
    code = "overloaded"
    outcome = UpstreamOutcome.POOL_TIMEOUT
    breaker_failure = None
    retry_after = 1


class OllamaBusy(UpstreamError):
    """Ollama answered 503 "server busy ... maximum pending requests exceeded": more calls
    wait in its queue than OLLAMA_MAX_QUEUE allows. Overload, not failure: the breaker does
    not count it, admission control lowers its limit, the caller is told to retry."""

    http_status = 503
    code = "overloaded"
    outcome = UpstreamOutcome.OLLAMA_BUSY
    breaker_failure = None
    retry_after = 1


class UpstreamTimeout(UpstreamError):
    http_status = 504
    code = "upstream_timeout"
    outcome = UpstreamOutcome.TIMEOUT


class UpstreamConnectionError(UpstreamError):
    code = "upstream_unreachable"
    outcome = UpstreamOutcome.CONNECTION_ERROR


class UpstreamBadResponse(UpstreamError):
    code = "upstream_bad_response"
    outcome = UpstreamOutcome.MALFORMED


class UpstreamServerError(UpstreamError):
    code = "upstream_server_error"
    outcome = UpstreamOutcome.SERVER_ERROR


class UpstreamRejectedRequest(UpstreamError):
    """Ollama answered 4xx: our request (model name, say) is wrong, Ollama is healthy."""

    code = "upstream_rejected_request"
    outcome = UpstreamOutcome.CLIENT_ERROR
    breaker_failure = False


class ModelNotFound(UpstreamRejectedRequest):
    """Ollama answered 404 "model ... not found": it runs, but the model was never pulled
    (the most common first-run mistake). Nothing to retry until someone pulls it."""

    http_status = 503
    code = "model_not_found"

    def __init__(self, model: str) -> None:
        super().__init__(f'Ollama does not have the model "{model}": run `ollama pull {model}` '
                         "on the Ollama host")
        self.model = model
