"""Asking the service as part of a caller's trace, and reading the whole trace back."""

from __future__ import annotations

import httpx

from loadtest.stack.trace_receiver import SpanRecord, TraceReceiver
from tests.helpers import wait_until


def ask(client: httpx.Client, question: str, trace_id: str, **extra: object) -> httpx.Response:
    """POST a question as part of a caller's trace (so that the test can find it)."""
    traceparent = f"00-{trace_id}-00f067aa0ba902b7-01"
    return client.post("/api/query", json={"question": question, **extra},
                       headers={"traceparent": traceparent})


def whole_trace(receiver: TraceReceiver, trace_id: str) -> list[SpanRecord]:
    """The trace's spans once its server span has arrived. The server span ends last, and the
    exporter sends spans in the order they end, one batch after another: once it is here,
    every span of the request is (a count of spans can be reached before it)."""
    wait_until(lambda: any(s.kind == "server" for s in receiver.store.trace(trace_id)), 10)
    return receiver.store.trace(trace_id)
