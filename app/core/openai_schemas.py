"""What OpenAI's clients send to ``/v1`` and receive from it: the subset of OpenAI's API the
service answers (chat completions, embeddings, models), with the sources of an answer in
the extension fields ``sources`` and ``cache``.

Parameters the service cannot honour are refused (422), as OpenAI refuses a parameter it
does not know: ``n`` other than 1, tools, images, ``response_format``, ``logprobs``...

    >>> ChatCompletionRequest(model="ollama-rag/llama3.2",
    ...                       messages=[{"role": "user", "content": "What is a breaker?"}])
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, field_validator

from app.core.schemas import (
    NOT_BLANK,
    CacheOutcome,
    FinishReason,
    Source,
    not_blank,
    valid_text,
)

# Requests.


class TextPart(BaseModel):
    """A message's content as parts: only text parts (no images, audio or files)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["text"]
    text: StrictStr


class ChatMessage(BaseModel):
    """``developer`` is OpenAI's newer name for ``system``; both reach Ollama as system."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "developer", "user", "assistant"]
    content: StrictStr | list[TextPart]

    @field_validator("content")
    @classmethod
    def _content(cls, value: str | list[TextPart]) -> str | list[TextPart]:
        for text in [value] if isinstance(value, str) else [part.text for part in value]:
            valid_text(text)
        return value

    @property
    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)

    def for_ollama(self) -> dict[str, str]:
        role = "system" if self.role == "developer" else self.role
        return {"role": role, "content": self.text}


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    include_usage: StrictBool = Field(default=False, description="End the stream with a "
                                      "chunk whose `usage` counts the answer's tokens.")


Penalty = Annotated[float, Field(ge=-2, le=2)]


class ChatCompletionRequest(BaseModel):
    """A conversation; its last message, the user's, is the question. The generation
    parameters go to Ollama's options (``max_tokens``/``max_completion_tokens`` as
    ``num_predict``); ``user`` is accepted and not used."""

    model_config = ConfigDict(extra="forbid")
    model: StrictStr = Field(description="The id `GET /v1/models` lists for answers.")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: StrictStr | list[StrictStr] | None = None
    seed: int | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    n: Literal[1] | None = Field(default=None, description="Only one choice is generated.")
    user: StrictStr | None = Field(default=None, description="Accepted, not used.")

    @field_validator("stop")
    @classmethod
    def _stop(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop sequences")
        return value

    def ollama_options(self) -> dict[str, Any]:
        """The generation parameters given, in Ollama's names."""
        options: dict[str, Any] = {
            "temperature": self.temperature, "top_p": self.top_p, "seed": self.seed,
            "presence_penalty": self.presence_penalty,
            "frequency_penalty": self.frequency_penalty,
            "num_predict": self.max_completion_tokens or self.max_tokens,
            "stop": [self.stop] if isinstance(self.stop, str) else self.stop,
        }
        return {name: value for name, value in options.items() if value is not None}


# A text to embed: at least one character that is not white space.
EmbeddingText = Annotated[StrictStr, Field(json_schema_extra={"pattern": NOT_BLANK})]


class EmbeddingRequest(BaseModel):
    """``encoding_format`` base64 is what OpenAI's Python client asks for by default: the
    little-endian float32 values, base64-encoded."""

    model_config = ConfigDict(extra="forbid")
    model: StrictStr = Field(description="The embedding model `GET /v1/models` lists.")
    input: EmbeddingText | Annotated[list[EmbeddingText], Field(min_length=1)]
    encoding_format: Literal["float", "base64"] = "float"
    user: StrictStr | None = Field(default=None, description="Accepted, not used.")

    @field_validator("input")
    @classmethod
    def _input(cls, value: str | list[str]) -> str | list[str]:
        for text in [value] if isinstance(value, str) else value:
            not_blank(valid_text(text))
        return value

    @property
    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else self.input


# Answers.


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: FinishReason
    logprobs: None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage
    sources: list[Source] = Field(description="Extension: the passages retrieved as context.")
    cache: CacheOutcome = Field(description="Extension: what the semantic cache answered.")


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: FinishReason | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    """One server-sent event of a streamed completion; the first carries the extension
    fields ``sources`` and ``cache``, the last (with ``include_usage``) only ``usage``."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = None
    sources: list[Source] | None = None
    cache: CacheOutcome | None = None


class Embedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str = Field(description="Floats, or base64 of float32 values.")


class EmbeddingUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


# The type of a 5xx error on /v1, as Ollama's own OpenAI-compatible API names it.
API_ERROR_TYPE = "api_error"


class OpenAIError(BaseModel):
    message: str
    type: str = Field(description="invalid_request_error, authentication_error, "
                                  "permission_error, not_found_error, or api_error for a 5xx "
                                  "(as Ollama's own /v1 answers).")
    param: str | None = None
    code: str = Field(description="The service's error code (`ErrorBody.error`).")


class OpenAIErrorBody(BaseModel):
    """Every error on ``/v1``, in OpenAI's shape, so that its clients raise their own error
    classes (``RateLimitError``, ``InternalServerError``...)."""

    error: OpenAIError
