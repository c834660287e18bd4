"""The outermost middleware: one server span per request (when tracing is on) and one JSON
access log line per request (when the access log is on), joined by the trace id.

The span is named by route template (``POST /api/query``), follows the OpenTelemetry HTTP
conventions, continues the caller's trace when it sends a ``traceparent``, and ends when the
response has been sent: for a streamed answer, when the stream ends or breaks. A 5xx, or a
stream that broke after its 200, marks it failed with the service's error code.

    >>> app.add_middleware(RequestTelemetryMiddleware, routes=routes, tracing=tracing,
    ...                    access_log=True)
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.labels import normalise_method
from app.http.drain import OPERATIONAL_PATHS
from app.http.route_metrics import RouteResolver, StatusNotingSend
from app.telemetry.request_context import RequestRecord, request_record
from app.telemetry.tracing import NULL_SCOPE, Tracing, current_ids, mark_failed

ACCESS_LOGGER = "ollama_rag.access"  # the lines' "logger" field, for log pipelines
# Polled by machines every few seconds (Prometheus, load balancers): logged, never traced.
UNTRACED_ROUTES = OPERATIONAL_PATHS


def write_access_line(line: str) -> None:
    """One line to stdout, flushed: written directly, as a web server writes its access log
    (through the logging module, its record and handler took about a third of the line's
    time)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _headers(scope: Scope) -> dict[str, str]:
    return {key.decode("latin-1"): value.decode("latin-1")
            for key, value in scope.get("headers", ()) if key in (b"traceparent",
                                                                   b"tracestate",
                                                                   b"user-agent")}


def _server_attributes(scope: Scope, route: str, headers: dict[str, str]) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "http.request.method": normalise_method(scope["method"]), "http.route": route,
        "url.path": scope["path"], "url.scheme": scope.get("scheme", "http"),
        "network.protocol.version": scope.get("http_version", "1.1"),
    }
    if "user-agent" in headers:
        attributes["user_agent.original"] = headers["user-agent"][:256]
    return attributes


def access_line(scope: Scope, route: str, status: int, seconds: float,
                record: RequestRecord) -> str:
    """The access log line: JSON, one object per request."""
    ids = current_ids()
    line: dict[str, Any] = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "level": "info", "logger": ACCESS_LOGGER,
        "method": normalise_method(scope["method"]), "route": route, "status": status,
        "duration_ms": round(seconds * 1000, 3), "cache": record.cache,
        "trace_id": ids[0] if ids else None, "span_id": ids[1] if ids else None,
    }
    if record.error is not None:
        line["error"] = record.error
    return json.dumps(line, separators=(",", ":"))


class RequestTelemetryMiddleware:
    def __init__(self, app: ASGIApp, *, routes: RouteResolver, tracing: Tracing,
                 access_log: bool) -> None:
        self.app = app
        self._route = routes
        self._tracing = tracing
        self._log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = self._route(scope)
        noting = StatusNotingSend(send)
        started = time.perf_counter()
        with request_record() as record, self._server_span(scope, route) as span:
            try:
                await self.app(scope, receive, noting)
            finally:
                if span.is_recording():
                    self._finish_span(span, noting.status, record)
                if self._log:
                    write_access_line(access_line(scope, route, noting.status,
                                                  time.perf_counter() - started, record))

    def _server_span(self, scope: Scope, route: str) -> AbstractContextManager[Any]:
        if not self._tracing.enabled or route in UNTRACED_ROUTES:
            return NULL_SCOPE
        headers = _headers(scope)
        return self._tracing.span(f"{normalise_method(scope['method'])} {route}",
                                  _server_attributes(scope, route, headers), SpanKind.SERVER,
                                  self._tracing.incoming(headers))

    @staticmethod
    def _finish_span(span: Any, status: int, record: RequestRecord) -> None:
        span.set_attribute("http.response.status_code", status)
        if record.cache is not None:
            span.set_attribute("ollama_rag.cache.result", record.cache)
        if record.similarity is not None:
            span.set_attribute("ollama_rag.cache.similarity", record.similarity)
        if record.error is not None:
            span.set_attribute("ollama_rag.error", record.error)
            # Server spans fail on 5xx (a client's 4xx is not the service's failure), and
            # on a stream that broke after its 200, which the availability SLI counts.
            if status >= 500 or status < 400:
                mark_failed(span, record.error, record.error_detail or record.error)
        elif status >= 500:
            mark_failed(span, str(status), "the service failed")
