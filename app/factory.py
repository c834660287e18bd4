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
from app.http.error_handlers import install_error_handlers
from app.http.request_layer import RequestLayer
from app.http.request_telemetry import RequestTelemetry
from app.http.route_metrics import RequestMetrics, RouteResolver, create_route_series
from app.lifespan import lifespan_of


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    parts = build_components(settings)
    # /docs and /redoc are app/api/routes/api_docs.py's, which need no CDN.
    app = FastAPI(title="ollama-rag", version=__version__, lifespan=lifespan_of(parts),
                  docs_url=None, redoc_url=None)
    app.state.components = parts
    install_error_handlers(app)
    app.add_middleware(
        RequestLayer, routes=RouteResolver(app.router),
        metrics=RequestMetrics(parts.metrics, parts.tracing) if settings.metrics_enabled
        else None,
        telemetry=RequestTelemetry(parts.tracing, access_log=settings.access_log),
        drain=parts.drain, max_body_bytes=settings.max_body_bytes)
    for router in ROUTERS:
        app.include_router(router)
    if settings.metrics_enabled:
        create_route_series(parts.metrics, app.router.routes)
    install_openapi(app, settings)
    return app
