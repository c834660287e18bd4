"""``POST /api/query``: answer a question, as one body or as NDJSON stream events."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from app.api.deps import PartsDep
from app.api.limits import check_limits
from app.core.schemas import QueryAnswer, QueryRequest, error_responses, ndjson
from app.rag.pipeline import Question

router = APIRouter(tags=["questions"])

NDJSON = "application/x-ndjson"
_STREAM_RESPONSE = {
    "description": "The answer: a JSON body, or with `stream: true` NDJSON stream events "
                   "(`start`, `chunk`..., then `end`, or `error` if Ollama breaks mid-answer).",
    # app/api/openapi.py adds the StreamEvent schema (a union of the four events).
    "content": {NDJSON: {"schema": {"$ref": "#/components/schemas/StreamEvent"}}},
}


@router.post("/api/query", response_model=QueryAnswer,
             responses={200: _STREAM_RESPONSE, **error_responses(400, 413, 422, 502, 503, 504)})
async def query(body: QueryRequest, parts: PartsDep) -> QueryAnswer | StreamingResponse:
    check_limits(body, parts.settings)
    top_k = parts.settings.default_top_k if body.top_k is None else body.top_k
    question = Question(body.question.strip(), top_k)
    if body.stream:
        events = await parts.rag.answer_stream(question)
        return StreamingResponse((ndjson(event) async for event in events), media_type=NDJSON)
    return await parts.rag.answer(question)
