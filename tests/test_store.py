"""Documents survive a restart and every replica sees them: the local SQLite store on disk,
and a real Chroma server shared by two services; a store that is down is a 503, a metric and
a readiness failure, not a 500."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from app.errors import StoreUnavailable
from app.local_store import LocalStore
from app.settings import Settings
from tests.helpers import ask, scrape, value, wait_until
from tests.servers import ChromaServer, ServiceThread, SimulatorThread

GUIDE = ("A bulkhead isolates the pools of a service so that one slow dependency cannot take "
         "every connection. Each dependency gets a pool of its own.")
DOCS = {"documents": [{"source": "guides/bulkhead.md", "text": GUIDE}]}
QUESTION = "What does a bulkhead isolate?"


def ingest(url: str, body: dict = DOCS) -> dict:
    response = httpx.post(f"{url}/api/documents", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def sources(url: str, question: str = QUESTION) -> set[str]:
    with httpx.Client(base_url=url, timeout=10) as client:
        response = ask(client, question, top_k=20)
    assert response.status_code == 200, response.text
    return {s["source"] for s in response.json()["sources"]}


def embed_calls(sim: SimulatorThread) -> int:
    return int(httpx.get(f"{sim.url}/_sim/stats").json().get("POST /api/embed", 0))


def test_documents_on_disk_survive_a_restart_and_are_ingested_once(
        make_service: Callable[..., ServiceThread], sim: SimulatorThread,
        tmp_path: Path) -> None:
    first = make_service(data_dir=str(tmp_path))
    wait_until(lambda: httpx.get(f"{first.url}/readyz").status_code == 200)
    stored = ingest(first.url)
    assert stored["chunks"] == 1 and stored["unchanged"] == 0
    total = stored["total_chunks"]
    first.close()
    assert (tmp_path / "documents.sqlite3").exists()

    second = make_service(data_dir=str(tmp_path))
    wait_until(lambda: httpx.get(f"{second.url}/readyz").status_code == 200)
    assert "guides/bulkhead.md" in sources(second.url)
    calls = embed_calls(sim)
    again = ingest(second.url)
    assert again == {"documents": 1, "chunks": 0, "unchanged": 1, "total_chunks": total}
    assert embed_calls(sim) == calls  # an unchanged document is not embedded again
    changed = ingest(second.url, {"documents": [{"source": "guides/bulkhead.md",
                                                 "text": GUIDE + " Size each pool."}]})
    assert changed["chunks"] == 1 and changed["total_chunks"] == total  # replaced, not added
    assert value(scrape(second.url), "ollama_rag_document_chunks") == total


def test_a_data_directory_has_one_owner(make_service: Callable[..., ServiceThread],
                                        tmp_path: Path) -> None:
    make_service(data_dir=str(tmp_path))
    with pytest.raises(StoreUnavailable, match=r"in use by another process.*STORE_URL"):
        asyncio.run(LocalStore(str(tmp_path)).open())


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma")
    yield server
    server.stop()


def test_replicas_share_one_chroma_and_keep_it_across_restarts(
        make_service: Callable[..., ServiceThread], sim: SimulatorThread,
        chroma: ChromaServer) -> None:
    settings = {"store_url": chroma.url, "store_collection": "replicas_test"}
    one, two = make_service(**settings), make_service(**settings)
    for service in (one, two):
        wait_until(lambda s=service: httpx.get(f"{s.url}/readyz").status_code == 200, 20)
    stored = ingest(one.url)
    assert stored["chunks"] == 1
    assert "guides/bulkhead.md" in sources(two.url)  # ingested through the other replica
    assert ingest(two.url)["unchanged"] == 1  # no duplicate from the second replica
    one.close()
    two.close()
    chroma.stop()
    chroma.start()  # the engine restarted too: its volume keeps the collection
    three = make_service(**settings)
    wait_until(lambda: httpx.get(f"{three.url}/readyz").status_code == 200, 20)
    assert "guides/bulkhead.md" in sources(three.url)
    assert ingest(three.url)["total_chunks"] == stored["total_chunks"]
    samples = scrape(three.url)
    assert value(samples, "ollama_rag_store_up", engine="chroma") == 1


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
