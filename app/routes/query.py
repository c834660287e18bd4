"""``POST /api/query``: answer a question, as one body or as NDJSON stream events."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from app.dependencies import PartsDep
from app.errors import ApiError
from app.schemas import QueryAnswer, QueryRequest, error_responses
from app.settings import Settings

router = APIRouter(tags=["questions"])

NDJSON = "application/x-ndjson"
_STREAM_RESPONSE = {
    "description": "The answer: a JSON body, or with `stream: true` NDJSON stream events "
                   "(`start`, `chunk`..., then `end`, or `error` if Ollama breaks mid-answer).",
    # app/openapi.py adds the StreamEvent schema (a union of the four events).
    "content": {NDJSON: {"schema": {"$ref": "#/components/schemas/StreamEvent"}}},
}


def _checked_top_k(body: QueryRequest, settings: Settings) -> int:
    """The question's ``top_k``, checked against this instance's limits."""
    if len(body.question) > settings.max_question_chars:
        raise ApiError(422, "invalid_request",
                       f"question: longer than {settings.max_question_chars} characters")
    top_k = settings.default_top_k if body.top_k is None else body.top_k
    if not 1 <= top_k <= settings.max_top_k:
        raise ApiError(422, "invalid_request",
                       f"top_k: must be between 1 and {settings.max_top_k}")
    return top_k


@router.post("/api/query", response_model=QueryAnswer,
             responses={200: _STREAM_RESPONSE, **error_responses(400, 413, 422, 502, 503, 504)})
async def query(body: QueryRequest, parts: PartsDep) -> QueryAnswer | StreamingResponse:
    top_k = _checked_top_k(body, parts.settings)
    question = body.question.strip()
    if body.stream:
        lines = await parts.rag.answer_stream(question, top_k)
        return StreamingResponse(lines, media_type=NDJSON)
    return await parts.rag.answer(question, top_k)
