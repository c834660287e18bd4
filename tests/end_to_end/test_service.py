"""The whole service and the simulator over loopback HTTP: the query path moves every contract
metric, and the breaker opens, rejects, serves cached answers and recovers under real load."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx

from app.core.catalog import CONTRACT_METRICS
from tests import helpers
from tests.helpers import ask, scrape, set_faults, value, wait_until
from tests.servers import ServiceThread, SimulatorThread

QUESTION = "What does a circuit breaker do when it is half-open?"
PARAPHRASE = "What does the circuit breaker do when it is half open?"


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
    assert [moved("ollama_rag_query_time_to_first_token_seconds_count", mode=mode, api="native")
            for mode in ("whole", "streamed")] == [3, 1]
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
