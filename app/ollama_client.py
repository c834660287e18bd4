"""The pooled Ollama client: every call goes through the circuit breaker and is measured.

It speaks Ollama's own API (``/api/chat``, ``/api/embed``), so it works against a real
Ollama as well as against the simulator.

    >>> client = OllamaClient(client_config(Settings()), breaker, metrics)  # app/components.py
    >>> vectors = await client.embed(["What is a circuit breaker?"])
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import numpy as np

from app.breaker import CircuitBreaker, Permit
from app.catalog import CLIENT_NAME, LlmPhase, PoolType, TokenType, UpstreamOperation
from app.catalog import UpstreamOutcome as Outcome
from app.errors import (
    UpstreamBadResponse,
    UpstreamConnectionError,
    UpstreamError,
    UpstreamOverloaded,
    UpstreamRejectedRequest,
    UpstreamServerError,
    UpstreamTimeout,
)
from app.metrics import Metrics

T = TypeVar("T")
NANOSECONDS = 1e9


@dataclass(frozen=True)
class ClientConfig:
    """The settings the client uses: where Ollama is, the models, the pool and timeouts.
    No defaults here: they are the settings' (``app/settings.py``)."""

    url: str
    chat_model: str
    embed_model: str
    max_connections: int
    max_keepalive: int
    connect_timeout: float
    read_timeout: float
    write_timeout: float
    pool_timeout: float


@dataclass
class ChatStats:
    """What Ollama reports at the end of a chat call."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    phase_seconds: dict[LlmPhase, float] = field(default_factory=dict)

    @property
    def generation_seconds(self) -> float:
        """How long Ollama spent generating (its eval_duration; 0 when not reported): what a
        whole answer's duration holds beyond its time to first token."""
        return self.phase_seconds.get(LlmPhase.EVAL, 0.0)


@dataclass
class ChatResult:
    content: str
    stats: ChatStats


def _classify_transport_error(exc: httpx.HTTPError) -> UpstreamError:
    if isinstance(exc, httpx.PoolTimeout):  # a TimeoutException, but ours, not Ollama's
        return UpstreamOverloaded("no connection to Ollama came free in time: the service "
                                  "is overloaded; retry shortly")
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamTimeout(f"Ollama did not answer in time ({type(exc).__name__})")
    if isinstance(exc, httpx.DecodingError):
        return UpstreamBadResponse("Ollama sent a body that could not be decoded")
    return UpstreamConnectionError(f"could not reach Ollama ({type(exc).__name__})")


def _check_status(response: httpx.Response, body: bytes) -> None:
    if response.status_code < 400:
        return
    detail = body[:200].decode("utf-8", "replace")
    if response.status_code < 500:
        raise UpstreamRejectedRequest(
            f"Ollama refused the request with {response.status_code}: {detail}"
        )
    raise UpstreamServerError(f"Ollama answered {response.status_code}: {detail}")


def _parse_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UpstreamBadResponse("Ollama sent a body that is not JSON") from exc
    if not isinstance(data, dict):
        raise UpstreamBadResponse("Ollama sent JSON that is not an object")
    if "error" in data:
        raise UpstreamServerError(f"Ollama reported an error: {str(data['error'])[:200]}")
    return data


def _chat_stats(data: dict[str, Any]) -> ChatStats:
    def count(name: str) -> int:
        value = data.get(name, 0)
        return value if isinstance(value, int) and value >= 0 else 0

    phases = {
        phase: data[phase.ollama_field] / NANOSECONDS
        for phase in LlmPhase
        if isinstance(data.get(phase.ollama_field), int | float) and data[phase.ollama_field] >= 0
    }
    return ChatStats(count("prompt_eval_count"), count("eval_count"), phases)


def _message_content(data: dict[str, Any]) -> str:
    message = data.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        raise UpstreamBadResponse("Ollama's chat answer has no message content")
    return content


def _embeddings(data: dict[str, Any], expected_rows: int) -> np.ndarray:
    rows = data.get("embeddings")
    try:
        matrix = np.asarray(rows, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise UpstreamBadResponse("Ollama's embeddings are not a matrix of numbers") from exc
    if matrix.ndim != 2 or matrix.shape[0] != expected_rows or matrix.shape[1] == 0:
        raise UpstreamBadResponse(
            f"Ollama returned embeddings of shape {matrix.shape}, expected {expected_rows} rows"
        )
    if not np.all(np.isfinite(matrix)):
        raise UpstreamBadResponse("Ollama's embeddings contain values that are not finite")
    return matrix


class _Call:
    """Bookkeeping of one upstream call: breaker permit, in-flight gauge, duration."""

    def __init__(self, breaker: CircuitBreaker, metrics: Metrics,
                 operation: UpstreamOperation) -> None:
        self._metrics = metrics
        self._operation = operation
        self._permit: Permit = breaker.acquire()  # raises CircuitOpenError
        self.started = time.perf_counter()
        self._metrics.pool_requests.labels(CLIENT_NAME).inc()
        self._metrics.upstream_in_flight.labels(CLIENT_NAME).inc()
        self._finished = False

    @contextmanager
    def recording_failures(self) -> Iterator[None]:
        """Whatever the block raises is classified as an upstream failure, recorded and
        raised; a cancellation (or a caller that went away) gives the permit back."""
        try:
            yield
        except httpx.HTTPError as exc:
            error = _classify_transport_error(exc)
            self.fail(error)
            raise error from exc
        except UpstreamError as error:
            self.fail(error)
            raise
        except BaseException:
            self.abandon()
            raise

    def succeed(self) -> None:
        self._finish(Outcome.SUCCESS)
        self._permit.success()

    def fail(self, error: UpstreamError) -> None:
        self._finish(error.outcome)
        if error.breaker_failure is None:
            self._permit.release()
        elif error.breaker_failure:
            self._permit.failure()
        else:
            self._permit.success()

    def abandon(self) -> None:
        """The caller went away before the outcome was known."""
        self._finish(None)
        self._permit.release()

    def _finish(self, outcome: Outcome | None) -> None:
        if self._finished:
            return
        self._finished = True
        self._metrics.upstream_in_flight.labels(CLIENT_NAME).dec()
        if outcome is not None:
            self._metrics.upstream_duration.labels(self._operation, outcome).observe(
                time.perf_counter() - self.started
            )


class OllamaClient:
    def __init__(self, config: ClientConfig, breaker: CircuitBreaker, metrics: Metrics, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.breaker = breaker
        self.metrics = metrics
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
        metrics.pool_size.labels(CLIENT_NAME, PoolType.MAXSIZE).set(config.max_connections)
        metrics.pool_size.labels(CLIENT_NAME, PoolType.KEEPALIVE).set(config.max_keepalive)

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._check_http.aclose()

    def _call(self, operation: UpstreamOperation) -> _Call:
        return _Call(self.breaker, self.metrics, operation)

    async def embed(self, texts: list[str]) -> np.ndarray:
        """One row per text, in order."""
        model = self.config.embed_model
        data, matrix = await self._call_json(
            UpstreamOperation.EMBED, "POST", "/api/embed", {"model": model, "input": texts},
            parse=lambda d: _embeddings(d, len(texts)),
        )
        self.metrics.llm_tokens.labels(model, TokenType.PROMPT).inc(
            _chat_stats(data).prompt_tokens)
        return matrix

    async def chat(self, messages: list[dict[str, str]]) -> ChatResult:
        payload = {"model": self.config.chat_model, "messages": messages, "stream": False}
        started = time.perf_counter()
        data, content = await self._call_json(UpstreamOperation.CHAT, "POST", "/api/chat",
                                              payload, parse=_message_content)
        stats = _chat_stats(data)
        self.record_stats(stats)
        # A whole answer's first token came when Ollama started generating.
        waited = max(0.0, time.perf_counter() - started - stats.generation_seconds)
        self.metrics.llm_ttft.labels(self.config.chat_model).observe(waited)
        return ChatResult(content, stats)

    async def open_chat_stream(self, messages: list[dict[str, str]]) -> ChatStream:
        """Send a streamed chat request and return once Ollama has answered with a status,
        so that a refusal becomes an HTTP error before any byte is streamed."""
        payload = {"model": self.config.chat_model, "messages": messages, "stream": True}
        call = self._call(UpstreamOperation.CHAT_STREAM)
        with call.recording_failures():
            request = self._http.build_request("POST", "/api/chat", json=payload)
            response = await self._http.send(request, stream=True)
            if response.status_code >= 400:
                try:
                    body = await response.aread()
                finally:
                    await response.aclose()
                _check_status(response, body)
        return ChatStream(self, call, response)

    async def health_check(self, timeout: float) -> bool:
        """``GET /api/version`` outside the breaker: is Ollama there at all? Recorded as
        ``upstream_up`` and the ``health_check`` operation."""
        started = time.perf_counter()
        outcome = Outcome.SUCCESS
        try:
            response = await self._check_http.get("/api/version", timeout=timeout)
            _check_status(response, response.content)
            _parse_json(response.content)
        except httpx.HTTPError as exc:
            outcome = _classify_transport_error(exc).outcome
        except UpstreamError as error:
            outcome = error.outcome
        self.metrics.upstream_duration.labels(UpstreamOperation.HEALTH_CHECK, outcome).observe(
            time.perf_counter() - started)
        up = outcome is Outcome.SUCCESS
        self.metrics.upstream_up.labels(CLIENT_NAME).set(1 if up else 0)
        return up

    async def probe(self) -> None:
        """The breaker's half-open probe: a one-word embedding. Cheap, but it needs the model
        runner, not only Ollama's server: a probe that asked for the version would close the
        breaker on an Ollama whose models all fail."""
        await self._call_json(UpstreamOperation.PROBE, "POST", "/api/embed",
                              {"model": self.config.embed_model, "input": ["ping"]},
                              parse=lambda data: _embeddings(data, 1))

    def record_stats(self, stats: ChatStats) -> None:
        model = self.config.chat_model
        self.metrics.llm_tokens.labels(model, TokenType.PROMPT).inc(stats.prompt_tokens)
        self.metrics.llm_tokens.labels(model, TokenType.COMPLETION).inc(stats.completion_tokens)
        for phase, seconds in stats.phase_seconds.items():
            self.metrics.llm_phase_duration.labels(model, phase).observe(seconds)

    async def _call_json(
        self, operation: UpstreamOperation, method: str, path: str,
        payload: dict[str, Any] | None, parse: Callable[[dict[str, Any]], T],
    ) -> tuple[dict[str, Any], T]:
        """Send, then parse the JSON answer; a bad answer counts as a failed call."""
        call = self._call(operation)
        with call.recording_failures():
            response = await self._http.request(method, path, json=payload)
            _check_status(response, response.content)
            data = _parse_json(response.content)
            parsed = parse(data)
        call.succeed()
        return data, parsed


class ChatStream:
    """The content pieces of a streamed chat answer, as Ollama produces them.

    Iterate it once, then ``aclose`` it (also when the client went away).
    """

    def __init__(self, client: OllamaClient, call: _Call, response: httpx.Response) -> None:
        self._client = client
        self._call = call
        self._response = response
        self.stats = ChatStats()
        self.time_to_first_token: float | None = None

    def _first_token(self) -> None:
        self.time_to_first_token = time.perf_counter() - self._call.started
        model = self._client.config.chat_model
        self._client.metrics.llm_ttft.labels(model).observe(self.time_to_first_token)

    async def __aiter__(self) -> AsyncIterator[str]:
        with self._call.recording_failures():
            async for line in self._response.aiter_lines():
                if not line.strip():
                    continue
                data = _parse_json(line.encode())
                piece = _message_content(data)
                if piece and self.time_to_first_token is None:
                    self._first_token()
                if data.get("done") is True:
                    self.stats = _chat_stats(data)
                    self._client.record_stats(self.stats)
                    self._call.succeed()
                    if piece:
                        yield piece
                    return
                if piece:
                    yield piece
            raise UpstreamBadResponse("Ollama's stream ended before its final message")

    async def aclose(self) -> None:
        self._call.abandon()  # no-op when the outcome was already recorded
        await self._response.aclose()
