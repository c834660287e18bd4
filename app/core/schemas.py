"""What clients send and receive: the request, response and stream-event models, so that
``/openapi.json`` describes every field a client gets.

Limits that come from the settings (the longest question, the largest ``top_k``, documents
per request) are checked by the routes and written into the schema by ``app/api/openapi.py``.

    >>> QueryRequest(question="What does a circuit breaker do?", stream=True)
    >>> ndjson(ChunkEvent(content="A circuit"))
    b'{"type":"chunk","content":"A circuit"}\\n'
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    field_validator,
)
from pydantic_core import PydanticCustomError

from app.core.labels import BreakerState, EvictionReason, HitType

# At least one character that is not white space (Python's str.isspace(), which is what
# the service strips; Python's \s is the same set).
NOT_BLANK = r"\S"
MAX_SOURCE_CHARS = 200


def valid_text(text: str) -> str:
    """JSON can carry lone UTF-16 surrogates ("\\ud800") that no encoder accepts."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PydanticCustomError("invalid_unicode",
                                  "contains characters that are not valid Unicode") from exc
    return text


def _json_integer(value: object) -> object:
    """JSON Schema's integer: 4 or 4.0, never "4" or true (pydantic's lax int takes those,
    its strict int refuses 4.0)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise PydanticCustomError("int_type", "must be an integer")


def not_blank(text: str) -> str:
    if not text.strip():
        raise PydanticCustomError("blank", "must not be empty")
    return text


# Requests.


class QueryRequest(BaseModel):
    """A question; ``top_k`` defaults to the service's setting."""

    model_config = ConfigDict(extra="forbid")
    question: StrictStr = Field(json_schema_extra={"pattern": NOT_BLANK},
                                description="The question; surrounding white space is ignored.")
    top_k: int | None = Field(default=None, ge=1,
                              description="How many chunks of context to retrieve.")
    stream: StrictBool = Field(default=False,
                               description="Answer as NDJSON stream events instead of one body.")

    @field_validator("question")
    @classmethod
    def _question(cls, value: str) -> str:
        return not_blank(valid_text(value))

    @field_validator("top_k", mode="before")
    @classmethod
    def _top_k(cls, value: object) -> object:
        return _json_integer(value)


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: StrictStr = Field(json_schema_extra={"pattern": NOT_BLANK})
    source: StrictStr | None = Field(default=None, max_length=MAX_SOURCE_CHARS,
                                     description="Where the text comes from, the "
                                                 "document's identity: sending a source again "
                                                 "replaces its text. When not given, "
                                                 "`upload/<first 16 hex digits of the text's "
                                                 "SHA-256>`: the same text is the same "
                                                 "document, another text another one.")

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        return not_blank(valid_text(value))

    @field_validator("source")
    @classmethod
    def _source(cls, value: str | None) -> str | None:
        return None if value is None else valid_text(value)


class DocumentsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    documents: list[DocumentIn] = Field(json_schema_extra={"minItems": 1})

    @field_validator("documents")
    @classmethod
    def _documents(cls, value: list[DocumentIn]) -> list[DocumentIn]:
        if not value:
            raise PydanticCustomError("empty", "at least one is needed")
        texts: dict[str, str] = {}
        for position, document in enumerate(value):
            if document.source is None:
                continue
            if texts.setdefault(document.source, document.text) != document.text:
                # One of the two would be lost: neither is chosen silently.
                raise PydanticCustomError(
                    "duplicate_source",
                    "documents[{position}] has the source '{source}' of an earlier document "
                    "with another text: a source names one document",
                    {"position": position, "source": document.source})
        return value


# Answers.


class Source(BaseModel):
    source: str
    chunk: int = Field(description="Position of the chunk within its document.")
    score: float = Field(description="Cosine similarity to the question.")


class CacheOutcome(BaseModel):
    result: HitType | Literal["miss", "bypass"] = Field(
        description="bypass: the cache was not asked (a conversation with earlier messages "
                    "or with generation options, on /v1/chat/completions).")
    similarity: float | None = Field(description="1 for an exact hit; null otherwise.")


# Why the model stopped (Ollama's done_reason): "length" when it hit its token limit.
FinishReason = Literal["stop", "length"]


class Usage(BaseModel):
    """Tokens Ollama processed for this answer (0 for a cached one)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


Timings = dict[str, float]  # milliseconds per phase (embed, cache_lookup, ...) and total


class QueryAnswer(BaseModel):
    answer: str
    sources: list[Source]
    cache: CacheOutcome
    model: str
    usage: Usage
    finish_reason: FinishReason
    timings_ms: Timings


class IngestResult(BaseModel):
    documents: int
    chunks: int = Field(description="Chunks embedded and stored by this ingest.")
    unchanged: int = Field(0, description="Documents stored already with the same source and "
                                          "text: neither embedded again nor stored twice.")
    total_chunks: int = Field(description="Chunks in the document store after this ingest.")


class CacheStats(BaseModel):
    hits: dict[HitType, int]
    misses: int
    hit_ratio: float | None = Field(description="null before the first lookup.")
    size: int
    capacity: int
    fill_ratio: float
    evictions: dict[EvictionReason, int]
    similarity_threshold: float
    ttl_seconds: float


class CacheCleared(BaseModel):
    cleared: int


class BreakerSettings(BaseModel):
    failure_threshold: int
    reset_timeout_seconds: float
    half_open_max_calls: int
    success_threshold: int


class BreakerStatus(BaseModel):
    name: str
    state: BreakerState
    state_value: int = Field(description="The state gauge: 0 closed, 1 open, 2 half-open.")
    consecutive_failures: int
    half_open_in_flight: int
    half_open_successes: int
    last_state_change_timestamp: float
    retry_after_seconds: float
    config: BreakerSettings


class UpstreamSettings(BaseModel):
    """How this instance calls Ollama: what a load scenario sizes its phases by."""

    chat_model: str
    embed_model: str
    health_check_interval_seconds: float
    health_check_timeout_seconds: float
    connect_timeout_seconds: float
    read_timeout_seconds: float
    pool_timeout_seconds: float


class Status(BaseModel):
    status: Literal["ok", "ready"]
    version: str = Field(description="The service's version.")


class FieldProblem(BaseModel):
    field: str
    problem: str


class ErrorBody(BaseModel):
    """Every error: a stable ``error`` code and a ``detail`` for people."""

    error: str
    detail: str
    fields: list[FieldProblem] | None = Field(default=None,
                                              description="Each invalid field (422).")
    retry_after_seconds: int | None = Field(default=None,
                                            description="When to try again (503 circuit_open).")


# Stream events: one JSON object a line, `start`, `chunk`..., then `end` or `error`.


class StartEvent(BaseModel):
    type: Literal["start"] = "start"
    cache: CacheOutcome
    sources: list[Source]
    model: str


class ChunkEvent(BaseModel):
    type: Literal["chunk"] = "chunk"
    content: str


class EndEvent(BaseModel):
    type: Literal["end"] = "end"
    usage: Usage
    finish_reason: FinishReason
    timings_ms: Timings


class ErrorEvent(BaseModel):
    """The upstream broke mid-answer: the status line (200) was already sent."""

    type: Literal["error"] = "error"
    error: str
    detail: str


StreamEvent = Annotated[StartEvent | ChunkEvent | EndEvent | ErrorEvent,
                        Field(discriminator="type")]


def ndjson(event: StreamEvent) -> bytes:
    """One line of an NDJSON answer."""
    return event.model_dump_json().encode() + b"\n"


# What each error status means, for the routes' OpenAPI `responses`.
_ERROR_MEANINGS = {
    400: "The body is not JSON, or Content-Length is not a number.",
    401: "The bearer token is missing or wrong.",
    403: "The endpoint is disabled: no token is configured.",
    404: "Not found (or disabled).",
    413: "The body exceeds OLLAMA_RAG_MAX_BODY_BYTES.",
    422: "A field is missing, of the wrong type or out of range.",
    502: "Ollama failed or answered nonsense.",
    503: "The circuit breaker rejects calls, or no connection to Ollama came free in time "
         "(overloaded), both with Retry-After; or the service is not ready.",
    504: "Ollama did not answer in time.",
}


def error_responses(*statuses: int,
                    body: type[BaseModel] = ErrorBody) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` documenting these error statuses with the ``ErrorBody`` model
    (``/v1``'s: ``OpenAIErrorBody``)."""
    return {status: {"model": body, "description": _ERROR_MEANINGS[status]}
            for status in statuses}
