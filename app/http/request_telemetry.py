"""One server span per request (when tracing is on) and one JSON access log line per request
(when the access log is on), joined by the trace id.

The span is named by route template (``POST /api/query``), follows the OpenTelemetry HTTP
conventions, continues the caller's trace when it sends a ``traceparent``, and ends when the
response has been sent: for a streamed answer, when the stream ends or breaks. A 5xx, or a
stream that broke after its 200, marks it failed with the service's error code.

    >>> telemetry = RequestTelemetry(tracing, access_log=True)
    >>> with telemetry.server_span(scope, "POST", "/api/query") as span: ...
    >>> telemetry.finish(span, "POST", "/api/query", 200, 0.004, record)
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry.trace import SpanKind
from starlette.types import Scope

from app.http.drain import OPERATIONAL_PATHS
from app.telemetry.logs import ACCESS_LOGGER, log_fields
from app.telemetry.request_context import RequestRecord
from app.telemetry.tracing import NULL_SCOPE, Tracing, mark_failed

# Polled by machines every few seconds (Prometheus, load balancers): logged, never traced.
UNTRACED_ROUTES = OPERATIONAL_PATHS
_TRACE_HEADERS = (b"traceparent", b"tracestate", b"user-agent")
access_log = logging.getLogger(ACCESS_LOGGER)


def _headers(scope: Scope) -> dict[str, str]:
    return {key.decode("latin-1"): value.decode("latin-1")
            for key, value in scope["headers"] if key in _TRACE_HEADERS}


def _server_attributes(scope: Scope, method: str, route: str,
                       headers: dict[str, str]) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "http.request.method": method, "http.route": route,
        "url.path": scope["path"], "url.scheme": scope.get("scheme", "http"),
        "network.protocol.version": scope.get("http_version", "1.1"),
    }
    if "user-agent" in headers:
        attributes["user_agent.original"] = headers["user-agent"][:256]
    return attributes


def access_fields(method: str, route: str, status: int, seconds: float,
                  record: RequestRecord) -> dict[str, Any]:
    """The access line's own fields (``app/telemetry/logs.py`` adds time, level, logger,
    message and the trace ids)."""
    fields: dict[str, Any] = {"method": method, "route": route, "status": status,
                              "duration_ms": round(seconds * 1000, 3), "cache": record.cache}
    if record.error is not None:
        fields["error"] = record.error
    return fields


class RequestTelemetry:
    def __init__(self, tracing: Tracing, *, access_log: bool) -> None:
        self._tracing = tracing
        self._log = access_log

    def server_span(self, scope: Scope, method: str,
                    route: str) -> AbstractContextManager[Any]:
        if not self._tracing.enabled or route in UNTRACED_ROUTES:
            return NULL_SCOPE
        headers = _headers(scope)
        caller = self._tracing.incoming(headers) if "traceparent" in headers else None
        return self._tracing.span(f"{method} {route}",
                                  _server_attributes(scope, method, route, headers),
                                  SpanKind.SERVER, caller)

    def finish(self, span: Any, method: str, route: str, status: int, seconds: float,
               record: RequestRecord) -> None:
        """Inside the span: its closing attributes, then the access line (which takes the
        span's ids)."""
        if span.is_recording():
            _finish_span(span, status, record)
        if self._log:
            log_fields(access_log, f"{method} {route} {status}",
                       access_fields(method, route, status, seconds, record))


def _finish_span(span: Any, status: int, record: RequestRecord) -> None:
    attributes: dict[str, Any] = {"http.response.status_code": status}
    if record.cache is not None:
        attributes["ollama_rag.cache.result"] = record.cache
    if record.similarity is not None:
        attributes["ollama_rag.cache.similarity"] = record.similarity
    if record.error is not None:
        attributes["ollama_rag.error"] = record.error
    span.set_attributes(attributes)
    if record.error is not None:
        # Server spans fail on 5xx (a client's 4xx is not the service's failure), and on a
        # stream that broke after its 200, which the availability SLI counts.
        if status >= 500 or status < 400:
            mark_failed(span, record.error, record.error_detail or record.error)
    elif status >= 500:
        mark_failed(span, str(status), "the service failed")
