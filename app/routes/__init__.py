"""The HTTP routes, one module per resource; ``ROUTERS`` is what the factory includes."""

from __future__ import annotations

from app.routes import breaker, cache, documents, exposition, health, query

ROUTERS = (query.router, documents.router, cache.router, breaker.router, exposition.router,
           health.router)
