"""The simulated Ollama: its API shapes, its embeddings and its fault switch."""

from __future__ import annotations

import concurrent.futures
import json
import time

import httpx
import numpy as np
import pytest

from loadtest.sim.faults import Faults
from loadtest.sim.text import answer_length, embed_text
from tests.helpers import set_faults
from tests.servers import SimulatorThread


def cosine(a: str, b: str) -> float:
    return float(np.dot(embed_text(a), embed_text(b)))


def test_paraphrases_land_close_and_unrelated_texts_far() -> None:
    assert cosine("What does a circuit breaker do when it is half-open?",
                  "What does the circuit breaker do when it is half open?") > 0.9
    assert cosine("How is an Ollama model loaded?",
                  "What is the capital of France?") < 0.5
    assert embed_text("same text") == embed_text("same text")
    assert len(embed_text("x")) == 384
    assert np.linalg.norm(embed_text("")) == pytest.approx(1)


def test_chat_speaks_ollamas_fields(sim: SimulatorThread) -> None:
    body = httpx.post(f"{sim.url}/api/chat", json={
        "model": "llama3.2", "stream": False,
        "messages": [{"role": "user", "content": "hello there"}]}).json()
    assert body["message"]["role"] == "assistant"
    assert body["done"] is True
    for name in ("total_duration", "load_duration", "prompt_eval_count",
                 "prompt_eval_duration", "eval_count", "eval_duration"):
        assert isinstance(body[name], int), name
    assert body["eval_count"] == len(body["message"]["content"].split())


def test_streamed_chat_is_ndjson_ending_with_done(sim: SimulatorThread) -> None:
    response = httpx.post(f"{sim.url}/api/chat", json={
        "model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]})
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert all(not line["done"] for line in lines[:-1])
    assert lines[-1]["done"] is True and lines[-1]["eval_count"] > 0


def test_generate_embed_tags_version_ps(sim: SimulatorThread) -> None:
    generated = httpx.post(f"{sim.url}/api/generate",
                           json={"model": "llama3.2", "prompt": "hi", "stream": False}).json()
    assert generated["response"] and generated["done"] is True
    embedded = httpx.post(f"{sim.url}/api/embed",
                          json={"model": "nomic-embed-text", "input": ["a", "b"]})
    assert len(embedded.json()["embeddings"]) == 2
    assert httpx.get(f"{sim.url}/api/version").json()["version"]
    tags = httpx.get(f"{sim.url}/api/tags").json()["models"]
    assert {t["name"] for t in tags} == {"llama3.2:latest", "nomic-embed-text:latest"}
    assert httpx.get(f"{sim.url}/api/ps").status_code == 200


def test_requests_ollama_would_refuse_are_4xx(sim: SimulatorThread) -> None:
    assert httpx.post(f"{sim.url}/api/chat", json={"messages": []}).status_code == 400
    assert httpx.post(f"{sim.url}/api/embed",
                      json={"model": "nomic-embed-text", "input": 3}).status_code == 400
    assert httpx.post(f"{sim.url}/api/embed", content=b"{").status_code == 400
    assert httpx.get(f"{sim.url}/api/nothing").status_code == 404
    assert httpx.get(f"{sim.url}/api/chat").status_code == 405


@pytest.mark.parametrize(
    "change",
    [{"mode": "explode"}, {"error_rate": 1.5}, {"latency_ms": -1}, {"latency_ms": "5"},
     {"jitter": 2},
     {"colour": "red"}, {"paths": ["chat"]}, {"error_rate": True}],
)
def test_the_fault_api_refuses_bad_values_and_changes_nothing(sim: SimulatorThread,
                                                              change: dict) -> None:
    before = httpx.get(f"{sim.url}/_sim/faults").json()
    response = httpx.put(f"{sim.url}/_sim/faults", json=change)
    assert response.status_code == 400 and response.json()["error"]
    assert httpx.get(f"{sim.url}/_sim/faults").json() == before


def test_each_fault_mode(sim: SimulatorThread) -> None:
    chat = {"model": "llama3.2", "stream": False, "messages": [{"role": "user", "content": "q"}]}
    with httpx.Client(base_url=sim.url, timeout=httpx.Timeout(1.0)) as client:
        set_faults(sim, mode="error")
        assert client.post("/api/chat", json=chat).status_code == 500
        set_faults(sim, mode="garbage")
        with pytest.raises(json.JSONDecodeError):
            client.post("/api/chat", json=chat).json()
        set_faults(sim, mode="down")
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/api/chat", json=chat)
        set_faults(sim, mode="timeout", hang_seconds=5)
        with pytest.raises(httpx.ReadTimeout):
            client.post("/api/chat", json=chat)
        set_faults(sim, mode="slow", slow_ms=300, jitter=0)
        response = client.post("/api/chat", json=chat)
        assert response.status_code == 200 and response.elapsed.total_seconds() >= 0.3
        set_faults(sim, mode="error", paths=["/api/embed"])
        assert client.post("/api/chat", json=chat).status_code == 200
        set_faults(sim, mode="error", error_rate=0.5, paths=[])
        statuses = [client.post("/api/chat", json=chat).status_code for _ in range(200)]
        assert 60 < statuses.count(500) < 140
        set_faults(sim, mode="ok")
        assert client.post("/api/chat", json=chat).status_code == 200
    stats = httpx.get(f"{sim.url}/_sim/stats").json()
    assert stats["POST /api/chat"] == 207
    assert httpx.delete(f"{sim.url}/_sim/stats").status_code == 200
    assert httpx.get(f"{sim.url}/_sim/stats").json() == {}


@pytest.mark.parametrize("mode", ["down", "error", "timeout"])
def test_its_health_endpoint_answers_whatever_the_faults(sim: SimulatorThread,
                                                         mode: str) -> None:
    """compose's healthcheck reads it: a fault left on must not make the container unhealthy
    (a later `up` would abort on "dependency failed to start")."""
    set_faults(sim, mode=mode, hang_seconds=5)
    try:
        response = httpx.get(f"{sim.url}/_sim/healthz", timeout=2)
        assert response.status_code == 200 and response.json() == {"status": "ok"}
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{sim.url}/api/version", timeout=1).raise_for_status()
    finally:
        set_faults(sim, mode="ok")


def test_the_default_pace_is_a_real_models() -> None:
    """Hundreds of ms to the first token, tens of tokens a second, hundreds of tokens."""
    faults = Faults()
    assert 100 <= faults.first_token_ms <= 1000
    assert 10 <= 1000 / faults.token_ms <= 100
    lengths = [answer_length(f"question {i}", faults.answer_tokens) for i in range(200)]
    assert min(lengths) >= 100 and max(lengths) <= 400
    assert answer_length("same", 250) == answer_length("same", 250)


def test_answers_are_paced_token_by_token(sim: SimulatorThread) -> None:
    set_faults(sim, first_token_ms=200, token_ms=5, answer_tokens=100, jitter=0)
    chat = {"model": "llama3.2", "messages": [{"role": "user", "content": "how long is this?"}]}
    with httpx.Client(base_url=sim.url, timeout=10) as client:
        started = time.perf_counter()
        with client.stream("POST", "/api/chat", json=chat) as response:
            lines = response.iter_lines()
            first = json.loads(next(lines))
            first_at = time.perf_counter() - started
            last = [json.loads(line) for line in lines][-1]
        streamed_for = time.perf_counter() - started
        whole = client.post("/api/chat", json=chat | {"stream": False})
    assert first["message"]["content"] and 0.2 <= first_at < 1
    tokens = last["eval_count"]
    assert 40 <= tokens <= 160
    assert streamed_for >= 0.2 + tokens * 0.005
    assert last["prompt_eval_duration"] == pytest.approx(0.2e9, rel=0.01)
    body = whole.json()
    assert whole.elapsed.total_seconds() >= 0.2 + body["eval_count"] * 0.005
    assert body["eval_duration"] == pytest.approx(body["eval_count"] * 0.005e9, rel=0.01)


def test_changing_the_faults_ends_hung_calls(sim: SimulatorThread) -> None:
    """As restarting a wedged Ollama drops its connections."""
    set_faults(sim, mode="timeout", hang_seconds=60)
    chat = {"model": "llama3.2", "messages": [{"role": "user", "content": "q"}], "stream": False}
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        hung = pool.submit(httpx.post, f"{sim.url}/api/chat", json=chat, timeout=30)
        time.sleep(0.5)
        started = time.perf_counter()
        set_faults(sim, mode="ok")
        with pytest.raises(httpx.RemoteProtocolError):
            hung.result(10)
    assert time.perf_counter() - started < 5
