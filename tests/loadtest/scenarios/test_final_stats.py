"""Locust's final figures (what the verifiers read) against what the service itself counted,
over a real headless run."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from loadtest.verify.client_checks import locust_stats
from tests.helpers import Samples, scrape, set_faults, wait_until
from tests.loadtest.headless import run_rag_users
from tests.servers import ServiceThread, SimulatorThread

HTTP_REQUESTS = "ollama_rag_http_requests_total"


def _served(before: Samples, after: Samples) -> Counter[tuple[str, bool]]:
    """Answers by route and whether they failed (not 2xx), between two scrapes."""
    served: Counter[tuple[str, bool]] = Counter()
    for (name, labels), value in after.items():
        found = dict(labels)
        if name == HTTP_REQUESTS and found["route"] != "/metrics":
            served[found["route"], not found["status"].startswith("2")] += int(
                value - before.get((name, labels), 0))
    return +served


def test_the_final_figures_hold_every_answer_the_service_counted(
        service: ServiceThread, sim: SimulatorThread, tmp_path: Path) -> None:
    # Locust's CSV files lag the run by up to a second and miss what users finish while
    # stopping; the final figures must not. Ollama fails half-way, so failures count too.
    set_faults(sim, mode="down", paths=["/api/chat", "/api/embed"])
    before = scrape(service.url)
    made = locust_stats(run_rag_users(service.url, tmp_path, users=4, seconds=2))
    reported: Counter[tuple[str, bool]] = Counter()
    for name, named in made.items():
        route = name.split(" (")[0]  # "/api/query (stream)" is /api/query's
        reported[route, True] += named["failures"]
        reported[route, False] += named["requests"] - named["failures"]
        assert sum(named["errors"].values()) == named["failures"], (name, named)
    reported = +reported
    assert any(failed for _, failed in reported), made
    try:
        wait_until(lambda: _served(before, scrape(service.url)) == reported)
    except AssertionError:
        assert _served(before, scrape(service.url)) == reported  # shows both
        raise
