"""Traces and exemplars, against the real service, the simulator and a real
OTLP/HTTP receiver (``loadtest/stack/trace_receiver.py``), all on loopback."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from app.telemetry.tracing import TracingConfigError, tracing_requested
from loadtest.stack.trace_receiver import SpanRecord, TraceReceiver
from tests import ROOT
from tests.helpers import set_faults, wait_until
from tests.servers import ServiceThread, SimulatorThread
from tests.traces import ask, whole_trace

QUESTION = "What does a circuit breaker do when it is half-open?"
OPENMETRICS = "application/openmetrics-text; version=1.0.0"


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
    assert set(steps) == {"embeddings nomic-embed-text", "cache.semantic_lookup",
                          "retrieval", "chat llama3.2"}
    assert [s.name for s in sorted(steps.values(), key=lambda s: s.start)] == [
        "embeddings nomic-embed-text", "cache.semantic_lookup", "retrieval",
        "chat llama3.2"]
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


def test_a_hit_is_one_span_that_says_so(
        traced: ServiceThread, receiver: TraceReceiver) -> None:
    with httpx.Client(base_url=traced.url, timeout=10) as client:
        assert ask(client, QUESTION, "1" * 32).status_code == 200
        response = ask(client, QUESTION, "2" * 32)
    assert response.json()["cache"]["result"] == "exact"
    spans = whole_trace(receiver, "2" * 32)
    (root,) = spans
    assert root.kind == "server"
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


def test_with_tracing_off_nothing_is_traced_or_propagated(
        client: httpx.Client, service: ServiceThread, sim: SimulatorThread) -> None:
    assert not service.components.tracing.enabled
    assert client.post("/api/query", json={"question": QUESTION}).status_code == 200
    text = client.get("/metrics", headers={"Accept": OPENMETRICS}).text
    assert " # {" not in text
    stats = sim.call(lambda: dict(sim.sim.stats))
    assert stats.get("with traceparent", 0) == 0 and stats["without traceparent"] > 0


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
