"""GET /healthz and /readyz."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from app import __version__
from tests.servers import ServiceThread


def test_readiness_waits_for_the_upstream(make_service: Callable[..., ServiceThread]) -> None:
    service = make_service(ollama_url="http://127.0.0.1:9")  # nothing listens there
    assert httpx.get(f"{service.url}/healthz").json() == {"status": "ok",
                                                          "version": __version__}
    ready = httpx.get(f"{service.url}/readyz")
    assert ready.status_code == 503 and ready.json()["error"] == "not_ready"
