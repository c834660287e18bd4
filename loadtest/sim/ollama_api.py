"""Ollama's API on the simulator, with Ollama's field names and units: ``/api/chat``
(streamed and not), ``/api/generate``, ``/api/embed``, the legacy ``/api/embeddings``,
``/api/tags``, ``/api/show``, ``/api/version``, ``/api/ps`` and ``GET``/``HEAD /``; the
model management calls (``model_admin.py``) and Ollama's OpenAI-compatible ``/v1``
(``openai_compat.py``). Durations are nanoseconds,
token counts ``prompt_eval_count`` and ``eval_count``, as Ollama reports them; a model the
simulator does not have (``Faults.models``) gets Ollama's 404. The official ``ollama`` Python
client parses every answer (tests/loadtest/sim/test_official_client.py)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

from loadtest.sim import models as catalog
from loadtest.sim.faults import Faults
from loadtest.sim.http1 import (
    Request,
    end_chunked,
    ndjson,
    now,
    start_chunked,
    write_chunk,
    write_json,
    write_raw,
)
from loadtest.sim.model_admin import ModelAdmin
from loadtest.sim.openai_compat import OpenAICompat
from loadtest.sim.scheduler import Scheduler, keep_alive_seconds
from loadtest.sim.text import DEFAULT_DIMENSIONS, compose_answer, count_tokens, embed_text

SIM_VERSION = "0.5.7-sim"
Writer = asyncio.StreamWriter
Handler = Callable[[dict[str, Any], Writer], Awaitable[None]]
# A handler that reads the request itself (its body is not a call on one present model).
RawHandler = Callable[[Request, Writer], Awaitable[None]]
# What Ollama answers on / (server/routes.go), which health checks and UIs probe.
RUNNING = b"Ollama is running"

# The current request's (loaded, slowed) seconds, for the durations it reports.
_EXTRA: ContextVar[tuple[float, float]] = ContextVar("sim_extra", default=(0.0, 0.0))
# What Ollama reports as the expiry of a model kept loaded for good: its maximum duration.
FOREVER = timedelta(days=106_751)


class OllamaApi:
    """Answers one API request; ``faults`` is read for the pace of streamed tokens."""

    def __init__(self, faults: Faults, scheduler: Scheduler,
                 dimensions: int = DEFAULT_DIMENSIONS, rng: random.Random | None = None) -> None:
        self.faults = faults
        self.scheduler = scheduler
        self._random = rng or random.Random()
        self.dimensions = dimensions
        self._handlers: dict[tuple[str, str], Handler] = {
            ("POST", "/api/chat"): self._chat,
            ("POST", "/api/generate"): self._generate,
            ("POST", "/api/embed"): self._embed,
            ("POST", "/api/embeddings"): self._embeddings,
            ("POST", "/api/show"): self._show,
            ("GET", "/api/tags"): self._tags,
            ("GET", "/api/version"): self._version,
            ("GET", "/api/ps"): self._ps,
        }
        admin, compat = ModelAdmin(faults), OpenAICompat(faults, self.first_token_seconds)
        self._raw_handlers: dict[tuple[str, str], RawHandler] = {
            ("GET", "/"): self._root, ("HEAD", "/"): self._root,
            ("POST", "/api/pull"): admin.pull, ("DELETE", "/api/delete"): admin.delete,
            ("POST", "/api/copy"): admin.copy,
            ("GET", "/v1/models"): compat.models,
            ("POST", "/v1/chat/completions"): compat.chat_completions,
        }

    async def serve(self, request: Request, writer: Writer, *, garbage: bool,
                    loaded: float = 0.0, slowed: float = 0.0) -> None:
        """Answer the request; with ``garbage`` the answer is malformed. ``loaded``: the
        seconds the scheduler spent loading the model for it (its load_duration; a wait for
        a busy model is not in it, as in Ollama, where it is the runner's); ``slowed``: the
        seconds a slow model took on top (reported as its work)."""
        _EXTRA.set((loaded, slowed))
        raw_handler = self._raw_handlers.get((request.method, request.path))
        if raw_handler is not None:
            await raw_handler(request, writer)
            return
        handler = self._handlers.get((request.method, request.path))
        if handler is None:
            known_path = any(path == request.path
                             for _, path in (*self._handlers, *self._raw_handlers))
            status = 405 if known_path else 404
            await write_json(writer, status, {"error": f"{request.method} {request.path}"})
            return
        try:
            payload = request.json() if request.method == "POST" else {}
        except ValueError:
            await write_json(writer, 400, {"error": "invalid JSON body"})
            return
        if request.method == "POST" and (not isinstance(payload, dict)
                                         or not isinstance(payload.get("model"), str)
                                         or not payload["model"]):
            await write_json(writer, 400, {"error": "model is required"})
            return
        if request.method == "POST" and not catalog.has_model(self.faults.models,
                                                              payload["model"]):
            await write_json(writer, 404, catalog.not_found(payload["model"]))
            return
        try:
            keep_alive_seconds(payload.get("keep_alive"))
        except ValueError as exc:
            await write_json(writer, 400, {"error": str(exc)})
            return
        if garbage:
            await self._garbage(payload, writer)
        else:
            await handler(payload, writer)

    async def _garbage(self, payload: dict[str, Any], writer: Writer) -> None:
        """A malformed answer: a broken body, or a stream that breaks after a few tokens."""
        if payload.get("stream", True) is False or "messages" not in payload:
            await write_raw(writer, 200, b"application/json", b'{"message": <<garbage>>')
            return
        await start_chunked(writer, b"application/x-ndjson")
        for word in ("This", " answer", " breaks"):
            await write_chunk(writer, ndjson({"model": payload["model"], "created_at": now(),
                                              "message": {"role": "assistant", "content": word},
                                              "done": False}))
        await write_chunk(writer, b"{<<garbage>>\n")
        await end_chunked(writer)

    async def _root(self, request: Request, writer: Writer) -> None:
        if request.method == "HEAD":  # the headers of the GET, without its body
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(RUNNING))
            await writer.drain()
            return
        await write_raw(writer, 200, b"text/plain; charset=utf-8", RUNNING)

    def first_token_seconds(self) -> float:
        """Prompt evaluation: the pace's first-token time, spread by the jitter."""
        spread = self._random.uniform(1 - self.faults.jitter, 1 + self.faults.jitter)
        return self.faults.first_token_ms * spread / 1000

    def _final_fields(self, model: str, prompt: str, answer: str, prompt_seconds: float,
                      eval_seconds: float, done_reason: str = "stop") -> dict[str, Any]:
        load, slowed = _EXTRA.get()
        prompt_seconds += slowed
        prompt_tokens = count_tokens(prompt)
        return {
            "done": True,
            "done_reason": done_reason,
            "total_duration": int((load + prompt_seconds + eval_seconds) * 1e9),
            "load_duration": int(load * 1e9),
            "prompt_eval_count": prompt_tokens,
            "prompt_eval_duration": int(prompt_seconds * 1e9),
            "eval_count": count_tokens(answer),
            "eval_duration": int(eval_seconds * 1e9),
        }

    async def _load_only(self, payload: dict[str, Any], writer: Writer, chat: bool) -> None:
        """A call with nothing to answer loads the model (the scheduler did), or with
        ``keep_alive: 0`` unloads it (the scheduler does as the call ends): Ollama answers
        at once with ``done_reason`` "load" or "unload"."""
        unload = keep_alive_seconds(payload.get("keep_alive")) == 0
        body: dict[str, Any] = {"model": payload["model"], "created_at": now(), "done": True,
                                "done_reason": "unload" if unload else "load"}
        if chat:
            body["message"] = {"role": "assistant", "content": ""}
        else:
            body["response"] = ""
        await write_json(writer, 200, body)

    async def _chat(self, payload: dict[str, Any], writer: Writer) -> None:
        messages = payload.get("messages", [])
        if messages == []:
            await self._load_only(payload, writer, chat=True)
            return
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            await write_json(writer, 400, {"error": "messages must be a list of objects"})
            return
        prompt = " ".join(str(m.get("content", "")) for m in messages)
        answer = compose_answer(messages, self.faults.answer_tokens)
        options = payload.get("options")
        limit = options.get("num_predict") if isinstance(options, dict) else None
        words = answer.split(" ")
        if isinstance(limit, int) and 0 < limit < len(words):  # cut, as Ollama's num_predict
            await self._answer(payload, writer, prompt, " ".join(words[:limit]), chat=True,
                               done_reason="length")
            return
        await self._answer(payload, writer, prompt, answer, chat=True)

    async def _generate(self, payload: dict[str, Any], writer: Writer) -> None:
        prompt = str(payload.get("prompt") or "")
        if not prompt:
            await self._load_only(payload, writer, chat=False)
            return
        answer = compose_answer([{"role": "user", "content": prompt}], self.faults.answer_tokens)
        await self._answer(payload, writer, prompt, answer, chat=False)

    async def _answer(self, payload: dict[str, Any], writer: Writer, prompt: str,
                      answer: str, chat: bool, done_reason: str = "stop") -> None:
        model = payload["model"]

        def piece(text: str) -> dict[str, Any]:
            base: dict[str, Any] = {"model": model, "created_at": now()}
            if chat:
                base["message"] = {"role": "assistant", "content": text}
            else:
                base["response"] = text
            return base

        first_token = self.first_token_seconds()
        if payload.get("stream", True) is False:
            eval_seconds = count_tokens(answer) * self.faults.token_ms / 1000
            await asyncio.sleep(first_token + eval_seconds)  # the whole answer, then the body
            body = piece(answer) | self._final_fields(model, prompt, answer, first_token,
                                                      eval_seconds, done_reason)
            await write_json(writer, 200, body)
            return
        await start_chunked(writer, b"application/x-ndjson")
        await asyncio.sleep(first_token)
        started = time.perf_counter()
        for i, word in enumerate(answer.split(" ")):
            text = word if i == 0 else " " + word
            await write_chunk(writer, ndjson(piece(text) | {"done": False}))
            if self.faults.token_ms:
                await asyncio.sleep(self.faults.token_ms / 1000)
        final = piece("") | self._final_fields(model, prompt, answer, first_token,
                                               time.perf_counter() - started, done_reason)
        await write_chunk(writer, ndjson(final))
        await end_chunked(writer)

    async def _embed(self, payload: dict[str, Any], writer: Writer) -> None:
        inputs = payload.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not all(isinstance(t, str) for t in inputs):
            await write_json(writer, 400, {"error": "input must be a string or a list of them"})
            return
        load, slowed = _EXTRA.get()
        await write_json(writer, 200, {
            "model": payload["model"],
            "embeddings": [embed_text(t, self.dimensions) for t in inputs],
            "total_duration": int((load + slowed + 0.001 * len(inputs)) * 1e9),
            "load_duration": int(load * 1e9),
            "prompt_eval_count": sum(count_tokens(t) for t in inputs),
        })

    async def _embeddings(self, payload: dict[str, Any], writer: Writer) -> None:
        """The legacy call: one ``prompt``, one ``embedding``."""
        prompt = payload.get("prompt")
        if not isinstance(prompt, str):
            await write_json(writer, 400, {"error": "prompt must be a string"})
            return
        await write_json(writer, 200, {"embedding": embed_text(prompt, self.dimensions)})

    async def _show(self, payload: dict[str, Any], writer: Writer) -> None:
        await write_json(writer, 200, catalog.show(payload["model"], now(), self.dimensions))

    async def _tags(self, _: dict[str, Any], writer: Writer) -> None:
        await write_json(writer, 200, {"models": [catalog.tag(name, now())
                                                  for name in self.faults.models]})

    async def _version(self, _: dict[str, Any], writer: Writer) -> None:
        await write_json(writer, 200, {"version": SIM_VERSION})

    async def _ps(self, _: dict[str, Any], writer: Writer) -> None:
        """The loaded models, the most recently used first, each with the time it will be
        unloaded (a running one: its keep-alive from now)."""
        models = []
        for runner in self.scheduler.loaded():
            left = self.scheduler.expires_in(runner)
            if left is None:
                until = FOREVER if runner.keep_alive < 0 else timedelta(seconds=runner.keep_alive)
            else:
                until = timedelta(seconds=left)
            expires_at = (datetime.now(UTC) + until).isoformat()
            models.append(catalog.running(runner.name, expires_at, runner.size))
        await write_json(writer, 200, {"models": models})
