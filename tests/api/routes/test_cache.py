"""GET /api/cache-stats, GET /api/breaker and DELETE /api/cache."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.helpers import ask
from tests.servers import ServiceThread

QUESTION = "What does a circuit breaker do when it is half-open?"


def test_cache_stats_and_breaker_endpoints(client: httpx.Client) -> None:
    ask(client, QUESTION)
    ask(client, QUESTION)
    stats = client.get("/api/cache-stats").json()
    assert stats["hits"] == {"exact": 1, "semantic": 0}
    assert stats["misses"] == 1
    assert stats["hit_ratio"] == 0.5
    assert stats["size"] == 1 and stats["capacity"] == 1000
    assert stats["evictions"] == {"capacity": 0, "ttl": 0}
    assert stats["similarity_threshold"] == 0.9
    breaker = client.get("/api/breaker").json()
    assert breaker["state"] == "closed"
    assert breaker["config"]["failure_threshold"] == 3


def test_clearing_the_cache_needs_the_admin_token(
        make_service: Callable[..., ServiceThread]) -> None:
    without = make_service()
    assert httpx.delete(f"{without.url}/api/cache").status_code == 401  # no credentials
    refused = httpx.delete(f"{without.url}/api/cache", headers={"Authorization": "Bearer x"})
    assert refused.status_code == 403 and "no token is configured" in refused.json()["detail"]
    service = make_service(admin_token="s3cret")
    url = f"{service.url}/api/cache"
    assert httpx.delete(url).status_code == 401
    assert httpx.delete(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    ask(httpx.Client(base_url=service.url, timeout=10), QUESTION)
    response = httpx.delete(url, headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 200 and response.json() == {"cleared": 1}
