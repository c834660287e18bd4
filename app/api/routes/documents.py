"""``POST /api/documents``: chunk, embed and keep documents for retrieval."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import PartsDep
from app.api.limits import check_limits
from app.core.schemas import DocumentsRequest, IngestResult, error_responses
from app.store.base import unnamed_source

router = APIRouter(tags=["documents"])


@router.post("/api/documents", response_model=IngestResult,
             responses=error_responses(400, 413, 422, 502, 503, 504))
async def documents(body: DocumentsRequest, parts: PartsDep) -> IngestResult:
    check_limits(body, parts.settings)
    pairs = [(doc.source or unnamed_source(doc.text), doc.text) for doc in body.documents]
    return await parts.rag.ingest(pairs)
