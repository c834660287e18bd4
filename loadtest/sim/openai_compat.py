"""Ollama's own OpenAI-compatible endpoints on the simulator: ``GET /v1/models`` and
``POST /v1/chat/completions`` (whole, or server-sent events), which a user may point the
``openai`` client at directly, with the simulator's pace and answers.

    >>> compat = OpenAICompat(faults, api.first_token_seconds)
    >>> await compat.chat_completions(request, writer)
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from loadtest.sim import models as catalog
from loadtest.sim.faults import Faults
from loadtest.sim.http1 import Request, end_chunked, start_chunked, write_chunk, write_json
from loadtest.sim.text import compose_answer, count_tokens


def _error(message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    """Ollama's OpenAI-shaped error (openai/openai.go)."""
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _event(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data).encode() + b"\n\n"


class OpenAICompat:
    def __init__(self, faults: Faults, first_token_seconds: Callable[[], float]) -> None:
        self.faults = faults
        self.first_token_seconds = first_token_seconds  # the pace of Ollama's own API

    async def models(self, _: Request, writer: asyncio.StreamWriter) -> None:
        created = int(time.time())
        await write_json(writer, 200, {"object": "list", "data": [
            {"id": catalog.full_name(name), "object": "model", "created": created,
             "owned_by": "library"} for name in self.faults.models]})

    async def chat_completions(self, request: Request, writer: asyncio.StreamWriter) -> None:
        try:
            payload = request.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("messages"), list):
            await write_json(writer, 400, _error("invalid request: messages are required"))
            return
        model = payload.get("model")
        if not isinstance(model, str) or not catalog.has_model(self.faults.models, model):
            await write_json(writer, 404, _error(catalog.not_found(str(model))["error"],
                                                 "api_error"))
            return
        messages = [m for m in payload["messages"] if isinstance(m, dict)]
        answer = compose_answer(messages, self.faults.answer_tokens)
        prompt = " ".join(str(m.get("content", "")) for m in messages)
        usage = {"prompt_tokens": count_tokens(prompt), "completion_tokens": count_tokens(answer),
                 "total_tokens": count_tokens(prompt) + count_tokens(answer)}
        base = {"id": f"chatcmpl-{secrets.randbelow(1000)}", "created": int(time.time()),
                "model": model, "system_fingerprint": "fp_ollama"}
        await asyncio.sleep(self.first_token_seconds())
        if not payload.get("stream"):
            await asyncio.sleep(count_tokens(answer) * self.faults.token_ms / 1000)
            await write_json(writer, 200, {**base, "object": "chat.completion", "choices": [
                {"index": 0, "message": {"role": "assistant", "content": answer},
                 "finish_reason": "stop"}], "usage": usage})
            return
        options = payload.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        chunk = {**base, "object": "chat.completion.chunk"}
        await start_chunked(writer, b"text/event-stream")
        for i, word in enumerate(answer.split(" ")):
            delta = {"role": "assistant", "content": word if i == 0 else " " + word}
            await write_chunk(writer, _event({**chunk, "choices": [
                {"index": 0, "delta": delta, "finish_reason": None}]}))
            if self.faults.token_ms:
                await asyncio.sleep(self.faults.token_ms / 1000)
        await write_chunk(writer, _event({**chunk, "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": ""},
             "finish_reason": "stop"}]}))
        if include_usage:
            await write_chunk(writer, _event({**chunk, "choices": [], "usage": usage}))
        await write_chunk(writer, b"data: [DONE]\n\n")
        await end_chunked(writer)
