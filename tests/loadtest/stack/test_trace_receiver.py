"""The OTLP/HTTP receiver the verifier and the tests read traces from."""

from __future__ import annotations

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from loadtest.stack.trace_receiver import TraceReceiver


def test_the_receiver_refuses_what_is_not_an_otlp_export(receiver: TraceReceiver) -> None:
    bad = httpx.post(f"{receiver.url}/v1/traces", content=b"\x00not protobuf\xff",
                     headers={"Content-Type": "application/x-protobuf"})
    assert bad.status_code == 400 and "OTLP" in bad.json()["error"]
    empty = httpx.post(f"{receiver.url}/v1/traces",
                       content=ExportTraceServiceRequest().SerializeToString())
    assert empty.status_code == 200
    missing = httpx.get(f"{receiver.url}/api/traces/{'f' * 32}")
    assert missing.status_code == 404 and missing.json()["data"] is None
