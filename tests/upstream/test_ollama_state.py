"""Ollama's own state as the service's metrics: loaded models, memory, time to unload, loads
(each counted once) and their durations, the version; and Ollama's full queue answered as
overload. A real service against the simulator over loopback."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.core.metric_spec import NAMESPACE
from loadtest.sim.models import MODEL_SIZES
from loadtest.sim.ollama_api import SIM_VERSION
from loadtest.sim.scheduler import GIGABYTE
from tests.helpers import Samples, ask, scrape, set_faults, value, wait_until
from tests.servers import ServiceThread, SimulatorThread

CHAT, EMBED = "llama3.2", "nomic-embed-text"
LOAD_MS_PER_GB = 1000.0  # the chat model loads in 1.9 s, the embedding model in 0.26 s
M = f"{NAMESPACE}_"


def polls(service: ServiceThread) -> float:
    return value(scrape(service.url), M + "upstream_request_duration_seconds_count",
                 operation="loaded_models", outcome="success")


def wait_for_polls(service: ServiceThread, count: int) -> None:
    """Until the health check has asked /api/ps ``count`` more times."""
    start = polls(service)
    wait_until(lambda: polls(service) >= start + count)


def loads(samples: Samples, model: str) -> float:
    return value(samples, M + "ollama_model_loads_total", model=model)


@pytest.fixture
def watching(make_service: Callable[..., ServiceThread],
             sim: SimulatorThread) -> ServiceThread:
    set_faults(sim, load_ms_per_gb=LOAD_MS_PER_GB)
    return make_service(health_check_interval=0.1, read_timeout=10.0)


def test_loaded_models_their_memory_and_time_to_unload(watching: ServiceThread) -> None:
    with httpx.Client(base_url=watching.url, timeout=20) as client:
        assert ask(client, "What does a circuit breaker do?").status_code == 200
    wait_until(lambda: value(scrape(watching.url), M + "ollama_model_loaded", model=CHAT) == 1)
    wait_for_polls(watching, 2)
    samples = scrape(watching.url)
    for model in (CHAT, EMBED):
        size = MODEL_SIZES[f"{model}:latest"]
        assert value(samples, M + "ollama_model_loaded", model=model) == 1
        assert value(samples, M + "ollama_model_memory_bytes", model=model, memory="total") == size
        assert value(samples, M + "ollama_model_memory_bytes", model=model, memory="vram") == size
        assert 280 < value(samples, M + "ollama_model_unload_seconds", model=model) <= 300
        # Seen in the answer and in /api/ps: one load.
        assert loads(samples, model) == 1
        assert value(samples, M + "ollama_model_load_duration_seconds_count", model=model) == 1
        assert value(samples, M + "ollama_model_load_duration_seconds_sum",
                     model=model) == pytest.approx(size / GIGABYTE * LOAD_MS_PER_GB / 1000,
                                                   abs=0.02)
    assert value(samples, M + "ollama_model_loaded", model="other") == 0
    assert value(samples, M + "ollama_info", version=SIM_VERSION) == 1


def test_evicting_models_count_a_load_each_time(watching: ServiceThread,
                                                sim: SimulatorThread) -> None:
    """Memory for one model only: a question's embedding evicts the chat model, its answer
    the embedding model; each load is counted once."""
    with httpx.Client(base_url=watching.url, timeout=20) as client:
        assert ask(client, "What is a token?").status_code == 200
        before = scrape(watching.url)
        set_faults(sim, memory_mb=2100)
        for question in ("How are embeddings stored in the document store?",
                         "Why would admission control shed a request under overload?"):
            response = ask(client, question)
            assert response.status_code == 200 and response.json()["cache"]["result"] == "miss"
    wait_for_polls(watching, 2)
    after = scrape(watching.url)
    assert loads(after, CHAT) - loads(before, CHAT) == 2
    assert loads(after, EMBED) - loads(before, EMBED) == 2


def test_a_load_only_ps_saw_is_counted_when_the_next_answer_finds_the_model_loaded(
        watching: ServiceThread, sim: SimulatorThread) -> None:
    """Another client unloads the chat model and loads it again: no answer of ours paid
    that load, /api/ps saw it; and a model the service does not use counts under other."""
    with httpx.Client(base_url=watching.url, timeout=20) as client:
        assert ask(client, "What is a token?").status_code == 200
        wait_until(lambda: value(scrape(watching.url), M + "ollama_model_loaded",
                                 model=CHAT) == 1)
        before = scrape(watching.url)
        httpx.post(f"{sim.url}/api/generate", json={"model": CHAT, "keep_alive": 0})
        wait_until(lambda: value(scrape(watching.url), M + "ollama_model_loaded",
                                 model=CHAT) == 0)
        httpx.post(f"{sim.url}/api/generate", json={"model": CHAT}, timeout=10)
        wait_until(lambda: value(scrape(watching.url), M + "ollama_model_loaded",
                                 model=CHAT) == 1)
        set_faults(sim, models=[f"{CHAT}:latest", f"{EMBED}:latest", "qwen2.5:latest"])
        httpx.post(f"{sim.url}/api/generate", json={"model": "qwen2.5"}, timeout=10)
        wait_until(lambda: value(scrape(watching.url), M + "ollama_model_loaded",
                                 model="other") == 1)
        assert ask(client, "What is a vector?").status_code == 200
    after = scrape(watching.url)
    assert loads(after, CHAT) - loads(before, CHAT) == 1
    assert value(after, M + "ollama_model_load_duration_seconds_count", model=CHAT) == 1
    assert loads(after, "other") == 1
    assert value(after, M + "ollama_model_memory_bytes", model="other",
                 memory="total") == 1_073_741_824


def test_ollama_turning_calls_away_is_overload_not_failure(
        make_service: Callable[..., ServiceThread], sim: SimulatorThread) -> None:
    """Ollama's 503 "maximum pending requests exceeded": the caller gets 503 overloaded
    with Retry-After, counted by reason; the breaker counts nothing; the limit comes down."""
    service = make_service(read_timeout=10.0)
    set_faults(sim, parallel=1, max_queue=1, mode="slow", slow_ms=600, jitter=0,
               paths=["/api/chat"])
    questions = [f"What is failure number {i}?" for i in range(8)]
    with httpx.Client(base_url=service.url, timeout=20) as client, ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda q: ask(client, q), questions))
    busy = [r for r in responses if r.status_code == 503]
    assert busy and len(busy) + sum(r.status_code == 200 for r in responses) == 8
    for response in busy:
        assert response.json()["error"] == "overloaded"
        assert "OLLAMA_MAX_QUEUE" in response.json()["detail"]
        assert response.headers["retry-after"] == "1"
    samples = scrape(service.url)
    turned_away = value(samples, M + "admission_shed_total", lane="chat", reason="ollama_busy")
    assert turned_away == len(busy)
    assert value(samples, M + "upstream_request_duration_seconds_count", operation="chat",
                 outcome="ollama_busy") == len(busy)
    assert value(samples, M + "circuit_breaker_calls_total", breaker_name="ollama_client",
                 status="failure") == 0
    assert value(samples, M + "circuit_breaker_state", breaker_name="ollama_client") == 0
    assert value(samples, M + "admission_concurrency_limit", lane="chat") < 20


def test_expiry_times_are_read_to_the_second() -> None:
    from app.upstream.ollama_state import seconds_until

    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    later = now + timedelta(seconds=90)
    # Ollama writes nanoseconds and a zone offset.
    assert seconds_until("2026-12-06T13:01:30.123456789+01:00", now) == pytest.approx(90.12,
                                                                                     abs=0.01)
    assert seconds_until(later.isoformat(), now) == 90
    assert seconds_until("2026-12-06T11:00:00Z", now) == 0  # past: unloading now
    assert seconds_until("soon", now) == 0 and seconds_until(None, now) == 0
