"""The simulator's server: connections, the faults applied to each request, and its own
control API (``GET``/``PUT /_sim/faults``, ``GET``/``DELETE /_sim/stats``,
``GET /_sim/traces``: the trace ids callers sent in ``traceparent``, and
``GET /_sim/healthz``, which no fault reaches: a container healthcheck must not fail
because a scenario told the simulated Ollama to).

It is a small HTTP/1.1 server on asyncio streams rather than an ASGI app because two of its
faults need the socket itself: ``down`` drops the connection without an answer, and
``timeout`` holds it open without a byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter, deque
from dataclasses import asdict
from typing import Any

from loadtest.sim.faults import Faults
from loadtest.sim.http1 import Request, read_request, watch_for_hangup, write_json
from loadtest.sim.models import full_name, has_model
from loadtest.sim.ollama_api import OllamaApi
from loadtest.sim.other_clients import OtherClients
from loadtest.sim.scheduler import QueueFull, Scheduler, keep_alive_seconds
from loadtest.sim.text import DEFAULT_DIMENSIONS

DEFAULT_PORT = 11434  # Ollama's own
MAX_TRACE_IDS = 200_000
# The calls that need a loaded model: the scheduler (scheduler.py) gives them their turn.
GATED_PATHS = ("/api/chat", "/api/generate", "/api/embed", "/api/embeddings",
               "/v1/chat/completions")


class _Drop(Exception):
    """Close the connection without an answer."""


class UpstreamSimulator:
    """A simulated Ollama on an event loop of the caller's.

    >>> sim = UpstreamSimulator(); await sim.start("127.0.0.1", 0)
    >>> sim.faults.update({"mode": "down"})
    """

    def __init__(self, dimensions: int = DEFAULT_DIMENSIONS, seed: int = 0) -> None:
        self.faults = Faults()
        self._random = random.Random(seed)
        self.scheduler = Scheduler(self.faults)
        self.other_clients = OtherClients(self.scheduler, self.faults)
        self.api = OllamaApi(self.faults, self.scheduler, dimensions, self._random)
        self.stats: Counter[str] = Counter()
        # The trace ids Ollama's callers sent (GET /_sim/traces), the latest MAX_TRACE_IDS.
        self.trace_ids: deque[str] = deque(maxlen=MAX_TRACE_IDS)
        self._server: asyncio.Server | None = None
        self._in_flight = 0
        self._connections: set[asyncio.Task[None]] = set()
        # Set when the faults change: hung calls end, as they do when a wedged Ollama is
        # restarted (their connections drop).
        self._hangs_released = asyncio.Event()
        self.port = 0

    async def start(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
        self._server = await asyncio.start_server(self._serve_connection, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        self.other_clients.adjust()

    async def stop(self) -> None:
        """Stop listening and end every open connection (keep-alive ones included)."""
        if self._server is not None:
            self._server.close()
        await self.other_clients.stop()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve_connection(self, reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                request = await read_request(reader)
                if request is None:
                    break
                try:
                    await self._dispatch(request, reader, writer)
                except _Drop:
                    writer.transport.abort()
                    return
                if request.headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def _dispatch(self, request: Request, reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter) -> None:
        if request.path.startswith("/_sim/"):
            status, body = self._control(request)
            await write_json(writer, status, body)
            return
        self.stats[f"{request.method} {request.path}"] += 1
        self.stats["requests"] += 1
        self._note_trace(request)
        self._in_flight += 1
        self.stats["in_flight_peak"] = max(self.stats["in_flight_peak"], self._in_flight)
        try:
            await self._serve_watching(request, reader, writer)
        finally:
            self._in_flight -= 1

    async def _serve_watching(self, request: Request, reader: asyncio.StreamReader,
                              writer: asyncio.StreamWriter) -> None:
        """Serve while watching the connection: a caller that hangs up before the answer
        ends cancels it (``stats["cancelled"]``), as Ollama stops generating for a closed
        connection."""
        serving = asyncio.ensure_future(self._serve_gated(request, writer))
        watching = asyncio.ensure_future(watch_for_hangup(reader))
        try:
            await asyncio.wait({serving, watching}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            serving.cancel()
            raise
        finally:
            # Awaited, so that the connection's next request can be read.
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
        hung_up = not watching.cancelled() and watching.result()
        if serving.done():
            if not isinstance(serving.exception(), ConnectionError):
                serving.result()  # raises _Drop
                return
            hung_up = True  # it went while we wrote
        else:
            serving.cancel()
            await asyncio.gather(serving, return_exceptions=True)
        if hung_up:
            self.stats["cancelled"] += 1
            self.stats[f"cancelled {request.path}"] += 1
        raise _Drop

    async def _serve_gated(self, request: Request, writer: asyncio.StreamWriter) -> None:
        """A call that needs a model waits for its turn on the loaded model (loading it
        first), as in Ollama's scheduler; one too many for its queue is answered 503."""
        model_call = _model_call(request, self.faults.models)
        if model_call is None:  # no model to load: the API answers why, or needs none
            await self._serve_with_faults(request, writer)
            return
        model, keep_alive = model_call
        try:
            loaded = await self.scheduler.acquire(model, keep_alive)
        except QueueFull as full:
            await write_json(writer, 503, {"error": str(full)})
            return
        try:
            await self._serve_with_faults(request, writer, loaded)
        finally:
            self.scheduler.release(model, keep_alive)

    def _note_trace(self, request: Request) -> None:
        """Remember the trace id of a W3C ``traceparent`` (version-traceid-spanid-flags)."""
        parts = request.headers.get("traceparent", "").split("-")
        if len(parts) == 4 and len(parts[1]) == 32:
            self.stats["with traceparent"] += 1
            self.trace_ids.append(parts[1])
        else:
            self.stats["without traceparent"] += 1

    def _mode_for(self, request: Request) -> str:
        """The fault mode this request gets: the mode, where its paths and rate apply."""
        mode = self.faults.mode
        if self.faults.paths and request.path not in self.faults.paths:
            return "ok"
        if mode != "ok" and self._random.random() >= self.faults.error_rate:
            return "ok"
        return mode

    async def _serve_with_faults(self, request: Request, writer: asyncio.StreamWriter,
                                 loaded: float = 0.0) -> None:
        faults = self.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        mode = self._mode_for(request)
        self.stats[f"mode {mode}"] += 1
        if mode == "down":
            raise _Drop
        if mode == "timeout":  # until the caller hangs up (watched), or the faults change
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hangs_released.wait(), faults.hang_seconds)
            raise _Drop
        if mode == "error":
            await write_json(writer, 500, {"error": "simulated upstream failure"})
            return
        slowed = 0.0
        if mode == "slow":  # a slow model: its work, which it reports
            slowed = faults.slow_ms * self._random.uniform(1 - faults.jitter, 1 + faults.jitter)
            slowed /= 1000
            await asyncio.sleep(slowed)
        await self.api.serve(request, writer, garbage=(mode == "garbage"), loaded=loaded,
                             slowed=slowed)

    def _control(self, request: Request) -> tuple[int, dict[str, Any]]:
        if request.path == "/_sim/faults":
            if request.method == "GET":
                return 200, asdict(self.faults)
            if request.method == "PUT":
                try:
                    changes = request.json()
                    if not isinstance(changes, dict):
                        raise ValueError("the body must be a JSON object")
                    self.faults.update(changes)
                    self._hangs_released.set()
                    self.scheduler.wake()  # more room or parallelism lets waiting calls in
                    self.other_clients.adjust()
                    self._hangs_released = asyncio.Event()
                except ValueError as exc:
                    return 400, {"error": str(exc)}
                return 200, asdict(self.faults)
        elif request.path == "/_sim/healthz":
            if request.method == "GET":
                return 200, {"status": "ok"}
        elif request.path == "/_sim/traces":
            if request.method == "GET":
                return 200, {"trace_ids": list(self.trace_ids)}
        elif request.path == "/_sim/stats":
            if request.method == "GET":
                return 200, dict(self.stats + self.scheduler.stats)
            if request.method == "DELETE":
                self.stats.clear()
                self.scheduler.stats.clear()
                return 200, {}
        else:
            return 404, {"error": f"no control endpoint {request.path}"}
        return 405, {"error": f"{request.method} is not allowed on {request.path}"}


def _model_call(request: Request, models: list[str]) -> tuple[str, float | None] | None:
    """The model a call needs loaded, and its keep_alive; None for a call the API refuses
    (no JSON, no model, one the simulator lacks, a bad keep_alive) or that needs no model."""
    if request.method != "POST" or request.path not in GATED_PATHS:
        return None
    try:
        payload = request.json()
        model = payload["model"]
        keep_alive = keep_alive_seconds(payload.get("keep_alive"))
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(model, str) or not has_model(models, model):
        return None
    return full_name(model), keep_alive
