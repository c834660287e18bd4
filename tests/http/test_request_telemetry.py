"""The access log and which requests are traced."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from app.http.request_telemetry import ACCESS_LOGGER
from loadtest.stack.trace_receiver import TraceReceiver
from tests.helpers import wait_until
from tests.servers import ServiceThread
from tests.traces import ask, whole_trace

QUESTION = "What does a circuit breaker do when it is half-open?"


def access_lines(capsys: pytest.CaptureFixture[str], count: int) -> list[dict[str, object]]:
    """The access log's ``count`` lines the service wrote to stdout: each is written once
    its response has been sent, so the last may come a moment after the client has it."""
    lines: list[dict[str, object]] = []

    def read() -> bool:
        lines.extend(line for line in (json.loads(text) for text in
                                       capsys.readouterr().out.splitlines()
                                       if text.startswith("{"))
                     if line.get("logger") == ACCESS_LOGGER)
        return len(lines) >= count

    wait_until(read, 5)
    return lines


def test_polled_endpoints_are_logged_not_traced(
        traced: ServiceThread, receiver: TraceReceiver,
        capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()  # what start-up wrote
    with httpx.Client(base_url=traced.url, timeout=10) as client:
        for path in ("/healthz", "/readyz", "/metrics"):
            assert client.get(path, headers={"traceparent": f"00-{'7' * 32}-{'1' * 16}-01"}
                              ).status_code == 200
        ask(client, QUESTION, "8" * 32)
    whole_trace(receiver, "8" * 32)  # exported after anything the polls would have made
    assert receiver.store.trace("7" * 32) == []
    lines = access_lines(capsys, 4)
    assert [line["route"] for line in lines] == ["/healthz", "/readyz", "/metrics",
                                                 "/api/query"]
    query = lines[-1]
    assert query["trace_id"] == "8" * 32 and len(query["span_id"]) == 16
    assert query["status"] == 200 and query["cache"] == "miss" and query["duration_ms"] > 0
    assert query["method"] == "POST" and query["level"] == "info"


def test_the_access_log_names_the_error_a_client_got(
        make_service: Callable[..., ServiceThread], capsys: pytest.CaptureFixture[str]) -> None:
    service = make_service(access_log=True)
    capsys.readouterr()
    with httpx.Client(base_url=service.url, timeout=10) as client:
        client.post("/api/query", json={"question": ""})
        client.get("/no/such/path")
    lines = access_lines(capsys, 2)
    assert [(line["route"], line["status"], line["error"]) for line in lines] == [
        ("/api/query", 422, "invalid_request"), ("unmatched", 404, "not_found")]
    assert all(line["trace_id"] is None for line in lines)  # tracing is off


def test_the_access_log_can_be_turned_off(
        make_service: Callable[..., ServiceThread], capsys: pytest.CaptureFixture[str]) -> None:
    service = make_service(access_log=False)
    with httpx.Client(base_url=service.url, timeout=10) as client:
        assert client.post("/api/query", json={"question": QUESTION}).status_code == 200
        client.get("/healthz")  # the query's line would have been written by now
    assert not [line for line in capsys.readouterr().out.splitlines()
                if ACCESS_LOGGER in line]
