"""The service and the simulator over real loopback HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import httpx
import pytest

from app.core.catalog import CONTRACT_METRICS
from app.core.labels import QueryOutcome
from tests import helpers
from tests.helpers import ask, scrape, set_faults, value, wait_until
from tests.servers import ServiceThread, SimulatorThread

QUESTION = "What does a circuit breaker do when it is half-open?"
PARAPHRASE = "What does the circuit breaker do when it is half open?"


def test_a_question_is_answered_then_served_from_the_cache(client: httpx.Client) -> None:
    first = ask(client, QUESTION)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["cache"] == {"result": "miss", "similarity": None}
    assert body["sources"][0]["source"] == "builtin/circuit-breaker.md"
    assert body["model"] == "llama3.2"
    assert body["usage"]["completion_tokens"] > 0
    assert {"embed", "retrieval", "llm", "cache_lookup", "total"} <= set(body["timings_ms"])

    exact = ask(client, "  what does a circuit breaker do when it is half-open ").json()
    assert exact["cache"] == {"result": "exact", "similarity": 1.0}
    assert exact["answer"] == body["answer"]

    semantic = ask(client, PARAPHRASE).json()
    assert semantic["cache"]["result"] == "semantic"
    assert 0.9 <= semantic["cache"]["similarity"] < 1
    assert semantic["answer"] == body["answer"]


def test_the_query_path_moves_every_contract_metric(service: ServiceThread,
                                                client: httpx.Client) -> None:
    wait_until(lambda: client.get("/readyz").status_code == 200)
    before = scrape(service.url)
    assert ask(client, QUESTION).status_code == 200
    assert ask(client, QUESTION).status_code == 200
    assert ask(client, PARAPHRASE).status_code == 200
    assert ask(client, "How is an Ollama model loaded?", stream=True).status_code == 200
    after = scrape(service.url)

    breaker = {"breaker_name": "ollama_client"}
    pool = {"client_name": "ollama_client"}
    contract_series = {
        "ollama_rag_circuit_breaker_state": breaker,
        "ollama_rag_circuit_breaker_calls_total": breaker | {"status": "success"},
        "ollama_rag_circuit_breaker_transitions_total":
            breaker | {"from_state": "closed", "to_state": "open"},
        "ollama_rag_circuit_breaker_consecutive_failures": breaker,
        "ollama_rag_circuit_breaker_last_state_change_timestamp": breaker,
        "ollama_rag_connection_pool_requests_total": pool,
        "ollama_rag_connection_pool_size": pool | {"pool_type": "maxsize"},
        "ollama_rag_semcache_hits_total": {"type": "exact"},
        "ollama_rag_semcache_misses_total": {},
        "ollama_rag_semcache_size": {},
        "ollama_rag_semcache_fill_ratio": {},
    }
    assert set(contract_series) == {spec.full_name for spec in CONTRACT_METRICS}
    for name, labels in contract_series.items():
        assert (name, frozenset(labels.items())) in after, f"{name}{labels} missing"

    def moved(name: str, **labels: str) -> float:
        return helpers.moved(before, after, name, **labels)

    assert moved("ollama_rag_circuit_breaker_calls_total", **breaker, status="success") == 5
    assert moved("ollama_rag_connection_pool_requests_total", **pool) == 5
    assert moved("ollama_rag_semcache_hits_total", type="exact") == 1
    assert moved("ollama_rag_semcache_hits_total", type="semantic") == 1
    assert moved("ollama_rag_semcache_misses_total") == 2
    assert moved("ollama_rag_semcache_size") == 2
    assert value(after, "ollama_rag_semcache_fill_ratio") == 2 / 1000
    assert value(after, "ollama_rag_connection_pool_size", **pool, pool_type="maxsize") == 20
    assert value(after, "ollama_rag_connection_pool_size", **pool, pool_type="keepalive") == 10
    assert value(after, "ollama_rag_circuit_breaker_last_state_change_timestamp",
                 **breaker) > 1.7e9
    # Beyond the original design's contract.
    assert moved("ollama_rag_llm_time_to_first_token_seconds_count", model="llama3.2") == 2
    assert moved("ollama_rag_query_time_to_first_token_seconds_count", mode="whole") == 3
    assert moved("ollama_rag_query_time_to_first_token_seconds_count", mode="streamed") == 1
    assert moved("ollama_rag_llm_tokens_total", model="llama3.2", type="completion") > 0
    assert moved("ollama_rag_llm_tokens_total", model="nomic-embed-text", type="prompt") > 0
    assert moved("ollama_rag_llm_phase_duration_seconds_count", model="llama3.2",
                 phase="eval") == 2
    assert moved("ollama_rag_upstream_request_duration_seconds_count", operation="chat_stream",
                 outcome="success") == 1
    assert moved("ollama_rag_http_requests_total", method="POST", route="/api/query",
                 status="200") == 4
    assert moved("ollama_rag_retrieval_duration_seconds_count") == 2
    assert moved("ollama_rag_semcache_lookup_duration_seconds_count") == 4
    assert value(after, "ollama_rag_document_chunks") >= 5
    assert value(after, "ollama_rag_build_info", version="0.1.0") == 1


def test_breaker_opens_rejects_serves_cached_answers_and_recovers(
        sim: SimulatorThread, service: ServiceThread, client: httpx.Client) -> None:
    wait_until(lambda: client.get("/readyz").status_code == 200)
    assert ask(client, QUESTION).status_code == 200
    set_faults(sim, mode="error")

    statuses = [ask(client, f"new question number {i}").status_code for i in range(3)]
    assert statuses == [502, 502, 502]
    breaker = client.get("/api/breaker").json()
    assert breaker["state"] == "open"

    rejected = ask(client, "yet another question")
    assert rejected.status_code == 503
    assert rejected.json()["error"] == "circuit_open"
    assert int(rejected.headers["retry-after"]) >= 1
    stream_rejected = ask(client, "a streamed question", stream=True)
    assert stream_rejected.status_code == 503

    cached = ask(client, QUESTION)
    assert cached.status_code == 200
    assert cached.json()["cache"]["result"] == "exact"
    samples = scrape(service.url)
    labels = {"breaker_name": "ollama_client"}
    assert value(samples, "ollama_rag_circuit_breaker_state", **labels) == 1
    assert value(samples, "ollama_rag_circuit_breaker_calls_total", **labels,
                 status="rejected") >= 2

    set_faults(sim, mode="ok")
    # After the reset timeout the service's own prober closes the breaker (two probes); a
    # question sent while a probe is in flight would be rejected, so wait for it.
    wait_until(lambda: client.get("/api/breaker").json()["state"] == "closed", timeout=5)
    assert ask(client, "a question after the outage").status_code == 200
    assert client.get("/api/breaker").json()["state"] == "closed"
    samples = scrape(service.url)
    for old, new in [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]:
        assert value(samples, "ollama_rag_circuit_breaker_transitions_total", **labels,
                     from_state=old, to_state=new) == 1
    assert value(samples, "ollama_rag_circuit_breaker_state", **labels) == 0


def test_half_open_lets_one_probe_reach_the_upstream_of_200_concurrent_requests(
        sim: SimulatorThread, make_service: Callable[..., ServiceThread]) -> None:
    service = make_service(breaker_reset_timeout=1.0, read_timeout=5.0)
    with httpx.Client(base_url=service.url, timeout=10) as client:
        wait_until(lambda: client.get("/readyz").status_code == 200)
        set_faults(sim, mode="error")
        for i in range(3):
            ask(client, f"failing question {i}")
        assert client.get("/api/breaker").json()["state"] == "open"
        opened = time.monotonic()
    set_faults(sim, mode="ok", latency_ms=1500)
    sim.call(sim.sim.stats.clear)

    async def burst() -> list[int]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=service.url, timeout=20, limits=limits) as http:
            await asyncio.sleep(max(0.0, opened + 1.0 - time.monotonic()))
            responses = await asyncio.gather(*(
                http.post("/api/query", json={"question": f"burst question {i}"})
                for i in range(200)))
        return [r.status_code for r in responses]

    statuses = asyncio.run(burst())
    stats = sim.call(lambda: dict(sim.sim.stats))
    assert stats["in_flight_peak"] == 1, stats
    assert statuses.count(503) >= 150, statuses
    assert set(statuses) <= {200, 503}


@pytest.mark.parametrize(
    ("mode", "status", "code"),
    [
        ("error", 502, "upstream_server_error"),
        ("garbage", 502, "upstream_bad_response"),
        ("down", 502, "upstream_unreachable"),
        ("timeout", 504, "upstream_timeout"),
    ],
)
def test_upstream_faults_map_to_gateway_statuses(sim: SimulatorThread, client: httpx.Client,
                                                 mode: str, status: int, code: str) -> None:
    wait_until(lambda: client.get("/readyz").status_code == 200)
    set_faults(sim, mode=mode, hang_seconds=5)
    response = ask(client, "a question the upstream cannot answer")
    assert response.status_code == status
    assert response.json()["error"] == code
    breaker = client.get("/api/breaker").json()
    assert breaker["consecutive_failures"] == 1


def test_a_model_ollama_does_not_have_is_named_with_the_pull_command(
        make_service: Callable[..., ServiceThread], sim: SimulatorThread) -> None:
    """Ollama's 404 "model not found" is a 4xx: not an upstream failure for the breaker, but
    a 503 that says what to do, on /readyz and on every question, until the model is there."""
    service = make_service(chat_model="llama3.3", health_check_interval=0.2)
    with httpx.Client(base_url=service.url, timeout=10) as client:
        wait_until(lambda: client.get("/readyz").status_code == 503
                   and client.get("/readyz").json()["error"] == "model_not_found")
        assert "`ollama pull llama3.3`" in client.get("/readyz").json()["detail"]
        assert value(scrape(service.url), "ollama_rag_upstream_model_available",
                     model="llama3.3") == 0
        assert value(scrape(service.url), "ollama_rag_upstream_model_available",
                     model="nomic-embed-text") == 1
        for _ in range(4):
            response = ask(client, QUESTION)
            assert response.status_code == 503
            assert response.json()["error"] == "model_not_found"
            assert "ollama pull llama3.3" in response.json()["detail"]
        breaker = client.get("/api/breaker").json()
        assert breaker["state"] == "closed"
        assert breaker["consecutive_failures"] == 0
        set_faults(sim, models=["llama3.3:latest", "nomic-embed-text:latest"])  # pulled
        wait_until(lambda: client.get("/readyz").status_code == 200)
        assert ask(client, QUESTION).status_code == 200
        assert value(scrape(service.url), "ollama_rag_upstream_model_available",
                     model="llama3.3") == 1


def test_streamed_answer_is_ndjson_and_cached(client: httpx.Client) -> None:
    response = ask(client, "How does Ollama report durations?", stream=True)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    events = [json.loads(line) for line in response.text.splitlines()]
    assert events[0]["type"] == "start" and events[0]["cache"]["result"] == "miss"
    assert events[-1]["type"] == "end"
    assert "time_to_first_token" in events[-1]["timings_ms"]
    text = "".join(e["content"] for e in events if e["type"] == "chunk")
    assert text.startswith("Simulated answer to: How does Ollama report durations?")

    again = ask(client, "How does Ollama report durations?", stream=True)
    events = [json.loads(line) for line in again.text.splitlines()]
    assert events[0]["cache"]["result"] == "exact"
    assert "".join(e["content"] for e in events if e["type"] == "chunk") == text


def test_a_stream_broken_midway_ends_with_an_error_line(
        sim: SimulatorThread, client: httpx.Client) -> None:
    wait_until(lambda: client.get("/readyz").status_code == 200)
    set_faults(sim, mode="garbage", paths=["/api/chat"])
    response = ask(client, "another question whose stream breaks", stream=True)
    assert response.status_code == 200  # the status was sent before the break
    events = [json.loads(line) for line in response.text.splitlines()]
    assert [e["type"] for e in events] == ["start", "chunk", "chunk", "chunk", "error"]
    assert events[-1]["error"] == "upstream_bad_response"
    assert client.get("/api/breaker").json()["consecutive_failures"] == 1
    set_faults(sim, mode="ok")
    again = ask(client, "another question whose stream breaks")
    assert again.json()["cache"]["result"] == "miss"  # a broken answer is never cached


def test_ingested_documents_are_retrieved(client: httpx.Client) -> None:
    text = ("The zebrafish pipeline rotates its encryption keys every Tuesday at noon, "
            "and the rotation is logged to the zebrafish audit trail.")
    response = client.post("/api/documents",
                           json={"documents": [{"text": text, "source": "ops/zebrafish.md"}]})
    assert response.status_code == 200, response.text
    assert response.json()["chunks"] == 1
    answer = ask(client, "When does the zebrafish pipeline rotate its encryption keys?").json()
    assert answer["sources"][0]["source"] == "ops/zebrafish.md"


def test_cache_stats_and_breaker_endpoints(client: httpx.Client) -> None:
    ask(client, QUESTION)
    ask(client, QUESTION)
    stats = client.get("/api/cache-stats").json()
    assert stats["hits"] == {"exact": 1, "semantic": 0}
    assert stats["misses"] == 1
    assert stats["hit_ratio"] == 0.5
    assert stats["size"] == 1 and stats["capacity"] == 1000
    assert stats["evictions"] == {"capacity": 0, "ttl": 0}
    assert stats["similarity_threshold"] == 0.9
    breaker = client.get("/api/breaker").json()
    assert breaker["state"] == "closed"
    assert breaker["config"]["failure_threshold"] == 3


def test_clearing_the_cache_needs_the_admin_token(
        make_service: Callable[..., ServiceThread]) -> None:
    without = make_service()
    assert httpx.delete(f"{without.url}/api/cache").status_code == 401  # no credentials
    refused = httpx.delete(f"{without.url}/api/cache", headers={"Authorization": "Bearer x"})
    assert refused.status_code == 403 and "no token is configured" in refused.json()["detail"]
    service = make_service(admin_token="s3cret")
    url = f"{service.url}/api/cache"
    assert httpx.delete(url).status_code == 401
    assert httpx.delete(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    ask(httpx.Client(base_url=service.url, timeout=10), QUESTION)
    response = httpx.delete(url, headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 200 and response.json() == {"cleared": 1}


def test_metrics_token_and_openmetrics_negotiation(
        make_service: Callable[..., ServiceThread]) -> None:
    service = make_service(metrics_token="scrape-me")
    denied = httpx.get(f"{service.url}/metrics")
    assert denied.status_code == 401 and denied.json()["error"] == "unauthorized"
    auth = {"Authorization": "Bearer scrape-me"}
    text = httpx.get(f"{service.url}/metrics", headers=auth)
    assert text.headers["content-type"].startswith("text/plain")
    om = httpx.get(f"{service.url}/metrics", headers=auth | {
        "Accept": "application/openmetrics-text; version=1.0.0; charset=utf-8"})
    assert om.headers["content-type"].startswith("application/openmetrics-text")
    assert om.text.rstrip().endswith("# EOF")


def test_readiness_waits_for_the_upstream(make_service: Callable[..., ServiceThread]) -> None:
    service = make_service(ollama_url="http://127.0.0.1:9")  # nothing listens there
    assert httpx.get(f"{service.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{service.url}/readyz")
    assert ready.status_code == 503 and ready.json()["error"] == "not_ready"


def test_an_idle_breaker_closes_by_probing_on_its_own(
        sim: SimulatorThread, service: ServiceThread, client: httpx.Client) -> None:
    wait_until(lambda: client.get("/readyz").status_code == 200)
    set_faults(sim, mode="error")
    for i in range(3):
        ask(client, f"failing question {i}")
    assert client.get("/api/breaker").json()["state"] == "open"
    time.sleep(1.0)  # still failing: the prober's probes reopen it
    assert client.get("/api/breaker").json()["state"] in {"open", "half_open"}
    set_faults(sim, mode="ok")
    wait_until(lambda: client.get("/api/breaker").json()["state"] == "closed", timeout=5)
    samples = scrape(service.url)
    assert value(samples, "ollama_rag_upstream_request_duration_seconds_count",
                 operation="probe", outcome="success") == 2
    assert value(samples, "ollama_rag_upstream_request_duration_seconds_count",
                 operation="probe", outcome="server_error") >= 1


def test_metrics_can_be_switched_off_for_the_benchmark(
        make_service: Callable[..., ServiceThread]) -> None:
    service = make_service(metrics_enabled=False)
    with httpx.Client(base_url=service.url, timeout=10) as client:
        wait_until(lambda: client.get("/readyz").status_code == 200)
        assert ask(client, QUESTION).status_code == 200
        assert ask(client, QUESTION).json()["cache"]["result"] == "exact"
        response = client.get("/metrics")
    assert response.status_code == 404 and "disabled" in response.json()["detail"]
    assert service.components.registry.get_sample_value(
        "ollama_rag_semcache_misses_total") is None


def test_each_query_is_timed_under_what_its_caller_got(
        sim: SimulatorThread, make_service: Callable[..., ServiceThread]) -> None:
    """``ollama_rag_query_duration_seconds`` by outcome, with and without the request
    telemetry (access log) that otherwise holds the request's record."""
    for access_log in (True, False):
        service = make_service(access_log=access_log)
        with httpx.Client(base_url=service.url, timeout=10) as client:
            wait_until(lambda c=client: c.get("/readyz").status_code == 200)
            set_faults(sim, mode="ok")
            assert ask(client, QUESTION).status_code == 200  # answered
            assert ask(client, QUESTION).status_code == 200  # exact
            assert ask(client, PARAPHRASE).json()["cache"]["result"] == "semantic"
            assert ask(client, "").status_code == 422  # refused
            set_faults(sim, mode="garbage", paths=["/api/chat"])
            streamed = ask(client, "a stream that breaks after its 200", stream=True)
            assert streamed.status_code == 200 and '"error"' in streamed.text  # failed
            set_faults(sim, mode="error")
            assert ask(client, "a question Ollama fails").status_code == 502  # failed
            samples = scrape(service.url)
        counted = {outcome: value(samples, "ollama_rag_query_duration_seconds_count",
                                  outcome=outcome)
                   for outcome in QueryOutcome}
        assert counted == {"answered": 1, "cache_exact": 1, "cache_semantic": 1, "refused": 1,
                           "failed": 2, "shed": 0}
        set_faults(sim, mode="ok")
        service.close()
