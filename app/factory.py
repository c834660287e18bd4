"""The app factory: ``create_app(settings)`` assembles one service with its own registry.

    >>> app = create_app(Settings(ollama_url="http://127.0.0.1:11434"))
    >>> uvicorn.run(app)
"""

from __future__ import annotations

from fastapi import FastAPI

from app import __version__
from app.body_limit import BodyLimitMiddleware
from app.components import build_components
from app.error_handlers import install_error_handlers
from app.http_metrics import HttpMetricsMiddleware, create_route_series
from app.lifespan import lifespan_of
from app.openapi import install_openapi
from app.routes import ROUTERS
from app.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    parts = build_components(settings)
    app = FastAPI(title="ollama-rag", version=__version__, lifespan=lifespan_of(parts))
    app.state.components = parts
    install_error_handlers(app)
    # Outermost first: the metrics middleware also counts what the body limit refuses.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.metrics_enabled:
        app.add_middleware(HttpMetricsMiddleware, metrics=parts.metrics, router=app.router)
    for router in ROUTERS:
        app.include_router(router)
    if settings.metrics_enabled:
        create_route_series(parts.metrics, app.router.routes)
    install_openapi(app, settings)
    return app
