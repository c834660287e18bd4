"""The measured store: a store that is down is a 503, a metric and a readiness failure; a bad
address stops the start."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from pydantic import ValidationError

from app.core.settings import Settings
from tests.documents import DOCS
from tests.helpers import ask, scrape, value, wait_until
from tests.servers import ChromaServer, ServiceThread


def test_a_store_that_is_down_is_a_503_a_metric_and_not_ready(
        make_service: Callable[..., ServiceThread], chroma: ChromaServer) -> None:
    service = make_service(store_url=chroma.url, store_collection="down_test",
                           store_timeout=2, store_check_interval=0.2)
    with httpx.Client(base_url=service.url, timeout=10) as client:
        wait_until(lambda: client.get("/readyz").status_code == 200, 20)
        chroma.stop()
        response = ask(client, "A question that needs retrieval while the store is down")
        assert response.status_code == 503, response.text
        assert response.json()["error"] == "store_unavailable"
        assert response.headers["Retry-After"] == "5"
        ingested = client.post("/api/documents", json=DOCS)
        assert ingested.status_code == 503 and ingested.json()["error"] == "store_unavailable"
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["error"] == "store_unavailable"
        samples = scrape(service.url)
        assert value(samples, "ollama_rag_store_up", engine="chroma") == 0
        assert value(samples, "ollama_rag_store_errors_total", engine="chroma",
                     operation="search") >= 1
        chroma.start()
        wait_until(lambda: client.get("/readyz").status_code == 200, 20)
        assert ask(client, "A question once the store is back").status_code == 200


def test_a_store_address_that_is_not_a_url_is_refused_at_start() -> None:
    for wrong in ("chroma:8000", "http://", "ftp://chroma:8000", "http://chroma:8000/x"):
        with pytest.raises(ValidationError, match="store_url"):
            Settings(store_url=wrong)
    assert Settings(store_url="http://chroma:8000").store_url == "http://chroma:8000"
