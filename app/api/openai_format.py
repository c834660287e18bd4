"""The pipeline's answers in OpenAI's shapes: a whole answer as a ``chat.completion``, a
streamed one as server-sent events of ``chat.completion.chunk`` ending with ``data: [DONE]``.

    >>> completion = Completion("ollama-rag/llama3.2").whole(answer)
    >>> events = Completion("ollama-rag/llama3.2", include_usage=True).stream(stream_events)
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import AsyncIterator

import numpy as np

from app.core.openai_schemas import (
    API_ERROR_TYPE,
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    CompletionUsage,
    Delta,
    Embedding,
    OpenAIError,
    OpenAIErrorBody,
)
from app.core.schemas import (
    ChunkEvent,
    EndEvent,
    ErrorEvent,
    QueryAnswer,
    StartEvent,
    StreamEvent,
    Usage,
)

EVENT_STREAM = "text/event-stream"
DONE = b"data: [DONE]\n\n"


def completion_usage(usage: Usage) -> CompletionUsage:
    return CompletionUsage(prompt_tokens=usage.prompt_tokens,
                           completion_tokens=usage.completion_tokens,
                           total_tokens=usage.prompt_tokens + usage.completion_tokens)


def server_sent(data: ChatCompletionChunk | OpenAIErrorBody) -> bytes:
    return b"data: " + data.model_dump_json(exclude_none=True).encode() + b"\n\n"


class Completion:
    """One completion's identity (id, creation time, model id), for its body or chunks."""

    def __init__(self, model: str, *, include_usage: bool = False) -> None:
        self.id = f"chatcmpl-{secrets.token_hex(12)}"
        self.created = int(time.time())
        self.model = model
        self.include_usage = include_usage

    def whole(self, answer: QueryAnswer) -> ChatCompletion:
        return ChatCompletion(
            id=self.id, created=self.created, model=self.model,
            choices=[Choice(message=AssistantMessage(content=answer.answer),
                            finish_reason=answer.finish_reason)],
            usage=completion_usage(answer.usage), sources=answer.sources, cache=answer.cache)

    def _chunk(self, choices: list[ChunkChoice], **extra: object) -> bytes:
        chunk = ChatCompletionChunk(id=self.id, created=self.created, model=self.model,
                                    choices=choices, **extra)  # type: ignore[arg-type]
        return server_sent(chunk)

    def _event(self, event: StreamEvent) -> list[bytes]:
        if isinstance(event, StartEvent):
            return [self._chunk([ChunkChoice(delta=Delta(role="assistant", content=""))],
                                sources=event.sources, cache=event.cache)]
        if isinstance(event, ChunkEvent):
            return [self._chunk([ChunkChoice(delta=Delta(content=event.content))])]
        if isinstance(event, EndEvent):
            last = [self._chunk([ChunkChoice(delta=Delta(),
                                             finish_reason=event.finish_reason)])]
            if self.include_usage:
                last.append(self._chunk([], usage=completion_usage(event.usage)))
            return [*last, DONE]
        assert isinstance(event, ErrorEvent)
        # As OpenAI does: an error object in place of a chunk, which its clients raise.
        return [server_sent(OpenAIErrorBody(error=OpenAIError(
            message=event.detail, type=API_ERROR_TYPE, code=event.error)))]

    async def stream(self, events: AsyncIterator[StreamEvent]) -> AsyncIterator[bytes]:
        async for event in events:
            for data in self._event(event):
                yield data


def encode_embedding(vector: np.ndarray, encoding_format: str) -> list[float] | str:
    """Floats, or base64 of the little-endian float32 values (OpenAI's ``base64``)."""
    if encoding_format == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return [float(value) for value in vector]


def embeddings(matrix: np.ndarray, encoding_format: str) -> list[Embedding]:
    return [Embedding(index=i, embedding=encode_embedding(row, encoding_format))
            for i, row in enumerate(matrix)]
