"""The simulator's scheduler against Ollama's documented behaviour (its FAQ, server/sched.go),
through the official ``ollama`` client: cold loads, keep-alive, eviction, parallel calls and
the queue's 503."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import ollama
import pytest

from loadtest.sim.models import MODEL_SIZES
from loadtest.sim.scheduler import GIGABYTE, QUEUE_FULL, keep_alive_seconds
from tests.helpers import set_faults, sim_stats, wait_until
from tests.servers import SimulatorThread

CHAT = "llama3.2:latest"
EMBED = "nomic-embed-text:latest"
MESSAGES = [{"role": "user", "content": "What does a circuit breaker do?"}]


@pytest.fixture
def client(sim: SimulatorThread) -> ollama.Client:
    return ollama.Client(host=sim.url)


def loaded(client: ollama.Client) -> list[str]:
    return [m.model or "" for m in client.ps().models]


def wait_until_unloaded(client: ollama.Client, model: str, within: float) -> float:
    """Seconds until ``model`` left /api/ps; fails after ``within``."""
    started = time.monotonic()
    while model in loaded(client):
        assert time.monotonic() - started < within, f"{model} still loaded"
        time.sleep(0.02)
    return time.monotonic() - started


def test_a_first_call_pays_the_cold_load_and_ps_describes_the_model(
        client: ollama.Client, sim: SimulatorThread) -> None:
    set_faults(sim, load_ms_per_gb=200)
    first = client.embed(model=EMBED, input="load it")
    expected = MODEL_SIZES[EMBED] / GIGABYTE * 0.2
    assert first.load_duration / 1e9 == pytest.approx(expected, abs=0.01)
    assert client.embed(model=EMBED, input="again").load_duration == 0
    (model,) = client.ps().models
    assert model.model == EMBED and model.size == model.size_vram == MODEL_SIZES[EMBED]
    assert model.digest and model.details and model.details.family
    assert model.context_length == 4096
    assert model.expires_at is not None
    left = (model.expires_at - datetime.now(UTC)).total_seconds()
    assert 295 < left <= 300  # OLLAMA_KEEP_ALIVE's default, 5 minutes
    assert sim_stats(sim)["loads"] == 1


def test_keep_alive_from_the_request_or_the_setting_unloads_the_model(
        client: ollama.Client, sim: SimulatorThread) -> None:
    client.embed(model=EMBED, input="x", keep_alive=0)
    assert loaded(client) == []  # keep_alive 0: unloaded as soon as the call ended
    set_faults(sim, keep_alive=0.3)
    client.embed(model=EMBED, input="x")
    assert EMBED in loaded(client)
    assert wait_until_unloaded(client, EMBED, within=5) < 1.0
    client.embed(model=EMBED, input="x", keep_alive="-1")  # for good
    (model,) = client.ps().models
    assert model.expires_at is not None and model.expires_at.year > 2200
    unloading = client.generate(model=EMBED, keep_alive=0)  # `ollama stop`
    assert unloading.done_reason == "unload" and loaded(client) == []
    assert client.generate(model=CHAT).done_reason == "load" and loaded(client) == [CHAT]


def test_too_many_models_evict_the_least_recently_used(client: ollama.Client,
                                                       sim: SimulatorThread) -> None:
    set_faults(sim, max_loaded_models=1)
    client.embed(model=EMBED, input="x")
    client.chat(model=CHAT, messages=MESSAGES)
    assert loaded(client) == [CHAT]
    # Memory for one of them only: each call evicts the other, and pays a load.
    set_faults(sim, max_loaded_models=3, memory_mb=2100, load_ms_per_gb=100)
    for _ in range(2):
        assert client.embed(model=EMBED, input="x").load_duration > 0
        assert loaded(client) == [EMBED]
        assert client.chat(model=CHAT, messages=MESSAGES).load_duration > 0
        assert loaded(client) == [CHAT]
    assert sim_stats(sim)["evictions"] == 5
    set_faults(sim, memory_mb=0)
    client.embed(model=EMBED, input="x")
    assert loaded(client) == [EMBED, CHAT]  # the most recently used first


def test_parallel_calls_beyond_the_queue_are_answered_503(client: ollama.Client,
                                                          sim: SimulatorThread) -> None:
    set_faults(sim, parallel=1, max_queue=2, mode="slow", slow_ms=800, jitter=0)
    client.embed(model=EMBED, input="warm")  # loaded: the calls below wait only for a turn
    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(lambda _: _embed_status(client), range(6)))
    # One runs, two wait their turn, the rest are turned away at once with Ollama's words.
    assert outcomes.count("ok") == 3, outcomes
    assert outcomes.count(QUEUE_FULL) == 3, outcomes
    stats = sim_stats(sim)
    assert stats["queue_full"] == 3 and stats["queued_peak"] == 2


def _embed_status(client: ollama.Client) -> str:
    try:
        client.embed(model=EMBED, input="x")
    except ollama.ResponseError as error:
        assert error.status_code == 503
        return error.error
    return "ok"


def test_keep_alive_is_read_as_ollama_reads_it() -> None:
    assert keep_alive_seconds(None) is None
    assert keep_alive_seconds(30) == 30 and keep_alive_seconds("-1") == -1
    assert keep_alive_seconds("1h30m") == 5400 and keep_alive_seconds("250ms") == 0.25
    for bad in ("soon", True, [1]):
        with pytest.raises(ValueError):
            keep_alive_seconds(bad)


def test_other_clients_fill_the_queue_and_turn_calls_away(client: ollama.Client,
                                                          sim: SimulatorThread) -> None:
    """Another application's callers keep the chat model busy and its queue full: a call to
    it is turned away at once; one to the other model, loaded and idle, is served (a call
    that needs no wait takes no place in the queue)."""
    client.embed(model=EMBED, input="load it")
    set_faults(sim, parallel=1, max_queue=2, other_clients=4, first_token_ms=500)
    # Full once one of the four has been turned away: one runs, two wait.
    wait_until(lambda: sim_stats(sim).get("queue_full", 0) >= 1)
    for _ in range(3):
        with pytest.raises(ollama.ResponseError) as raised:
            client.chat(model=CHAT, messages=MESSAGES)
        assert raised.value.status_code == 503 and raised.value.error == QUEUE_FULL
    assert client.embed(model=EMBED, input="x").embeddings
    set_faults(sim, other_clients=0)
    assert client.chat(model=CHAT, messages=MESSAGES).done


def test_a_shorter_keep_alive_applies_to_a_model_loaded_before(client: ollama.Client,
                                                               sim: SimulatorThread) -> None:
    client.embed(model=EMBED, input="loaded with the default keep-alive")
    set_faults(sim, keep_alive=0.2)
    client.embed(model=EMBED, input="its last call")
    assert wait_until_unloaded(client, EMBED, within=5) < 1.0
