"""The pipeline's answers in OpenAI's shapes: server-sent chunks and embeddings."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator

import numpy as np

from app.api.openai_format import DONE, Completion, encode_embedding
from app.core.schemas import (
    CacheOutcome,
    ChunkEvent,
    EndEvent,
    ErrorEvent,
    StartEvent,
    StreamEvent,
    Usage,
)

START = StartEvent(cache=CacheOutcome(result="miss", similarity=None), sources=[], model="m")
END = EndEvent(usage=Usage(prompt_tokens=3, completion_tokens=2), finish_reason="length",
               timings_ms={})


def sent(events: list[StreamEvent], include_usage: bool) -> list[bytes]:
    async def source() -> AsyncIterator[StreamEvent]:
        for event in events:
            yield event

    async def collect() -> list[bytes]:
        completion = Completion("ollama-rag/m", include_usage=include_usage)
        return [data async for data in completion.stream(source())]

    return asyncio.run(collect())


def data(event: bytes) -> dict:
    assert event.startswith(b"data: ") and event.endswith(b"\n\n")
    return json.loads(event[6:])


def test_a_stream_is_chunks_then_done() -> None:
    events = sent([START, ChunkEvent(content="Hi"), END], include_usage=False)
    assert events[-1] == DONE
    first, piece, last = (data(e) for e in events[:-1])
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert first["cache"] == {"result": "miss"} and first["sources"] == []
    assert piece["choices"][0]["delta"] == {"content": "Hi"}
    assert last["choices"][0]["finish_reason"] == "length"
    assert len({first["id"], piece["id"], last["id"]}) == 1
    assert all(d["object"] == "chat.completion.chunk" for d in (first, piece, last))


def test_include_usage_adds_a_last_chunk_without_choices() -> None:
    events = sent([START, END], include_usage=True)
    usage = data(events[-2])
    assert usage["choices"] == []
    assert usage["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


def test_a_broken_stream_ends_with_an_error_object() -> None:
    events = sent([START, ErrorEvent(error="upstream_timeout", detail="slow")], False)
    assert DONE not in events
    assert data(events[-1]) == {"error": {"message": "slow", "type": "api_error",
                                          "code": "upstream_timeout"}}


def test_base64_embeddings_are_little_endian_float32() -> None:
    vector = np.array([0.6, -0.8, 0.0], dtype=np.float32)
    decoded = np.frombuffer(base64.b64decode(encode_embedding(vector, "base64")), dtype="<f4")
    assert np.array_equal(decoded, vector)  # the same float32 values, bytes for bytes
    assert encode_embedding(vector, "float") == [float(v) for v in vector]
