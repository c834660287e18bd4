"""GET /metrics: the token that guards it and the OpenMetrics format on request."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.servers import ServiceThread


def test_metrics_token_and_openmetrics_negotiation(
        make_service: Callable[..., ServiceThread]) -> None:
    service = make_service(metrics_token="scrape-me")
    denied = httpx.get(f"{service.url}/metrics")
    assert denied.status_code == 401 and denied.json()["error"] == "unauthorized"
    auth = {"Authorization": "Bearer scrape-me"}
    text = httpx.get(f"{service.url}/metrics", headers=auth)
    assert text.headers["content-type"].startswith("text/plain")
    om = httpx.get(f"{service.url}/metrics", headers=auth | {
        "Accept": "application/openmetrics-text; version=1.0.0; charset=utf-8"})
    assert om.headers["content-type"].startswith("application/openmetrics-text")
    assert om.text.rstrip().endswith("# EOF")
