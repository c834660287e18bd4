"""``GET /metrics``: the app's registry in the Prometheus text format, or OpenMetrics when
the scraper asks for it."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from prometheus_client.exposition import CONTENT_TYPE_LATEST, choose_encoder
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as OPENMETRICS

from app.api.deps import PartsDep, check_bearer
from app.core.errors import ApiError
from app.core.schemas import error_responses

router = APIRouter(tags=["operations"])

_TEXT = {"schema": {"type": "string"}}
_EXPOSITION = {
    "description": "Every metric of the service (docs/metrics.md lists them).",
    "content": {CONTENT_TYPE_LATEST.split(";")[0]: _TEXT, OPENMETRICS.split(";")[0]: _TEXT},
}


@router.get("/metrics", response_class=Response,
            responses={200: _EXPOSITION, **error_responses(401, 404)})
async def metrics(request: Request, parts: PartsDep) -> Response:
    settings = parts.settings
    if not settings.metrics_enabled:
        raise ApiError(404, "not_found", "metrics are disabled (OLLAMA_RAG_METRICS_ENABLED=false)")
    if settings.metrics_token is not None:
        check_bearer(request, settings.metrics_token, "/metrics")
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    # Rendered in a worker thread: on the loop, a render (4 ms on a quiet machine, 13-19 ms
    # on a busy one) held up every request that arrived meanwhile. The metrics' own locks
    # make reading them from another thread safe.
    body = await asyncio.to_thread(encoder, parts.registry)
    return Response(body, media_type=content_type)
