"""The HTTP routes, one module per resource; ``ROUTERS`` is what the factory includes."""

from __future__ import annotations

from app.api.routes import (
    api_docs,
    breaker,
    cache,
    documents,
    exposition,
    health,
    openai,
    query,
    upstream,
)

ROUTERS = (query.router, openai.router, documents.router, cache.router, breaker.router,
           upstream.router, exposition.router, health.router, api_docs.router)
