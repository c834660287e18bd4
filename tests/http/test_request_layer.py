"""The one ASGI layer: callers who leave early, over a real socket to a real service."""

from __future__ import annotations

import json
import socket

import httpx

from tests.helpers import scrape, set_faults, sim_stats, value, wait_until
from tests.servers import ServiceThread, SimulatorThread


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _post_head(length: int) -> bytes:
    return (f"POST /api/query HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def _closed_requests(service: ServiceThread) -> float:
    return value(scrape(service.url), "ollama_rag_http_requests_total", method="POST",
                 route="/api/query", status="499")


def test_a_caller_gone_at_once_is_cancelled_long_before_its_answer(
        sim: SimulatorThread, service: ServiceThread) -> None:
    """The disconnect watcher starts 20 ms into a request; a caller that leaves sooner is
    noticed then (uvicorn remembers the disconnect), not when the 10-s embedding ends."""
    wait_until(lambda: httpx.get(f"{service.url}/readyz").status_code == 200)
    before = sim_stats(sim)  # the built-in corpus's embeddings
    set_faults(sim, mode="slow", slow_ms=10_000, jitter=0, paths=["/api/embed"])
    body = json.dumps({"question": "a question asked and abandoned at once"}).encode()
    with _connect(service.url) as sock:
        sock.sendall(_post_head(len(body)) + body)
    wait_until(lambda: _closed_requests(service) == 1, timeout=3)
    after = sim_stats(sim)

    def more(key: str) -> int:
        return after.get(key, 0) - before.get(key, 0)

    # Cancelled while the embedding ran, or before it started: never answered.
    assert more("POST /api/embed") == more("cancelled /api/embed") <= 1
    assert value(scrape(service.url), "ollama_rag_admission_in_flight", lane="chat") == 0


def test_a_caller_gone_before_its_body_is_recorded_and_nothing_runs(
        sim: SimulatorThread, service: ServiceThread) -> None:
    wait_until(lambda: httpx.get(f"{service.url}/readyz").status_code == 200)
    before = sim_stats(sim)
    with _connect(service.url) as sock:
        sock.sendall(_post_head(1000) + b'{"question": "half a bo')
    wait_until(lambda: _closed_requests(service) == 1, timeout=3)
    after = sim_stats(sim)
    for call in ("POST /api/embed", "POST /api/chat"):  # not the health check's calls
        assert after.get(call, 0) == before.get(call, 0), call
    assert value(scrape(service.url), "ollama_rag_http_requests_in_progress",
                 route="/api/query") == 0
