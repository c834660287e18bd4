"""The one ASGI layer around the application: every request is counted and timed by route
template, gets its server span and access line, is refused while the instance drains or when
its body is too large, and is cancelled when its caller goes away.

One layer rather than a middleware per concern: each middleware is another wrapped ``send``
and ``receive`` and another coroutine frame on every request, and five of them cost more CPU
than a cache hit's own work (docs/performance.md, section 8).

    >>> app.add_middleware(RequestLayer, routes=RouteResolver(app.router),
    ...                    metrics=RequestMetrics(parts.metrics, parts.tracing),
    ...                    telemetry=RequestTelemetry(tracing, access_log=True),
    ...                    drain=drain, max_body_bytes=1 << 20)

What is recorded, in order: the request record the pipeline notes on
(``app/telemetry/request_context.py``) is opened first; the span covers everything; the
metrics observe inside the span (their exemplar is its trace id); the access line is written
last, with the span's ids.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.labels import normalise_method
from app.http.body_limit import METHODS_WITH_BODY, BodyRefused, read_body
from app.http.disconnect import CLIENT_CLOSED_REQUEST, ResponseSend, run_until_disconnect
from app.http.drain import OPERATIONAL_PATHS, Drain, shutting_down
from app.http.request_telemetry import RequestTelemetry
from app.http.route_metrics import RequestMetrics, RouteResolver
from app.telemetry.request_context import RecordScope


class RequestLayer:
    def __init__(self, app: ASGIApp, *, routes: RouteResolver,
                 metrics: RequestMetrics | None, telemetry: RequestTelemetry, drain: Drain,
                 max_body_bytes: int) -> None:
        self.app = app
        self._route = routes
        self._metrics = metrics
        self._telemetry = telemetry
        self._drain = drain
        self._max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = self._route(scope)
        method = normalise_method(scope["method"])
        response = ResponseSend(send)
        with RecordScope() as record, self._telemetry.server_span(scope, method,
                                                                  route) as span:
            if self._metrics is not None:
                self._metrics.start(method, route)
            started = time.perf_counter()
            try:
                await self._serve(scope, receive, response)
            finally:
                elapsed = time.perf_counter() - started
                if self._metrics is not None:
                    self._metrics.finish(method, route, response.status, elapsed, record)
                self._telemetry.finish(span, method, route, response.status, elapsed, record)

    async def _serve(self, scope: Scope, receive: Receive, response: ResponseSend) -> None:
        if scope["path"] in OPERATIONAL_PATHS:  # served while draining, not counted in it
            await self._run(scope, receive, response)
            return
        if self._drain.draining:
            await shutting_down()(scope, receive, response)
            return
        self._drain.enter()
        try:
            await self._run(scope, receive, response)
        finally:
            self._drain.leave()

    async def _run(self, scope: Scope, receive: Receive, response: ResponseSend) -> None:
        if scope["method"] not in METHODS_WITH_BODY:  # no upstream work to cancel
            await self.app(scope, receive, response)
            return
        body = await read_body(scope, receive, self._max_body)
        if isinstance(body, BodyRefused):
            await body.response(scope, receive, response)
        elif isinstance(body, bytes):
            await run_until_disconnect(self.app, scope, receive, response, body)
        else:  # the caller left before sending its whole body: nothing to answer
            response.status = CLIENT_CLOSED_REQUEST
