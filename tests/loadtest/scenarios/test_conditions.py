"""A phase's condition, read from a real service's /metrics over loopback."""

from __future__ import annotations

import random
from collections.abc import Callable

import httpx

from loadtest.scenarios.conditions import sample_value, wait_until
from loadtest.scenarios.model import Until
from loadtest.scenarios.plan import CACHE_EVICTS, SCENARIOS
from loadtest.scenarios.questions import new_question
from tests.servers import ServiceThread

PAGE = """# TYPE ollama_rag_semcache_evictions counter
ollama_rag_semcache_evictions_total{reason="capacity"} 3.0
ollama_rag_semcache_evictions_total{reason="ttl"} 7.0
"""


def test_a_sample_is_found_by_name_and_labels() -> None:
    assert sample_value(PAGE, CACHE_EVICTS) == 3.0
    other = Until("x", "ollama_rag_semcache_evictions_total", (("reason", "clear"),), 1, 1)
    assert sample_value(PAGE, other) is None


def test_the_cache_storm_waits_until_the_service_evicts(
        make_service: Callable[..., ServiceThread]) -> None:
    service = make_service(cache_capacity=2)
    soon = Until(CACHE_EVICTS.what, CACHE_EVICTS.sample, CACHE_EVICTS.labels,
                 CACHE_EVICTS.at_least, within=0.6)
    assert not wait_until(service.url, soon), "a fresh cache does not evict"
    with httpx.Client(base_url=service.url, timeout=30) as client:
        for seed in range(3):  # one more than the cache holds
            response = client.post("/api/query",
                                   json={"question": new_question(random.Random(seed))})
            assert response.status_code == 200, response.text
            assert response.json()["cache"]["result"] == "miss"
    assert wait_until(service.url, soon)


def test_a_service_that_cannot_be_read_never_meets_a_condition() -> None:
    soon = Until("x", "anything", (), 0, within=0.1)
    assert not wait_until("http://127.0.0.1:9", soon)


def test_only_the_alerts_a_condition_causes_count_from_it() -> None:
    for scenario in SCENARIOS:
        fault = next(p for p in scenario.phases if p.name == scenario.fault_phase)
        for expected in scenario.alerts:
            if expected.after_until:
                assert fault.until is not None, (scenario.name, expected.key)
