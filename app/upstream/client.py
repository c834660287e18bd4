"""The pooled Ollama client: every call goes through the circuit breaker and is measured.

It speaks Ollama's own API (``/api/chat``, ``/api/embed``), so it works against a real
Ollama as well as against the simulator.

    >>> client = OllamaClient(client_config(Settings()), breaker, metrics)  # app/components.py
    >>> vectors = await client.embed(["What is a circuit breaker?"])  # unit rows

A question's calls (its embedding, then its answer) go under one admission, which the client
takes and keeps in a ``QuestionCalls`` handle: ``calls = await client.question()``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import numpy as np

from app.core.errors import ModelNotFound, UpstreamBadResponse, UpstreamError
from app.core.labels import (
    CLIENT_NAME,
    AdmissionLaneName,
    LlmPhase,
    PoolType,
    TokenType,
    UpstreamOperation,
)
from app.core.labels import UpstreamOutcome as Outcome
from app.telemetry.metrics import Metrics
from app.telemetry.tracing import Tracing
from app.upstream.admission import Admission, Slot
from app.upstream.answers import (
    GEN_AI_OPERATIONS,
    ChatStats,
    chat_stats,
    check_status,
    classify_transport_error,
    embeddings_of,
    message_content,
    parse_json,
    stats_attributes,
)
from app.upstream.breaker import CircuitBreaker
from app.upstream.call import UpstreamCall
from app.upstream.model_check import ModelAvailability
from app.upstream.ollama_state import OllamaState

T = TypeVar("T")

@dataclass(frozen=True)
class ClientConfig:
    """The settings the client uses: where Ollama is, the models, the pool and timeouts.
    No defaults here: they are the settings' (``app/core/settings.py``)."""

    url: str
    chat_model: str
    embed_model: str
    max_connections: int
    max_keepalive: int
    connect_timeout: float
    read_timeout: float
    write_timeout: float
    pool_timeout: float
    cold_load_seconds: float


@dataclass
class ChatResult:
    content: str
    stats: ChatStats


class OllamaClient:
    def __init__(self, config: ClientConfig, breaker: CircuitBreaker, metrics: Metrics,
                 tracing: Tracing | None = None, admission: Admission | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.breaker = breaker
        self.metrics = metrics
        self.tracing = tracing or Tracing(None)
        self.admission = admission or Admission(None, metrics)
        self.models = ModelAvailability(metrics, [config.chat_model, config.embed_model])
        self.ollama = OllamaState(metrics, [config.chat_model, config.embed_model],
                                  config.cold_load_seconds)
        url = httpx.URL(config.url)
        self._server = {"server.address": url.host,
                        "server.port": url.port or (443 if url.scheme == "https" else 80)}
        limits = httpx.Limits(max_connections=config.max_connections,
                              max_keepalive_connections=config.max_keepalive)
        timeout = httpx.Timeout(connect=config.connect_timeout, read=config.read_timeout,
                                write=config.write_timeout, pool=config.pool_timeout)
        self._http = httpx.AsyncClient(base_url=config.url, limits=limits, timeout=timeout,
                                       transport=transport)
        # The health check has a connection of its own: a pool full of slow calls is
        # overload, and must not read as "Ollama is unreachable".
        self._check_http = httpx.AsyncClient(
            base_url=config.url, limits=httpx.Limits(max_connections=1), transport=transport)
        self.last_check_error = ""  # why the last health check failed ("" when it did not)
        metrics.pool_size.labels(CLIENT_NAME, PoolType.MAXSIZE).set(config.max_connections)
        metrics.pool_size.labels(CLIENT_NAME, PoolType.KEEPALIVE).set(config.max_keepalive)

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._check_http.aclose()

    def span_attributes(self, operation: UpstreamOperation, model: str) -> dict[str, Any]:
        """A traced call's attributes at its start (OpenTelemetry's GenAI conventions)."""
        return {"gen_ai.operation.name": GEN_AI_OPERATIONS[operation],
                "gen_ai.provider.name": "ollama", "gen_ai.request.model": model,
                **self._server, "ollama_rag.breaker.state": str(self.breaker.state)}

    async def question(self) -> QuestionCalls:
        """The calls of one question, admitted to the chat lane now (``Overloaded`` if
        Ollama could not answer it soon): before the question is embedded, so that a question
        turned away is turned away at once."""
        return QuestionCalls(self, await self.admission.admit(AdmissionLaneName.CHAT))

    async def embed(self, texts: list[str]) -> np.ndarray:
        """One unit row per text, in order, admitted by the embed lane."""
        return (await self._embed(texts, part_of=None))[0]

    async def embed_counted(self, texts: list[str]) -> tuple[np.ndarray, int]:
        """``embed``, with the prompt tokens Ollama counted (``/v1/embeddings`` reports
        them)."""
        matrix, stats = await self._embed(texts, part_of=None)
        return matrix, stats.prompt_tokens

    async def _embed(self, texts: list[str], *,
                     part_of: Slot | None) -> tuple[np.ndarray, ChatStats]:
        """``part_of``: the admission of the work the call is part of (a question's chat
        admission); without one the embed lane admits it."""
        model = self.config.embed_model
        (matrix, stats), _ = await self._call_json(
            UpstreamOperation.EMBED, model, "POST", "/api/embed",
            {"model": model, "input": texts}, part_of=part_of,
            busy=lambda p: p[1].working_seconds,
            parse=lambda d: (embeddings_of(d, len(texts)), chat_stats(d)),
            describe=lambda p: {**stats_attributes(p[1]),
                                "gen_ai.embeddings.dimension.count": int(p[0].shape[1])},
        )
        self.metrics.llm_tokens.labels(model, TokenType.PROMPT).inc(stats.prompt_tokens)
        self.ollama.note_answer(model, stats.phase_seconds.get(LlmPhase.LOAD),
                                stats.total_seconds)
        return matrix, stats

    def _chat_payload(self, messages: list[dict[str, str]], options: Mapping[str, Any],
                      stream: bool) -> dict[str, Any]:
        payload: dict[str, Any] = {"model": self.config.chat_model, "messages": messages,
                                   "stream": stream}
        if options:
            payload["options"] = dict(options)
        return payload

    async def _chat(self, messages: list[dict[str, str]], options: Mapping[str, Any],
                    slot: Slot | None) -> ChatResult:
        """``slot``: the chat lane's, admitted before the question was embedded; without one
        the chat lane admits the call. ``options``: Ollama's (temperature, num_predict...)."""
        model = self.config.chat_model
        payload = self._chat_payload(messages, options, stream=False)
        started = time.perf_counter()
        (content, stats), exemplar = await self._call_json(
            UpstreamOperation.CHAT, model, "POST", "/api/chat", payload, slot=slot,
            parse=lambda d: (message_content(d), chat_stats(d)),
            describe=lambda p: stats_attributes(p[1]),
            generating=lambda p: p[1].generation_seconds,
            busy=lambda p: p[1].phase_seconds.get(LlmPhase.PROMPT_EVAL, 0.0))
        self.record_stats(stats)
        # A whole answer's first token came when Ollama started generating.
        waited = max(0.0, time.perf_counter() - started - stats.generation_seconds)
        self.metrics.llm_ttft.labels(model).observe(waited, exemplar)
        return ChatResult(content, stats)

    async def _open_chat_stream(self, messages: list[dict[str, str]],
                                options: Mapping[str, Any], slot: Slot | None) -> ChatStream:
        """Send a streamed chat request and return once Ollama has answered with a status,
        so that a refusal becomes an HTTP error before any byte is streamed."""
        payload = self._chat_payload(messages, options, stream=True)
        call = await UpstreamCall.start(self, UpstreamOperation.CHAT_STREAM,
                                        self.config.chat_model, slot)
        with self._noting_models(self.config.chat_model), call.recording_failures():
            request = self._http.build_request("POST", "/api/chat", json=payload,
                                               headers=call.headers)
            response = await self._http.send(request, stream=True)
            if response.status_code >= 400:
                try:
                    body = await response.aread()
                finally:
                    await response.aclose()
                check_status(response, body)
        return ChatStream(self, call, response)

    async def health_check(self, timeout: float) -> bool:
        """``GET /api/version`` outside the breaker: is Ollama there at all? Recorded as
        ``upstream_up`` and the ``health_check`` operation. When it is: which models it has
        (``/api/tags``) and which it has loaded (``/api/ps``). Why a check failed is kept in
        ``last_check_error``, for the log."""
        started = time.perf_counter()
        outcome = Outcome.SUCCESS
        self.last_check_error = ""
        try:
            response = await self._check_http.get("/api/version", timeout=timeout)
            check_status(response, response.content)
            self.ollama.note_version(parse_json(response.content).get("version"))
        except httpx.HTTPError as exc:
            error = classify_transport_error(exc)
            outcome, self.last_check_error = error.outcome, error.message
        except UpstreamError as error:
            outcome, self.last_check_error = error.outcome, error.message
        self.metrics.upstream_duration.labels(UpstreamOperation.HEALTH_CHECK, outcome).observe(
            time.perf_counter() - started)
        up = outcome is Outcome.SUCCESS
        self.metrics.upstream_up.labels(CLIENT_NAME).set(1 if up else 0)
        if up:
            await self.models.check(self._check_http, timeout)
            await self._check_loaded_models(timeout)
        return up

    async def _check_loaded_models(self, timeout: float) -> None:
        """``GET /api/ps``: Ollama's loaded models, as metrics; timed as the
        ``loaded_models`` operation."""
        started = time.perf_counter()
        outcome = await self.ollama.poll(self._check_http, timeout)
        self.metrics.upstream_duration.labels(UpstreamOperation.LOADED_MODELS, outcome).observe(
            time.perf_counter() - started)

    @contextmanager
    def _noting_models(self, model: str) -> Iterator[None]:
        """A call that Ollama answered "model not found" says the model is missing at once;
        one it answered says it is there."""
        try:
            yield
        except ModelNotFound as missing:
            self.models.note_missing(missing.model)
            raise
        self.models.note_present(model)

    async def probe(self) -> None:
        """The breaker's half-open probe: a one-word embedding. Cheap, but it needs the model
        runner, not only Ollama's server: a probe that asked for the version would close the
        breaker on an Ollama whose models all fail."""
        await self._call_json(UpstreamOperation.PROBE, self.config.embed_model, "POST",
                              "/api/embed", {"model": self.config.embed_model,
                                             "input": ["ping"]},
                              parse=lambda data: embeddings_of(data, 1))

    def record_stats(self, stats: ChatStats) -> None:
        model = self.config.chat_model
        self.ollama.note_answer(model, stats.phase_seconds.get(LlmPhase.LOAD),
                                stats.total_seconds)
        self.metrics.llm_tokens.labels(model, TokenType.PROMPT).inc(stats.prompt_tokens)
        self.metrics.llm_tokens.labels(model, TokenType.COMPLETION).inc(stats.completion_tokens)
        for phase, seconds in stats.phase_seconds.items():
            self.metrics.llm_phase_duration.labels(model, phase).observe(seconds)

    async def _call_json(
        self, operation: UpstreamOperation, model: str, method: str, path: str,
        payload: dict[str, Any] | None, parse: Callable[[dict[str, Any]], T],
        describe: Callable[[T], dict[str, Any]] | None = None,
        generating: Callable[[T], float] | None = None,
        busy: Callable[[T], float] | None = None, slot: Slot | None = None,
        part_of: Slot | None = None,
    ) -> tuple[T, dict[str, str] | None]:
        """Send, then parse the JSON answer; a bad answer counts as a failed call.
        ``describe`` gives the span's attributes from what ``parse`` made of the answer (only
        when traced); ``generating``, the seconds Ollama spent generating it, which are not
        waiting; ``busy``, the seconds Ollama reports working before its first token.
        Returns the parsed answer, and the call's exemplar."""
        call = await UpstreamCall.start(self, operation, model, slot, part_of)
        with self._noting_models(model), call.recording_failures():
            response = await self._http.request(method, path, json=payload,
                                                headers=call.headers)
            check_status(response, response.content)
            data = parse_json(response.content)
            parsed = parse(data)
        if call.span is not None and describe is not None:
            call.note({"gen_ai.response.model": str(data.get("model", model)),
                       **describe(parsed)})
        waited = None
        if generating is not None:
            waited = max(0.0, time.perf_counter() - call.started - generating(parsed))
        call.succeed(waited, busy(parsed) if busy is not None else 0.0)
        return parsed, call.exemplar()


class QuestionCalls:
    """The upstream calls of one question under the one chat admission it was given: the
    embedding runs as part of it, the answer (whole or streamed) uses it, and ``release``
    gives it back when no answer did (a cache hit after all, a failed step). Releasing twice,
    or after the answer took it, does nothing.

        >>> calls = await client.question()
        >>> try: vector = await calls.embed(question); answer = await calls.chat(messages)
        ... finally: calls.release()
    """

    def __init__(self, client: OllamaClient, slot: Slot) -> None:
        self._client = client
        self._slot: Slot | None = slot

    async def embed(self, text: str) -> np.ndarray:
        """The question's unit vector."""
        return (await self._client._embed([text], part_of=self._slot))[0][0]

    async def chat(self, messages: list[dict[str, str]],
                   options: Mapping[str, Any] | None = None) -> ChatResult:
        return await self._client._chat(messages, options or {}, self._take())

    async def open_chat_stream(self, messages: list[dict[str, str]],
                               options: Mapping[str, Any] | None = None) -> ChatStream:
        return await self._client._open_chat_stream(messages, options or {}, self._take())

    def release(self) -> None:
        slot = self._take()
        if slot is not None:
            slot.release()

    def _take(self) -> Slot | None:
        slot, self._slot = self._slot, None
        return slot


class ChatStream:
    """The content pieces of a streamed chat answer, as Ollama produces them.

    Iterate it once, then ``aclose`` it (also when the client went away).
    """

    def __init__(self, client: OllamaClient, call: UpstreamCall,
                 response: httpx.Response) -> None:
        self._client = client
        self._call = call
        self._response = response
        self.stats = ChatStats()
        self.time_to_first_token: float | None = None

    def _first_token(self) -> None:
        self.time_to_first_token = time.perf_counter() - self._call.started
        model = self._client.config.chat_model
        self._client.metrics.llm_ttft.labels(model).observe(self.time_to_first_token,
                                                            self._call.exemplar())
        if self._call.span is not None:
            self._call.span.add_event("gen_ai.first_token")
            self._call.note({"gen_ai.response.time_to_first_chunk": self.time_to_first_token})

    async def __aiter__(self) -> AsyncIterator[str]:
        with self._call.recording_failures():
            async for line in self._response.aiter_lines():
                if not line.strip():
                    continue
                data = parse_json(line.encode())
                piece = message_content(data)
                if piece and self.time_to_first_token is None:
                    self._first_token()
                if data.get("done") is True:
                    self.stats = chat_stats(data)
                    self._client.record_stats(self.stats)
                    if self._call.span is not None:
                        self._call.note({"gen_ai.response.model": str(data.get("model", "")),
                                         **stats_attributes(self.stats)})
                    self._call.succeed(self.time_to_first_token,
                                       self.stats.phase_seconds.get(LlmPhase.PROMPT_EVAL, 0.0))
                    if piece:
                        yield piece
                    return
                if piece:
                    yield piece
            raise UpstreamBadResponse("Ollama's stream ended before its final message")

    async def aclose(self) -> None:
        self._call.abandon()  # no-op when the outcome was already recorded
        await self._response.aclose()
