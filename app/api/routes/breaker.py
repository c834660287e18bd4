"""``GET /api/breaker``: the circuit breaker's state and configuration."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import PartsDep
from app.core.schemas import BreakerStatus

router = APIRouter(tags=["breaker"])


@router.get("/api/breaker", response_model=BreakerStatus)
async def breaker(parts: PartsDep) -> BreakerStatus:
    return BreakerStatus.model_validate(parts.breaker.snapshot())
