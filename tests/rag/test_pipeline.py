"""The RAG pipeline over loopback HTTP: a miss answered by the model and then served from the
cache, whole and streamed, with the context it retrieved."""

from __future__ import annotations

import json

import httpx

from tests.helpers import ask, set_faults, wait_until
from tests.servers import SimulatorThread

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
