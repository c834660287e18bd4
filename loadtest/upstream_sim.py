"""A simulated Ollama that can be told to fail: ``python -m loadtest.upstream_sim --port P``.

It speaks Ollama's API with its real field names and units (``/api/chat``, ``/api/generate``,
``/api/embed``, ``/api/tags``, ``/api/version``, ``/api/ps``) and adds a fault-control API of
its own, ``GET``/``PUT /_sim/faults`` and ``GET``/``DELETE /_sim/stats``.

It is a small HTTP/1.1 server on asyncio streams rather than an ASGI app because two of its
faults need the socket itself: ``down`` drops the connection without an answer, and
``timeout`` holds it open without a byte.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import signal
import sys
import time
import zlib
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from loadtest.loop_thread import LoopThread

DEFAULT_PORT = 11434  # Ollama's own
DEFAULT_DIMENSIONS = 384
MODES = ("ok", "error", "timeout", "slow", "garbage", "down")
SIM_VERSION = "0.5.7-sim"
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024

_WORD = re.compile(r"[a-z0-9']+")


def embed_text(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """A deterministic unit embedding from hashed character trigrams and words.

    Texts that share most of their trigrams (paraphrases, reordered or lightly edited
    questions) land close together; unrelated texts land far apart.
    """
    words = _WORD.findall(text.casefold())
    vector = np.zeros(dimensions, dtype=np.float64)
    for word in words:
        padded = f" {word} "
        for i in range(len(padded) - 2):
            h = zlib.crc32(padded[i : i + 3].encode())
            vector[h % dimensions] += 1.0 if h & 0x80000000 else -1.0
        h = zlib.crc32(word.encode(), 0x9E3779B9)
        vector[h % dimensions] += 2.0 if h & 0x80000000 else -2.0
    norm = np.linalg.norm(vector)
    if norm == 0:
        vector[0] = 1.0
        norm = 1.0
    return [round(float(x), 6) for x in vector / norm]


def count_tokens(text: str) -> int:
    return max(1, len(text.split()))


def compose_answer(messages: list[dict[str, Any]]) -> str:
    """A deterministic answer that quotes the question and the first context passage."""
    question = next((str(m.get("content", "")) for m in reversed(messages)
                     if m.get("role") == "user"), "")
    system = next((str(m.get("content", "")) for m in messages if m.get("role") == "system"), "")
    passage = re.search(r"\[1\] (.+)", system)
    quoted = " ".join(passage.group(1).split()[:24]) if passage else "no context was given"
    return f"Simulated answer to: {question.strip()} According to the first source: {quoted}"


@dataclass
class Faults:
    """The simulator's behaviour; every field can be changed at run time."""

    mode: str = "ok"
    error_rate: float = 1.0  # share of requests the mode applies to; the rest are served ok
    latency_ms: float = 0.0  # added to every answer, in every mode
    slow_ms: float = 3000.0  # added in mode "slow"
    jitter: float = 0.25  # "slow" delays vary by this share either way, so answers spread out
    token_ms: float = 2.0  # between streamed tokens
    hang_seconds: float = 120.0  # how long mode "timeout" holds a connection at most
    paths: list[str] = field(default_factory=list)  # API paths the mode applies to; [] = all

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update, all or nothing."""
        known = {f.name: f for f in fields(self)}
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(unknown)}; known: {', '.join(known)}")
        merged = asdict(self) | changes
        if merged["mode"] not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        paths = merged["paths"]
        if not isinstance(paths, list) or not all(
                isinstance(p, str) and p.startswith("/api/") for p in paths):
            raise ValueError("paths must be a list of API paths such as /api/chat")
        for name in known:
            if name in ("mode", "paths"):
                continue
            value = merged[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a number of at least 0")
            merged[name] = float(value)
        if merged["error_rate"] > 1 or merged["jitter"] > 1:
            raise ValueError("error_rate and jitter must be between 0 and 1")
        for name, value in merged.items():
            setattr(self, name, value)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class _Drop(Exception):
    """Close the connection without an answer."""


class UpstreamSimulator:
    def __init__(self, dimensions: int = DEFAULT_DIMENSIONS, seed: int = 0) -> None:
        self.dimensions = dimensions
        self.faults = Faults()
        self.stats: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._loaded_models: dict[str, float] = {}
        self._in_flight = 0
        self._connections: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
        self._server = await asyncio.start_server(self._serve_connection, host, port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and end every open connection (keep-alive ones included)."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    # Connection handling.

    async def _serve_connection(self, reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                try:
                    keep_alive = await self._dispatch(request, reader, writer)
                except _Drop:
                    writer.transport.abort()
                    return
                if not keep_alive or request.headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def _dispatch(self, request: Request, reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter) -> bool:
        if request.path.startswith("/_sim/"):
            status, body = self._control(request)
            await _write_json(writer, status, body)
            return True
        self.stats[f"{request.method} {request.path}"] += 1
        self.stats["requests"] += 1
        self._in_flight += 1
        self.stats["in_flight_peak"] = max(self.stats["in_flight_peak"], self._in_flight)
        try:
            return await self._serve_with_faults(request, reader, writer)
        finally:
            self._in_flight -= 1

    async def _serve_with_faults(self, request: Request, reader: asyncio.StreamReader,
                                 writer: asyncio.StreamWriter) -> bool:
        faults = self.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        mode = faults.mode
        if faults.paths and request.path not in faults.paths:
            mode = "ok"
        if mode != "ok" and self._random.random() >= faults.error_rate:
            mode = "ok"
        self.stats[f"mode {mode}"] += 1
        if mode == "down":
            raise _Drop
        if mode == "timeout":
            await _wait_for_disconnect(reader, faults.hang_seconds)
            raise _Drop
        if mode == "error":
            await _write_json(writer, 500, {"error": "simulated upstream failure"})
            return True
        if mode == "slow":
            spread = self._random.uniform(1 - faults.jitter, 1 + faults.jitter)
            await asyncio.sleep(faults.slow_ms * spread / 1000)
        return await self._serve_api(request, writer, garbage=(mode == "garbage"))

    async def _serve_api(self, request: Request, writer: asyncio.StreamWriter,
                         garbage: bool) -> bool:
        route = (request.method, request.path)
        handlers = {
            ("POST", "/api/chat"): self._chat,
            ("POST", "/api/generate"): self._generate,
            ("POST", "/api/embed"): self._embed,
            ("GET", "/api/tags"): self._tags,
            ("GET", "/api/version"): self._version,
            ("GET", "/api/ps"): self._ps,
        }
        handler = handlers.get(route)
        if handler is None:
            known_path = any(path == request.path for _, path in handlers)
            status = 405 if known_path else 404
            await _write_json(writer, status, {"error": f"{request.method} {request.path}"})
            return True
        try:
            payload = request.json() if request.method == "POST" else {}
        except ValueError:
            await _write_json(writer, 400, {"error": "invalid JSON body"})
            return True
        if request.method == "POST" and (not isinstance(payload, dict)
                                         or not isinstance(payload.get("model"), str)
                                         or not payload["model"]):
            await _write_json(writer, 400, {"error": "model is required"})
            return True
        if garbage:
            return await self._garbage(payload, writer)
        return await handler(payload, writer)

    async def _garbage(self, payload: dict[str, Any], writer: asyncio.StreamWriter) -> bool:
        """A malformed answer: a broken body, or a stream that breaks after a few tokens."""
        if payload.get("stream", True) is False or "messages" not in payload:
            await _write_raw(writer, 200, b"application/json", b'{"message": <<garbage>>')
            return True
        await _start_chunked(writer, b"application/x-ndjson")
        for word in ("This", " answer", " breaks"):
            await _write_chunk(writer, _ndjson({"model": payload["model"], "created_at": _now(),
                                                "message": {"role": "assistant",
                                                            "content": word},
                                                "done": False}))
        await _write_chunk(writer, b"{<<garbage>>\n")
        await _end_chunked(writer)
        return True

    # Ollama's API.

    def _load_seconds(self, model: str) -> float:
        """The first call to a model pays a (short, simulated) load."""
        if model in self._loaded_models:
            return 0.0
        self._loaded_models[model] = time.time()
        return 0.05

    def _final_fields(self, model: str, prompt: str, answer: str,
                      eval_seconds: float) -> dict[str, Any]:
        load = self._load_seconds(model)
        prompt_tokens = count_tokens(prompt)
        prompt_seconds = prompt_tokens * 0.0002
        return {
            "done": True,
            "done_reason": "stop",
            "total_duration": int((load + prompt_seconds + eval_seconds) * 1e9),
            "load_duration": int(load * 1e9),
            "prompt_eval_count": prompt_tokens,
            "prompt_eval_duration": int(prompt_seconds * 1e9),
            "eval_count": count_tokens(answer),
            "eval_duration": int(eval_seconds * 1e9),
        }

    async def _chat(self, payload: dict[str, Any], writer: asyncio.StreamWriter) -> bool:
        messages = payload.get("messages")
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            await _write_json(writer, 400, {"error": "messages must be a list of objects"})
            return True
        prompt = " ".join(str(m.get("content", "")) for m in messages)
        answer = compose_answer(messages)
        return await self._answer(payload, writer, prompt, answer, chat=True)

    async def _generate(self, payload: dict[str, Any], writer: asyncio.StreamWriter) -> bool:
        prompt = str(payload.get("prompt", ""))
        answer = compose_answer([{"role": "user", "content": prompt}])
        return await self._answer(payload, writer, prompt, answer, chat=False)

    async def _answer(self, payload: dict[str, Any], writer: asyncio.StreamWriter, prompt: str,
                      answer: str, chat: bool) -> bool:
        model = payload["model"]

        def piece(text: str) -> dict[str, Any]:
            base: dict[str, Any] = {"model": model, "created_at": _now()}
            if chat:
                base["message"] = {"role": "assistant", "content": text}
            else:
                base["response"] = text
            return base

        if payload.get("stream", True) is False:
            eval_seconds = count_tokens(answer) * self.faults.token_ms / 1000
            body = piece(answer) | self._final_fields(model, prompt, answer, eval_seconds)
            await _write_json(writer, 200, body)
            return True
        await _start_chunked(writer, b"application/x-ndjson")
        started = time.perf_counter()
        words = answer.split(" ")
        for i, word in enumerate(words):
            text = word if i == 0 else " " + word
            await _write_chunk(writer, _ndjson(piece(text) | {"done": False}))
            if self.faults.token_ms:
                await asyncio.sleep(self.faults.token_ms / 1000)
        final = piece("") | self._final_fields(model, prompt, answer,
                                               time.perf_counter() - started)
        await _write_chunk(writer, _ndjson(final))
        await _end_chunked(writer)
        return True

    async def _embed(self, payload: dict[str, Any], writer: asyncio.StreamWriter) -> bool:
        inputs = payload.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not all(isinstance(t, str) for t in inputs):
            await _write_json(writer, 400, {"error": "input must be a string or a list of them"})
            return True
        load = self._load_seconds(payload["model"])
        await _write_json(writer, 200, {
            "model": payload["model"],
            "embeddings": [embed_text(t, self.dimensions) for t in inputs],
            "total_duration": int((load + 0.001 * len(inputs)) * 1e9),
            "load_duration": int(load * 1e9),
            "prompt_eval_count": sum(count_tokens(t) for t in inputs),
        })
        return True

    async def _tags(self, _: dict[str, Any], writer: asyncio.StreamWriter) -> bool:
        models = [{"name": name, "model": name, "modified_at": _now(), "size": 0,
                   "digest": f"{zlib.crc32(name.encode()):08x}",
                   "details": {"format": "gguf", "family": "simulated"}}
                  for name in sorted(self._loaded_models)]
        await _write_json(writer, 200, {"models": models})
        return True

    async def _version(self, _: dict[str, Any], writer: asyncio.StreamWriter) -> bool:
        await _write_json(writer, 200, {"version": SIM_VERSION})
        return True

    async def _ps(self, _: dict[str, Any], writer: asyncio.StreamWriter) -> bool:
        models = [{"name": name, "model": name, "size": 0, "expires_at": _now()}
                  for name in sorted(self._loaded_models)]
        await _write_json(writer, 200, {"models": models})
        return True

    # The simulator's own control API.

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
                except ValueError as exc:
                    return 400, {"error": str(exc)}
                return 200, asdict(self.faults)
        elif request.path == "/_sim/stats":
            if request.method == "GET":
                return 200, dict(self.stats)
            if request.method == "DELETE":
                self.stats.clear()
                return 200, {}
        else:
            return 404, {"error": f"no control endpoint {request.path}"}
        return 405, {"error": f"{request.method} is not allowed on {request.path}"}


# HTTP/1.1 plumbing.


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise ValueError("truncated request head") from exc
        return None
    except asyncio.LimitOverrunError as exc:
        raise ValueError("request head too large") from exc
    if len(head) > MAX_HEADER_BYTES:
        raise ValueError("request head too large")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    if length > MAX_BODY_BYTES:
        raise ValueError("request body too large")
    body = await reader.readexactly(length) if length else b""
    return Request(method, target.split("?", 1)[0], headers, body)


async def _wait_for_disconnect(reader: asyncio.StreamReader, limit: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
        await asyncio.wait_for(reader.read(), limit)


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            500: "Internal Server Error"}


def _status_line(status: int) -> bytes:
    return f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n".encode()


async def _write_raw(writer: asyncio.StreamWriter, status: int, content_type: bytes,
                     body: bytes) -> None:
    writer.write(_status_line(status) + b"Content-Type: " + content_type
                 + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    await writer.drain()


async def _write_json(writer: asyncio.StreamWriter, status: int, body: Any) -> None:
    await _write_raw(writer, status, b"application/json; charset=utf-8",
                     json.dumps(body).encode())


async def _start_chunked(writer: asyncio.StreamWriter, content_type: bytes) -> None:
    writer.write(_status_line(200) + b"Content-Type: " + content_type
                 + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    await writer.drain()


async def _write_chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    await writer.drain()


async def _end_chunked(writer: asyncio.StreamWriter) -> None:
    writer.write(b"0\r\n\r\n")
    await writer.drain()


def _ndjson(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj).encode() + b"\n"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class BackgroundSimulator(LoopThread):
    """A simulator on its own event loop in a daemon thread (tests and benchmarks)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__()
        self.sim = UpstreamSimulator()
        self.run(self.sim.start(host, port))
        self.url = f"http://{host}:{self.sim.port}"

    def close(self) -> None:
        self.run(self.sim.stop())
        super().close()


async def _serve(host: str, port: int, faults: dict[str, Any]) -> None:
    sim = UpstreamSimulator()
    sim.faults.update(faults)
    await sim.start(host, port)
    print(f"simulated Ollama listening on http://{host}:{sim.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await sim.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.upstream_sim",
                                     description="A simulated Ollama that can be told to fail.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="latency added to every answer")
    parser.add_argument("--token-ms", type=float, default=2.0,
                        help="delay between streamed tokens")
    args = parser.parse_args(argv)
    try:
        asyncio.run(_serve(args.host, args.port,
                           {"latency_ms": args.latency_ms, "token_ms": args.token_ms}))
    except ValueError as exc:
        print(f"invalid option: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
