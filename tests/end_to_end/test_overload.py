"""Overload, shutdown and callers who hang up, over loopback HTTP against the simulator:
admission control sheds at once and keeps serving the cache; SIGTERM drains every admitted
answer, streams included; a caller who hangs up cancels its call to Ollama."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import re
import signal
from collections.abc import Callable
from pathlib import Path

import httpx
import yaml

from alerts.durations import duration_seconds
from app.core.settings import Settings
from app.serve import EXIT_ALLOWANCE
from tests import ROOT
from tests.helpers import ask, scrape, set_faults, sim_stats, value, wait_until
from tests.servers import ServiceProcess, ServiceThread, SimulatorThread

SHED = "ollama_rag_admission_shed_total"


def test_overload_is_shed_at_once_and_the_cache_still_answers(
        sim: SimulatorThread, make_service: Callable[..., ServiceThread]) -> None:
    service = make_service(admission_max_chat=2, admission_max_embed=2,
                           admission_queue_wait=0.2, read_timeout=10.0)
    with httpx.Client(base_url=service.url, timeout=30) as client:
        wait_until(lambda: client.get("/readyz").status_code == 200)
        assert ask(client, "a question asked before the rush").status_code == 200
        set_faults(sim, mode="slow", slow_ms=1500, jitter=0, paths=["/api/chat"])
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            rush = [pool.submit(ask, client, f"a new question in the rush {i}")
                    for i in range(12)]
            wait_until(lambda: sim_stats(sim).get("POST /api/chat", 0) >= 2)
            cached = [ask(client, "a question asked before the rush") for _ in range(5)]
            responses = [future.result() for future in rush]
        after = scrape(service.url)
        breaker = client.get("/api/breaker").json()
    assert all(r.status_code == 200 and r.json()["cache"]["result"] == "exact" for r in cached)
    statuses = sorted(r.status_code for r in responses)
    assert 200 in statuses and 503 in statuses and set(statuses) == {200, 503}, statuses
    for response in (r for r in responses if r.status_code == 503):
        assert response.json()["error"] == "overloaded", response.json()
        assert "overloaded" in response.json()["detail"]
        assert int(response.headers["Retry-After"]) >= 1
    shed = sum(value(after, SHED, lane=lane, reason=reason)
               for lane in ("chat", "embed") for reason in ("queue_full", "queue_timeout"))
    assert shed == statuses.count(503)
    # Each answer is timed under what its caller got (the overload phase's latency bounds).
    outcomes = {outcome: value(after, "ollama_rag_query_duration_seconds_count",
                               outcome=outcome, api="native")
                for outcome in ("cache_exact", "cache_semantic", "answered", "shed", "refused",
                                "failed")}
    assert outcomes == {"cache_exact": 5, "cache_semantic": 0,
                        "answered": 1 + statuses.count(200),
                        "shed": statuses.count(503), "refused": 0, "failed": 0}
    # Shedding is not an Ollama failure, and nothing waited for the pool.
    assert breaker["state"] == "closed" and breaker["consecutive_failures"] == 0
    assert value(after, "ollama_rag_circuit_breaker_calls_total", breaker_name="ollama_client",
                 status="failure") == 0
    assert value(after, "ollama_rag_upstream_request_duration_seconds_count",
                 operation="chat", outcome="pool_timeout") == 0
    assert value(after, "ollama_rag_admission_concurrency_limit", lane="chat") >= 1


def test_a_caller_who_hangs_up_cancels_the_call_to_ollama(
        sim: SimulatorThread, service: ServiceThread) -> None:
    with httpx.Client(base_url=service.url, timeout=30) as client:
        wait_until(lambda: client.get("/readyz").status_code == 200)
    set_faults(sim, mode="slow", slow_ms=5000, jitter=0, paths=["/api/chat"])
    # A whole answer: the caller gives up after half a second.
    with contextlib.suppress(httpx.ReadTimeout):
        httpx.post(f"{service.url}/api/query", json={"question": "a question nobody waits for"},
                   timeout=0.5)
    wait_until(lambda: sim_stats(sim).get("cancelled /api/chat", 0) == 1, timeout=3)
    # A stream: the caller reads its first line and closes it.
    set_faults(sim, mode="ok", token_ms=200, answer_tokens=100)
    with httpx.stream("POST", f"{service.url}/api/query", timeout=10,
                      json={"question": "a stream nobody reads", "stream": True}) as response:
        first = json.loads(next(response.iter_lines()))
        assert first["type"] == "start"
    wait_until(lambda: sim_stats(sim).get("cancelled /api/chat", 0) == 2, timeout=3)
    metrics = scrape(service.url)
    cancelled = "ollama_rag_upstream_requests_cancelled_total"
    assert value(metrics, cancelled, operation="chat") == 1
    assert value(metrics, cancelled, operation="chat_stream") == 1
    assert value(metrics, "ollama_rag_http_requests_total", method="POST", route="/api/query",
                 status="499") == 1  # the whole answer; the stream had its 200
    assert value(metrics, "ollama_rag_admission_in_flight", lane="chat") == 0


def test_sigterm_drains_every_admitted_answer_streams_included(sim: SimulatorThread,
                                                               tmp_path: Path) -> None:
    """Slow answers in flight, as many as the chat lane admits; SIGTERM: /readyz and new work
    get 503 at once, every admitted answer completes, then the process ends by its signal."""
    service = ServiceProcess(sim.url, tmp_path / "service.log", ADMISSION_MAX_CHAT="2",
                             ADMISSION_QUEUE_WAIT="0", DRAIN_TIMEOUT="20", ACCESS_LOG="false",
                             DATA_DIR=":memory:")
    url, process = service.url, service.process
    try:
        # The chat lane starts at its ceiling: 2 answers run at once, as many as it admits.
        set_faults(sim, mode="slow", slow_ms=1500, jitter=0, token_ms=30, answer_tokens=40,
                   paths=["/api/chat"])
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            whole = pool.submit(_ask, url, "a slow whole answer", False)
            streamed = pool.submit(_ask, url, "a slow streamed answer", True)
            wait_until(lambda: sim_stats(sim).get("POST /api/chat", 0) >= 2)
            process.send_signal(signal.SIGTERM)
            wait_until(lambda: httpx.get(f"{url}/readyz", timeout=2).status_code == 503)
            refused = httpx.post(f"{url}/api/query", json={"question": "too late"}, timeout=5)
            answers = [whole.result(), streamed.result()]
        assert process.wait(30) == -signal.SIGTERM
    finally:
        service.close()
    assert refused.status_code == 503 and refused.json()["error"] == "shutting_down"
    assert refused.headers["Retry-After"] == "1"
    status, body = answers[0]
    assert status == 200 and json.loads(body)["answer"].startswith("Simulated answer")
    status, body = answers[1]
    events = [json.loads(line) for line in body.splitlines()]
    assert status == 200 and [events[0]["type"], events[-1]["type"]] == ["start", "end"]
    assert "drained in" in (tmp_path / "service.log").read_text()



def _ask(url: str, question: str, stream: bool) -> tuple[int, str]:
    response = httpx.post(f"{url}/api/query", json={"question": question, "stream": stream},
                          timeout=30)
    return response.status_code, response.text


def test_a_stopped_replica_gets_its_drain_timeout_before_it_is_killed() -> None:
    """``docker stop`` sends SIGTERM, then SIGKILL after stop_grace_period: the drain
    timeout plus what the exit itself takes."""
    app = yaml.safe_load((ROOT / 'compose.yaml').read_text())["services"]["app"]
    drain = float(app["environment"].get("OLLAMA_RAG_DRAIN_TIMEOUT",
                                         Settings.model_fields["drain_timeout"].default))
    assert duration_seconds(app["stop_grace_period"]) == drain + EXIT_ALLOWANCE


def test_the_load_balancer_retries_a_draining_replica_elsewhere() -> None:
    config = (ROOT / "haproxy" / "haproxy.cfg").read_text()
    assert re.search(r"^\s*retry-on .*\b503\b", config, re.M)
    assert re.search(r"^\s*option redispatch", config, re.M)
