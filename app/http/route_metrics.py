"""Counting and timing every HTTP request by route template (for ``app/http/request_layer.py``).

The route label is the template (``/api/query``), never the raw path: any path that no
route matches is counted under one fixed value, so scanners cannot add series.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from starlette.routing import BaseRoute, Match, Router
from starlette.types import Scope

from app.core.errors import Overloaded
from app.core.labels import QUESTION_ROUTES, UNMATCHED_ROUTE, HitType, QueryOutcome
from app.telemetry.metrics import Metrics
from app.telemetry.request_context import RequestRecord
from app.telemetry.tracing import Tracing


def flat_routes(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route, with the routes of included routers in their place.

    FastAPI includes an ``APIRouter`` as one entry that holds the original router; the app
    includes its routers without a prefix, so their routes' paths are the templates.
    """
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from flat_routes(included.routes)
        else:
            yield route


def route_template(routes: Iterable[BaseRoute], scope: Scope) -> str:
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return getattr(route, "path", UNMATCHED_ROUTE)
        if match is Match.PARTIAL and partial is None:
            partial = getattr(route, "path", UNMATCHED_ROUTE)  # right path, wrong method
    return partial or UNMATCHED_ROUTE


def expected_statuses(route: BaseRoute) -> set[int]:
    """The statuses a route says it answers with (its OpenAPI responses), and 500, which any
    route answers when the service fails."""
    statuses = {getattr(route, "status_code", None) or 200, 500}
    for key in getattr(route, "responses", {}):
        if str(key).isdigit():
            statuses.add(int(key))
    return statuses


def create_route_series(metrics: Metrics, routes: Iterable[BaseRoute]) -> None:
    """Create every route's series at zero, for each status it can answer.

    Without them an error ratio is "no data" until the first error, and ``rate()`` misses
    the increment that creates the series: the first 5xx after a restart would be lost.
    """
    for route in flat_routes(routes):
        template = getattr(route, "path", None)
        for method in getattr(route, "methods", None) or ():
            if template is None or method == "HEAD":
                continue
            metrics.http_duration.labels(method, template)
            metrics.http_in_progress.labels(template)
            for status in expected_statuses(route):
                metrics.http_requests.labels(method, template, str(status))


MAX_CACHED_PATHS = 1024


class RouteResolver:
    """The route template of a request, cached per (method, path) for matched paths only
    (clients cannot grow the cache), and bounded anyway. Route matching costs more than
    the counting it labels."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self._templates: dict[tuple[str, str], str] = {}
        self._routes: list[BaseRoute] | None = None  # flattened at the first request

    def __call__(self, scope: Scope) -> str:
        key = (scope["method"], scope["path"])
        route = self._templates.get(key)
        if route is None:
            if self._routes is None:
                self._routes = list(flat_routes(self.router.routes))
            route = route_template(self._routes, scope)
            if route != UNMATCHED_ROUTE and len(self._templates) < MAX_CACHED_PATHS:
                self._templates[key] = route
        return route


_CACHE_HITS: dict[str | None, QueryOutcome] = {HitType.EXACT: QueryOutcome.CACHE_EXACT,
                                                HitType.SEMANTIC: QueryOutcome.CACHE_SEMANTIC}


def query_outcome(status: int, record: RequestRecord) -> QueryOutcome:
    """What the caller of a question got, from its status and what the pipeline noted."""
    if record.error == Overloaded.code:
        return QueryOutcome.SHED
    if 400 <= status < 500:
        return QueryOutcome.REFUSED
    if status >= 500 or record.error is not None:
        return QueryOutcome.FAILED
    return _CACHE_HITS.get(record.cache, QueryOutcome.ANSWERED)


class RequestMetrics:
    """Counts and times requests by route template; the duration carries the current span's
    trace id as an exemplar when tracing is on.

    >>> request_metrics.start("POST", "/api/query")
    >>> request_metrics.finish("POST", "/api/query", 200, 0.004, record)
    """

    def __init__(self, metrics: Metrics, tracing: Tracing) -> None:
        self.metrics = metrics
        self._exemplar = tracing.exemplar
        # Hot-path caches: .labels() lookups cost more than the counting.
        self._children: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._query_durations = {(route, outcome): metrics.query_duration.labels(outcome, api)
                                 for route, api in QUESTION_ROUTES.items()
                                 for outcome in QueryOutcome}

    def start(self, method: str, route: str) -> None:
        """A request of the route is in progress."""
        self._children_of(method, route)[1].inc()

    def _children_of(self, method: str, route: str) -> tuple[Any, Any]:
        """The route's duration histogram and in-progress gauge."""
        children = self._children.get((method, route))
        if children is None:
            children = (self.metrics.http_duration.labels(method, route),
                        self.metrics.http_in_progress.labels(route))
            self._children[(method, route)] = children
        return children

    def finish(self, method: str, route: str, status: int, elapsed: float,
               record: RequestRecord) -> None:
        duration, in_progress = self._children_of(method, route)
        duration.observe(elapsed, self._exemplar())
        if route in QUESTION_ROUTES:
            self._query_durations[route, query_outcome(status, record)].observe(elapsed)
        counter = self._counters.get((method, route, status))
        if counter is None:
            counter = self.metrics.http_requests.labels(method, route, str(status))
            self._counters[(method, route, status)] = counter
        counter.inc()
        in_progress.dec()
