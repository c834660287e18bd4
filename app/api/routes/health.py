"""``GET /healthz`` (the process answers) and ``GET /readyz`` (it can answer questions)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.api.deps import PartsDep
from app.core.errors import ApiError, ModelNotFound, StoreUnavailable
from app.core.schemas import Status, error_responses
from app.http.drain import SHUTTING_DOWN
from app.upstream.model_check import pull_advice

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Status)
async def healthz(request: Request) -> Status:
    return Status(status="ok", version=request.app.version)


@router.get("/readyz", response_model=Status, responses=error_responses(503))
async def readyz(request: Request, parts: PartsDep) -> Status:
    if parts.drain.draining:
        raise ApiError(503, SHUTTING_DOWN, "this instance is shutting down: send no more work")
    missing = sorted(parts.client.models.missing)
    if missing:
        raise ApiError(503, ModelNotFound.code, "; ".join(pull_advice(m) for m in missing))
    if parts.store.up is False:
        raise ApiError(503, StoreUnavailable.code, parts.store.last_error)
    if not parts.rag.ready:
        raise ApiError(503, "not_ready",
                       "the built-in corpus is not indexed yet: Ollama has not answered")
    return Status(status="ready", version=request.app.version)
