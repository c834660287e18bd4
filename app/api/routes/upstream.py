"""``GET /api/upstream``: how this instance calls Ollama (models, health check, timeouts).

The Ollama URL is left out: it may name an internal host, and nothing outside needs it.
"""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import PartsDep
from app.core.schemas import UpstreamSettings

router = APIRouter(tags=["upstream"])


@router.get("/api/upstream", response_model=UpstreamSettings)
async def upstream(parts: PartsDep) -> UpstreamSettings:
    settings = parts.settings
    return UpstreamSettings(
        chat_model=settings.chat_model, embed_model=settings.embed_model,
        health_check_interval_seconds=settings.health_check_interval,
        health_check_timeout_seconds=settings.health_check_timeout,
        connect_timeout_seconds=settings.connect_timeout,
        read_timeout_seconds=settings.read_timeout, pool_timeout_seconds=settings.pool_timeout)
