"""The background loops that talk to Ollama without a caller."""

from __future__ import annotations

import time

import httpx

from tests.helpers import ask, scrape, set_faults, value, wait_until
from tests.servers import ServiceThread, SimulatorThread


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
