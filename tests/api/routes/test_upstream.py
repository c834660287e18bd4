"""GET /api/upstream: this instance's settings for calling Ollama, as configured."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.servers import ServiceThread


def test_upstream_reports_the_models_and_clocks_it_was_given(
        make_service: Callable[..., ServiceThread]) -> None:
    service = make_service(health_check_interval=7.5, read_timeout=42.0, chat_model="tiny")
    body = httpx.get(f"{service.url}/api/upstream").json()
    assert body["chat_model"] == "tiny"
    assert body["health_check_interval_seconds"] == 7.5
    assert body["read_timeout_seconds"] == 42.0
    assert "ollama_url" not in body and not any("http" in str(v) for v in body.values())
