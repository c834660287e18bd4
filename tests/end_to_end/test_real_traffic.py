"""What the SLIs and alerts read, under the traffic users have: answers that take seconds
to generate, streams that break, a full connection pool, an Ollama that dies while nobody
asks anything. Real service, real simulator, over loopback HTTP."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from itertools import product

import httpx

from tests.helpers import ask, moved, scrape, set_faults, value, wait_until
from tests.servers import ServiceThread, SimulatorThread

# A model that takes 0.1 s to its first token, then about 2.5 s to generate 100-400 tokens.
SLOW_GENERATION = {"first_token_ms": 100, "token_ms": 10, "answer_tokens": 250, "jitter": 0}
QUERY_TTFT = "ollama_rag_query_time_to_first_token_seconds"
HTTP_DURATION = "ollama_rag_http_request_duration_seconds"
ROUTE = {"method": "POST", "route": "/api/query"}


def test_a_long_answer_is_not_a_slow_one(sim: SimulatorThread,
                                         make_service: Callable[..., ServiceThread]) -> None:
    """The latency SLI is the start of the answer: generation time is not latency."""
    service = make_service(read_timeout=30.0)
    with httpx.Client(base_url=service.url, timeout=30) as client:
        wait_until(lambda: client.get("/readyz").status_code == 200)
        set_faults(sim, **SLOW_GENERATION)
        before = scrape(service.url)
        whole = ask(client, "Why does a long answer take long?")
        started = time.perf_counter()
        with client.stream("POST", "/api/query", json={
                "question": "Why does a streamed answer take long?", "stream": True}) as stream:
            lines = list(stream.iter_lines())
        streamed_for = time.perf_counter() - started
        after = scrape(service.url)
    assert whole.status_code == 200 and '"type":"end"' in lines[-1].replace(" ", "")
    assert whole.json()["timings_ms"]["total"] > 1000 and streamed_for > 1

    # The HTTP request lasted seconds; the answer started within half a second.
    assert moved(before, after, f"{HTTP_DURATION}_sum", **ROUTE) > 2
    for mode in ("whole", "streamed"):
        assert moved(before, after, f"{QUERY_TTFT}_count", mode=mode, api="native") == 1
        assert moved(before, after, f"{QUERY_TTFT}_bucket", mode=mode, le="0.5",
                     api="native") == 1, mode


def test_only_successful_answers_count_for_latency(sim: SimulatorThread,
                                                   make_service: Callable[..., ServiceThread],
                                                   ) -> None:
    """A fast 503 is not a fast answer: it is a failure, and counts only as one."""
    service = make_service()
    with httpx.Client(base_url=service.url, timeout=10) as client:
        wait_until(lambda: client.get("/readyz").status_code == 200)
        set_faults(sim, mode="error")
        before = scrape(service.url)
        statuses = [ask(client, f"new question {i}").status_code for i in range(6)]
        after = scrape(service.url)
    assert statuses[:3] == [502, 502, 502] and set(statuses[3:]) == {503}
    for mode in ("whole", "streamed"):
        assert moved(before, after, f"{QUERY_TTFT}_count", mode=mode, api="native") == 0


def test_a_stream_that_breaks_after_its_status_line_is_counted_as_failed(
        sim: SimulatorThread, make_service: Callable[..., ServiceThread]) -> None:
    service = make_service()
    with httpx.Client(base_url=service.url, timeout=10) as client:
        wait_until(lambda: client.get("/readyz").status_code == 200)
        before = scrape(service.url)
        set_faults(sim, mode="garbage", paths=["/api/chat"])
        response = client.post("/api/query", json={"question": "Does this stream break?",
                                                   "stream": True})
        after = scrape(service.url)
    assert response.status_code == 200
    assert '"type":"error"' in response.text.splitlines()[-1].replace(" ", "")
    failures = "ollama_rag_query_stream_failures_total"
    assert moved(before, after, failures, outcome="malformed", api="native") == 1
    # Not a successful answer either.
    assert moved(before, after, f"{QUERY_TTFT}_count", mode="streamed", api="native") == 0


def test_a_full_pool_is_overload_not_an_upstream_failure(
        sim: SimulatorThread, make_service: Callable[..., ServiceThread]) -> None:
    """A pool timeout answers 503 overloaded with Retry-After and never trips the breaker
    (with admission control on, admitted calls never wait for the pool: it is off here)."""
    service = make_service(pool_max_connections=1, pool_max_keepalive=1, pool_timeout=0.2,
                           read_timeout=10.0, breaker_failure_threshold=1,
                           admission_control=False)
    with httpx.Client(base_url=service.url, timeout=30) as client:
        wait_until(lambda: client.get("/readyz").status_code == 200)
        set_faults(sim, mode="slow", slow_ms=1500, jitter=0, paths=["/api/chat"])
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(lambda i: ask(client, f"a slow new question {i}"),
                                      range(4)))
        after = scrape(service.url)
        breaker = client.get("/api/breaker").json()
    overloaded = [r for r in responses if r.status_code == 503]
    assert overloaded and any(r.status_code == 200 for r in responses)
    for response in overloaded:
        assert response.json()["error"] == "overloaded"
        assert response.headers["Retry-After"] == "1"
    assert breaker["state"] == "closed" and breaker["consecutive_failures"] == 0
    assert value(after, "ollama_rag_circuit_breaker_calls_total", breaker_name="ollama_client",
                 status="failure") == 0
    assert value(after, "ollama_rag_upstream_request_duration_seconds_count",
                 operation="embed", outcome="pool_timeout") + value(
        after, "ollama_rag_upstream_request_duration_seconds_count",
        operation="chat", outcome="pool_timeout") == len(overloaded)


def test_error_series_exist_before_the_first_error(service: ServiceThread) -> None:
    """An error ratio is 0, not "no data", on a healthy service; and the first 5xx after a
    start is an increment rate() sees, not the creation of a series."""
    samples = scrape(service.url)
    for status in ("500", "502", "503", "504"):
        assert ("ollama_rag_http_requests_total", frozenset(
            (ROUTE | {"status": status}).items())) in samples
    for outcome, api in product(("timeout", "malformed", "server_error", "connection_error"),
                                ("native", "openai")):
        assert ("ollama_rag_query_stream_failures_total",
                frozenset({"outcome": outcome, "api": api}.items())) in samples


def test_the_health_check_sees_ollama_die_without_any_traffic(
        sim: SimulatorThread, make_service: Callable[..., ServiceThread]) -> None:
    service = make_service(health_check_interval=0.1, health_check_timeout=0.5)
    up = "ollama_rag_upstream_up"
    wait_until(lambda: value(scrape(service.url), up, client_name="ollama_client") == 1)
    calls_before = scrape(service.url)
    set_faults(sim, mode="down")
    wait_until(lambda: value(scrape(service.url), up, client_name="ollama_client") == 0)
    after = scrape(service.url)
    # It never goes through the breaker: nothing is counted or tripped there.
    for status in ("success", "failure", "rejected"):
        labels = {"breaker_name": "ollama_client", "status": status}
        assert moved(calls_before, after, "ollama_rag_circuit_breaker_calls_total",
                     **labels) == 0
    assert value(after, "ollama_rag_circuit_breaker_state", breaker_name="ollama_client") == 0
    assert value(after, "ollama_rag_upstream_request_duration_seconds_count",
                 operation="health_check", outcome="connection_error") >= 1
    set_faults(sim, mode="ok")
    wait_until(lambda: value(scrape(service.url), up, client_name="ollama_client") == 1)
