"""Traces, exemplars and the access log, against the real service, the simulator and a real
OTLP/HTTP receiver (``loadtest/stack/trace_receiver.py``), all on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from app.http.request_telemetry import ACCESS_LOGGER
from app.telemetry.tracing import TracingConfigError, tracing_requested
from loadtest.stack.trace_receiver import SpanRecord, TraceReceiver
from loadtest.verify.trace_checks import QUERY_ROOT, TraceFindings, check_query_trace
from tests.helpers import set_faults, wait_until
from tests.servers import ServiceThread, SimulatorThread

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "What does a circuit breaker do when it is half-open?"
OPENMETRICS = "application/openmetrics-text; version=1.0.0"


@pytest.fixture
def receiver() -> Iterator[TraceReceiver]:
    server = TraceReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def traced(make_service: Callable[..., ServiceThread], receiver: TraceReceiver,
           monkeypatch: pytest.MonkeyPatch) -> ServiceThread:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "ollama-rag-test")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    service = make_service(access_log=True)
    assert service.components.tracing.enabled
    return service


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


def children(spans: list[SpanRecord]) -> dict[str, SpanRecord]:
    (root,) = [s for s in spans if s.kind == "server"]
    return {s.name: s for s in spans if s.parent_id == root.span_id}


def test_the_environment_decides_whether_tracing_is_on() -> None:
    assert not tracing_requested({})
    assert tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing_requested({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"})
    assert not tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
                                  "OTEL_SDK_DISABLED": "true"})
    assert not tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
                                  "OTEL_TRACES_EXPORTER": "none"})
    with pytest.raises(TracingConfigError, match="OTLP only"):
        tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
                           "OTEL_TRACES_EXPORTER": "zipkin"})
    with pytest.raises(TracingConfigError, match="http/protobuf"):
        tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317",
                           "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})


def test_a_tracing_setting_it_cannot_honour_stops_the_service_with_a_clear_error() -> None:
    env = {"PATH": "/usr/bin:/bin", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
           "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    result = subprocess.run([sys.executable, "-m", "app", "--port", "0"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "invalid configuration" in result.stderr and "http/protobuf" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_miss_is_one_trace_with_every_step_and_ollamas_timings(
        traced: ServiceThread, receiver: TraceReceiver, sim: SimulatorThread) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    with httpx.Client(base_url=traced.url, timeout=10) as client:
        response = ask(client, QUESTION, trace_id)
    assert response.status_code == 200
    spans = whole_trace(receiver, trace_id)
    (root,) = [s for s in spans if s.kind == "server"]
    # The caller's trace is continued: its span is the server span's parent.
    assert root.parent_id == "00f067aa0ba902b7" and root.name == "POST /api/query"
    assert root.service == "ollama-rag-test"
    assert root.attributes["http.route"] == "/api/query"
    assert root.attributes["http.response.status_code"] == 200
    assert root.attributes["ollama_rag.cache.result"] == "miss"
    steps = children(spans)
    assert set(steps) == {"cache.exact_lookup", "embeddings nomic-embed-text",
                          "cache.semantic_lookup", "retrieval", "chat llama3.2"}
    assert [s.name for s in sorted(steps.values(), key=lambda s: s.start)] == [
        "cache.exact_lookup", "embeddings nomic-embed-text", "cache.semantic_lookup",
        "retrieval", "chat llama3.2"]
    chat = steps["chat llama3.2"]
    assert chat.kind == "client" and chat.status == "unset"
    assert chat.attributes["gen_ai.operation.name"] == "chat"
    assert chat.attributes["gen_ai.request.model"] == "llama3.2"
    assert chat.attributes["gen_ai.usage.input_tokens"] > 0
    assert chat.attributes["gen_ai.usage.output_tokens"] > 0
    # Ollama's nanoseconds, as seconds: the simulator's fast model evaluates in under 1 s.
    assert 0 <= chat.attributes["ollama.eval_duration_seconds"] < 1
    assert "ollama.prompt_eval_duration_seconds" in chat.attributes
    assert chat.attributes["ollama_rag.breaker.state"] == "closed"
    assert steps["retrieval"].attributes["ollama_rag.retrieval.chunks"] > 0
    assert steps["embeddings nomic-embed-text"].attributes["gen_ai.operation.name"] == (
        "embeddings")
    # Ollama saw the trace in traceparent, for both of its calls.
    seen = sim.call(lambda: list(sim.sim.trace_ids))
    assert seen.count(trace_id) == 2


def test_a_hit_has_only_the_lookup_and_says_so(
        traced: ServiceThread, receiver: TraceReceiver) -> None:
    with httpx.Client(base_url=traced.url, timeout=10) as client:
        assert ask(client, QUESTION, "1" * 32).status_code == 200
        response = ask(client, QUESTION, "2" * 32)
    assert response.json()["cache"]["result"] == "exact"
    spans = whole_trace(receiver, "2" * 32)
    assert set(children(spans)) == {"cache.exact_lookup"}
    (root,) = [s for s in spans if s.kind == "server"]
    assert root.attributes["ollama_rag.cache.result"] == "exact"
    assert root.attributes["ollama_rag.cache.similarity"] == 1.0


def test_a_stream_ends_its_spans_when_it_ends(
        traced: ServiceThread, receiver: TraceReceiver) -> None:
    with httpx.Client(base_url=traced.url, timeout=10) as client:
        response = ask(client, "How does a stream end?", "3" * 32, stream=True)
    assert response.status_code == 200 and '"type":"end"' in response.text.replace(" ", "")
    spans = whole_trace(receiver, "3" * 32)
    chat = children(spans)["chat llama3.2"]
    (root,) = [s for s in spans if s.kind == "server"]
    assert "gen_ai.first_token" in chat.events
    assert chat.attributes["gen_ai.usage.output_tokens"] > 0
    assert chat.start < chat.end <= root.end


def test_failures_are_spans_with_error_status_and_the_services_code(
        traced: ServiceThread, receiver: TraceReceiver, sim: SimulatorThread) -> None:
    set_faults(sim, mode="down", paths=["/api/chat", "/api/embed"])
    with httpx.Client(base_url=traced.url, timeout=10) as client:
        for i in range(4):  # the breaker's threshold is 3 here: the last is rejected
            response = ask(client, f"Question {i} while Ollama is down?", f"{i + 1:x}" * 32)
            assert response.status_code in (502, 503)
    first, *_, last = [whole_trace(receiver, f"{i + 1:x}" * 32) for i in range(4)]
    (root,) = [s for s in first if s.kind == "server"]
    assert root.status == "error" and root.attributes["error.type"] == "upstream_unreachable"
    embed = children(first)["embeddings nomic-embed-text"]
    assert embed.status == "error" and embed.attributes["error.type"] == "upstream_unreachable"
    assert embed.status_message
    rejected = children(last)["embeddings nomic-embed-text"]
    assert rejected.attributes["error.type"] == "circuit_open"
    assert rejected.attributes["ollama_rag.breaker.state"] == "open"
    assert "4" * 32 not in sim.call(lambda: list(sim.sim.trace_ids))  # never sent


def test_exemplars_name_traces_the_receiver_holds(
        traced: ServiceThread, receiver: TraceReceiver) -> None:
    with httpx.Client(base_url=traced.url, timeout=10) as client:
        ask(client, QUESTION, "5" * 32)
        ask(client, "And a streamed one?", "6" * 32, stream=True)
        text = client.get("/metrics", headers={"Accept": OPENMETRICS}).text
        plain = client.get("/metrics").text
    exemplars = {}
    for line in text.splitlines():
        if " # {" in line:
            name = line.split("{", 1)[0]
            labels = line.split(" # {", 1)[1].split("}", 1)[0]
            exemplars.setdefault(name, []).append(dict(
                pair.split("=") for pair in labels.replace('"', "").split(",")))
    for family in ("ollama_rag_http_request_duration_seconds_bucket",
                   "ollama_rag_upstream_request_duration_seconds_bucket",
                   "ollama_rag_query_time_to_first_token_seconds_bucket",
                   "ollama_rag_llm_time_to_first_token_seconds_bucket"):
        assert family in exemplars, family
        for exemplar in exemplars[family]:
            wait_until(lambda e=exemplar: any(
                s.span_id == e["span_id"] for s in receiver.store.trace(e["trace_id"])), 10)
    assert " # {" not in plain  # the Prometheus text format has no exemplars


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


def test_with_tracing_off_nothing_is_traced_or_propagated(
        client: httpx.Client, service: ServiceThread, sim: SimulatorThread) -> None:
    assert not service.components.tracing.enabled
    assert client.post("/api/query", json={"question": QUESTION}).status_code == 200
    text = client.get("/metrics", headers={"Accept": OPENMETRICS}).text
    assert " # {" not in text
    stats = sim.call(lambda: dict(sim.sim.stats))
    assert stats.get("with traceparent", 0) == 0 and stats["without traceparent"] > 0


def test_the_receiver_refuses_what_is_not_an_otlp_export(receiver: TraceReceiver) -> None:
    bad = httpx.post(f"{receiver.url}/v1/traces", content=b"\x00not protobuf\xff",
                     headers={"Content-Type": "application/x-protobuf"})
    assert bad.status_code == 400 and "OTLP" in bad.json()["error"]
    empty = httpx.post(f"{receiver.url}/v1/traces",
                       content=ExportTraceServiceRequest().SerializeToString())
    assert empty.status_code == 200
    missing = httpx.get(f"{receiver.url}/api/traces/{'f' * 32}")
    assert missing.status_code == 404 and missing.json()["data"] is None


def _span(name: str, parent: str | None, kind: str = "internal", status: str = "unset",
          **attributes: object) -> SpanRecord:
    return SpanRecord("a" * 32, f"{abs(hash(name)) % 16**16:016x}", parent, name, kind, "s",
                      0.0, 1.0, dict(attributes), status)


def test_the_verifiers_trace_check_sees_a_missing_step_and_a_hidden_failure() -> None:
    root = _span(QUERY_ROOT, None, "server", **{"http.response.status_code": 200,
                                                "ollama_rag.cache.result": "miss"})
    exact = _span("cache.exact_lookup", root.span_id)
    found = TraceFindings()
    check_query_trace(root, [root, exact], found)
    assert found.problems == [f"trace {'a' * 32}: {QUERY_ROOT} lacks "
                              "embeddings nomic-embed-text"]
    failed = _span(QUERY_ROOT, None, "server", **{"http.response.status_code": 503,
                                                  "ollama_rag.cache.result": "miss"})
    found = TraceFindings()
    check_query_trace(failed, [failed], found)
    assert any("but the span's status is unset" in p for p in found.problems)
    # A refused request (422) runs no step: its span alone is complete.
    refused = _span(QUERY_ROOT, None, "server", **{"http.response.status_code": 422})
    found = TraceFindings()
    check_query_trace(refused, [refused], found)
    assert found.problems == []


def test_a_stream_that_breaks_after_its_200_is_a_failed_span(
        traced: ServiceThread, receiver: TraceReceiver, sim: SimulatorThread) -> None:
    set_faults(sim, mode="garbage", paths=["/api/chat"])
    with httpx.Client(base_url=traced.url, timeout=10) as client:
        response = ask(client, "Will this stream break?", "9" * 32, stream=True)
    assert response.status_code == 200 and '"type":"error"' in response.text.replace(" ", "")
    spans = whole_trace(receiver, "9" * 32)
    (root,) = [s for s in spans if s.kind == "server"]
    assert root.attributes["http.response.status_code"] == 200
    assert root.status == "error" and root.attributes["error.type"] == "upstream_bad_response"
    chat = children(spans)["chat llama3.2"]
    assert chat.status == "error" and chat.attributes["error.type"] == "upstream_bad_response"
