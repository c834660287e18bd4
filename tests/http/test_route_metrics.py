"""Every HTTP request counted and timed by route template (an unknown path adds no series);
every /api/query by what its caller got."""

from __future__ import annotations

import random
import string
from collections.abc import Callable

import httpx

from app.core.labels import QueryOutcome
from app.http.route_metrics import flat_routes
from tests.helpers import ask, pipelined_statuses, scrape, set_faults, value, wait_until
from tests.servers import ServiceThread, SimulatorThread

QUESTION = "What does a circuit breaker do when it is half-open?"


PARAPHRASE = "What does the circuit breaker do when it is half open?"


def test_each_query_is_timed_under_what_its_caller_got(
        sim: SimulatorThread, make_service: Callable[..., ServiceThread]) -> None:
    """``ollama_rag_query_duration_seconds`` by outcome, with and without the request
    telemetry (access log) that otherwise holds the request's record."""
    for access_log in (True, False):
        service = make_service(access_log=access_log)
        with httpx.Client(base_url=service.url, timeout=10) as client:
            wait_until(lambda c=client: c.get("/readyz").status_code == 200)
            set_faults(sim, mode="ok")
            assert ask(client, QUESTION).status_code == 200  # answered
            assert ask(client, QUESTION).status_code == 200  # exact
            assert ask(client, PARAPHRASE).json()["cache"]["result"] == "semantic"
            assert ask(client, "").status_code == 422  # refused
            set_faults(sim, mode="garbage", paths=["/api/chat"])
            streamed = ask(client, "a stream that breaks after its 200", stream=True)
            assert streamed.status_code == 200 and '"error"' in streamed.text  # failed
            set_faults(sim, mode="error")
            assert ask(client, "a question Ollama fails").status_code == 502  # failed
            samples = scrape(service.url)
        counted = {outcome: value(samples, "ollama_rag_query_duration_seconds_count",
                                  outcome=outcome, api="native")
                   for outcome in QueryOutcome}
        assert counted == {"answered": 1, "cache_exact": 1, "cache_semantic": 1, "refused": 1,
                           "failed": 2, "shed": 0}
        set_faults(sim, mode="ok")
        service.close()


def test_unknown_paths_add_no_series(service: ServiceThread) -> None:
    """10,000 requests to random paths with random methods: one fixed route value."""
    rng = random.Random(7)
    # Methods outside the label set that the HTTP parser (httptools) takes; one it does not
    # know is refused by the server before the app sees it.
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "MKCOL", "PROPFIND"]

    def random_path() -> str:
        parts = ["".join(rng.choices(string.ascii_letters + string.digits, k=8))
                 for _ in range(rng.randint(1, 4))]
        return "/" + "/".join(parts)

    requests = [(rng.choice(methods), random_path()) for _ in range(10_000)]
    statuses = set(pipelined_statuses(service.url, requests))
    assert statuses <= {404, 405}
    samples = scrape(service.url)
    routes = {dict(labels)["route"] for (name, labels) in samples
              if name == "ollama_rag_http_requests_total"}
    methods_seen = {dict(labels)["method"] for (name, labels) in samples
                    if name == "ollama_rag_http_requests_total"}
    # Every route is created at zero at start; random paths add only "unmatched".
    templates = {getattr(r, "path", "") for r in flat_routes(service.app.routes)}
    assert routes <= templates | {"unmatched"}
    assert methods_seen <= {"GET", "POST", "PUT", "DELETE", "PATCH", "OTHER"}
    total = sum(v for (name, labels), v in samples.items()
                if name == "ollama_rag_http_requests_total"
                and dict(labels)["route"] == "unmatched")
    assert total == 10_000
