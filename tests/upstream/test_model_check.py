"""Which models Ollama has: a missing one is named, with the command that pulls it."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.helpers import ask, scrape, set_faults, value, wait_until
from tests.servers import ServiceThread, SimulatorThread

QUESTION = "What does a circuit breaker do when it is half-open?"


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
