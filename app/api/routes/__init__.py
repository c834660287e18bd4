"""The HTTP routes, one module per resource; ``ROUTERS`` is what the factory includes."""

from __future__ import annotations

from app.api.routes import breaker, cache, documents, exposition, health, query, upstream

ROUTERS = (query.router, documents.router, cache.router, breaker.router, upstream.router,
           exposition.router, health.router)
