"""The app factory: ``create_app(settings)`` assembles one service with its own registry.

    >>> app = create_app(Settings(ollama_url="http://127.0.0.1:11434"))
    >>> uvicorn.run(app)
"""

from __future__ import annotations

from fastapi import FastAPI

from app import __version__
from app.api.openapi import install_openapi
from app.api.routes import ROUTERS
from app.components import build_components
from app.core.settings import Settings
from app.http.body_limit import BodyLimitMiddleware
from app.http.disconnect import CancelOnDisconnectMiddleware
from app.http.drain import DrainMiddleware
from app.http.error_handlers import install_error_handlers
from app.http.request_telemetry import RequestTelemetryMiddleware
from app.http.route_metrics import HttpMetricsMiddleware, RouteResolver, create_route_series
from app.lifespan import lifespan_of


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    parts = build_components(settings)
    app = FastAPI(title="ollama-rag", version=__version__, lifespan=lifespan_of(parts))
    app.state.components = parts
    install_error_handlers(app)
    routes = RouteResolver(app.router)
    # The last added is the outermost: the server span and the access log cover the
    # metrics, which count what the drain and the body limit refuse; a request whose caller
    # hung up is cancelled inside them all, so that each records it (499).
    app.add_middleware(CancelOnDisconnectMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(DrainMiddleware, drain=parts.drain)
    if settings.metrics_enabled:
        app.add_middleware(HttpMetricsMiddleware, metrics=parts.metrics, routes=routes,
                           tracing=parts.tracing)
    if parts.tracing.enabled or settings.access_log:
        app.add_middleware(RequestTelemetryMiddleware, routes=routes, tracing=parts.tracing,
                           access_log=settings.access_log)
    for router in ROUTERS:
        app.include_router(router)
    if settings.metrics_enabled:
        create_route_series(parts.metrics, app.router.routes)
    install_openapi(app, settings)
    return app
