"""A trace receiver: OTLP/HTTP in (``POST /v1/traces``, protobuf, as the service's exporter
sends it), decoded with ``opentelemetry-proto``; a subset of Jaeger's query API out.

``python -m loadtest.stack.trace_receiver --otlp-port 4318 --query-port 16686``: compose's
stand-in for Jaeger (no Jaeger binary is reachable here), on Jaeger's ports. The verifier
runs one in-process and reads its spans directly. Query API (Jaeger's paths and shapes):
``GET /api/services``, ``GET /api/traces/<trace id>``, ``GET /api/traces?service=S&limit=N``.
It keeps the latest ``max_traces`` traces.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from loadtest.stack.json_http import BackgroundServer, JsonHandler
from loadtest.stack.sigterm import stop_on_sigterm

MAX_BODY_BYTES = 16 * 1024 * 1024
KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer",
         5: "consumer"}
STATUSES = {0: "unset", 1: "ok", 2: "error"}


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_value(v) for v in value.array_value.values]
    if which is None or which == "kvlist_value":
        return None
    return getattr(value, which)


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs if isinstance(pair, KeyValue)}


@dataclass
class SpanRecord:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str
    service: str
    start: float  # seconds since the epoch
    end: float
    attributes: dict[str, Any] = field(default_factory=dict)
    status: str = "unset"
    status_message: str = ""
    events: list[str] = field(default_factory=list)


def decode(body: bytes) -> list[SpanRecord]:
    """Every span of an OTLP/HTTP protobuf export request."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        service = str(_attributes(resource_spans.resource.attributes).get("service.name", ""))
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(SpanRecord(
                    span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex() or None,
                    span.name, KINDS.get(span.kind, "unspecified"), service,
                    span.start_time_unix_nano / 1e9, span.end_time_unix_nano / 1e9,
                    _attributes(span.attributes), STATUSES.get(span.status.code, "unset"),
                    span.status.message, [event.name for event in span.events]))
    return spans


class TraceStore:
    """The latest ``max_traces`` traces, thread-safe."""

    def __init__(self, max_traces: int = 20_000) -> None:
        self.max_traces = max_traces
        self._lock = threading.Lock()
        self._traces: OrderedDict[str, list[SpanRecord]] = OrderedDict()
        self.received = 0
        self.evicted = 0

    def add(self, spans: list[SpanRecord]) -> None:
        with self._lock:
            for span in spans:
                self._traces.setdefault(span.trace_id, []).append(span)
                self.received += 1
            while len(self._traces) > self.max_traces:
                self._traces.popitem(last=False)
                self.evicted += 1

    def trace(self, trace_id: str) -> list[SpanRecord]:
        with self._lock:
            return list(self._traces.get(trace_id, ()))

    def traces(self) -> dict[str, list[SpanRecord]]:
        with self._lock:
            return {trace_id: list(spans) for trace_id, spans in self._traces.items()}

    def services(self) -> list[str]:
        with self._lock:
            return sorted({s.service for spans in self._traces.values() for s in spans})


def jaeger_trace(trace_id: str, spans: list[SpanRecord]) -> dict[str, Any]:
    """One trace in the shape of Jaeger's query API."""
    processes = {f"p{i}": {"serviceName": name}
                 for i, name in enumerate(sorted({s.service for s in spans}))}
    process_of = {v["serviceName"]: k for k, v in processes.items()}
    return {"traceID": trace_id, "processes": processes, "spans": [{
        "traceID": s.trace_id, "spanID": s.span_id, "operationName": s.name,
        "references": ([{"refType": "CHILD_OF", "traceID": s.trace_id, "spanID": s.parent_id}]
                       if s.parent_id else []),
        "startTime": int(s.start * 1e6), "duration": int((s.end - s.start) * 1e6),
        "tags": [{"key": k, "value": v} for k, v in
                 {**s.attributes, "span.kind": s.kind, "otel.status_code": s.status}.items()],
        "processID": process_of[s.service]} for s in spans]}


class _Handler(JsonHandler):
    server: TraceReceiver

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/v1/traces":
            self._reply(404, {"error": f"no endpoint {self.path}"})
            return
        body = self._body(MAX_BODY_BYTES, "export request")
        if body is None:
            return
        try:
            if self.headers.get("Content-Encoding", "").lower() == "gzip":
                body = gzip.decompress(body)
            spans = decode(body)
        except Exception as exc:  # a malformed export is the exporter's problem: say so
            self._reply(400, {"error": f"not an OTLP/HTTP protobuf trace export: {exc}"})
            return
        self.server.store.add(spans)
        data = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        store = self.server.store
        if url.path == "/api/services":
            self._reply(200, {"data": store.services()})
        elif url.path.startswith("/api/traces/"):
            trace_id = url.path.removeprefix("/api/traces/").lower()
            spans = store.trace(trace_id)
            if spans:
                self._reply(200, {"data": [jaeger_trace(trace_id, spans)]})
            else:
                self._reply(404, {"data": None, "errors": [{"code": 404,
                                                            "msg": "trace not found"}]})
        elif url.path == "/api/traces":
            query = parse_qs(url.query)
            service = query.get("service", [""])[0]
            limit = int(query.get("limit", ["20"])[0])
            found = [(t, s) for t, s in store.traces().items()
                     if not service or any(span.service == service for span in s)]
            self._reply(200, {"data": [jaeger_trace(t, s) for t, s in found[-limit:]]})
        elif url.path in ("/", "/healthz"):  # "/": where Jaeger serves its UI
            self._reply(200, {"status": "ok", "spans": store.received,
                              "traces_evicted": store.evicted})
        else:
            self._reply(404, {"error": f"no endpoint {url.path}"})


class TraceReceiver(BackgroundServer):
    """``TraceReceiver(port=0, store=...).start()`` serves in a thread; ``url`` is its base
    (the service's ``OTEL_EXPORTER_OTLP_ENDPOINT``)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 store: TraceStore | None = None) -> None:
        super().__init__((host, port), _Handler)
        self.store = store or TraceStore()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.stack.trace_receiver",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--otlp-port", type=int, default=4318)
    parser.add_argument("--query-port", type=int, default=16686)
    args = parser.parse_args(argv)
    stop_on_sigterm()
    store = TraceStore()
    query = TraceReceiver(args.host, args.query_port, store).start()
    otlp = TraceReceiver(args.host, args.otlp_port, store)
    print(f"OTLP/HTTP on :{args.otlp_port}, query API on :{args.query_port}", flush=True)
    try:
        otlp.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        query.stop()
        otlp.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
