"""OpenAI's API, as its clients call it: ``GET /v1/models``, ``POST /v1/chat/completions``
(whole, or server-sent events with ``stream: true``) and ``POST /v1/embeddings``, answered
by the same pipeline, breaker and admission control as ``/api/query``. Errors come in
OpenAI's shape (``app/http/error_handlers.py``).

    >>> client = openai.OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="unused")
    >>> client.chat.completions.create(model="ollama-rag/llama3.2", messages=[...])
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from app.api.deps import PartsDep
from app.api.openai_format import EVENT_STREAM, Completion, embeddings
from app.core.errors import ApiError
from app.core.labels import QuestionApi
from app.core.openai_schemas import (
    ChatCompletion,
    ChatCompletionRequest,
    EmbeddingList,
    EmbeddingRequest,
    EmbeddingUsage,
    Model,
    ModelList,
    OpenAIErrorBody,
)
from app.core.schemas import error_responses
from app.core.settings import Settings
from app.rag.pipeline import Question

router = APIRouter(tags=["OpenAI-compatible"])

RAG_MODEL_PREFIX = "ollama-rag/"
OWNER = "ollama-rag"


def rag_model_id(settings: Settings) -> str:
    """The id answers are asked for by: RAG over the configured chat model."""
    return RAG_MODEL_PREFIX + settings.chat_model


def _unknown_model(model: str, served: str) -> ApiError:
    return ApiError(404, "model_not_found",
                    f"the model '{model}' does not exist here: use '{served}' "
                    "(GET /v1/models lists this instance's models)")


def _question(body: ChatCompletionRequest, settings: Settings) -> Question:
    """The conversation's last message, the user's, is the question; the rest its history."""
    *history, last = body.messages
    if last.role != "user" or not last.text.strip():
        raise ApiError(422, "invalid_request",
                       "messages: the last message must be the user's question, not empty")
    if len(last.text) > settings.max_question_chars:
        raise ApiError(422, "invalid_request", "messages: the question is longer than "
                       f"{settings.max_question_chars} characters")
    if body.max_tokens and body.max_completion_tokens and \
            body.max_tokens != body.max_completion_tokens:
        raise ApiError(422, "invalid_request",
                       "max_tokens and max_completion_tokens disagree: give one")
    if body.stream_options is not None and not body.stream:
        raise ApiError(422, "invalid_request", "stream_options: only with stream: true")
    return Question(last.text.strip(), settings.default_top_k, QuestionApi.OPENAI,
                    tuple(message.for_ollama() for message in history), body.ollama_options())


@router.get("/v1/models", response_model=ModelList)
async def list_models(parts: PartsDep) -> ModelList:
    settings = parts.settings
    return ModelList(data=[
        Model(id=rag_model_id(settings), created=parts.created, owned_by=OWNER),
        Model(id=settings.embed_model, created=parts.created, owned_by=OWNER),
    ])


@router.post("/v1/chat/completions", response_model=ChatCompletion,
             responses={200: {"description": "With `stream: true`, server-sent events of "
                              "`chat.completion.chunk`, then `data: [DONE]`.",
                              "content": {EVENT_STREAM: {}}},
                        **error_responses(400, 404, 413, 422, 502, 503, 504,
                                           body=OpenAIErrorBody)})
async def chat_completions(body: ChatCompletionRequest,
                           parts: PartsDep) -> ChatCompletion | StreamingResponse:
    served = rag_model_id(parts.settings)
    if body.model != served:
        raise _unknown_model(body.model, served)
    question = _question(body, parts.settings)
    include_usage = body.stream_options is not None and body.stream_options.include_usage
    completion = Completion(body.model, include_usage=include_usage)
    if body.stream:
        events = await parts.rag.answer_stream(question)
        return StreamingResponse(completion.stream(events), media_type=EVENT_STREAM)
    return completion.whole(await parts.rag.answer(question))


@router.post("/v1/embeddings", response_model=EmbeddingList,
             responses=error_responses(400, 404, 413, 422, 502, 503, 504,
                                       body=OpenAIErrorBody))
async def create_embeddings(body: EmbeddingRequest, parts: PartsDep) -> EmbeddingList:
    settings = parts.settings
    if body.model != settings.embed_model:
        raise _unknown_model(body.model, settings.embed_model)
    if len(body.texts) > settings.max_documents_per_request:
        raise ApiError(422, "invalid_request",
                       f"input: at most {settings.max_documents_per_request} texts a request")
    matrix, tokens = await parts.client.embed_counted(body.texts)
    return EmbeddingList(data=embeddings(matrix, body.encoding_format), model=body.model,
                         usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens))
