"""ASGI middleware that counts and times every HTTP request by route template.

The route label is the template (``/api/query``), never the raw path: any path that no
route matches is counted under one fixed value, so scanners cannot add series.
"""

from __future__ import annotations

import time

from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.metrics import UNMATCHED_ROUTE, Metrics, normalise_method


def route_template(router: Router, scope: Scope) -> str:
    partial = None
    for route in router.routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return getattr(route, "path", UNMATCHED_ROUTE)
        if match is Match.PARTIAL and partial is None:
            partial = getattr(route, "path", UNMATCHED_ROUTE)  # right path, wrong method
    return partial or UNMATCHED_ROUTE


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, router: Router) -> None:
        self.app = app
        self.metrics = metrics
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = route_template(self.router, scope)
        method = normalise_method(scope["method"])
        status = 500  # what the client sees if the app dies before answering

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        in_progress = self.metrics.http_in_progress.labels(route)
        in_progress.inc()
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            self.metrics.http_duration.labels(method, route).observe(
                time.perf_counter() - started
            )
            self.metrics.http_requests.labels(method, route, str(status)).inc()
            in_progress.dec()
